"""Fixtures: the test org's schema, a loaded in-memory database and an empty one."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator

import pytest
from soql_org import build_schema, create_tables, load_data

from salesforce_typed.testing.soql import Schema


@pytest.fixture(scope="session")
def schema() -> Schema:
    return build_schema()


@pytest.fixture
def conn(schema: Schema) -> Iterator[sqlite3.Connection]:
    connection = sqlite3.connect(":memory:")
    create_tables(connection, schema)
    load_data(connection, schema)
    yield connection
    connection.close()


@pytest.fixture
def empty_conn(schema: Schema) -> Iterator[sqlite3.Connection]:
    connection = sqlite3.connect(":memory:")
    create_tables(connection, schema)
    yield connection
    connection.close()
