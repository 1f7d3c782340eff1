"""`buf lint` on proto/, then `buf breaking` against the released API, with the
googleapis protos that googleapis-common-protos ships, so no schema registry is
needed.

The released API is proto/ at the commit named in proto/BASELINE. Every change
is checked against it (WIRE_JSON: what breaks a gRPC or a REST client). Move the
baseline forward when a compatible API change is released; a breaking change
needs a new package version (marketing.<service>.v2), not a new baseline."""

from __future__ import annotations

import io
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

from devstack.tools.paths import PROTO_DIR, PROTOVALIDATE_INCLUDE, REPO, googleapis_include

BUF = REPO / "node_modules" / ".bin" / "buf"
BASELINE = PROTO_DIR / "BASELINE"
GOOGLEAPIS_DIRS = ("google/api", "google/type", "google/rpc")


def _workspace(work: Path, protos: Path) -> Path:
    """A buf workspace in `work`: the protos as one module, googleapis as another, protovalidate's
    buf/validate/validate.proto (vendored in third_party/) as a third."""
    shutil.copytree(protos, work / "proto", ignore=shutil.ignore_patterns("buf.yaml", "BASELINE"))
    for rel in GOOGLEAPIS_DIRS:
        for proto in (googleapis_include() / rel).glob("*.proto"):
            target = work / "googleapis" / rel / proto.name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(proto, target)
    shutil.copytree(PROTOVALIDATE_INCLUDE / "buf", work / "protovalidate" / "buf")
    config = (PROTO_DIR / "buf.yaml").read_text()
    (work / "buf.yaml").write_text("version: v2\nmodules:\n  - path: proto\n  - path: googleapis\n"
                                   "  - path: protovalidate\n"
                                   + config[config.index("lint:"):])
    return work


def _released_protos(commit: str, into: Path) -> Path | None:
    """proto/ as it was at `commit`, or None (with a message) when git cannot give it."""
    archive = subprocess.run(["git", "archive", "--format=tar", commit, "proto"], cwd=REPO, capture_output=True)
    if archive.returncode != 0:
        print(f"buf breaking: cannot read proto/ at {commit} (proto/BASELINE): "
              f"{archive.stderr.decode(errors='replace').strip()} -- a full clone is needed", file=sys.stderr)
        return None
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(into, filter="data")
    return into / "proto"


def main() -> int:
    if not BUF.exists():
        print("buf is missing: run `npm ci` (make does this)", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory() as tmp:
        current = _workspace(Path(tmp) / "current", PROTO_DIR)
        if subprocess.run([str(BUF), "lint", "proto"], cwd=current).returncode != 0:
            return 1
        print("buf lint: clean")
        commit = BASELINE.read_text().split()[0]
        released = _released_protos(commit, Path(tmp) / "released-git")
        if released is None:
            return 1
        _workspace(Path(tmp) / "released", released)
        result = subprocess.run([str(BUF), "breaking", "proto", "--against", str(Path(tmp) / "released" / "proto")],
                                cwd=current)
    if result.returncode == 0:
        print(f"buf breaking: compatible with the released API (proto/ at {commit[:12]})")
    return result.returncode


if __name__ == "__main__":
    sys.exit(main())
