"""What the audience service relies on from a MongoDB-wire server, proven on both throwaway servers
(devstack.servers.mongo): nx-27017 0.8.1 over neosqlite ("nx") and FerretDB v1.24.2 on SQLite ("ferretdb").
There is no mongod here; a real MongoDB passes every test below.

A gap is marked xfail(strict=True) on the one server that has it, named in the reason: when a new
version closes it the test turns red and the mark must go.

nx (nx-27017 0.8.1) does NOT:
  - apply $setOnInsert in find_one_and_update(upsert=True): the inserted document lacks those fields
    (update_one(upsert=True) does apply it);
  - create the array in $addToSet on a missing field: the update silently does nothing;
  - support $not at all ("Operator '$not' is not currently implemented");
  - support regular-expression values: {"f": re.compile("^P")} or bson Regex("^P") match nothing
    (count_documents returns 0) or fail; only {"$regex": "^P"} strings work;
  - evaluate $group _id documents: {"_id": {"c": "$city"}} groups everything under the literal
    {"c": "$city"}; a field-path _id ("$city") works; $sum of a missing field gives None, not 0;
  - support the stages $sortByCount, $out, nor updates with a pipeline; in a transaction, a write
    to a collection that does not exist yet fails ("no such table");
  - report a server version (buildInfo has none); index names are its own (idx_<coll>_<fields>),
    and duplicate-key messages are SQLite's (the code, 11000, is right);
  - stay fast with upserts keyed by other fields than _id: 10,000 in one bulk_write take ~80 s
    (each scans the collection); keyed by _id they take ~2.5 s;
  - match array elements by position ("a.1") or through arrays of documents ("a.f"): both match
    nothing ($elemMatch works; the audience service keeps "N-th newest time" as fields n1, n2, ...);
  - take the _id of the filter in replace_one(upsert=True): the inserted document gets an ObjectId
    (give the _id in the replacement too);
  - count right with the `count` command when fields are absent under negation ($ne, $nin,
    $exists: false, $nor): its SQL treats them as NULL (count_documents is right, and slower).
ferretdb (FerretDB v1.24.2, SQLite backend) does NOT:
  - raise DuplicateKeyError when an update (not an insert) breaks a unique index: it is an
    OperationFailure with code 1 and Go stack frames in the message;
  - answer an `update` command holding 100 or more single-document statements (UpdateOne,
    ReplaceOne) that match existing documents: it never replies and the server keeps 100 SQLite
    connections busy for good (the statement iterators stay open until the command ends, the pool
    has 100). bulk_write sends up to 100,000 statements per command. UpdateMany and DeleteOne are
    not affected; neither are statements that match nothing (pure inserts);
  - use any index for a query: the _id index is on `_ferretdb_sjson->"_id"`, the lookup uses
    `_ferretdb_sjson->'$._id'`, so every find/update scans the collection in SQLite (other filters
    are evaluated in Go after decoding every document): 1,000 upserts take ~2 s, 10,000 ~230 s;
  - compute more than one accumulator per $group: all but the first come out as 0 (silently);
  - implement $group accumulators other than $sum and $count ($min $max $avg $first $last $push
    $addToSet all fail), nor the stages $lookup $facet $out $merge $sortByCount;
  - apply $pull with a condition ({"$pull": {"tags": {"$in": [...]}}} does nothing; $pullAll and
    $pull of a plain value work), nor a projection in find_one_and_update (NotImplemented);
  - evaluate field paths in $addFields/$set/$project ({"t": "$tags"} yields the string "$tags");
  - honour $slice in $push (ignored), nor match $elemMatch on arrays of documents (matches nothing);
  - accept the "u" flag pymongo adds to re.compile() patterns (use bson Regex or {"$regex": ...});
  - support transactions (any command with startTransaction fails), nor TTL, partial or text indexes.
"""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from bson.regex import Regex
from pymongo import InsertOne, MongoClient, ReturnDocument, UpdateOne
from pymongo.errors import BulkWriteError, DuplicateKeyError, NetworkTimeout

