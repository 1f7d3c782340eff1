"""The Dockerfile's structure (Docker cannot run here, so nothing is built): multi-stage, the
locked environment built in a build stage, a slim non-root runtime, no ADD, no secrets."""

from __future__ import annotations

import fnmatch
import re
from pathlib import Path

from svc_kit.services import SERVICES

REPO = Path(__file__).resolve().parents[2]


def _instructions(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    text = re.sub(r"\\\n", " ", path.read_text())
    result = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            result.append((word.upper(), rest.strip()))
    return result


def _stages(instructions) -> list[dict]:
    stages = []
    for word, rest in instructions:
        if word == "FROM":
            match = re.match(r"(\S+)(?:\s+AS\s+(\S+))?", rest, re.I)
            stages.append({"base": match.group(1), "name": match.group(2), "body": []})
        elif stages:
            stages[-1]["body"].append((word, rest))
    return stages


def test_dockerfile_is_multi_stage_and_non_root():
    instructions = _instructions(REPO / "Dockerfile")
    args = {rest.split("=")[0]: rest.split("=", 1)[1] for word, rest in instructions
            if word == "ARG" and "=" in rest}
    stages = _stages(instructions)
    names = [s["name"] for s in stages]
    assert len(stages) >= 2 and "build" in names, names
    assert not any(word == "ADD" for word, _ in instructions), "COPY only: ADD fetches and unpacks"

    def chain(stage: dict) -> list[dict]:
        """The stage, the stage it is built on, and so on."""
        result = [stage]
        while result[-1]["base"] in names:
            result.append(stages[names.index(result[-1]["base"])])
        return result

    def nearest(stage: dict, instruction: str) -> str | None:
        """The value in force in `stage` (the last one, in it or in the stages below it)."""
        for link in chain(stage):
            found = [rest for word, rest in link["body"] if word == instruction]
            if found:
                return found[-1]
        return None

    final = stages[-1]
    root = chain(final)[-1]["base"]
    assert args.get(root.strip("${}"), root) == "python:3.11-slim"
    user = nearest(final, "USER")
    assert user and user.split(":")[0] == "10001", f"the image runs as {user!r}, not the non-root 10001"
    cmd = nearest(final, "CMD") or ""
    assert "python -m" in cmd and "svc_$MKT_SERVICE" in cmd

    build = stages[names.index("build")]
    runs = " ".join(rest for word, rest in build["body"] if word == "RUN")
    assert "uv sync --frozen" in runs and "--no-dev" in runs
    runtime_runs = " ".join(rest for s in stages if s is not build for word, rest in s["body"] if word == "RUN")
    assert "uv " not in runtime_runs and "pip install" not in runtime_runs, "nothing is installed in the runtime stages"

    copies = [rest for s in stages for word, rest in s["body"] if word == "COPY"]
    sources = [part for rest in copies if "--from=" not in rest for part in rest.split()[:-1]
               if not part.startswith("--")]
    for source in sources:
        assert (REPO / source).exists(), f"COPY {source}: no such file in the repository"
        assert not re.search(r"(\.key|\.pem|\.env|secret|\.state)", source, re.I), f"COPY {source}: a secret?"
    for spec in SERVICES:
        assert f"{spec.package}/" in sources, f"{spec.package} is not copied into the image"


def test_dockerignore_keeps_state_and_secrets_out():
    patterns = [line.strip() for line in (REPO / ".dockerignore").read_text().splitlines()
                if line.strip() and not line.startswith("#")]
    for path in (".git", ".state", ".venv", "node_modules", "link-signing.key", "server.pem", ".env"):
        assert any(fnmatch.fnmatch(path, p) for p in patterns), f"{path} would be sent to the build"
