"""Data files and keys are created readable by their owner only (0600); a file opened up to
others before is brought down to 0640 when a service opens it again."""

import os
import stat
from pathlib import Path

import pytest
from sqlalchemy import text

from edge.agent import AuditLog
from edge.alarms.state import ConditionStateFile
from edge.drivers.opcua.pki import write_self_signed
from edge.northbound.queue import DurableQueue
from historian.stores import EmbeddedStore
from mes.core.db import make_engine


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _sqlite_files(db: Path) -> list[Path]:
    files = [p for p in (db, Path(f"{db}-wal"), Path(f"{db}-shm")) if p.exists()]
    assert len(files) == 3, f"expected the database with its -wal and -shm files: {files}"
    return files


@pytest.fixture(autouse=True)
def open_umask() -> object:
    """The usual umask 022: without the fix files come out 0644."""
    old = os.umask(0o022)
    yield
    os.umask(old)


def test_edge_queue_is_private(tmp_path: Path) -> None:
    path = tmp_path / "data" / "edge-queue.sqlite"
    q = DurableQueue(path, max_bytes=1 << 20)
    try:
        assert {_mode(p) for p in _sqlite_files(path)} == {0o600}
    finally:
        q.close()


def test_embedded_historian_store_is_private(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite"
    store = EmbeddedStore(path)
    try:
        assert {_mode(p) for p in _sqlite_files(path)} == {0o600}
    finally:
        store.close()


def test_mes_sqlite_database_is_private_and_an_open_one_is_closed_to_others(
    tmp_path: Path,
) -> None:
    path = tmp_path / "mes.db"
    engine = make_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        conn.execute(text("create table t (x integer)"))
        conn.execute(text("insert into t values (1)"))
        assert {_mode(p) for p in _sqlite_files(path)} == {0o600}
    engine.dispose()
    os.chmod(path, 0o644)  # a database made by an older version
    make_engine(f"sqlite:///{path}").dispose()
    assert _mode(path) == 0o640


def test_condition_state_and_write_audit_are_private(tmp_path: Path) -> None:
    state = ConditionStateFile(tmp_path / "edge" / "conditions.json")
    state.save({"press-01.temperature.hh": {"active": True}})
    assert _mode(state.path) == 0o600
    os.chmod(state.path, 0o644)
    state.save({})
    assert _mode(state.path) == 0o600
    assert state.load() == {}
    audit = AuditLog(tmp_path / "edge" / "write-audit.jsonl")
    audit({"at": "now", "device": "press-01", "ok": False})
    assert _mode(audit.path) == 0o600


def test_opcua_client_key_stays_private_when_regenerated(tmp_path: Path) -> None:
    cert, key = tmp_path / "own" / "cert.der", tmp_path / "own" / "key.pem"
    write_self_signed(cert, key, "urn:shopfloor:edge", "client", "localhost")
    assert _mode(key) == 0o600
    os.chmod(key, 0o644)  # e.g. copied around by hand
    before = key.read_bytes()
    write_self_signed(cert, key, "urn:shopfloor:edge", "client", "localhost")
    assert _mode(key) == 0o600
    assert key.read_bytes() != before
