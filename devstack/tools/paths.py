"""Where things live in the repository and in the local state folder."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PROTO_DIR = REPO / "proto"
GENERATED_PACKAGE = REPO / "marketing"
DESCRIPTOR_SET = GENERATED_PACKAGE / "api_descriptor.pb"
# buf/validate/validate.proto (protovalidate's rules), vendored from the build.buf:protovalidate
# 1.3.0 jar on Maven Central (Apache-2.0; see third_party/protovalidate/README.md).
PROTOVALIDATE_INCLUDE = REPO / "third_party" / "protovalidate"
# Python code generated from it: the API's generated modules import `buf.validate.validate_pb2`.
GENERATED_VALIDATE_PACKAGE = REPO / "buf"


def googleapis_include() -> Path:
    """site-packages root holding google/api, google/type and google/rpc protos."""
    import google.api

    return Path(google.api.__path__[0]).parent.parent
