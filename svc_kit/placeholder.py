"""Serves a service whose API is designed but not built yet: health and
reflection work, and every RPC answers UNIMPLEMENTED (the generated base
servicer raises NotImplementedError, which the interceptor maps)."""

from __future__ import annotations

import importlib

from svc_kit.config import Settings
from svc_kit.server import Mounted


def mount_placeholder(settings: Settings) -> Mounted:
    spec = settings.service
    module = importlib.import_module(f"marketing.{spec.name}.v1.{spec.name}_service_pb2_grpc")
    service = spec.grpc_service.rsplit(".", 1)[1]
    servicer = getattr(module, f"{service}Servicer")()
    add = getattr(module, f"add_{service}Servicer_to_server")
    return Mounted(register=lambda server: add(servicer, server))
