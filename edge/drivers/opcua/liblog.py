"""asyncua logs some events of a session's end at ERROR with a traceback although the driver
handles them and reports them itself (the device status, the `session lost` warning): the
publish loop meeting a closed connection, and a CloseSession that fails while the session is
being dropped anyway. Those records are lowered to DEBUG (traceback kept for debugging); any
other error of the library stays an error."""

import logging

from asyncua.ua.uaerrors import UaStatusCodeError

#: (logger name, message start, exception types that make it routine; None: any)
ROUTINE: tuple[tuple[str, str, tuple[type[BaseException], ...] | None], ...] = (
    (
        "asyncua.client.ua_session.UaSession",
        "Publish iteration crashed",
        (ConnectionError, OSError, TimeoutError, UaStatusCodeError),
    ),
    ("asyncua.client.client", "close_session raised during disconnect", None),
    ("asyncua.client.client", "close_secure_channel raised during disconnect", None),
)


def is_routine(record: logging.LogRecord) -> bool:
    """Whether `record` is one of the library's logs of an end the driver handles."""
    for logger, start, types in ROUTINE:
        if record.name != logger or not str(record.msg).startswith(start):
            continue
        exc = record.exc_info[1] if record.exc_info else None
        return types is None or isinstance(exc, types)
    return False


class RoutineEndsAtDebug(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno > logging.DEBUG and is_routine(record):
            record.levelno, record.levelname = logging.DEBUG, "DEBUG"
            return logging.getLogger(record.name).isEnabledFor(logging.DEBUG)
        return True


_FILTER = RoutineEndsAtDebug()


def install() -> None:
    """Idempotent: adds the filter to the asyncua loggers named in ROUTINE."""
    for name in {logger for logger, _, _ in ROUTINE}:
        target = logging.getLogger(name)
        if _FILTER not in target.filters:
            target.addFilter(_FILTER)
