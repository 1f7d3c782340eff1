"""Avro schema compatibility, as a topic's schema registry checks it.

`can_read(reader, writer)` follows the Avro schema-resolution rules (the same
checks as Avro Java's SchemaCompatibility, which Pulsar's registry uses): it
returns the problems that stop data written with `writer` from being read with
`reader`; an empty list means it can.

`check(new, existing, strategy)` applies one of Pulsar's compatibility
strategies to a schema proposed for a topic whose registered versions are
`existing` (oldest first) and raises IncompatibleSchema, listing the problems,
when it is refused:

- BACKWARD: the new schema can read data written with the latest version;
- FORWARD: the latest version can read data written with the new schema;
- FULL: both;
- *_TRANSITIVE: the same, against every registered version instead of the latest;
- ALWAYS_COMPATIBLE (or NONE) accepts anything, ALWAYS_INCOMPATIBLE refuses any change.

Named types match as Avro Java (and fastavro, which decodes) match them: by
unqualified name, or by an alias of the reader's that names the writer's type.
Logical types are resolved through their underlying types, as Avro does.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from svc_kit.bus.port import IncompatibleSchema
from svc_kit.bus.schema import EventSchema

PRIMITIVES = frozenset({"null", "boolean", "int", "long", "float", "double", "bytes", "string"})
PROMOTIONS = {  # writer type -> reader types that can read it
    "int": {"long", "float", "double"},
    "long": {"float", "double"},
    "float": {"double"},
    "string": {"bytes"},
    "bytes": {"string"},
}
STRATEGIES = ("BACKWARD", "FORWARD", "FULL", "BACKWARD_TRANSITIVE", "FORWARD_TRANSITIVE", "FULL_TRANSITIVE",
              "ALWAYS_COMPATIBLE", "NONE", "ALWAYS_INCOMPATIBLE")


class SchemaError(ValueError):
    """The definition is not a valid Avro schema."""


# -- a resolved view of a definition -----------------------------------------------------------------


@dataclass(eq=False)
class _Node:
    kind: str  # a primitive name, or record, enum, fixed, array, map, union
    name: str = ""  # full name of a named type
    aliases: frozenset[str] = frozenset()  # full names
    fields: list[_Field] = field(default_factory=list)
    symbols: tuple[str, ...] = ()
    enum_default: str | None = None
    size: int = 0
    items: _Node | None = None  # array items, map values
    branches: list[_Node] = field(default_factory=list)

    @property
    def short_name(self) -> str:
        return self.name.rsplit(".", 1)[-1]

    def describe(self) -> str:
        if self.kind in ("record", "enum", "fixed"):
            return f"{self.kind} {self.name}"
        if self.kind == "array":
            return f"array<{self.items.describe()}>"
        if self.kind == "map":
            return f"map<{self.items.describe()}>"
        if self.kind == "union":
            return "union[" + ", ".join(b.describe() for b in self.branches) + "]"
        return self.kind


@dataclass(eq=False)
class _Field:
    name: str
    type: _Node
    has_default: bool
    aliases: tuple[str, ...]


def _full_name(name: str, namespace: str | None) -> str:
    if "." in name or not namespace:
        return name
    return f"{namespace}.{name}"


class _Resolver:
    def __init__(self) -> None:
        self.named: dict[str, _Node] = {}

    def node(self, schema: Any, namespace: str | None) -> _Node:
        if isinstance(schema, str):
            if schema in PRIMITIVES:
                return _Node(schema)
            for candidate in (_full_name(schema, namespace), schema):
                if candidate in self.named:
                    return self.named[candidate]
            raise SchemaError(f"unknown type {schema!r}")
        if isinstance(schema, list):
            return _Node("union", branches=[self.node(branch, namespace) for branch in schema])
        if not isinstance(schema, Mapping) or "type" not in schema:
            raise SchemaError(f"not an Avro schema: {schema!r}")
        kind = schema["type"]
        if not isinstance(kind, str):  # {"type": {...}} or {"type": [...]}
            return self.node(kind, namespace)
        if kind in PRIMITIVES:  # possibly with a logicalType: resolved as the underlying type
            return _Node(kind)
        if kind == "array":
            return _Node("array", items=self.node(schema["items"], namespace))
        if kind == "map":
            return _Node("map", items=self.node(schema["values"], namespace))
        if kind in ("record", "error", "enum", "fixed"):
            return self._named(schema, "record" if kind == "error" else kind, namespace)
        return self.node(kind, namespace)  # a reference written as {"type": "Name"}

    def _named(self, schema: Mapping[str, Any], kind: str, namespace: str | None) -> _Node:
        name = schema.get("name")
        if not isinstance(name, str) or not name:
            raise SchemaError(f"a {kind} needs a name: {dict(schema)!r}")
        own_namespace = schema.get("namespace", namespace) or None
        full = _full_name(name, own_namespace)
        own_namespace = full.rsplit(".", 1)[0] if "." in full else None
        aliases = frozenset(_full_name(alias, own_namespace) for alias in schema.get("aliases", ()))
        node = _Node(kind, name=full, aliases=aliases)
        self.named[full] = node  # before the fields: a record may refer to itself
        if kind == "record":
            for f in schema.get("fields", ()):
                node.fields.append(_Field(f["name"], self.node(f["type"], own_namespace), "default" in f,
                                          tuple(f.get("aliases", ()))))
        elif kind == "enum":
            node.symbols = tuple(schema.get("symbols", ()))
            node.enum_default = schema.get("default")
        else:
            node.size = int(schema["size"])
        return node


def _resolve(schema: EventSchema | Mapping[str, Any] | Any) -> _Node:
    definition = schema.definition if isinstance(schema, EventSchema) else schema
    return _Resolver().node(definition, None)


# -- reader/writer resolution ------------------------------------------------------------------------


def can_read(reader: EventSchema | Mapping[str, Any], writer: EventSchema | Mapping[str, Any]) -> list[str]:
    """The problems that stop data written with `writer` from being read with `reader` (empty: it can)."""
    problems: list[str] = []
    _check(_resolve(reader), _resolve(writer), "/", problems, set())
    return problems


def _readable(reader: _Node, writer: _Node, seen: set[tuple[int, int]]) -> bool:
    probe: list[str] = []
    _check(reader, writer, "/", probe, set(seen))
    return not probe


def _names_match(reader: _Node, writer: _Node) -> bool:
    return reader.short_name == writer.short_name or writer.name in reader.aliases


def _check(reader: _Node, writer: _Node, path: str, problems: list[str], seen: set[tuple[int, int]]) -> None:
    pair = (id(reader), id(writer))
    if pair in seen:  # a recursive type already being checked: assume it matches, as Avro does
        return
    if writer.kind == "union":
        for index, branch in enumerate(writer.branches):
            if reader.kind == "union":
                if not any(_readable(r, branch, seen) for r in reader.branches):
                    problems.append(f"{path}: writer union branch {index} ({branch.describe()}) matches "
                                    f"no branch of the reader's {reader.describe()}")
            else:
                _check(reader, branch, f"{path}[writer branch {index}]", problems, seen)
        return
    if reader.kind == "union":
        if not any(_readable(r, writer, seen) for r in reader.branches):
            problems.append(f"{path}: writer type {writer.describe()} matches no branch of the reader's "
                            f"{reader.describe()}")
        return
    if reader.kind in PRIMITIVES or writer.kind in PRIMITIVES:
        if reader.kind != writer.kind and reader.kind not in PROMOTIONS.get(writer.kind, ()):
            problems.append(f"{path}: reader type {reader.describe()} cannot read writer type {writer.describe()}")
        return
    if reader.kind != writer.kind:
        problems.append(f"{path}: reader type {reader.describe()} cannot read writer type {writer.describe()}")
        return
    if reader.kind in ("array", "map"):
        _check(reader.items, writer.items, f"{path}{'items' if reader.kind == 'array' else 'values'}/",
               problems, seen)
        return
    if not _names_match(reader, writer):
        problems.append(f"{path}: reader {reader.describe()} does not match writer {writer.describe()} "
                        "(names differ and no reader alias names the writer's type)")
        return
    if reader.kind == "fixed":
        if reader.size != writer.size:
            problems.append(f"{path}: fixed {reader.name} has size {reader.size} in the reader, "
                            f"{writer.size} in the writer")
        return
    if reader.kind == "enum":
        missing = [s for s in writer.symbols if s not in reader.symbols]
        if missing and not (reader.enum_default is not None and reader.enum_default in reader.symbols):
            problems.append(f"{path}: enum {reader.name} of the reader lacks the writer's symbols "
                            f"{', '.join(missing)} and has no default")
        return
    # records
    seen = seen | {pair}
    writer_fields = {f.name: f for f in writer.fields}
    for reader_field in reader.fields:
        writer_field = writer_fields.get(reader_field.name)
        if writer_field is None:
            writer_field = next((writer_fields[a] for a in reader_field.aliases if a in writer_fields), None)
        if writer_field is None:
            if not reader_field.has_default:
                problems.append(f"{path}{reader_field.name}: field of the reader's {reader.name} has no default "
                                "and the writer does not have it")
            continue
        _check(reader_field.type, writer_field.type, f"{path}{reader_field.name}/", problems, seen)


# -- strategies --------------------------------------------------------------------------------------


def check(new: EventSchema, existing: Sequence[EventSchema], strategy: str) -> None:
    """Raises IncompatibleSchema if `strategy` refuses `new` after the registered `existing` (oldest first)."""
    strategy = strategy.upper()
    if strategy not in STRATEGIES:
        raise ValueError(f"unknown schema compatibility strategy {strategy!r}; one of {', '.join(STRATEGIES)}")
    if not existing or strategy in ("ALWAYS_COMPATIBLE", "NONE"):
        return
    if strategy == "ALWAYS_INCOMPATIBLE":
        if any(new == old for old in existing):
            return
        raise IncompatibleSchema(f"schema {new.name} refused: the topic's strategy is ALWAYS_INCOMPATIBLE")
    transitive = strategy.endswith("_TRANSITIVE")
    base = strategy.removesuffix("_TRANSITIVE")
    first = 0 if transitive else len(existing) - 1
    problems: list[str] = []
    for version in range(first, len(existing)):
        old = existing[version]
        label = f"version {version + 1}"
        if base in ("BACKWARD", "FULL"):
            problems += [f"reading data of {label}: {p}" for p in can_read(new, old)]
        if base in ("FORWARD", "FULL"):
            problems += [f"{label} reading new data: {p}" for p in can_read(old, new)]
    if problems:
        error = IncompatibleSchema(f"schema {new.name} is not {strategy} compatible with the topic's "
                                   f"{'versions' if transitive else 'latest version'}: " + "; ".join(problems))
        error.problems = problems  # type: ignore[attr-defined]
        raise error
