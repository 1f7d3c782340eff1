"""Audience service: profiles, segments, lookalikes and suppression lists.

Profiles (with import), segments, suppression lists, reachability and
lookalike audiences are implemented (on the MongoDB wire protocol)."""
