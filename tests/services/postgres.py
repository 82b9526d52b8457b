"""PostgreSQL for the tests: the local server when it answers, else a throwaway cluster."""

import glob
import os
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path

import psycopg

from tests.services.ports import free_port, port_open, wait_for


def _pg_bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return found[-1] if found else (shutil.which(name) or name)


class Postgres:
    """Hands out fresh databases; `admin_dsn` reaches the server as a superuser."""

    def __init__(self, workdir: Path) -> None:
        self.dir = workdir
        self.proc_dir: Path | None = None
        self.port = 5432
        if not self._answers(5432):
            self._start_throwaway()

    @staticmethod
    def _answers(port: int) -> bool:
        if not port_open(port):
            return False
        try:
            with psycopg.connect(
                f"postgresql://postgres@127.0.0.1:{port}/postgres", connect_timeout=2
            ):
                return True
        except psycopg.Error:
            return False

    def _start_throwaway(self) -> None:
        self.port = free_port()
        # the cluster runs as user postgres, which cannot enter pytest's private (0700) tmp dirs
        self.dir = Path(tempfile.mkdtemp(prefix="shopfloor-pg-"))
        self.dir.chmod(0o755)
        data = self.dir / "pgdata"
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres")
        run_as = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        subprocess.run(
            [*run_as, _pg_bin("initdb"), "-D", str(data), "-U", "postgres", "-A", "trust"],
            check=True,
            capture_output=True,
        )
        opts = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off"
        subprocess.run(
            [
                *run_as,
                _pg_bin("pg_ctl"),
                "-D",
                str(data),
                "-o",
                opts,
                "-l",
                str(self.dir / "log"),
                "start",
                "-w",
            ],
            check=True,
            capture_output=True,
        )
        self.proc_dir = data
        wait_for(lambda: self._answers(self.port), 20, "throwaway PostgreSQL")

    @property
    def admin_dsn(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def create_database(self) -> str:
        """A new empty database; returns its SQLAlchemy URL."""
        name = f"shopfloor_test_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(self.admin_dsn, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{name}"

    def drop_database(self, url: str) -> None:
        name = url.rsplit("/", 1)[1]
        with psycopg.connect(self.admin_dsn, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def stop(self) -> None:
        if self.proc_dir is not None:
            run_as = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
            subprocess.run(
                [*run_as, _pg_bin("pg_ctl"), "-D", str(self.proc_dir), "stop", "-m", "fast"],
                check=False,
                capture_output=True,
            )
            shutil.rmtree(self.dir, ignore_errors=True)
