"""Service level objectives: one spec per service (slo/<service>.yaml), the generator of Prometheus
rules from them (`python -m slo.generate`) and `mkt slo status`. docs/slo.md describes every SLO and
the alert policy."""