from devstack.servers.mongo import ThrowawayMongo

T0 = datetime(2026, 3, 1, 12, 0, 0, 123000, tzinfo=UTC)  # milliseconds: BSON dates keep no more
BULK_UPSERTS = 10_000
BULK_BUDGET = 20.0  # seconds; nx needs ~2.5
STREAMED = 50_000


@pytest.fixture(scope="module", params=["nx", "ferretdb"])
def server(request):
    return request.getfixturevalue(f"{request.param}_server")


@pytest.fixture(scope="module")
def database(server, mongo_database_name):
    client = MongoClient(server.url, tz_aware=True)
    yield client[mongo_database_name]
    client.drop_database(mongo_database_name)
    client.close()


@pytest.fixture
def coll(database):
    collection = database[f"c_{uuid.uuid4().hex[:8]}"]
    yield collection
    collection.drop()


def gap(request, server, kind: str, what: str) -> None:
    """Expects this test to fail on server `kind` only, because of `what`."""
    if server.kind == kind:
        request.applymarker(pytest.mark.xfail(strict=True, reason=f"{kind}: {what}"))


def unique_key(collection) -> None:
    collection.create_index([("workspace", 1), ("external_id", 1)], unique=True, name="profile_key")


# -- unique compound index ----------------------------------------------------------------------------


def test_the_unique_compound_index_refuses_a_duplicate(coll):
    unique_key(coll)
    coll.insert_one({"workspace": "acme", "external_id": "u-1"})
    coll.insert_one({"workspace": "other", "external_id": "u-1"})  # unique per workspace only
    with pytest.raises(DuplicateKeyError):
        coll.insert_one({"workspace": "acme", "external_id": "u-1"})
    with pytest.raises(DuplicateKeyError):  # an upsert that inserts is an insert
        coll.update_one({"_id": "x"}, {"$set": {"workspace": "acme", "external_id": "u-1"}}, upsert=True)
    with pytest.raises(BulkWriteError) as failure:
        coll.bulk_write([InsertOne({"workspace": "acme", "external_id": "u-1"}),
                         InsertOne({"workspace": "acme", "external_id": "u-2"})], ordered=False)
    assert [(e["index"], e["code"]) for e in failure.value.details["writeErrors"]] == [(0, 11000)]
    assert failure.value.details["nInserted"] == 1
    assert coll.count_documents({}) == 3


def test_an_update_breaking_the_unique_index_raises_duplicate_key(request, server, coll):
    gap(request, server, "ferretdb", "an update breaking a unique index fails with code 1, not 11000")
    unique_key(coll)
    coll.insert_many([{"workspace": "acme", "external_id": "u-1"}, {"workspace": "acme", "external_id": "u-2"}])
    with pytest.raises(DuplicateKeyError):
        coll.update_one({"external_id": "u-2"}, {"$set": {"external_id": "u-1"}})


# -- upserts and update operators ---------------------------------------------------------------------


def test_find_one_and_update_upserts_with_set_on_insert_and_returns_the_document_after(request, server, coll):
    gap(request, server, "nx", "find_one_and_update(upsert=True) ignores $setOnInsert")
    unique_key(coll)
    key = {"workspace": "acme", "external_id": "u-1"}
    created = coll.find_one_and_update(  # no projection: FerretDB does not implement it here
        key, {"$set": {"email": "a@example.com"}, "$setOnInsert": {"created_at": T0, "counters": {"opens": 0}}},
        upsert=True, return_document=ReturnDocument.AFTER)
    assert created.pop("_id") is not None
    assert created == {**key, "email": "a@example.com", "created_at": T0, "counters": {"opens": 0}}
    updated = coll.find_one_and_update(
        key, {"$set": {"email": "b@example.com"}, "$setOnInsert": {"created_at": T0 + timedelta(days=1)}},
        upsert=True, return_document=ReturnDocument.AFTER)
    del updated["_id"]
    assert updated == {**key, "email": "b@example.com", "created_at": T0, "counters": {"opens": 0}}


