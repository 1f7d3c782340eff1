"""The analytics service's configuration: every environment variable it reads
(VARIABLES; docs/configuration.md lists them), checked at start."""

from __future__ import annotations

from svc_kit import migrations as relational
from svc_kit.bus import factory as bus
from svc_kit.config import Variable, service_variables
from svc_kit.services import BY_NAME

SERVICE = BY_NAME["analytics"]
PREFIX = SERVICE.env_prefix

CLICKHOUSE_URL = Variable(PREFIX + "CLICKHOUSE_URL", "text", None,
                          "the event store: a ClickHouse server, clickhouse://user:password@host:9000/database; "
                          "unset: chdb (ClickHouse in-process) with its data in <state dir>/analytics-chdb",
                          shown_default="chdb in <state dir>/analytics-chdb")
BATCH_SIZE = Variable(PREFIX + "BATCH_SIZE", "integer", 5000,
                      "events written to the store in one insert at most", low=1, high=100_000)
BATCH_DELAY = Variable(PREFIX + "BATCH_DELAY_SECONDS", "seconds", 0.5,
                       "longest an event from the bus waits for its batch to fill before it is written")
MACHINE_DELAY = Variable(PREFIX + "MACHINE_DELAY_SECONDS", "seconds", 10.0,
                         "an open or click sooner than this after its message was sent is a machine's "
                         "(scanners fetch on delivery); 0: judged by user agent only")
ATTRIBUTION_WINDOW = Variable(PREFIX + "ATTRIBUTION_WINDOW_DAYS", "number", 5.0,
                              "a goal event (purchase) is credited to the profile's last human click within "
                              "this many days", low=0.0, high=90.0)

VARIABLES = (service_variables(SERVICE) + relational.variables(SERVICE) + bus.VARIABLES
             + (CLICKHOUSE_URL, BATCH_SIZE, BATCH_DELAY, MACHINE_DELAY, ATTRIBUTION_WINDOW))
