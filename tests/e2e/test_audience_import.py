"""The import command against the running audience service: bad lines are
reported with their numbers and reasons and never stop the import."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid

import pytest

pytestmark = pytest.mark.e2e

CSV = """id,email,phone,attr.ltv:double,attr.vip:bool,attr.tags:list,consent.email
u-1,Ann@Example.com,+33612345678,12.5,true,shoes;sale,granted
u-2,not-an-email,,3,false,,denied
u-3,c@example.com,,abc,,,granted
bad id!,d@example.com,,,,,
u-1,,,13.0,,,
u-5,e@example.com,,1,maybe,,
u-6,f@example.com,,,,,granted,extra
u-7,g@example.com,,7.25,false,,pending
"""


def run_import(running, path, workspace, *extra):
    return subprocess.run(
        [sys.executable, "-m", "mkt", "audience", "import", str(path), "--workspace", workspace,
         "--target", f"127.0.0.1:{running.grpc_ports['audience']}", *extra],
        capture_output=True, text=True, timeout=120)


def test_csv_import_reports_bad_lines_and_keeps_the_good_ones(running, tmp_path):
    ws = f"imp-{uuid.uuid4().hex[:8]}"
    path = tmp_path / "customers.csv"
    path.write_text(CSV)
    result = run_import(running, path, ws)
    assert result.returncode == 3, result.stderr
    out = result.stdout
    assert "8 lines read, 2 profiles created, 0 updated, 5 lines rejected" in out, out
    assert "line 3 (id u-2): profile.email: 'not-an-email' is not an email address" in out
    assert "line 4 (id u-3): attr.ltv: not a double" in out
    assert "line 5 (id bad id!): id: must be 1-128 characters" in out
    assert "line 7 (id u-5): attr.vip: not a bool" in out
    assert "line 8 (id u-6): " in out and "more cells than the header" in out
    assert "importing customers.csv" in result.stderr  # the progress line
    ann = running.rest.call("GET", f"/v1/workspaces/{ws}/profiles/u-1").body
    assert ann["email"] == "ann@example.com"
    assert {a["key"]: a for a in ann["attributes"]}["ltv"]["doubleValue"] == 13.0  # line 6 merged into line 2
    assert {a["key"]: a for a in ann["attributes"]}["tags"]["stringListValue"]["values"] == ["shoes", "sale"]
    assert running.rest.call("GET", f"/v1/workspaces/{ws}/profiles/u-7").status == 200
    assert running.rest.call("GET", f"/v1/workspaces/{ws}/profiles/u-2").status == 404

    again = run_import(running, path, ws)
    assert "0 profiles created, 2 updated, 5 lines rejected" in again.stdout, again.stdout


def test_ndjson_import_and_validate_only(running, tmp_path):
    ws = f"imp-{uuid.uuid4().hex[:8]}"
    path = tmp_path / "people.ndjson"
    lines = [
        {"id": "p-1", "email": "p1@example.com", "attributes": {"visits": 3, "ltv": 1.5, "vip": True,
                                                                "birthday": {"timestamp": "1990-05-01T00:00:00Z"}},
         "consents": {"sms": "granted"}},
        "this is not json",
        {"id": "p-3", "phone": "12"},
    ]
    path.write_text("\n".join(json.dumps(x) if isinstance(x, dict) else x for x in lines) + "\n")
    checked = run_import(running, path, ws, "--validate-only")
    assert checked.returncode == 3
    assert "checked" in checked.stdout and "2 lines rejected" in checked.stdout
    assert running.rest.call("GET", f"/v1/workspaces/{ws}/profiles/p-1").status == 404
    result = run_import(running, path, ws)
    assert "3 lines read, 1 profiles created" in result.stdout, result.stdout
    assert "line 2: not JSON" in result.stdout
    assert "line 3 (id p-3): profile.phone" in result.stdout
    profile = running.rest.call("GET", f"/v1/workspaces/{ws}/profiles/p-1").body
    kinds = {a["key"]: set(a) - {"key"} for a in profile["attributes"]}
    assert kinds == {"visits": {"intValue"}, "ltv": {"doubleValue"}, "vip": {"boolValue"},
                     "birthday": {"timestampValue"}}
