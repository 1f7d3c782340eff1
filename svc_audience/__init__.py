"""Audience service: profiles, segments, lookalikes and suppression lists.

Profiles are implemented (on the MongoDB wire protocol); segments,
suppression, lookalikes, import and reachability still answer UNIMPLEMENTED
until the rest of their issue lands."""
