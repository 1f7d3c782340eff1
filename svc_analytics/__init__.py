"""Analytics service: event ingest, aggregations and reports.

Its v1 API is in proto/marketing/analytics/v1; until its issue lands the process
serves health and reflection and answers UNIMPLEMENTED on every RPC."""
