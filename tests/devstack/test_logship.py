"""The platform's log shipper (devstack/logship.py) against a real VictoriaLogs: JSON lines keep their
fields, other lines go as their message, a line goes only once complete, lines written while
VictoriaLogs is away go once it is back, and the stream field is the service."""

from __future__ import annotations

import json
import time
import uuid

from devstack.logship import LogShipper


def wait_for(query, predicate, timeout: float = 20.0):
    deadline = time.monotonic() + timeout
    while True:
        found = query()
        if predicate(found):
            return found
        assert time.monotonic() < deadline, found
        time.sleep(0.2)


def test_json_and_plain_lines_are_shipped_with_their_fields(tmp_path, victorialogs_server):
    marker = uuid.uuid4().hex
    service_log, envoy_log = tmp_path / "campaign.log", tmp_path / "edge.log"
    service_log.write_text(json.dumps({"time": "2026-01-01T00:00:00.000+00:00", "message": "before", "run": marker,
                                       "service": "campaign"}) + "\n")
    shipper = LogShipper(victorialogs_server.url, interval=0.1)
    shipper.follow("campaign", service_log)  # from its end: "before" is not shipped
    shipper.follow("edge", envoy_log)  # not written yet
    shipper.start()
    try:
        with open(service_log, "a") as handle:
            handle.write(json.dumps({"time": "2026-12-05T10:00:00.123+00:00", "level": "INFO", "service": "campaign",
                                     "message": "campaign started", "trace_id": marker, "span_id": "00f067aa0ba902b7",
                                     "campaign": "c1"}) + "\n")
            half = json.dumps({"message": f"half {marker}", "service": "campaign"})
            handle.write(half[:30])  # a line being written
            handle.flush()
        envoy_log.write_text(f"[warning] upstream reset {marker}\n")
        lines = wait_for(lambda: victorialogs_server.query(f"trace_id:{marker}"), lambda found: len(found) >= 1)
        plain = wait_for(lambda: victorialogs_server.query(f'"{marker}" AND service:edge'), lambda found: found)
        assert victorialogs_server.query('"half"') == []  # not before its newline
        with open(service_log, "a") as handle:
            handle.write(half[30:] + "\n")
        [completed] = wait_for(lambda: victorialogs_server.query(f'"half {marker}"'), lambda found: found)
        assert completed["service"] == "campaign"
    finally:
        shipper.stop()
    [line] = lines
    assert line["_msg"] == "campaign started" and line["service"] == "campaign" and line["campaign"] == "c1"
    assert line["_time"].startswith("2026-12-05T10:00:00.123")
    assert line["span_id"] == "00f067aa0ba902b7" and line["level"] == "INFO"
    assert plain[0]["_msg"] == f"[warning] upstream reset {marker}" and plain[0]["log_file"] == "edge"
    assert victorialogs_server.query(f"run:{marker}") == []  # written before shipping began
    assert shipper.failures == 0 and shipper.dropped == 0


def test_an_access_log_line_gets_a_message_and_the_ids_of_its_traceparent(tmp_path, victorialogs_server):
    trace_id = uuid.uuid4().hex
    path = tmp_path / "edge.log"
    path.write_text("")
    shipper = LogShipper(victorialogs_server.url)
    shipper.follow("edge", path)
    with open(path, "a") as handle:
        handle.write(json.dumps({"method": "POST", "path": "/v1/workspaces/acme/campaigns", "status": 200,
                                 "grpc_status": "OK", "time": "2026-12-05T12:11:49.965Z",
                                 "traceparent": f"00-{trace_id}-00f067aa0ba902b7-01"}) + "\n")
    assert shipper.ship_once() == 1
    [line] = wait_for(lambda: victorialogs_server.query(f"trace_id:{trace_id}"), lambda found: found)
    assert line["service"] == "edge" and line["span_id"] == "00f067aa0ba902b7"
    assert line["_msg"] == "POST /v1/workspaces/acme/campaigns 200 OK"


def test_lines_wait_while_victorialogs_is_away(tmp_path, victorialogs_server):
    from devstack.processes import free_port

    marker = uuid.uuid4().hex
    path = tmp_path / "notify.log"
    path.write_text("")
    away = LogShipper(f"http://127.0.0.1:{free_port()}")  # nothing listens there
    away.follow("notify", path)
    with open(path, "a") as handle:
        handle.write(json.dumps({"service": "notify", "message": "message accepted", "trace_id": marker}) + "\n")
    assert away.ship_once() == 0 and away.failures == 1
    # The same pending lines, once a VictoriaLogs answers (as after its restart).
    away.url = victorialogs_server.url
    assert away.ship_once() == 1
    [line] = wait_for(lambda: victorialogs_server.query(f"trace_id:{marker}"), lambda found: found)
    assert line["_msg"] == "message accepted" and line["service"] == "notify"
