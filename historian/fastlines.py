"""Line protocol straight from the bytes of a telemetry message, for the common case. No I/O.

Nearly every message the historian receives is what `reading_to_json` and orjson write for a
poll of good values: `{"v":1,"agent":..,"device":..,"seq":..,"ts":..,"values":[{"tag":"t0",
"value":1.5,"quality":"good","ts":1795604923305}, ...]}`. For such a message the line of each
value is its series key, the number and the timestamp exactly as the JSON spells them, so
there is nothing to decode: one regular-expression split (in C) cuts the values array into
tag, number and timestamp, and one `bytes.join` assembles the lines. That costs about 40 % of
decoding the JSON and formatting each float again, which is the historian's hot path.

The split runs on what lies between two tags (`","value":1.5,"quality":"good","ts":..},
{"tag":"`), capturing the number and the timestamp; the tags are what is left between the
matches, checked all at once for characters that need escaping (one `bytes.translate`).

The split doubles as validation: every byte of the array must belong to a value of exactly
that shape (a tag without characters that need escaping, a JSON number, `"good"`, an integer
timestamp, optionally a `unit`). Anything else (other qualities, strings, booleans, escapes,
whitespace, extra keys) returns None and the message takes the general path
(`Converter.lines`), which gives the same lines for the messages both accept.
"""

import re

_HEAD = re.compile(
    rb'\{"v":1,"agent":"[^"\\\x00-\x1f]*+","device":"[^"\\\x00-\x1f]*+",'
    rb'"seq":(?:0|[1-9][0-9]*+),"ts":(?:0|[1-9][0-9]*+),"values":\['
)
_FIRST_TAG = b'{"tag":"'
#: from the end of one value's tag to the start of the next one's: its number, its timestamp
_BETWEEN_TAGS = re.compile(
    rb'","value":(-?(?:0|[1-9][0-9]*+)(?:\.[0-9]++)?+(?:[eE][+-]?[0-9]++)?+),'
    rb'"quality":"good","ts":((?:0|[1-9][0-9]*+))'
    rb'(?:,"unit":"[^"\\\x00-\x1f]*+")?+\},\{"tag":"'
)
_NEXT_TAG = b',{"tag":"'
#: bytes a tag may not hold on the fast path (line protocol or JSON would escape them)
_NOT_IN_TAG = b'"\\,= ' + bytes(range(0x20))
_VALUE_EQ = b" value="
_GOOD_TS = b",quality=0i "
_EOL = b"\n"


def good_values_lines(series_prefix: bytes, payload: bytes) -> tuple[bytes, int] | None:
    """The message's lines (each ending in a newline) and how many, or None when the message
    is not a plain batch of good values. `series_prefix` is the series key up to `,tag=`
    included (`telemetry,enterprise=..,device=press-01,tag=`)."""
    head = _HEAD.match(payload)
    if head is None or not payload.endswith(b"]}"):
        return None
    start = head.end()
    if start == len(payload) - 2:
        return b"", 0
    if not payload.startswith(_FIRST_TAG, start):
        return None
    # [tag, number, ts, tag, number, ts, ..., tag, number, ts, rest]: the array after its first
    # `{"tag":"`, closed like a value followed by another, is split between tags
    parts = _BETWEEN_TAGS.split(payload[start + len(_FIRST_TAG) : -2] + _NEXT_TAG)
    if parts.pop():  # something after the last value that is not a value
        return None
    tags = parts[0::3]
    if not all(tags):
        return None
    joined = b"".join(tags)
    if len(joined.translate(None, _NOT_IN_TAG)) != len(joined):
        return None
    n = len(tags)
    # series, then per value: tag, " value=", number, ",quality=0i ", ts, newline + series
    out = [series_prefix] * (6 * n + 1)
    out[1::2] = parts
    out[2::6] = [_VALUE_EQ] * n
    out[4::6] = [_GOOD_TS] * n
    out[6::6] = [_EOL + series_prefix] * (n - 1) + [_EOL]
    return b"".join(out), n


_VALUES_KEY = b'"values":['
_TIMES_KEY = b'],"times":['
#: the bytes of JSON numbers and their separators: a `values` array that parsed as JSON and
#: holds nothing else is an array of numbers (true, false, null and strings need other bytes)
_NUMBER_BYTES = b"0123456789.eE+-,"


def compact_lines(
    series_prefix: bytes, payload: bytes, tags: list[str], runs: list[list[int]]
) -> tuple[bytes, int] | None:
    """The lines of a compact message (docs/contracts.md section 2b) whose values are all
    good numbers, cut from its bytes like `good_values_lines`: the numbers as the JSON spells
    them, the tags and the timestamp runs from the decoded message (the caller checked that
    it has no `marks` and that the runs cover the tags) and that it parsed as JSON, so a
    values array of number bytes only is an array of numbers. None: take the general path."""
    n = len(tags)
    start = payload.find(_VALUES_KEY)
    if start < 0 or not n:
        return None
    start += len(_VALUES_KEY)
    end = payload.find(_TIMES_KEY, start)
    if end < 0:
        return None
    segment = payload[start:end]
    if segment.translate(None, _NUMBER_BYTES):  # a string, a boolean or a null among them
        return None
    numbers = segment.split(b",")
    joined = "".join(tags).encode()
    if (
        len(numbers) != n
        or not all(tags)
        or len(joined.translate(None, _NOT_IN_TAG)) != len(joined)
    ):
        return None
    names = "\n".join(tags).encode().split(b"\n")
    stamps: list[bytes] = []
    for ts, count in runs:
        stamps += [b"%d" % ts] * count
    out = [series_prefix] * (6 * n + 1)
    out[1::6] = names
    out[2::6] = [_VALUE_EQ] * n
    out[3::6] = numbers
    out[4::6] = [_GOOD_TS] * n
    out[5::6] = stamps
    out[6::6] = [_EOL + series_prefix] * (n - 1) + [_EOL]
    return b"".join(out), n
