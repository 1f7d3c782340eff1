"""The REST edge: Envoy with the gRPC-JSON transcoder in front of the six
services, plus the small /healthz aggregator it routes to."""
