"""Content service: templates, assets and variants.

Its v1 API is in proto/marketing/content/v1; until its issue lands the process
serves health and reflection and answers UNIMPLEMENTED on every RPC."""
