"""Regenerate the committed Python modules of ``grpc_predict_v2.proto`` (grpcio-tools).

``python -m podium.serving.grpc.regenerate`` (from the repository root) runs ``protoc``
and then moves the messages into a descriptor pool of their own: ``tritonclient`` (and
any KServe client) registers the same ``inference.*`` names in protobuf's default pool,
and two registrations of one name in a process fail at import.
"""

from __future__ import annotations

import sys
from pathlib import Path

SOURCE = Path(__file__).resolve().parents[3]
PROTO = "podium/serving/grpc/grpc_predict_v2.proto"
_DEFAULT = "DESCRIPTOR = _descriptor_pool.Default().AddSerializedFile("
_OWN = (
    "# A pool of its own: tritonclient registers the same inference.* names in the default one.\n"
    "_POOL = _descriptor_pool.DescriptorPool()\n"
    "DESCRIPTOR = _POOL.AddSerializedFile("
)


def main() -> int:
    """Run protoc on the proto and switch the generated module to its own pool."""
    from grpc_tools import protoc  # a development tool, not a dependency

    code = protoc.main(
        [
            "protoc",
            f"-I{SOURCE}",
            f"--python_out={SOURCE}",
            f"--pyi_out={SOURCE}",
            f"--grpc_python_out={SOURCE}",
            str(SOURCE / PROTO),
        ]
    )
    if code != 0:
        return int(code)
    generated = SOURCE / PROTO.replace(".proto", "_pb2.py")
    text = generated.read_text()
    if _DEFAULT not in text:
        print(f"error: {generated} has no default-pool line to switch", file=sys.stderr)
        return 1
    generated.write_text(text.replace(_DEFAULT, _OWN))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
