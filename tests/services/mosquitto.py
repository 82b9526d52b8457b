"""A Mosquitto broker of our own, on a free port, that a test may kill and restart."""

import shutil
import subprocess
from pathlib import Path

from tests.services.ports import free_port, port_open, wait_for

TEST_CONF = """\
listener {port} 127.0.0.1
allow_anonymous true
user root
persistence {persistence}
persistence_location {dir}/
autosave_interval 1
max_queued_messages 1000000
max_queued_bytes 0
max_inflight_messages 0
log_dest file {dir}/mosquitto.log
log_type error
log_type warning
"""


class Mosquitto:
    def __init__(self, workdir: Path, port: int | None = None, persistence: bool = True) -> None:
        self.dir = workdir
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self.conf = self.dir / "mosquitto.conf"
        self.conf.write_text(
            TEST_CONF.format(
                port=self.port, dir=self.dir, persistence="true" if persistence else "false"
            )
        )
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def start(self) -> "Mosquitto":
        exe = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        self.proc = subprocess.Popen(
            [exe, "-c", str(self.conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        wait_for(lambda: port_open(self.port), 10, f"mosquitto on port {self.port}")
        return self

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        wait_for(lambda: not port_open(self.port), 10, "mosquitto to stop")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
