"""The `make demo` section for typed queries runs against the fake org and prints evidence."""

from __future__ import annotations

import io

from rich.console import Console

import salesforce_typed_std
from salesforce_typed import Salesforce
from salesforce_typed.demo.query_builder import query_tour


def test_query_tour(sf: Salesforce) -> None:
    out = io.StringIO()
    query_tour(Console(file=out, width=200), sf, salesforce_typed_std)
    text = out.getvalue()
    assert "same typed rows from REST, SOAP, Bulk 2.0, Bulk 1.0: [('Typed Big'" in text
    assert "GROUP BY as typed tuples: Banking 2 accounts" in text
    assert "child subquery: Typed Big has ['Turing']" in text
    assert "record.require names what is missing: Contact.Email is not selected" in text
