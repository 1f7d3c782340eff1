"""Wires the audience service: configuration -> MongoDB-wire database -> servicer.

MKT_AUDIENCE_MONGODB_URL   mongodb://host:port/ (default: the embedded server `make run`
                           starts, at 127.0.0.1:MKT_MONGO_PORT, 27027 unless set)
MKT_AUDIENCE_DATABASE      database name (default: audience)
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

from pymongo import MongoClient
from pymongo.errors import PyMongoError

from marketing.audience.v1 import audience_service_pb2_grpc
from svc_kit.clock import utcnow
from svc_kit.config import ConfigError, EnvReader, Settings
from svc_kit.server import Mounted, StartupError

from svc_audience.adapters.repository import MongoProfileRepository, ensure_indexes
from svc_audience.entrypoints.grpc_servicer import AudienceServicer

EMBEDDED_MONGO_PORT = 27027
CONNECT_PATIENCE_SECONDS = 20.0
WORKER_THREADS = 8


def mongodb_url(settings: Settings) -> str:
    url = settings.get("MONGODB_URL")
    if url:
        if not url.startswith(("mongodb://", "mongodb+srv://")):
            raise ConfigError(f"{settings.service.env_prefix}MONGODB_URL={url!r} must be a mongodb:// URL")
        return url
    port = EnvReader(settings.env).port("MKT_MONGO_PORT", EMBEDDED_MONGO_PORT)
    return f"mongodb://127.0.0.1:{port}/"


def connect(url: str, database: str):
    """The database, with its indexes; waits a little for a server that is starting."""
    client = MongoClient(url, serverSelectionTimeoutMS=2000, tz_aware=True)
    deadline = time.monotonic() + CONNECT_PATIENCE_SECONDS
    while True:
        try:
            client.admin.command("ping")
            db = client[database]
            ensure_indexes(db)
            return client, db
        except PyMongoError as error:
            if time.monotonic() > deadline:
                client.close()
                raise StartupError(f"MongoDB-wire server {url} is out of reach: {error}") from None
            time.sleep(0.2)


def mount(settings: Settings) -> Mounted:
    client, database = connect(mongodb_url(settings), settings.get("DATABASE") or "audience")
    executor = ThreadPoolExecutor(WORKER_THREADS, thread_name_prefix="audience")
    servicer = AudienceServicer(MongoProfileRepository(database), utcnow, executor)

    def close() -> None:
        executor.shutdown(wait=True)
        client.close()

    return Mounted(
        register=lambda server: audience_service_pb2_grpc.add_AudienceServiceServicer_to_server(servicer, server),
        close=close,
    )
