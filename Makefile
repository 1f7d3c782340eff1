# Two commands do all set-up: `make run` and `make test`. Both install what is missing.
SHELL := /bin/bash
PY := .venv/bin/python
export UV_PYTHON_DOWNLOADS := never

.PHONY: run demo demo-journey test install install-test proto proto-check slo slo-check lint unit contract e2e bench bench-auth bench-audience bench-analytics bench-launch bench-journeys bench-instrumentation bench-integrations bench-integrations-sync mesh deploy clean

run: install
	$(PY) -m devstack.servers.run

# After `make run` (in another terminal): one campaign from profiles to the SMTP sink, and an unsubscribe.
demo: install
	$(PY) -m devstack.tools.demo

# The abandoned-cart journey on a running platform (`make run`), waits scaled down to seconds
demo-journey: install
	$(PY) -m devstack.tools.demo_journey $(DEMO_ARGS)

test: install-test proto-check slo-check lint
	$(PY) -m pytest

install:
	@devstack/install.sh run

install-test:
	@devstack/install.sh test

proto: install-test
	$(PY) -m devstack.tools.protogen

proto-check:
	$(PY) -m devstack.tools.protogen --check

# Regenerates the SLO rules (deploy/prometheus/, the chart's files/slo-rules.yaml) from slo/<service>.yaml.
slo: install
	$(PY) -m slo.generate

slo-check:
	$(PY) -m slo.generate --check

lint:
	$(PY) -m devstack.tools.buflint
	.venv/bin/lint-imports

# Regenerates the Helm chart's files/ from mesh/policy.yaml, svc_kit/services.py and edge/.
mesh: install
	$(PY) -m mesh.render --chart

# The policy, Istio objects, Helm chart, Dockerfile and Tiltfile checks alone (part of make test).
deploy: install-test
	$(PY) -m pytest tests/deploy

unit: install-test
	$(PY) -m pytest tests/unit

contract: install-test
	$(PY) -m pytest tests/contract

e2e: install-test
	$(PY) -m pytest tests/e2e

bench: install-test
	$(PY) -m bench.edge

# What authentication adds to the REST edge (an API key, a JWT) against an edge without it, in one run.
bench-auth: install-test
	$(PY) -m bench.edge_auth

# The audience service with 1,000,000 profiles on nx-27017 (about 90 minutes on
# 2 cores); a smaller run: make bench-audience BENCH_ARGS="--profiles 100000"
bench-audience: install-test
	$(PY) -m bench.audience $(BENCH_ARGS)

# The analytics service's ingest against raw clickhouse-driver, and GetCampaignReport over 10,000,000
# events on the ClickHouse server and chdb (a few minutes on 2 cores); a smaller run:
# make bench-analytics BENCH_ARGS="--report-events 1000000"
bench-analytics: install-test
	$(PY) -m bench.analytics $(BENCH_ARGS)

# One email campaign to 100,000 recipients on the whole platform (embedded defaults), scheduled ahead
# and started by the scheduler, against a python-liquid + aiosmtplib floor; a smaller run:
# make bench-launch BENCH_ARGS="--recipients 10000"
bench-launch: install-test
	$(PY) -m bench.launch $(BENCH_ARGS)

# Journeys on embedded defaults: timers fired/s, events/s with evaluation against an inbox-only baseline
# (ratio), p99 trigger event -> notify request; a smaller run: make bench-journeys BENCH_ARGS="--quick"
bench-journeys: install-test
	$(PY) -m bench.journeys $(BENCH_ARGS)

# Campaign reads (GetCampaign, ListCampaigns over gRPC, 8 clients) with metrics and tracing to a real
# Jaeger on, against MKT_INSTRUMENTATION=off, in one run: the ratio (target >= 0.9)
bench-instrumentation: install-test
	$(PY) -m bench.instrumentation $(BENCH_ARGS)

# Segment `batch` ingest through the edge against IngestEvents straight to analytics, in one run: events/s
# of each and the ratio (target >= 0.5)
bench-integrations: install-test
	$(PY) -m bench.integrations $(BENCH_ARGS)

# A 100,000-member segment synced to the local Meta-shaped server through the Meta Custom Audiences
# connector, against raw httpx + hashlib posting the same replace batches, in one run: rows/s, wall, ratio
bench-integrations-sync: install-test
	$(PY) -m bench.integrations_sync $(BENCH_ARGS)

clean:
	rm -rf .state .pytest_cache build
