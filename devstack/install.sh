#!/usr/bin/env bash
# Installs what is missing, and nothing else. `make run` and `make test` call it.
#   devstack/install.sh run    Python environment for running the platform
#   devstack/install.sh test   ... plus dev tools (buf from npm), PostgreSQL 15 and ClickHouse
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-run}
UV_VERSION=0.13.9
export UV_PYTHON_DOWNLOADS=never UV_LINK_MODE=copy UV_COMPILE_BYTECODE=1

say() { printf '==> %s\n' "$*"; }

python=$(command -v python3.11 || true)
if [ -z "$python" ]; then
  echo "Python 3.11 is required (python3.11 not found on PATH)" >&2
  exit 1
fi

uv=$(command -v uv || true)
if [ -z "$uv" ] || [ "$("$uv" --version | cut -d' ' -f2)" != "$UV_VERSION" ]; then
  if [ ! -x .tools/bin/uv ] || [ "$(.tools/bin/uv --version | cut -d' ' -f2)" != "$UV_VERSION" ]; then
    say "installing uv $UV_VERSION into .tools/"
    "$python" -m venv .tools
    .tools/bin/pip install --quiet --disable-pip-version-check "uv==$UV_VERSION"
  fi
  uv=.tools/bin/uv
fi

# One environment for both commands (the dev group is small), so switching
# between `make run` and `make test` never reinstalls anything.
stamp=.venv/.installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ] || [ uv.lock -nt "$stamp" ]; then
  say "syncing the Python environment (.venv) from uv.lock"
  "$uv" sync --frozen --python "$python" --quiet
  touch "$stamp"
fi

# npm: buf (lints the protos, for tests) and swagger-ui-dist (the edge's /docs page, for both).
if [ ! -x node_modules/.bin/buf ] || [ ! -f node_modules/swagger-ui-dist/swagger-ui-bundle.js ] \
   || [ package-lock.json -nt node_modules/.bin/buf ]; then
  say "installing buf and swagger-ui-dist from npm (package-lock.json)"
  npm ci --no-audit --no-fund --loglevel=error
  touch node_modules/.bin/buf
fi

if [ "$mode" = test ]; then
  if ! command -v java >/dev/null || ! command -v mvn >/dev/null; then
    if [ "$(id -u)" = 0 ]; then
      say "installing Java 17 and Maven from Debian (for the Pulsar broker)"
      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jre-headless maven >/dev/null
    else
      echo "Java 17 and Maven are missing: sudo apt-get install openjdk-17-jre-headless maven" >&2
      exit 1
    fi
  fi
  # Resolves the Pulsar standalone broker's jars from Maven Central once, into a
  # cache outside the repo; instant when they are there.
  .venv/bin/python -m devstack.servers.pulsar --install
  # FerretDB 1.x (a MongoDB-wire server on SQLite) built once from the Go module proxy, into a cache
  # outside the repo (devstack/servers/mongo.py); instant when that build is there. Not apt-get: Debian
  # bookworm's golang is 1.19, and the build needs 1.24 (or 1.21+, which fetches 1.24 itself).
  if ! command -v go >/dev/null; then
    echo "Go is missing: the FerretDB test server is built with Go 1.24 or newer; install it from" \
         "https://go.dev/dl/ (Debian's golang package is too old)" >&2
    exit 1
  fi
  .venv/bin/python -m devstack.servers.mongo --install
  # Helm v4.3.2 (helm lint/template of the chart in helm/), built the same way with `go install` into
  # ~/.cache/marketing-platform/helm-v4.3.2/ (devstack/tools/helm.py); instant when that build is there.
  .venv/bin/python -m devstack.tools.helm --install
  # The cluster tests' control planes (tests/deploy/test_cluster_apply.py): etcd v3.7.3, kube-apiserver and
  # kube-controller-manager v1.37.2, istiod (pilot-discovery) and istioctl, built the same way from the Go module
  # proxy into ~/.cache/marketing-platform/{etcd,kubernetes,istio}-VERSION/ (devstack/tools/controlplanes.py);
  # about 13 minutes of compiling and ~8 GB of disk the first time, instant when those builds are there.
  .venv/bin/python -m devstack.tools.controlplanes --install
  # Jaeger v1.75.0 (the v2 all-in-one: the trace tests' OTLP receiver and `make run`'s), built the same way
  # from the Go module proxy into ~/.cache/marketing-platform/jaeger-v1.75.0/ (devstack/tools/jaeger.py);
  # about 5 minutes the first time, instant when that build is there.
  .venv/bin/python -m devstack.tools.jaeger --install
  # VictoriaLogs v1.52.2 (the log store of tests/e2e/test_logs.py, and of `make run` once built), the same
  # way into ~/.cache/marketing-platform/victoria-logs-v1.52.2/ (devstack/servers/victorialogs.py).
  .venv/bin/python -m devstack.servers.victorialogs --install
  if [ ! -x /usr/lib/postgresql/15/bin/initdb ]; then
    if [ "$(id -u)" = 0 ]; then
      say "installing PostgreSQL 15 from Debian"
      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-15 >/dev/null
    else
      echo "PostgreSQL 15 is missing: sudo apt-get install postgresql-15" >&2
      exit 1
    fi
  fi
  # ClickHouse 18.16 for the analytics store's contract tests (devstack/servers/clickhouse.py runs
  # it with its own config; the package's service is not used).
  if ! command -v clickhouse-server >/dev/null && [ ! -x /usr/sbin/clickhouse-server ]; then
    if [ "$(id -u)" = 0 ]; then
      say "installing ClickHouse from Debian"
      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq clickhouse-server >/dev/null
    else
      echo "ClickHouse is missing: sudo apt-get install clickhouse-server" >&2
      exit 1
    fi
  fi
  # Prometheus 2.42 (and promtool) for the metrics tests: a real server scrapes the running platform
  # (devstack/servers/prometheus.py runs it with its own config; the package's service is not used).
  if [ ! -x /usr/bin/prometheus ]; then
    if [ "$(id -u)" = 0 ]; then
      say "installing Prometheus from Debian"
      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq prometheus >/dev/null
    else
      echo "Prometheus is missing: sudo apt-get install prometheus" >&2
      exit 1
    fi
  fi
elif [ ! -x /usr/bin/prometheus ]; then
  # Optional for `make run`: without it the platform runs unscraped (devstack/servers/run.py says so too).
  say "optional: sudo apt-get install prometheus  (make run then starts Prometheus on 127.0.0.1:9090)"
fi
