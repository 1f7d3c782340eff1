"""Where things live in the repository and in the local state folder."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PROTO_DIR = REPO / "proto"
GENERATED_PACKAGE = REPO / "marketing"
DESCRIPTOR_SET = GENERATED_PACKAGE / "api_descriptor.pb"


def googleapis_include() -> Path:
    """site-packages root holding google/api, google/type and google/rpc protos."""
    import google.api

    return Path(google.api.__path__[0]).parent.parent
