"""Notify service: email, SMS, push and in-app delivery, exactly once per
idempotency key, at the pace providers and sending rules allow."""
