"""Refresh the vendored third-party files of the pages from the npm registry, and check them.

    python -m mes.ui.vendor_refresh            # fetch the pinned versions, write the manifest
    python -m mes.ui.vendor_refresh --check    # the files match the manifest's SHA-256

Each entry of PINNED names an npm package, its exact version and the files taken from its
tarball. The tarball's `dist.integrity` (SHA-512, from the registry's metadata) is checked before
anything is written. No CDN at run time: the pages load these files from the MES itself.
"""

import base64
import hashlib
import io
import json
import sys
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REGISTRY = "https://registry.npmjs.org"
VENDOR = Path(__file__).resolve().parent / "static" / "vendor"
MANIFEST = VENDOR / "manifest.json"


@dataclass(frozen=True)
class Pin:
    package: str
    version: str
    #: path inside the tarball -> file name under static/vendor
    files: dict[str, str]


PINNED = (
    Pin(
        "echarts",
        "6.1.0",
        {
            "package/dist/echarts.min.js": "echarts.min.js",
            "package/LICENSE": "echarts.LICENSE.txt",
            "package/NOTICE": "echarts.NOTICE.txt",
        },
    ),
)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _check_integrity(tarball: bytes, integrity: str) -> None:
    algo, _, want = integrity.partition("-")
    if algo != "sha512":
        raise ValueError(f"unexpected integrity algorithm {algo!r}")
    got = base64.b64encode(hashlib.sha512(tarball).digest()).decode()
    if got != want:
        raise ValueError("the tarball does not match the registry's integrity hash")


def fetch(pin: Pin) -> dict[str, Any]:
    import httpx

    meta = httpx.get(f"{REGISTRY}/{pin.package}/{pin.version}", timeout=30).raise_for_status()
    dist = meta.json()["dist"]
    tarball = httpx.get(dist["tarball"], timeout=120).raise_for_status().content
    _check_integrity(tarball, dist["integrity"])
    files = []
    with tarfile.open(fileobj=io.BytesIO(tarball), mode="r:gz") as tar:
        for inside, name in pin.files.items():
            member = tar.extractfile(inside)
            if member is None:
                raise ValueError(f"{inside} is not a file in {pin.package}@{pin.version}")
            data = member.read()
            (VENDOR / name).write_bytes(data)
            files.append({"file": name, "sha256": sha256(data)})
    return {
        "name": pin.package,
        "version": pin.version,
        "licence": meta.json().get("license"),
        "source": f"npm:{pin.package}@{pin.version}",
        "tarball": dist["tarball"],
        "integrity": dist["integrity"],
        "files": files,
    }


def problems() -> list[str]:
    """Vendored files that are missing or differ from the manifest."""
    manifest = json.loads(MANIFEST.read_text(encoding="utf-8"))
    out = []
    for entry in manifest["packages"]:
        for f in entry["files"]:
            path = VENDOR / f["file"]
            if not path.is_file():
                out.append(f"{f['file']}: missing")
            elif sha256(path.read_bytes()) != f["sha256"]:
                out.append(f"{f['file']}: SHA-256 differs from the manifest")
    return out


def main(argv: list[str]) -> int:
    if "--check" in argv:
        found = problems()
        for p in found:
            print(p, file=sys.stderr)
        return 1 if found else 0
    VENDOR.mkdir(parents=True, exist_ok=True)
    packages = [fetch(pin) for pin in PINNED]
    MANIFEST.write_text(json.dumps({"packages": packages}, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {len(packages)} package(s) to {VENDOR}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
