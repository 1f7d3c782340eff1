"""Process entry point shared by the six services: `python -m svc_<name>`."""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Callable

from svc_kit.config import ConfigError, Settings, load_settings
from svc_kit.logs import configure_logging
from svc_kit.metrics import configure_service
from svc_kit.server import Mounted, StartupError, serve_until_signalled
from svc_kit.services import BY_NAME
from svc_kit.tracing import configure_tracing, shutdown_tracing


def main(service_name: str, mount: Callable[[Settings], Mounted]) -> None:
    spec = BY_NAME[service_name]
    try:
        settings = load_settings(spec)
    except ConfigError as error:
        sys.exit(f"{spec.package}: configuration error: {error}")
    configure_logging(spec.name, settings.log_level)
    configure_service(spec.name)
    if settings.instrumentation:  # MKT_INSTRUMENTATION=off: no tracer provider, so no spans at all
        configure_tracing(spec.name, settings.otlp_endpoint, settings.trace_sample_ratio)
    try:
        mounted = mount(settings)
        asyncio.run(serve_until_signalled(settings, mounted))
    except (ConfigError, StartupError) as error:
        logging.getLogger("svc_kit.app").error("cannot start: %s", error)
        sys.exit(f"{spec.package}: cannot start: {error}")
    finally:
        shutdown_tracing()


def run_tool(service_name: str, tool: Callable[[Settings], int | None]) -> int:
    """Runs a command-line tool of a service (replay, migrate) with its settings;
    configuration and start-up problems end it with one line, not a traceback."""
    spec = BY_NAME[service_name]
    try:
        settings = load_settings(spec)
        # Tools print their own summary; logs below WARNING only when asked for.
        configure_logging(spec.name, settings.log_level if "MKT_LOG_LEVEL" in settings.env else "WARNING")
        return tool(settings) or 0
    except (ConfigError, StartupError) as error:
        print(f"{spec.package}: {error}", file=sys.stderr)
        return 2
