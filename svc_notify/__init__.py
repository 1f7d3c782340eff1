"""Notify service: email, SMS, push and in-app delivery.

Its v1 API is in proto/marketing/notify/v1; until its issue lands the process
serves health and reflection and answers UNIMPLEMENTED on every RPC."""
