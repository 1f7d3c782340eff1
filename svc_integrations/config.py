"""The integrations service's configuration: every environment variable it reads
(VARIABLES; docs/configuration.md lists them). Declare new ones here."""

from __future__ import annotations

from svc_kit import migrations as relational
from svc_kit.clients import target_variable
from svc_kit.config import Variable, service_variables
from svc_kit.services import BY_NAME

SERVICE = BY_NAME["integrations"]

KEY_CACHE_SECONDS = Variable(SERVICE.env_prefix + "KEY_CACHE_SECONDS", "seconds", 5.0,
                             "how long the edge's API-key check keeps a key in memory; a key revoked through "
                             "this process is refused at once, other replicas see it within this time")

# --- Event collection (Segment-compatible) ---
COLLECT_DEDUP_HOURS = Variable(SERVICE.env_prefix + "COLLECT_DEDUP_HOURS", "integer", 24,
                               "how long a collected call's messageId is remembered per source: a call sent again "
                               "within this time is answered 200 and changes nothing", low=1, high=24 * 90)
COLLECT_VARIABLES = (COLLECT_DEDUP_HOURS, target_variable("audience"), target_variable("analytics"))

# --- Outbound webhooks -------------------------------------------------------------------------
WEBHOOK_URL_POLICY = Variable(SERVICE.env_prefix + "WEBHOOK_URL_POLICY", "choice", "development",
                              "development: webhook URLs must be https, or http to localhost; production (the Helm "
                              "chart's setting): webhooks and connectors call https URLs only, and never a host "
                              "that resolves to a private, loopback, link-local or metadata address (checked on "
                              "create/update and again at every connect)", choices=("DEVELOPMENT", "PRODUCTION"))
WEBHOOK_SECRET_KEYS = Variable(SERVICE.env_prefix + "WEBHOOK_SECRET_KEYS", "secret", "",
                               "comma-separated Fernet keys that encrypt webhook signing secrets at rest; the first "
                               "encrypts, all decrypt (rotation: put a new key first); unset: webhooks cannot "
                               "keep signing secrets (make run and the e2e platform make one in the state folder)")
WEBHOOK_TIMEOUT = Variable(SERVICE.env_prefix + "WEBHOOK_TIMEOUT_SECONDS", "seconds", 10.0,
                           "how long one webhook delivery attempt may take before it counts as failed")
WEBHOOK_CONCURRENCY = Variable(SERVICE.env_prefix + "WEBHOOK_CONCURRENCY", "integer", 4,
                               "attempts in flight per webhook endpoint and replica (so a slow endpoint never holds "
                               "up another's deliveries)", low=1, high=100)
WEBHOOK_POLL = Variable(SERVICE.env_prefix + "WEBHOOK_POLL_SECONDS", "seconds", 0.5,
                        "how often the delivery worker looks for due deliveries when idle")
WEBHOOK_RETRY_SCHEDULE = Variable(SERVICE.env_prefix + "WEBHOOK_RETRY_SCHEDULE", "text",
                                  "5,300,1800,7200,18000,36000,36000",
                                  "seconds before each retry of a failed delivery (each +-20% jitter); when they "
                                  "are used up the delivery is dead-lettered and its webhook disabled")
WEBHOOK_SECRET_OVERLAP = Variable(SERVICE.env_prefix + "WEBHOOK_SECRET_OVERLAP_SECONDS", "number", 86400.0,
                                  "how long a rotated-out webhook secret still signs deliveries alongside the new "
                                  "one", low=0, high=30 * 86400)
WEBHOOK_VARIABLES = (WEBHOOK_URL_POLICY, WEBHOOK_SECRET_KEYS, WEBHOOK_TIMEOUT, WEBHOOK_CONCURRENCY, WEBHOOK_POLL,
                     WEBHOOK_RETRY_SCHEDULE, WEBHOOK_SECRET_OVERLAP)

# --- connections and syncs (issue 16 part C) ---
CREDENTIAL_KEYS = Variable(SERVICE.env_prefix + "CREDENTIAL_KEYS", "text", "",
                           "comma-separated Fernet keys (32 url-safe base64 bytes each) that encrypt connection "
                           "credentials: the first encrypts, all decrypt; rotate by putting a new key first and "
                           "running `mkt connections rotate-keys`; unset: connections cannot hold credentials "
                           "(make run and the e2e platform make one in the state folder)")
SYNC_POLL_SECONDS = Variable(SERVICE.env_prefix + "SYNC_POLL_SECONDS", "seconds", 5.0,
                             "how often the sync worker looks for scheduled syncs and queued runs (RunSync wakes "
                             "it at once in the same process)")
SYNC_LEASE_SECONDS = Variable(SERVICE.env_prefix + "SYNC_LEASE_SECONDS", "seconds", 60.0,
                              "how long a worker holds a running sync run without reporting progress; a run whose "
                              "worker died is taken over after this")
SYNC_CHUNK_SIZE = Variable(SERVICE.env_prefix + "SYNC_CHUNK_SIZE", "integer", 1000,
                           "diff rows (adds, removes, identifier changes) an incremental sync run pushes per "
                           "step (the synced set follows each step the destination took)", low=1, high=10000)

CONNECTION_VARIABLES = (CREDENTIAL_KEYS, SYNC_POLL_SECONDS, SYNC_LEASE_SECONDS, SYNC_CHUNK_SIZE)

VARIABLES = (service_variables(SERVICE) + relational.variables(SERVICE) + (KEY_CACHE_SECONDS,) + COLLECT_VARIABLES
             + WEBHOOK_VARIABLES + CONNECTION_VARIABLES)
