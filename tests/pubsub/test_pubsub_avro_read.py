"""The compiled Avro reader (`pubsub.avro_read`) gives exactly what fastavro plus
`cometd_payload` give, for the fake org's change event schemas and for odd schemas (named
references, maps, arrays, enums, fixed, float, bytes), on random data; malformed bytes raise
ValueError; a schema with logical types is left to fastavro."""

from __future__ import annotations

import io
import random
from typing import Any

import fastavro
import pytest

from salesforce_typed.pubsub.avro_read import compile_reader, iso_date, iso_datetime
from salesforce_typed.pubsub.decode import SchemaPlan, cometd_payload, json_value, read_payload
from salesforce_typed.testing.pubsub import schemas
from salesforce_typed.testing.pubsub.avro_write import compile_writer
from salesforce_typed.testing.server import FakeOrg

_PRIMITIVE: dict[str, Any] = {
    "null": lambda r: None,
    "boolean": lambda r: r.random() < 0.5,
    "int": lambda r: r.randint(-700_000, 2**21),
    "long": lambda r: r.choice([0, 1, -1, r.randint(-(2**36), 2**41)]),
    "double": lambda r: r.uniform(-1e9, 1e9),
    "float": lambda r: 1.5,
    "string": lambda r: r.choice(["", "é" * r.randint(0, 300), "abc"]),
    "bytes": lambda r: b"\x00\xff",
}


def _datum(rng: random.Random, t: Any, named: dict[str, Any]) -> Any:
    if isinstance(t, str):
        return _datum(rng, named[t], named) if t in named else _PRIMITIVE[t](rng)
    if isinstance(t, list):
        return _datum(rng, rng.choice(t), named)
    kind = t["type"]
    if kind == "record":
        named[t["name"]] = t
        return {f["name"]: _datum(rng, f["type"], named) for f in t["fields"]}
    if kind == "enum":
        return rng.choice(t["symbols"])
    if kind == "array":
        return [_datum(rng, t["items"], named) for _ in range(rng.randint(0, 3))]
    if kind == "map":
        return {str(i): _datum(rng, t["values"], named) for i in range(rng.randint(0, 3))}
    if kind == "fixed":
        return b"x" * t["size"]
    return _datum(rng, kind, named)


def _realistic_header(rng: random.Random, schema: dict[str, Any], datum: dict[str, Any]) -> None:
    names = [f["name"] for f in schema["fields"][1:]]
    picked = rng.sample(names, rng.randint(0, min(6, len(names))))
    for field in schema["fields"]:
        records = (
            [b for b in field["type"] if isinstance(b, dict)]
            if isinstance(field["type"], list)
            else []
        )
        for record in records:
            picked += [
                f"{field['name']}.{x['name']}" for x in record["fields"] if rng.random() < 0.3
            ]
    header = datum["ChangeEventHeader"]
    header["changedFields"] = schemas.bitmap(schema, picked)
    header["nulledFields"] = schemas.bitmap(schema, picked[:2])
    header["diffFields"] = schemas.bitmap(schema, rng.sample(names, rng.randint(0, 2)))
    header["changeType"] = rng.choice(["CREATE", "UPDATE", "UPDATE", "DELETE"])


def _same(schema: dict[str, Any], datum: dict[str, Any]) -> None:
    plan = SchemaPlan(schema)
    assert plan.reader is not None
    parsed = fastavro.parse_schema(schema)
    out = io.BytesIO()
    fastavro.schemaless_writer(out, parsed, datum)
    data = out.getvalue()
    record = fastavro.schemaless_reader(io.BytesIO(data), parsed, None)
    assert isinstance(record, dict)
    assert read_payload(plan, data) == cometd_payload(plan, record)