def test_update_one_upserts_with_set_on_insert_only_when_inserting(coll):
    unique_key(coll)
    key = {"workspace": "acme", "external_id": "u-1"}
    first = coll.update_one(key, {"$set": {"plan": "free"}, "$setOnInsert": {"created_at": T0}}, upsert=True)
    assert first.upserted_id is not None and first.matched_count == 0
    second = coll.update_one(key, {"$set": {"plan": "pro"}, "$setOnInsert": {"created_at": T0 + timedelta(1)}},
                             upsert=True)
    assert second.upserted_id is None and second.matched_count == 1
    assert coll.find_one(key, {"_id": 0}) == {**key, "plan": "pro", "created_at": T0}


def test_inc_on_nested_counters(coll):
    coll.insert_one({"_id": "p", "counters": {"opens": 1}})
    after = coll.find_one_and_update({"_id": "p"}, {"$inc": {"counters.opens": 2, "counters.clicks": 1}},
                                     return_document=ReturnDocument.AFTER)
    assert after["counters"] == {"opens": 3, "clicks": 1}
    coll.update_one({"_id": "p"}, {"$inc": {"counters.clicks": -1, "counters.bounces.hard": 1}})
    assert coll.find_one({"_id": "p"})["counters"] == {"opens": 3, "clicks": 0, "bounces": {"hard": 1}}


def test_add_to_set_and_pull_on_an_existing_array(coll):
    coll.insert_one({"_id": "p", "tags": ["vip"]})
    after = coll.find_one_and_update({"_id": "p"}, {"$addToSet": {"tags": {"$each": ["shoes", "vip", "shoes"]}}},
                                     return_document=ReturnDocument.AFTER)
    assert after["tags"] == ["vip", "shoes"]
    coll.update_one({"_id": "p"}, {"$addToSet": {"tags": "sale"}})
    coll.update_one({"_id": "p"}, {"$pull": {"tags": "vip"}})
    assert coll.find_one({"_id": "p"})["tags"] == ["shoes", "sale"]
    coll.update_one({"_id": "p"}, {"$pullAll": {"tags": ["shoes", "nothing"]}})
    assert coll.find_one({"_id": "p"})["tags"] == ["sale"]


def test_pull_with_a_condition(request, server, coll):
    gap(request, server, "ferretdb", "$pull with a condition on values ({$in: [...]}) does nothing")
    coll.insert_one({"_id": "p", "tags": ["a", "b", "c"]})
    coll.update_one({"_id": "p"}, {"$pull": {"tags": {"$in": ["a", "c", "z"]}}})
    assert coll.find_one({"_id": "p"})["tags"] == ["b"]


def test_add_to_set_creates_a_missing_array(request, server, coll):
    gap(request, server, "nx", "$addToSet on a missing field does nothing")
    coll.insert_one({"_id": "p"})
    coll.update_one({"_id": "p"}, {"$addToSet": {"tags": {"$each": ["a", "b", "a"]}}})
    assert coll.find_one({"_id": "p"}).get("tags") == ["a", "b"]


# -- queries ------------------------------------------------------------------------------------------


@pytest.fixture
def people(coll):
    cities = ["Paris", "Lyon", "Nice"]
    coll.insert_many([
        {"_id": i, "workspace": "acme" if i % 2 else "other",
         "attributes": {"age": i, "city": cities[i % 3], **({"email": f"u{i}@example.com"} if i % 4 else {})},
         "last_seen": T0 + timedelta(days=i)}
        for i in range(20)])
    return coll


def ids(cursor) -> list[int]:
    return sorted(d["_id"] for d in cursor)


