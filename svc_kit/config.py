"""Configuration from environment variables, validated once at start.

The variables every service reads are declared here (`SHARED`, and per service
`service_variables`); a service's own ones are in `svc_<name>/config.py`.
A bad value raises ConfigError with one line that names the variable, the value
and what was expected; `svc_kit.app` prints that line and exits."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from svc_kit.services import ServiceSpec
# ConfigError and EnvReader live with Variable; many modules import them from here.
from svc_kit.settings_spec import ConfigError, EnvReader, Variable  # noqa: F401

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")

STATE_DIR = Variable("MKT_STATE_DIR", "path", None,
                     "the one folder where embedded stores (SQLite, bus log, blobs, secrets) keep data between "
                     "restarts", shown_default="<repository>/.state")
BIND_HOST = Variable("MKT_BIND_HOST", "text", "127.0.0.1", "address the process's servers listen on",
                     blank_is_unset=False)
LOG_LEVEL = Variable("MKT_LOG_LEVEL", "choice", "INFO", "log level (command-line tools: WARNING unless set)",
                     choices=LOG_LEVELS)
OTLP_ENDPOINT = Variable("OTEL_EXPORTER_OTLP_ENDPOINT", "url", None,
                         "OpenTelemetry collector that receives traces; unset: no traces exported")
SHUTDOWN_GRACE = Variable("MKT_SHUTDOWN_GRACE_SECONDS", "seconds", 10.0,
                          "how long in-flight calls may finish after SIGTERM")
INSTRUMENTATION = Variable("MKT_INSTRUMENTATION", "choice", "on",
                           "off: no gRPC server metrics and no spans (svc_kit/instrumentation.py); for measuring "
                           "their cost (make bench-instrumentation)", choices=("ON", "OFF"))
TRACE_SAMPLE_RATIO = Variable("MKT_TRACE_SAMPLE_RATIO", "number", 1.0,
                              "share of the traces a service starts itself (calls arriving without a traceparent) "
                              "that are recorded and exported; a call with a traceparent follows its caller's "
                              "decision", low=0.0, high=1.0)
SHARED = (STATE_DIR, BIND_HOST, LOG_LEVEL, OTLP_ENDPOINT, SHUTDOWN_GRACE, INSTRUMENTATION, TRACE_SAMPLE_RATIO)


def grpc_port(service: ServiceSpec) -> Variable:
    return Variable(service.env_prefix + "GRPC_PORT", "port", service.grpc_port,
                    f"port of the {service.name} service's gRPC API (also where its clients find it)")


def metrics_port(service: ServiceSpec) -> Variable:
    return Variable(service.env_prefix + "METRICS_PORT", "port", service.metrics_port,
                    f"port of the {service.name} service's Prometheus /metrics")


def service_variables(service: ServiceSpec) -> tuple[Variable, ...]:
    """What `load_settings` reads for `service`: its ports and the shared variables."""
    return (grpc_port(service), metrics_port(service)) + SHARED


def state_dir(env: Mapping[str, str] | None = None) -> Path:
    """The one folder where embedded stores keep data between restarts."""
    env = os.environ if env is None else env
    default = Path(__file__).resolve().parent.parent / ".state"
    return Path(STATE_DIR.read(env) or default).resolve()


@dataclass(frozen=True)
class Settings:
    service: ServiceSpec
    bind_host: str
    grpc_port: int
    metrics_port: int
    log_level: str
    otlp_endpoint: str | None
    shutdown_grace_seconds: float
    state_dir: Path
    env: Mapping[str, str]
    instrumentation: bool = True  # MKT_INSTRUMENTATION
    trace_sample_ratio: float = 1.0  # MKT_TRACE_SAMPLE_RATIO


def load_settings(service: ServiceSpec, env: Mapping[str, str] | None = None) -> Settings:
    env = dict(os.environ if env is None else env)
    return Settings(
        service=service,
        bind_host=BIND_HOST.read(env),
        grpc_port=grpc_port(service).read(env),
        metrics_port=metrics_port(service).read(env),
        log_level=LOG_LEVEL.read(env),
        otlp_endpoint=OTLP_ENDPOINT.read(env),
        shutdown_grace_seconds=SHUTDOWN_GRACE.read(env),
        state_dir=state_dir(env),
        env=env,
        instrumentation=INSTRUMENTATION.read(env) == "ON",
        trace_sample_ratio=float(TRACE_SAMPLE_RATIO.read(env)),
    )
