"""`make test` runs this first: install the service binaries the suite needs when missing."""

import glob
import os
import shutil
import subprocess
import sys

#: binary -> Debian package
NEEDED = {
    "mosquitto": "mosquitto",
    "victoria-metrics": "victoria-metrics",
    "socat": "socat",
    "mbpoll": "mbpoll",
    "chromium": "chromium",  # the station page's browser tests (Playwright drives it)
}
#: file -> Debian package, for packages without a binary
FILES = {"/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc": "fonts-noto-cjk"}


def _have(binary: str) -> bool:
    return bool(shutil.which(binary) or shutil.which(binary, path="/usr/sbin:/usr/bin"))


def main() -> int:
    missing = sorted({pkg for exe, pkg in NEEDED.items() if not _have(exe)})
    missing += sorted({pkg for path, pkg in FILES.items() if not os.path.exists(path)})
    if not glob.glob("/usr/lib/postgresql/*/bin/initdb") and not shutil.which("initdb"):
        missing.append("postgresql")
    if not missing:
        return 0
    if os.geteuid() != 0:
        print(f"tests need these Debian packages: {' '.join(missing)} (run as root to install)")
        return 1
    print(f"installing {' '.join(missing)} with apt-get", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(
        ["apt-get", "install", "-y", "-qq", *missing],
        check=True,
        env=env,
        stdout=subprocess.DEVNULL,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
