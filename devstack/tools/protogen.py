"""Generates the `marketing` Python package and the descriptor set from proto/.

    python -m devstack.tools.protogen           # regenerate in place
    python -m devstack.tools.protogen --check   # fail if the checked-in code is stale

It also writes the REST API's OpenAPI document (edge/openapi.json, devstack/tools/openapi.py) from the
fresh descriptor set, and `--check` fails when that is stale too.
"""

from __future__ import annotations

import argparse
import filecmp
import shutil
import sys
import tempfile
from pathlib import Path

from devstack.tools import openapi
from devstack.tools.paths import (
    DESCRIPTOR_SET,
    GENERATED_PACKAGE,
    GENERATED_VALIDATE_PACKAGE,
    PROTO_DIR,
    PROTOVALIDATE_INCLUDE,
    REPO,
    googleapis_include,
)

# Not imported by any API proto, but the edge needs them to print the
# google.rpc.Status details of errors as JSON.
ERROR_PROTOS = ("google/rpc/status.proto", "google/rpc/error_details.proto")
# Imported by the API protos for their validation rules; its Python module is generated too.
VALIDATE_PROTO = "buf/validate/validate.proto"
HEADER = '"""Generated from proto/ by `make proto`. Do not edit."""\n'


def proto_files() -> list[str]:
    return sorted(str(p.relative_to(PROTO_DIR)) for p in PROTO_DIR.rglob("*.proto"))


def generate(out_root: Path) -> None:
    from grpc_tools import protoc

    well_known = Path(protoc.__file__).parent / "_proto"
    files = proto_files()
    includes = [f"-I{PROTO_DIR}", f"-I{PROTOVALIDATE_INCLUDE}", f"-I{googleapis_include()}", f"-I{well_known}"]
    code = [*includes, f"--python_out={out_root}", f"--pyi_out={out_root}", f"--grpc_python_out={out_root}"]
    descriptors = [*includes, "--include_imports", "--include_source_info",
                   f"--descriptor_set_out={out_root / 'marketing' / DESCRIPTOR_SET.name}"]
    (out_root / "marketing").mkdir(parents=True, exist_ok=True)
    for args in (code + files + [VALIDATE_PROTO], descriptors + files + list(ERROR_PROTOS)):
        if protoc.main(["grpc_tools.protoc", *args]) != 0:
            raise SystemExit("protoc failed")
    for root in (out_root / "marketing", out_root / "buf"):
        for package_dir in [root, *(p for p in root.rglob("*") if p.is_dir())]:
            (package_dir / "__init__.py").write_text(HEADER)


def differences(left: Path, right: Path, prefix: str = "marketing/") -> list[str]:
    found: list[str] = []

    def walk(cmp: filecmp.dircmp, prefix: str) -> None:
        found.extend(f"{prefix}{n} (only in one tree)" for n in cmp.left_only + cmp.right_only)
        _, mismatch, errors = filecmp.cmpfiles(cmp.left, cmp.right, cmp.common_files, shallow=False)
        found.extend(f"{prefix}{n}" for n in mismatch + errors)
        for name, sub in cmp.subdirs.items():
            if name != "__pycache__":
                walk(sub, f"{prefix}{name}/")

    walk(filecmp.dircmp(left, right, ignore=["__pycache__"]), prefix)
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="compare with the checked-in code instead of writing")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        generate(Path(tmp))
        fresh = Path(tmp) / "marketing"
        pairs = ((fresh, GENERATED_PACKAGE), (Path(tmp) / "buf", GENERATED_VALIDATE_PACKAGE))
        if args.check:
            stale = [stale for new, old in pairs
                     for stale in (differences(new, old, f"{old.name}/") if old.exists() else [f"{old.name}/"])]
            document = openapi.render(fresh / DESCRIPTOR_SET.name)
            if not openapi.OPENAPI_DOCUMENT.exists() or openapi.OPENAPI_DOCUMENT.read_text(encoding="utf-8") != document:
                stale.append(str(openapi.OPENAPI_DOCUMENT.relative_to(REPO)))
            if stale:
                print("generated code is stale; run `make proto` and commit:", *stale, sep="\n  ", file=sys.stderr)
                return 1
            print(f"generated code is fresh ({len(proto_files())} proto files)")
            return 0
        for new, old in pairs:
            shutil.rmtree(old, ignore_errors=True)
            shutil.copytree(new, old)
        openapi.OPENAPI_DOCUMENT.write_text(openapi.render(DESCRIPTOR_SET), encoding="utf-8")
    print(f"generated {GENERATED_PACKAGE.relative_to(REPO)}/, {GENERATED_VALIDATE_PACKAGE.relative_to(REPO)}/, "
          f"{DESCRIPTOR_SET.relative_to(REPO)} and {openapi.OPENAPI_DOCUMENT.relative_to(REPO)} "
          f"from {len(proto_files())} proto files")
    return 0


if __name__ == "__main__":
    sys.exit(main())
