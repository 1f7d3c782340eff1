"""bench/integrations_sync: a 100,000-member segment synced to the local Meta-shaped server
(devstack/platforms/meta.py), through the Meta Custom Audiences connector, next to the same work
done raw in the same run.

Per round, in turn, each into an audience of its own on the same server:

- raw: the floor. Plain httpx on one kept-alive client: each member's email and phone normalised
  and SHA-256'd, rows of 10,000 posted to `/{audience}/usersreplace` in one replace session;
- connector: `MetaCustomAudiences.push_members(replace=True)` with the same members (Member objects
  as the sync runner hands them): the same hashing, batching and session, plus the connector's
  token, error and per-row failure handling and a progress call per batch.

Both must leave their audience holding exactly the members' rows (checked after every round).
Printed: wall time and rows/s of each (best round), and the ratio connector/raw.

    python -m bench.integrations_sync [--members 100000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import httpx

from devstack.platforms.meta import MetaServer
from svc_integrations.adapters.connectors._common import meta_email, meta_phone, sha256_hex
from svc_integrations.adapters.connectors.meta import MAX_ROWS, MetaCustomAudiences
from svc_integrations.domain.connectors import ConnectionContext, Member

ACCOUNT = "1000000001"
VERSION = "v21.0"


class _Vault:
    def __init__(self, token: str):
        self.credentials = {"access_token": token}

    def current(self):
        return dict(self.credentials)

    def replace(self, credentials):
        self.credentials = dict(credentials)


def _members(n: int) -> list[Member]:
    return [Member(f"prof_{i:07d}", email=f"member{i}@example.com",
                   phone=f"+1650{i:07d}" if i % 2 else None) for i in range(n)]


def _raw(client: httpx.Client, url: str, token: str, audience: str, members: list[Member], session_id: int) -> None:
    rows = []
    for member in members:
        email = sha256_hex(meta_email(member.email)) if member.email else ""
        phone = sha256_hex(meta_phone(member.phone)) if member.phone else ""
        rows.append([email, phone])
    chunks = [rows[i:i + MAX_ROWS] for i in range(0, len(rows), MAX_ROWS)]
    for seq, chunk in enumerate(chunks, start=1):
        session = {"session_id": session_id, "batch_seq": seq, "last_batch_flag": seq == len(chunks),
                   "estimated_num_total": len(rows)}
        response = client.post(f"{url}/{VERSION}/{audience}/usersreplace", data={
            "access_token": token, "session": json.dumps(session),
            "payload": json.dumps({"schema": ["EMAIL", "PHONE"], "data": chunk}, separators=(",", ":"))})
        response.raise_for_status()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--members", type=int, default=100_000, help="segment members (default 100,000)")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds (default 3; the best counts)")
    args = parser.parse_args(argv)
    members = _members(args.members)
    expected = {(sha256_hex(meta_email(m.email)), sha256_hex(meta_phone(m.phone)) if m.phone else "")
                for m in members}
    print(f"bench/integrations_sync: {args.members:,} members (every one with an email, half with a phone) "
          f"to the local Meta-shaped server, replace sessions of {MAX_ROWS:,}-row batches, {args.rounds} round(s)")
    best = {"raw": float("inf"), "connector": float("inf")}
    batches_seen = 0
    with MetaServer() as server, httpx.Client(timeout=120) as client:
        server.add_account(ACCOUNT)
        token = server.issue_token()
        connector = MetaCustomAudiences(client)
        for round_ in range(args.rounds):
            for path in ("raw", "connector"):
                audience = f"{(1 if path == 'raw' else 2)}{round_:04d}"
                server.add_audience(ACCOUNT, audience)
                started = time.perf_counter()
                if path == "raw":
                    _raw(client, server.url, token, audience, members, 7_000 + round_)
                else:
                    calls: list[int] = []
                    context = ConnectionContext({"ad_account_id": ACCOUNT, "api_base_url": server.url,
                                                 "api_version": VERSION}, _Vault(token))
                    result = connector.push_members(context, audience, members, [], replace=True,
                                                    progress=lambda done: calls.append(done) and False)
                    batches_seen = len(calls)
                    if result.added != len(members) or result.failures:
                        print(f"FAILED: the connector added {result.added:,} with {len(result.failures)} failures")
                        return 1
                elapsed = time.perf_counter() - started
                if server.rows(audience) != expected:
                    print(f"FAILED: the {path} audience {audience} does not hold exactly the {len(members):,} members")
                    return 1
                best[path] = min(best[path], elapsed)
                print(f"  round {round_ + 1} {path:<9} {elapsed:8.2f} s  {len(members) / elapsed:>10,.0f} rows/s")
    for path in ("raw", "connector"):
        label = "raw httpx + hashlib (floor)" if path == "raw" else "MetaCustomAudiences.push_members(replace=True)"
        print(f"{label:<48} wall {best[path]:7.2f} s  {len(members) / best[path]:>10,.0f} rows/s")
    print(f"ratio connector/raw: {best['raw'] / best['connector']:.2f} (rows/s; 1.00 = no cost over the floor)")
    print(f"audiences: each holds exactly the {len(members):,} members after its replace; "
          f"{batches_seen} batches per connector replace")
    return 0


if __name__ == "__main__":
    sys.exit(main())