@pytest.mark.parametrize("entity", ["Account", "Contact", "Lead", "Opportunity", "Case"])
def test_change_events_read_as_fastavro_and_cometd_payload_do(entity: str) -> None:
    rng = random.Random(entity)
    with FakeOrg() as org:
        schema = schemas.change_event_schema(org.state, entity)
    assert schema is not None
    for _ in range(150):
        datum = _datum(rng, schema, {})
        _realistic_header(rng, schema, datum)
        _same(schema, datum)


ODD: dict[str, Any] = {
    "type": "record",
    "name": "Odd__e",
    "namespace": "com.sforce.eventbus",
    "fields": [
        {"name": "CreatedDate", "type": "long", "doc": "CreatedDate:DateTime"},
        {"name": "Day__c", "type": ["null", "int"], "doc": "Data:Date"},
        {
            "name": "Where",
            "type": [
                "null",
                {
                    "type": "record",
                    "name": "Address",
                    "fields": [
                        {"name": "Street", "type": ["null", "string"]},
                        {"name": "At", "type": ["null", "long"], "doc": "Data:DateTime"},
                    ],
                },
            ],
        },
        {"name": "Again", "type": ["null", "Address"]},
        {"name": "Scores", "type": {"type": "map", "values": ["null", "double"]}},
        {
            "name": "Tags",
            "type": {
                "type": "array",
                "items": {"type": "enum", "name": "E", "symbols": ["a", "b"]},
            },
        },
        {"name": "Code", "type": {"type": "fixed", "name": "Code3", "size": 3}},
        {"name": "Flag", "type": "boolean"},
        {"name": "Ratio", "type": "float"},
        {"name": "Blob", "type": ["bytes", "null"]},
    ],
}


def test_odd_schemas_read_as_fastavro_and_cometd_payload_do() -> None:
    rng = random.Random(7)
    for _ in range(300):
        _same(ODD, _datum(rng, ODD, {"Address": ODD["fields"][2]["type"][1]}))


def test_malformed_bytes_raise_value_error_and_logical_types_are_left_to_fastavro() -> None:
    plan = SchemaPlan(ODD)
    with pytest.raises(ValueError):
        read_payload(plan, b"\x02")  # cut short
    with pytest.raises(ValueError):
        read_payload(plan, b"\x00\x09")  # union index 4 of a 2-branch union
    logical = {
        "type": "record",
        "name": "L",
        "fields": [{"name": "At", "type": {"type": "long", "logicalType": "timestamp-millis"}}],
    }
    assert compile_reader(logical, {}) is None
    out = io.BytesIO()
    fastavro.schemaless_writer(out, fastavro.parse_schema(logical), {"At": 0})
    assert read_payload(SchemaPlan(logical), out.getvalue())["At"].year == 1970


@pytest.mark.parametrize("ms", [0, 1, 999, 1_796_614_812_562, -1, -86_400_001, 32_503_680_000_123])
def test_iso_forms_match_the_plain_conversion(ms: int) -> None:
    field = {"doc": "Data:DateTime"}
    assert iso_datetime(ms) == json_value(field, ms)
    assert iso_date(ms // 86_400_000) == json_value({"doc": "Data:Date"}, ms // 86_400_000)


@pytest.mark.parametrize("entity", ["Account", "Contact"])
def test_the_fake_orgs_compiled_writer_writes_fastavros_bytes(entity: str) -> None:
    rng = random.Random(entity + "w")
    with FakeOrg() as org:
        schema = schemas.change_event_schema(org.state, entity)
    assert schema is not None
    write = compile_writer(schema)
    assert write is not None
    parsed = fastavro.parse_schema(schema)
    for _ in range(150):
        datum = _datum(rng, schema, {})
        _realistic_header(rng, schema, datum)
        out = io.BytesIO()
        fastavro.schemaless_writer(out, parsed, datum)
        assert write(datum) == out.getvalue()
    assert (
        compile_writer(
            {"type": "record", "name": "U", "fields": [{"name": "x", "type": ["int", "string"]}]}
        )
        is None
    )  # left to fastavro
