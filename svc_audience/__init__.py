"""Audience service: profiles, segments, lookalikes and suppression lists.

Its v1 API is in proto/marketing/audience/v1; until its issue lands the process
serves health and reflection and answers UNIMPLEMENTED on every RPC."""