def test_find_with_logical_comparison_and_existence_operators_on_nested_fields_and_dates(people):
    acme_paris_or_old = {"$and": [{"workspace": "acme"},
                                  {"$or": [{"attributes.city": "Paris"}, {"attributes.age": {"$gte": 15}}]}]}
    assert ids(people.find(acme_paris_or_old)) == [3, 9, 15, 17, 19]
    assert ids(people.find({"attributes.city": {"$in": ["Lyon", "Nice"]}, "attributes.age": {"$lt": 6}})) \
        == [1, 2, 4, 5]
    assert ids(people.find({"attributes.email": {"$exists": False}})) == [0, 4, 8, 12, 16]
    assert people.count_documents({"attributes.email": {"$exists": True}}) == 15
    assert ids(people.find({"attributes.email": {"$regex": "^u1"}})) == [1, 10, 11, 13, 14, 15, 17, 18, 19]
    week = {"$gte": T0 + timedelta(days=4), "$lt": T0 + timedelta(days=7)}
    assert ids(people.find({"last_seen": week})) == [4, 5, 6]
    found = people.find_one({"_id": 5})
    assert found["last_seen"] == T0 + timedelta(days=5) and found["last_seen"].tzinfo is not None


def test_find_with_not(request, server, people):
    gap(request, server, "nx", "$not is not implemented")
    assert ids(people.find({"attributes.age": {"$not": {"$gte": 3}}})) == [0, 1, 2]
    not_paris = people.find({"attributes.city": {"$not": Regex("^P")}, "attributes.age": {"$lt": 6}})
    assert ids(not_paris) == [1, 2, 4, 5]


def test_count_documents_with_a_filter(people):
    assert people.count_documents({"workspace": "acme", "attributes.age": {"$gte": 10}}) == 5
    assert people.count_documents({"workspace": "nobody"}) == 0


def test_aggregate_match_group_count_sort_limit(people):
    by_city = list(people.aggregate([
        {"$match": {"attributes.age": {"$gte": 3}}},
        {"$group": {"_id": "$attributes.city", "n": {"$sum": 1}}},
        {"$sort": {"n": -1, "_id": 1}},
        {"$limit": 2},
    ]))
    assert by_city == [{"_id": "Lyon", "n": 6}, {"_id": "Paris", "n": 6}]
    assert list(people.aggregate([{"$match": {"workspace": "acme"}}, {"$count": "n"}])) == [{"n": 10}]


def test_aggregate_group_with_two_accumulators(request, server, people):
    gap(request, server, "ferretdb", "only the first accumulator of a $group is computed, the others are 0")
    by_city = list(people.aggregate([
        {"$match": {"attributes.age": {"$gte": 3}}},
        {"$group": {"_id": "$attributes.city", "n": {"$sum": 1}, "ages": {"$sum": "$attributes.age"}}},
        {"$sort": {"n": -1, "_id": 1}},
        {"$limit": 2},
    ]))
    assert by_city == [{"_id": "Lyon", "n": 6, "ages": 69}, {"_id": "Paris", "n": 6, "ages": 63}]


# -- volume -------------------------------------------------------------------------------------------


def upserts(n: int) -> list[UpdateOne]:
    """Keyed by a deterministic string _id: the one key both servers find without a full scan on nx."""
    return [UpdateOne({"_id": f"acme/u-{i}"},
                      {"$set": {"email": f"u{i}@example.com"},
                       "$setOnInsert": {"workspace": "acme", "external_id": f"u-{i}", "created_at": T0}},
                      upsert=True)
            for i in range(n)]


def test_bulk_write_of_10000_upserts_in_one_call(request, server, say):
    gap(request, server, "ferretdb", f"no index is used, each upsert scans the collection: {BULK_UPSERTS:,} "
                                     f"take ~230 s, over the {BULK_BUDGET:.0f} s budget")
    # Its own server: a FerretDB over the budget goes on working after the client gives up.
    with ThrowawayMongo(server.kind) as own:
        client = MongoClient(own.url, tz_aware=True, socketTimeoutMS=int(BULK_BUDGET * 1000))
        coll = client.bulk.profiles
        unique_key(coll)
        began = time.monotonic()
        try:
            result = coll.bulk_write(upserts(BULK_UPSERTS), ordered=False)
        except NetworkTimeout:
            say(f"{server.kind}: bulk_write of {BULK_UPSERTS:,} upserts (ordered=False) unfinished after "
                f"{BULK_BUDGET:.0f} s")
            pytest.fail(f"{BULK_UPSERTS:,} upserts took more than {BULK_BUDGET:.0f} s")
        finally:
            client.close()
        took = time.monotonic() - began
    say(f"{server.kind}: bulk_write of {BULK_UPSERTS:,} upserts (ordered=False) in {took:.2f} s")
    assert result.upserted_count == BULK_UPSERTS and result.matched_count == 0
    assert took < BULK_BUDGET


