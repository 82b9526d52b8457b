"""Regenerate sparkplug_b_pb2.py from sparkplug_b.proto (development time only).

    pip install grpcio-tools && python -m uns.sparkplug.regenerate

The generated module is committed; the product needs only the `protobuf` runtime pinned in
pyproject.toml. Run this again after changing the .proto or moving the protobuf pin.
"""

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> int:
    from grpc_tools import protoc  # development-time tool, not a product dependency

    args = ["protoc", f"--proto_path={HERE}", f"--python_out={HERE}", f"--pyi_out={HERE}"]
    rc = int(protoc.main([*args, str(HERE / "sparkplug_b.proto")]))
    if rc == 0:
        print(f"wrote {HERE / 'sparkplug_b_pb2.py'}")
    return rc


if __name__ == "__main__":
    sys.exit(main())
