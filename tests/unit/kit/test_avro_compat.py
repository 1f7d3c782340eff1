"""Avro schema compatibility: the resolution rules and Pulsar's strategies."""

from __future__ import annotations

import pytest

from svc_kit.bus.compat import can_read, check
from svc_kit.bus.port import IncompatibleSchema
from svc_kit.bus.schema import EventSchema


def record(*fields, name="Signup", namespace="mkt.events", **extra) -> EventSchema:
    return EventSchema({"type": "record", "name": name, "namespace": namespace, "fields": list(fields), **extra})


def f(name, type_, **extra):
    return {"name": name, "type": type_, **extra}


V1 = record(f("id", "string"), f("count", "int"))
WITH_OPTIONAL = record(f("id", "string"), f("count", "int"), f("note", ["null", "string"], default=None))
WITH_REQUIRED = record(f("id", "string"), f("count", "int"), f("note", "string"))
WITHOUT_COUNT = record(f("id", "string"))


def compatible(new, existing, strategy) -> bool:
    try:
        check(new, existing, strategy)
    except IncompatibleSchema:
        return False
    return True


# -- the cases the registry depends on ---------------------------------------------------------------


def test_adding_an_optional_field_with_a_default_is_backward_and_full_compatible():
    assert compatible(WITH_OPTIONAL, [V1], "BACKWARD")
    assert compatible(WITH_OPTIONAL, [V1], "FORWARD")
    assert compatible(WITH_OPTIONAL, [V1], "FULL")
    assert compatible(WITH_OPTIONAL, [V1], "FULL_TRANSITIVE")


def test_adding_a_required_field_is_refused_under_backward_and_says_why():
    with pytest.raises(IncompatibleSchema, match="note") as refused:
        check(WITH_REQUIRED, [V1], "BACKWARD")
    assert any("no default" in problem for problem in refused.value.problems)
    assert compatible(WITH_REQUIRED, [V1], "FORWARD")  # old readers ignore the extra field


def test_removing_a_field_without_default_is_refused_under_forward():
    assert not compatible(WITHOUT_COUNT, [V1], "FORWARD")
    assert not compatible(WITHOUT_COUNT, [V1], "FULL")
    assert compatible(WITHOUT_COUNT, [V1], "BACKWARD")  # the new reader skips the removed field


def test_removing_a_field_with_a_default_is_fully_compatible():
    v1 = record(f("id", "string"), f("count", "int", default=0))
    assert compatible(record(f("id", "string")), [v1], "FULL")


def test_changing_int_to_string_is_refused_both_ways():
    as_string = record(f("id", "string"), f("count", "string"))
    for strategy in ("BACKWARD", "FORWARD", "FULL"):
        assert not compatible(as_string, [V1], strategy), strategy
    assert can_read(as_string, V1) == ["/count/: reader type string cannot read writer type int"]


def test_int_to_long_promotion_is_backward_but_not_forward_compatible():
    as_long = record(f("id", "string"), f("count", "long"))
    assert compatible(as_long, [V1], "BACKWARD")
    assert not compatible(as_long, [V1], "FORWARD")


def test_adding_a_union_branch_is_backward_but_not_forward_compatible():
    v1 = record(f("id", "string"), f("value", ["null", "int"], default=None))
    v2 = record(f("id", "string"), f("value", ["null", "int", "string"], default=None))
    assert compatible(v2, [v1], "BACKWARD")
    assert not compatible(v2, [v1], "FORWARD")
    assert not compatible(v2, [v1], "FULL")


# -- transitivity ------------------------------------------------------------------------------------


def test_transitive_strategies_check_every_version_the_others_only_the_latest():
    v1 = record(f("id", "string"))
    v2 = record(f("id", "string"), f("tier", "string", default="free"))
    v3 = record(f("id", "string"), f("tier", "string"))  # reads v2 data, not v1 data
    assert compatible(v3, [v1, v2], "BACKWARD")
    assert not compatible(v3, [v1, v2], "BACKWARD_TRANSITIVE")


