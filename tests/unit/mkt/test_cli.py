"""The `mkt` command line: every service's commands are assembled under it, each
answers --help, and failures end with one line on stderr and the documented
exit code, never a traceback."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from datetime import UTC, datetime

import pytest

from devstack.processes import free_port
from mkt import cli

EXPECTED = {("campaign", "replay"), ("campaign", "migrate"), ("audience", "import"),
            ("audience", "suppressions", "import"), ("audience", "suppressions", "export"),
            ("content", "migrate"), ("notify", "migrate"), ("notify", "sign-callback"),
            ("integrations", "migrate"), ("keys", "create"), ("keys", "list"), ("keys", "revoke"),
            ("sources", "create"), ("sources", "list"), ("sources", "revoke"), ("token", "dev"),
            ("slo", "status"), ("connections", "rotate-keys"),
            ("webhooks", "create"), ("webhooks", "list"), ("webhooks", "test"), ("webhooks", "deliveries"),
            ("webhooks", "replay")}


def commands(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()) -> dict[tuple[str, ...], argparse.ArgumentParser]:
    """Every parser below `parser`, by its command path."""
    found = {path: parser}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                found.update(commands(child, (*path, name)))
    return found


def test_every_service_command_is_under_mkt():
    leaves = {path for path, parser in commands(cli.parser()).items()
              if path and not any(isinstance(a, argparse._SubParsersAction) for a in parser._actions)}
    assert leaves == EXPECTED


def test_mkt_help_lists_every_service_and_each_help_works(capsys):
    for path in sorted(commands(cli.parser())):
        with pytest.raises(SystemExit) as exit_:
            cli.main([*path, "--help"])
        assert exit_.value.code == 0
        out = capsys.readouterr().out
        assert out.startswith(f"usage: {' '.join(('mkt', *path))} ")
        if path == ():
            assert all(service in out for service in ("campaign", "audience", "content", "notify"))
        elif path == ("audience", "suppressions"):
            assert "import" in out and "export" in out


def test_mkt_runs_as_a_module():
    result = subprocess.run([sys.executable, "-m", "mkt", "--help"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and "audience" in result.stdout


def test_bad_usage_exits_2(capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main(["audience", "import"])  # no file, no workspace
    assert exit_.value.code == 2
    assert "required" in capsys.readouterr().err


def test_a_missing_file_is_one_line_and_exit_2(tmp_path, capsys):
    assert cli.main(["audience", "import", str(tmp_path / "nope.csv"), "--workspace", "acme"]) == 2
    assert capsys.readouterr().err == f"{tmp_path / 'nope.csv'} is not a file\n"


def test_an_unreachable_service_is_one_line_and_exit_1(tmp_path, capsys):
    path = tmp_path / "list.csv"
    path.write_text("email,reason\nann@example.com,bounced\n")
    target = f"127.0.0.1:{free_port()}"  # nothing listens there
    assert cli.main(["audience", "suppressions", "import", str(path), "--workspace", "acme",
                     "--target", target]) == 1
    errors = [line for line in capsys.readouterr().err.splitlines() if not line.startswith("importing")]
    assert len(errors) == 1 and errors[0].startswith("import failed: UNAVAILABLE"), errors


def test_an_unwritable_output_is_one_line_and_exit_1(tmp_path, capsys):
    output = tmp_path / "missing-folder" / "out.csv"
    assert cli.main(["audience", "suppressions", "export", "--workspace", "acme", "--output", str(output),
                     "--target", f"127.0.0.1:{free_port()}"]) == 1
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith("mkt: ") and "No such file or directory" in line


def run_mkt(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mkt", *args], env={**os.environ, **env}, capture_output=True,
                          text=True, timeout=120)


def test_campaign_commands_on_the_embedded_database(tmp_path):
    env = {"MKT_STATE_DIR": str(tmp_path)}
    migrated = run_mkt("campaign", "migrate", env=env)
    assert (migrated.returncode, migrated.stdout) == (0, "migrated\n"), migrated.stderr
    checked = run_mkt("campaign", "replay", "--check", env=env)
    assert checked.returncode == 0, checked.stderr
    assert "checked 0 campaigns from 0 events" in checked.stdout


def test_a_configuration_error_is_one_line_and_exit_2(tmp_path):
    result = run_mkt("campaign", "replay", env={"MKT_STATE_DIR": str(tmp_path), "MKT_CAMPAIGN_GRPC_PORT": "nope"})
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr, result.stderr


def test_python_m_service_only_serves():
    result = subprocess.run([sys.executable, "-m", "svc_audience", "import", "x.csv"], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 1 and "mkt audience --help" in result.stderr


@pytest.mark.parametrize(("command", "header", "message"), [
    (["import"], "email,phone\n", "the header row must have an `id` column"),
    (["suppressions", "import"], "reason,note\n", "the header row must have an email, phone or profile column"),
])
def test_a_csv_without_its_key_column_is_refused_before_sending(tmp_path, capsys, command, header, message):
    path = tmp_path / "list.csv"
    path.write_text(header + "a,b\n")
    # Nothing listens at the target: the file is refused before any connection is tried.
    assert cli.main(["audience", *command, str(path), "--workspace", "acme",
                     "--target", f"127.0.0.1:{free_port()}"]) == 1
    assert capsys.readouterr().err == f"{path}: {message}\n"


def test_a_file_that_is_not_utf8_is_refused_before_sending(tmp_path, capsys):
    path = tmp_path / "list.ndjson"
    path.write_bytes(b'{"id": "u-1"}\n{"id": "\xff"}\n')
    assert cli.main(["audience", "import", str(path), "--workspace", "acme",
                     "--target", f"127.0.0.1:{free_port()}"]) == 1
    assert capsys.readouterr().err == f"{path}: line 2 is not UTF-8 text (invalid start byte)\n"


def test_notify_sign_callback_prints_the_signature_the_service_checks(tmp_path, capsys):
    from svc_kit.signing import Keyring, callback_signature, verify_callback

    secret, body = tmp_path / "secret", tmp_path / "body.json"
    secret.write_text("s3cret\nold\n")
    body.write_bytes(b'{"events": [{"message": "workspaces/acme/messages/m", "type": "delivered"}]}')
    provider = "workspaces/acme/providers/default-smtp"
    assert cli.main(["notify", "sign-callback", "--provider", provider, "--body-file", str(body),
                     "--secret-file", str(secret), "--time", "1772366400"]) == 0
    printed = capsys.readouterr().out.strip()
    assert printed == callback_signature("s3cret", provider, body.read_bytes(), 1772366400)
    assert verify_callback(Keyring(b"s3cret"), provider, body.read_bytes(), printed,
                           now=datetime.fromtimestamp(1772366400, UTC))
    assert cli.main(["notify", "sign-callback", "--provider", "acme/default-smtp", "--body-file", str(body),
                     "--secret-file", str(secret)]) == 2
    assert "--provider is workspaces/" in capsys.readouterr().err
    assert cli.main(["notify", "sign-callback", "--provider", provider, "--body-file", str(body),
                     "--secret-file", str(tmp_path / "none")]) == 2
    assert "no secret file" in capsys.readouterr().err
