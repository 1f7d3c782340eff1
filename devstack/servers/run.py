"""`make run`: the whole platform on embedded defaults until Ctrl-C or SIGTERM."""

from __future__ import annotations

import os
import signal
import sys
import time

from svc_kit.config import ConfigError, state_dir

from devstack import logship
from devstack.servers import victorialogs
from devstack.servers import prometheus
from devstack.servers import jaeger as jaeger_server
from devstack.servers.platform import Platform, PlatformError
from mesh import local as local_mesh
from mesh.ca import CertificateError


class _Stop(Exception):
    pass


def _raise_stop(signum, frame):
    raise _Stop


def log_store() -> tuple:
    """MKT_VICTORIALOGS=on (default) runs VictoriaLogs when it is built, off never; (binary or None, a
    line saying so). MKT_LOGS_URL set: the logs go there instead, nothing is started."""
    raw = os.environ.get(logship.VICTORIALOGS_VARIABLE, "on").strip().lower()
    if raw not in ("on", "off"):
        raise ConfigError(f"{logship.VICTORIALOGS_VARIABLE}={raw!r} must be on or off")
    if os.environ.get(logship.LOGS_URL_VARIABLE):
        return None, f"logs shipped to {os.environ[logship.LOGS_URL_VARIABLE]} ({logship.LOGS_URL_VARIABLE})"
    if raw == "off":
        return None, f"logs not shipped ({logship.VICTORIALOGS_VARIABLE}=off)"
    binary = victorialogs.installed()
    if binary is None:
        return None, ("logs not shipped: VictoriaLogs is not built (`.venv/bin/python -m "
                      "devstack.servers.victorialogs --install` builds it once with Go, ~20 s)")
    return binary, "logs shipped to VictoriaLogs (MKT_VICTORIALOGS=off to skip)"


def main() -> int:
    folder = state_dir()
    jaeger = None
    try:
        mesh = local_mesh.enabled(os.environ)  # MKT_MESH=on (default) or off
        # Jaeger first (when built; MKT_JAEGER=off skips it): the services and Envoys export to it.
        jaeger, traces_line = jaeger_server.start_for_run(os.environ)
        scrape, prometheus_port = prometheus.settings(os.environ)  # MKT_PROMETHEUS, MKT_PROMETHEUS_PORT
        if scrape and prometheus.binary() is None:
            print(f"Prometheus is not installed, so nothing scrapes the platform: {prometheus.INSTALL_HINT} "
                  "(MKT_PROMETHEUS=off silences this)", flush=True)
            scrape = False
        elif scrape and not prometheus.port_free(prometheus_port):
            print(f"Prometheus not started: 127.0.0.1:{prometheus_port} is in use (another Prometheus? "
                  "MKT_PROMETHEUS_PORT sets the port)", flush=True)
            scrape = False
        binary, logs_line = log_store()
        platform = Platform(folder, mesh=mesh, prometheus_port=prometheus_port if scrape else None,
                            victorialogs_binary=binary)
    except ConfigError as error:
        if jaeger is not None:
            jaeger.stop()
        print(f"configuration error: {error}", file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, _raise_stop)
    signal.signal(signal.SIGINT, _raise_stop)
    how = "each behind its Envoy sidecar (MKT_MESH=off to run without)" if mesh else "without the mesh"
    print(f"marketing platform: starting 6 services, {how}, and the edge; data in {folder}", flush=True)
    started = time.monotonic()
    try:
        platform.start()  # all or nothing: a start that fails has stopped what it started
    except (PlatformError, CertificateError) as error:
        print(f"error: {error}", file=sys.stderr)
        if jaeger is not None:
            jaeger.stop()
        return 1
    except _Stop:
        platform.stop()
        if jaeger is not None:
            jaeger.stop()
        return 0
    try:
        platform.wait_ready()
        print(f"ready in {time.monotonic() - started:.1f} s:\n{platform.endpoints()}\n"
              f"logs: {folder / 'logs'}/<name>.log    Ctrl-C stops everything\n{traces_line}", flush=True)
        if (token := platform.dev_token({"demo": "admin"})) is not None:
            print("admin token for workspace demo (12 hours; more with `mkt token dev --workspace W --role R`):\n"
                  f"  export TOKEN={token}\n"
                  f"  curl -H \"Authorization: Bearer $TOKEN\" http://127.0.0.1:{platform.edge.port}"
                  "/v1/workspaces/demo/campaigns", flush=True)
        print(logs_line, flush=True)
        while True:
            platform.watch_once()
            time.sleep(0.5)
    except (PlatformError, CertificateError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except _Stop:
        print("\nstopping: edge first, then the services drain in-flight calls", flush=True)
        return 0
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        platform.stop()
        if jaeger is not None:
            jaeger.stop()
        print("stopped", flush=True)


if __name__ == "__main__":
    sys.exit(main())
