"""Refresh the test-only vendored JavaScript from npm: `python -m tests.vendor.refresh [version]`.

Each package is fetched with `npm pack <name>@<version>` (the npm registry, no CDN), the files
the tests need are copied under tests/vendor/<name>/ with the package's licence, and
MANIFEST.json records name, version, licence, source package, and the SHA-256 of each file and
of the tarball. Nothing here is served to operators: the tests inject it into a page.
"""

import hashlib
import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
#: name -> (version, files copied from the package, licence)
PACKAGES = {"axe-core": ("4.14.1", ["axe.min.js", "LICENSE"], "MPL-2.0")}


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def refresh(name: str, version: str) -> dict[str, object]:
    _, wanted, licence = PACKAGES[name]
    with tempfile.TemporaryDirectory() as tmp:
        out = subprocess.run(
            ["npm", "pack", f"{name}@{version}", "--json", "--pack-destination", tmp],
            check=True,
            capture_output=True,
            text=True,
        )
        tarball = Path(tmp) / json.loads(out.stdout)[0]["filename"]
        target = HERE / name
        shutil.rmtree(target, ignore_errors=True)
        target.mkdir()
        with tarfile.open(tarball) as tar:
            for file in wanted:
                member = tar.extractfile(f"package/{file}")
                assert member is not None, file
                (target / file).write_bytes(member.read())
        return {
            "name": name,
            "version": version,
            "licence": licence,
            "source": f"npm:{name}@{version} ({tarball.name})",
            "tarball_sha256": sha256(tarball),
            "files": {f: sha256(target / f) for f in wanted},
            "use": "tests only (tests/mes/test_station_browser.py): never served to operators",
        }


def main() -> None:
    manifest = []
    for name, (version, _, _) in PACKAGES.items():
        manifest.append(refresh(name, sys.argv[1] if len(sys.argv) > 1 else version))
    (HERE / "MANIFEST.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
