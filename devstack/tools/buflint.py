"""Runs `buf lint` on proto/ with the googleapis protos that
googleapis-common-protos ships, so no schema registry is needed."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from devstack.tools.paths import PROTO_DIR, REPO, googleapis_include

BUF = REPO / "node_modules" / ".bin" / "buf"
GOOGLEAPIS_DIRS = ("google/api", "google/type", "google/rpc")


def main() -> int:
    if not BUF.exists():
        print("buf is missing: run `npm ci` (make does this)", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        shutil.copytree(PROTO_DIR, work / "proto")
        for rel in GOOGLEAPIS_DIRS:
            for proto in (googleapis_include() / rel).glob("*.proto"):
                target = work / "googleapis" / rel / proto.name
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy(proto, target)
        config = (PROTO_DIR / "buf.yaml").read_text()
        lint = config[config.index("lint:"):]
        (work / "buf.yaml").write_text(
            "version: v2\nmodules:\n  - path: proto\n  - path: googleapis\n" + lint
        )
        (work / "proto" / "buf.yaml").unlink()
        result = subprocess.run([str(BUF), "lint", "proto"], cwd=work)
    if result.returncode == 0:
        print("buf lint: clean")
    return result.returncode


if __name__ == "__main__":
    sys.exit(main())
