"""Configuration from environment variables, validated once at start.

A bad value raises ConfigError with one line that names the variable, the value
and what was expected; `svc_kit.app` prints that line and exits."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from svc_kit.services import ServiceSpec

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


class ConfigError(ValueError):
    pass


def state_dir(env: Mapping[str, str] | None = None) -> Path:
    """The one folder where embedded stores keep data between restarts."""
    env = os.environ if env is None else env
    default = Path(__file__).resolve().parent.parent / ".state"
    return Path(env.get("MKT_STATE_DIR") or default).resolve()


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

    def get(self, suffix: str, default: str | None = None) -> str | None:
        """A service-specific variable, `MKT_<SERVICE>_<SUFFIX>`."""
        return self.env.get(self.service.env_prefix + suffix, default)


class EnvReader:
    def __init__(self, env: Mapping[str, str]):
        self.env = env

    def port(self, key: str, default: int) -> int:
        raw = self.env.get(key)
        if raw is None or raw == "":
            return default
        if not raw.isdigit() or not 1 <= int(raw) <= 65535:
            raise ConfigError(f"{key}={raw!r} is not a port number (1-65535)")
        return int(raw)

    def choice(self, key: str, default: str, choices: tuple[str, ...]) -> str:
        raw = self.env.get(key, default).upper()
        if raw not in choices:
            raise ConfigError(f"{key}={raw!r} must be one of {', '.join(choices)}")
        return raw

    def seconds(self, key: str, default: float) -> float:
        raw = self.env.get(key)
        if raw is None or raw == "":
            return default
        try:
            value = float(raw)
        except ValueError:
            raise ConfigError(f"{key}={raw!r} is not a number of seconds") from None
        if not 0 <= value <= 3600:
            raise ConfigError(f"{key}={raw!r} must lie between 0 and 3600 seconds")
        return value

    def url(self, key: str) -> str | None:
        raw = self.env.get(key)
        if not raw:
            return None
        parsed = urlparse(raw)
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise ConfigError(f"{key}={raw!r} is not an http(s)://host:port URL")
        return raw


def load_settings(service: ServiceSpec, env: Mapping[str, str] | None = None) -> Settings:
    env = dict(os.environ if env is None else env)
    read = EnvReader(env)
    prefix = service.env_prefix
    return Settings(
        service=service,
        bind_host=env.get("MKT_BIND_HOST", "127.0.0.1"),
        grpc_port=read.port(prefix + "GRPC_PORT", service.grpc_port),
        metrics_port=read.port(prefix + "METRICS_PORT", service.metrics_port),
        log_level=read.choice("MKT_LOG_LEVEL", "INFO", LOG_LEVELS),
        otlp_endpoint=read.url("OTEL_EXPORTER_OTLP_ENDPOINT"),
        shutdown_grace_seconds=read.seconds("MKT_SHUTDOWN_GRACE_SECONDS", 10.0),
        state_dir=state_dir(env),
        env=env,
    )
