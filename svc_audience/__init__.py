"""Audience service: profiles, segments, lookalikes and suppression lists.

Profiles (with import), segments, suppression lists and reachability are
implemented (on the MongoDB wire protocol); lookalikes and event conditions
still answer UNIMPLEMENTED until the rest of their issue lands."""
