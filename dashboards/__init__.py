"""Grafana dashboards generated from the SLO specs (slo/*.yaml) and the platform's metric names:
one per service and one overview of every SLO (`python -m dashboards.generate`)."""
