"""Log lines a consumer writes about a message outside its handler's span carry the message's trace."""

from __future__ import annotations

import io
import json
import logging
import uuid
from datetime import UTC, datetime

from svc_kit.bus.port import Message
from svc_kit.logs import JsonFormatter
from svc_kit.trace_context import message_context


def logged(service: str, write) -> dict:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter(service))
    logger = logging.getLogger(f"test.{uuid.uuid4().hex}")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    write(logger)
    return json.loads(stream.getvalue().splitlines()[-1])


def message(properties: dict[str, str]) -> Message:
    return Message("persistent://public/default/t", "1:0", "k", {"event_id": "e1"}, properties, 0, datetime.now(UTC))


def test_a_line_about_a_message_carries_its_trace_and_the_producers_span():
    trace_id, span_id = uuid.uuid4().hex, uuid.uuid4().hex[:16]
    traced = message({"traceparent": f"00-{trace_id}-{span_id}-01"})

    def write(logger):
        with message_context(traced.properties):
            logger.info("stored campaign_started")

    entry = logged("analytics", write)
    assert (entry["service"], entry["message"]) == ("analytics", "stored campaign_started")
    assert (entry["trace_id"], entry["span_id"]) == (trace_id, span_id)
    # Outside it, the line is the thread's own again.
    assert "trace_id" not in logged("analytics", lambda logger: logger.info("idle"))


def test_a_message_without_trace_context_logs_without_ids():
    def write(logger):
        with message_context(message({}).properties):
            logger.info("stored campaign_started")

    assert "trace_id" not in logged("analytics", write)
