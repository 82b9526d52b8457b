"""The test infrastructure itself: each real service answers."""

import socket
import time
import urllib.request
from pathlib import Path

import psycopg

from tests.services.mosquitto import Mosquitto
from tests.services.postgres import Postgres
from tests.services.victoria import Victoria


def test_mosquitto_accepts_connections(mosquitto: Mosquitto) -> None:
    with socket.create_connection(("127.0.0.1", mosquitto.port), timeout=2) as s:
        s.sendall(bytes([0x10, 12, 0, 4]) + b"MQTT" + bytes([4, 2, 0, 10, 0, 0]))
        assert s.recv(4) == bytes([0x20, 2, 0, 0])  # CONNACK, accepted


def test_victoria_accepts_influx_line_protocol(victoria: Victoria) -> None:
    req = urllib.request.Request(
        f"{victoria.url}/api/v2/write",
        data=f"probe,site=t value=42 {time.time_ns()}".encode(),  # retention is 1 month
        method="POST",
    )
    assert urllib.request.urlopen(req, timeout=5).status == 204
    series = victoria.wait_export('{__name__="probe_value"}')
    assert series[0]["values"] == [42]


def test_postgres_hands_out_fresh_databases(postgres: Postgres) -> None:
    url = postgres.create_database()
    try:
        with psycopg.connect(url.replace("+psycopg", "")) as conn:
            assert conn.execute("select 1").fetchone() == (1,)
    finally:
        postgres.drop_database(url)


def test_throwaway_postgres_cluster_when_none_answers(tmp_path: Path) -> None:
    """The fallback for machines without a PostgreSQL on 5432 (FIELD-NOTES: initdb + pg_ctl)."""
    server = Postgres.__new__(Postgres)
    server.dir, server.proc_dir, server.port = tmp_path, None, 5432
    server._start_throwaway()
    try:
        assert server.port != 5432
        url = server.create_database()
        with psycopg.connect(url.replace("+psycopg", "")) as conn:
            assert conn.execute("show fsync").fetchone() == ("off",)
        server.drop_database(url)
    finally:
        server.stop()
    assert not server.dir.exists()
