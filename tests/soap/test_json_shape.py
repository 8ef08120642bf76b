"""Partner classes <-> REST JSON: a real REST describe survives the trip through the WSDL types.

The fake org binds its REST describes to partner classes and the client maps partner answers
back to REST JSON; a real recorded describe must come back with every fact both shapes have.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import salesforce_typed_soap as wsdl
from salesforce_typed.soap.envelope import operation_classes, parse_envelope, render
from salesforce_typed.soap.json_shape import bind, to_json

DESCRIBES = ("Account", "Contact", "Case", "Lead", "Opportunity", "Event", "Custom__c")


def _shared(real: Any, got: Any) -> tuple[Any, Any]:
    """Both values cut down to what both shapes carry (REST has `urls`, SOAP has neither
    `urls` nor some newer keys); a REST null the WSDL leaves out is not compared."""
    if isinstance(real, dict) and isinstance(got, dict):
        keys = [k for k in real if k in got and real[k] is not None]
        pairs = {k: _shared(real[k], got[k]) for k in keys}
        return {k: a for k, (a, _) in pairs.items()}, {k: b for k, (_, b) in pairs.items()}
    if isinstance(real, list) and isinstance(got, list) and len(real) == len(got):
        pairs_list = [_shared(a, b) for a, b in zip(real, got, strict=True)]
        return [a for a, _ in pairs_list], [b for _, b in pairs_list]
    return real, got


@pytest.mark.parametrize("name", DESCRIBES)
def test_real_describe_round_trips_through_the_partner_types(realdata: Path, name: str) -> None:
    path = realdata / "fixtures" / "rest" / "cumulusci" / "describe" / f"{name}_describe.json"
    rest = json.loads(path.read_text(encoding="utf-8"))
    bound = bind(wsdl.DescribeSobjectResult, rest)
    _, output_cls, _, field = operation_classes("describeSObject")
    body = output_cls.Body(**{field: wsdl.DescribeSobjectResponse(result=bound)})
    wire = render(output_cls(body=body))
    parsed = parse_envelope(wire, output_cls, strict=True)
    back = to_json(getattr(parsed.body, field).result)
    assert len(back["fields"]) == len(rest["fields"])
    for real_field, got_field in zip(rest["fields"], back["fields"], strict=True):
        expected, found = _shared(real_field, got_field)
        assert found == expected, real_field["name"]
    expected, found = _shared(rest, back)
    assert len(expected) > 30 and found == expected
