"""Transactional outbox (events written with the change, published by a relay)
and inbox (consumers record processed event ids with their side effect)."""