def test_bulk_write_of_upserts_matching_100_existing_documents(request, server, say):
    gap(request, server, "ferretdb", "an update command with 100+ UpdateOne/ReplaceOne statements that match "
                                     "documents never answers (the SQLite pool of 100 runs dry)")
    with ThrowawayMongo(server.kind) as own:  # its own server: a stuck FerretDB is beyond repair
        client = MongoClient(own.url, tz_aware=True, socketTimeoutMS=5_000)
        coll = client.bulk.profiles
        try:
            coll.bulk_write(upserts(150), ordered=False)
            began = time.monotonic()
            result = coll.bulk_write(upserts(150), ordered=False)
            took = time.monotonic() - began
        except NetworkTimeout:
            pytest.fail("no answer within 5 s")
        finally:
            client.close()
    say(f"{server.kind}: bulk_write of 150 upserts that all match in {took:.2f} s")
    assert result.matched_count == 150 and result.upserted_count == 0


def test_a_cursor_streams_50000_documents_with_a_projection_in_batches(server, coll, say):
    began = time.monotonic()
    for start in range(0, STREAMED, 10_000):
        coll.insert_many([{"workspace": "acme", "external_id": f"u-{i:06d}", "n": i, "payload": "x" * 200}
                          for i in range(start, start + 10_000)])
    inserted = time.monotonic() - began
    began, count, last = time.monotonic(), 0, -1
    for doc in coll.find({"workspace": "acme"}, {"_id": 0, "n": 1}).batch_size(1_000):
        assert doc.keys() == {"n"}
        count, last = count + 1, max(last, doc["n"])
    streamed = time.monotonic() - began
    say(f"{server.kind}: insert_many of {STREAMED:,} in {inserted:.1f} s, "
        f"streamed them back with a projection in {streamed:.1f} s")
    assert count == STREAMED and last == STREAMED - 1


# -- paths into arrays, upserts by _id, the count command ---------------------------------------------


def test_array_elements_match_by_position_and_through_documents(request, server, coll):
    gap(request, server, "nx", "paths into arrays ('a.1', 'a.f') match nothing")
    coll.insert_many([{"_id": 1, "times": [50, 40], "devices": [{"token": "t"}]}, {"_id": 2, "times": [50],
                                                                                   "devices": []}])
    assert [d["_id"] for d in coll.find({"times.1": {"$gte": 35}})] == [1]
    assert [d["_id"] for d in coll.find({"devices.token": {"$gt": ""}})] == [1]


def test_an_upserting_replace_keeps_the_filter_id(request, server, coll):
    gap(request, server, "nx", "replace_one(upsert=True) gives the new document an ObjectId, not the filter's _id")
    coll.replace_one({"_id": "acme/seg"}, {"stamp": 1}, upsert=True)
    assert coll.find_one({}, {"_id": 1}) == {"_id": "acme/seg"}


def test_the_count_command_counts_absent_fields_under_negation(request, server, coll):
    gap(request, server, "nx", "the count command treats absent fields as SQL NULL under $ne/$nin/$nor")
    coll.insert_many([{"_id": 1, "plan": "pro", "n": 5}, {"_id": 2, "n": 1}, {"_id": 3, "plan": None}])
    for query in ({"plan": {"$ne": "pro"}}, {"plan": {"$nin": ["pro"]}}, {"plan": {"$exists": False}},
                  {"$nor": [{"plan": "pro"}]}):
        assert coll.database.command("count", coll.name, query=query)["n"] == coll.count_documents(query), query

