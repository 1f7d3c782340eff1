"""MKT_PULSAR_NAMESPACE: two platforms sharing one broker, each in its own namespace, never share a
topic nor a subscription, though their services name the same topics (persistent://public/default/...)."""

from __future__ import annotations

import uuid

import pytest

from svc_kit.bus.factory import make_bus
from svc_kit.config import ConfigError
from tests.contract.test_bus import SIGNUP_V1, receive_n

TOPIC = f"persistent://public/default/ns-contract-{uuid.uuid4().hex[:8]}"


def pulsar_env(server, namespace: str | None) -> dict[str, str]:
    env = {"MKT_BUS": "pulsar", "MKT_PULSAR_URL": server.service_url, "MKT_PULSAR_ADMIN_URL": server.admin_url}
    if namespace:
        env["MKT_PULSAR_NAMESPACE"] = namespace
    return env


def test_platforms_in_two_namespaces_share_neither_topics_nor_subscriptions(pulsar_server):
    first, second = (f"public/ns-{uuid.uuid4().hex[:8]}" for _ in range(2))
    buses = [make_bus(pulsar_env(pulsar_server, ns)) for ns in (first, second, None)]
    try:
        consumers = [bus.consumer(TOPIC, "svc_same-subscription", SIGNUP_V1) for bus in buses]
        for index, bus in enumerate(buses):
            producer = bus.producer(TOPIC, SIGNUP_V1)
            producer.send(f"k{index}", {"id": f"from-{index}", "n": index})
            producer.close()
        for index, consumer in enumerate(consumers):
            [message] = receive_n(consumer, 1)
            assert message.value["id"] == f"from-{index}"
            assert consumer.receive(1.0) is None  # nothing of the other namespaces
    finally:
        for bus in buses:
            bus.close()


@pytest.mark.parametrize("namespace", ["nothing", "a/b/c", "/x"])
def test_a_namespace_is_tenant_slash_name(namespace):
    with pytest.raises(ConfigError, match="MKT_PULSAR_NAMESPACE"):
        make_bus({"MKT_BUS": "pulsar", "MKT_PULSAR_URL": "pulsar://127.0.0.1:6650",
                  "MKT_PULSAR_ADMIN_URL": "http://127.0.0.1:8080", "MKT_PULSAR_NAMESPACE": namespace})
