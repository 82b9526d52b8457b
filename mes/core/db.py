"""Database engine for the MES: SQLite (default, WAL mode) or PostgreSQL."""

from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import create_engine

from config.files import private_file


def make_engine(url: str, **kwargs: Any) -> Engine:
    if url.startswith("sqlite"):
        path = url.split("///", 1)[1] if "///" in url else ""
        if path and path != ":memory:":
            private_file(path)  # 0600; SQLite gives -wal and -shm the same mode
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 30}, **kwargs
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        return engine
    # Plan every statement for the tables as they are now. The driver prepares a statement
    # after a few runs, and PostgreSQL then keeps a generic plan for the connection's lifetime:
    # one made while a table was small (a new plant, before autovacuum's first analyze) went on
    # seq-scanning the growing scan log, and scans/s fell 10 % per 6,000 scans. The planning
    # this costs is small against our statements' round trips.
    kwargs.setdefault("connect_args", {}).setdefault(
        "options", "-c plan_cache_mode=force_custom_plan"
    )
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20, **kwargs)
