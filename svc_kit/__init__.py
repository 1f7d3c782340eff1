"""The runtime every service shares: configuration, the gRPC server with health,
reflection, metrics, tracing, JSON logs and error mapping, plus small helpers for
resource names, pagination and ids."""
