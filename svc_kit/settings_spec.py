"""Environment variables declared once, read and checked the same way everywhere.

A `Variable` names one environment variable with its type, its default and a
line for people; `variable.read(env)` returns the value, or raises ConfigError
with one line naming the variable, the value and what was expected. Each
service lists what it reads in `svc_<name>/config.py` (`VARIABLES`), the
variables every service shares are declared in svc_kit, and
`python -m devstack.tools.configdoc` writes docs/configuration.md from those lists.

An empty value counts as unset, except for the few variables declared with
`blank_is_unset=False` (an empty value is then read as given)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse


class ConfigError(ValueError):
    pass


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

    def flag(self, key: str, default: bool, blank_is_unset: bool = True) -> bool:
        raw = self.env.get(key)
        if raw is None or (raw == "" and blank_is_unset):
            raw = "true" if default else "false"
        raw = raw.lower()
        if raw not in ("true", "false"):
            raise ConfigError(f"{key}={raw!r} must be true or false")
        return raw == "true"

    def number(self, key: str, default: float, low: float, high: float, integer: bool = False) -> float:
        raw = self.env.get(key, "")
        if raw == "":
            return default
        try:
            value = int(raw) if integer else float(raw)
        except ValueError:
            raise ConfigError(f"{key}={raw!r} is not a number") from None
        if not low <= value <= high:
            raise ConfigError(f"{key}={raw!r} must lie between {low:g} and {high:g}")
        return value


# What each kind of variable is called in docs/configuration.md.
KINDS = {
    "text": "text", "path": "path", "port": "port", "seconds": "seconds (0-3600)", "number": "number",
    "integer": "integer", "flag": "true/false", "choice": "one of", "url": "http(s) URL", "secret": "secret",
}


@dataclass(frozen=True)
class Variable:
    name: str
    kind: str  # a key of KINDS
    default: Any  # what `read` returns when unset (None: nothing; the reader decides)
    description: str  # one line for docs/configuration.md
    shown_default: str | None = None  # the default as people should read it, when `default` is computed later
    choices: tuple[str, ...] = ()
    low: float | None = None
    high: float | None = None
    blank_is_unset: bool = True

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"{self.name}: unknown kind {self.kind!r}")

    def read(self, env: Mapping[str, str]) -> Any:
        reader = EnvReader(env)
        if self.kind == "port":
            return reader.port(self.name, self.default)
        if self.kind == "seconds":
            return reader.seconds(self.name, self.default)
        if self.kind == "url":
            return reader.url(self.name) or self.default
        if self.kind == "choice":
            return reader.choice(self.name, self.default, self.choices)
        if self.kind == "flag":
            return reader.flag(self.name, self.default, self.blank_is_unset)
        if self.kind in ("number", "integer"):
            return reader.number(self.name, self.default, self.low, self.high, integer=self.kind == "integer")
        raw = env.get(self.name)
        if raw is None or (raw == "" and self.blank_is_unset):
            return self.default
        return raw

    @property
    def type_label(self) -> str:
        label = KINDS[self.kind]
        if self.kind == "choice":
            return f"{label} {', '.join(self.choices)}"
        if self.kind in ("number", "integer"):
            return f"{label} ({_number(self.low)}-{_number(self.high)})"
        return label

    @property
    def default_label(self) -> str:
        if self.shown_default is not None:
            return self.shown_default
        if self.default is None or self.default == "":
            return "unset"
        if isinstance(self.default, bool):
            return "true" if self.default else "false"
        if isinstance(self.default, float):
            return _number(self.default)
        return str(self.default)


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"

