"""The integrations service's configuration: every environment variable it reads
(VARIABLES; docs/configuration.md lists them). Declare new ones here."""

from __future__ import annotations

from svc_kit import migrations as relational
from svc_kit.config import Variable, service_variables
from svc_kit.services import BY_NAME

SERVICE = BY_NAME["integrations"]

KEY_CACHE_SECONDS = Variable(SERVICE.env_prefix + "KEY_CACHE_SECONDS", "seconds", 5.0,
                             "how long the edge's API-key check keeps a key in memory; a key revoked through "
                             "this process is refused at once, other replicas see it within this time")

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
                           "pending changes an incremental sync run pushes per step (each step's changes are "
                           "cleared once the destination took them)", low=1, high=10000)

VARIABLES = service_variables(SERVICE) + relational.variables(SERVICE) + (KEY_CACHE_SECONDS,) + (
    CREDENTIAL_KEYS, SYNC_POLL_SECONDS, SYNC_LEASE_SECONDS, SYNC_CHUNK_SIZE)