def test_first_version_and_permissive_strategies_always_pass():
    assert compatible(WITH_REQUIRED, [], "FULL_TRANSITIVE")
    assert compatible(record(f("x", "boolean")), [V1], "ALWAYS_COMPATIBLE")
    assert not compatible(WITH_OPTIONAL, [V1], "ALWAYS_INCOMPATIBLE")
    with pytest.raises(ValueError, match="unknown schema compatibility strategy"):
        check(V1, [V1], "SIDEWAYS")


# -- resolution rules --------------------------------------------------------------------------------


@pytest.mark.parametrize(("writer", "reader"), [
    ("int", "long"), ("int", "float"), ("int", "double"), ("long", "float"), ("long", "double"),
    ("float", "double"), ("string", "bytes"), ("bytes", "string"),
])
def test_promotions(writer, reader):
    assert can_read(record(f("v", reader)), record(f("v", writer))) == []


@pytest.mark.parametrize(("writer", "reader"), [("long", "int"), ("double", "float"), ("int", "boolean"),
                                                ("string", "int"), ("null", "string")])
def test_no_demotions(writer, reader):
    assert can_read(record(f("v", reader)), record(f("v", writer)))


def test_records_match_by_name_or_reader_alias():
    assert can_read(record(f("id", "string"), name="Other"), record(f("id", "string")))
    aliased = record(f("id", "string"), name="Other", aliases=["mkt.events.Signup"])
    assert can_read(aliased, record(f("id", "string"))) == []


def test_fields_match_by_reader_alias():
    renamed = record(f("id", "string"), f("total", "int", aliases=["count"]))
    assert can_read(renamed, V1) == []


def test_non_union_writer_needs_a_reader_branch_and_union_writer_needs_every_branch_readable():
    optional = record(f("v", ["null", "long"], default=None))
    assert can_read(optional, record(f("v", "int"))) == []  # int promotes to the long branch
    assert can_read(record(f("v", "long")), optional)  # the null branch cannot be read
    assert can_read(record(f("v", "long")), record(f("v", ["int", "long"]))) == []


def test_enums_need_every_writer_symbol_unless_the_reader_has_a_default():
    def colour(*symbols, **extra):
        return record(f("c", {"type": "enum", "name": "Colour", "symbols": list(symbols), **extra}))

    assert can_read(colour("RED", "GREEN", "BLUE"), colour("RED", "GREEN")) == []
    assert can_read(colour("RED"), colour("RED", "GREEN"))
    assert can_read(colour("RED", "OTHER", default="OTHER"), colour("RED", "GREEN")) == []


def test_arrays_maps_and_fixed_resolve_recursively():
    assert can_read(record(f("a", {"type": "array", "items": "long"})),
                    record(f("a", {"type": "array", "items": "int"}))) == []
    assert can_read(record(f("m", {"type": "map", "values": "int"})),
                    record(f("m", {"type": "map", "values": "string"})))
    assert can_read(record(f("h", {"type": "fixed", "name": "Hash", "size": 16})),
                    record(f("h", {"type": "fixed", "name": "Hash", "size": 32})))
    assert can_read(record(f("a", {"type": "array", "items": "int"})),
                    record(f("a", {"type": "map", "values": "int"})))


def test_named_type_references_and_recursive_types():
    address = {"type": "record", "name": "Address", "fields": [f("city", "string")]}
    writer = record(f("home", address), f("work", "Address"))
    reader = record(f("home", {**address, "fields": [f("city", "string"), f("zip", "string", default="")]}),
                    f("work", "mkt.events.Address"))
    assert can_read(reader, writer) == []
    node = {"type": "record", "name": "Node", "fields": [f("value", "int"), f("next", ["null", "Node"], default=None)]}
    longer = {"type": "record", "name": "Node",
              "fields": [f("value", "long"), f("next", ["null", "Node"], default=None)]}
    assert can_read(EventSchema(longer), EventSchema(node)) == []
    assert can_read(EventSchema(node), EventSchema(longer))


def test_logical_types_resolve_through_their_underlying_type():
    stamp = record(f("at", {"type": "long", "logicalType": "timestamp-millis"}))
    assert can_read(stamp, record(f("at", "long"))) == []
    assert can_read(stamp, record(f("at", {"type": "int", "logicalType": "date"}))) == []
