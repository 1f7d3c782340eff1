"""Integrations service: connectors to outside platforms.

Its v1 API is in proto/marketing/integrations/v1; until its issue lands the process
serves health and reflection and answers UNIMPLEMENTED on every RPC."""
