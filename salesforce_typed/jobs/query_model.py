"""The model an untyped Bulk query decodes its rows as: the FROM object's, else `Record`.

REST rows name their type (`attributes.type`); Bulk CSV rows do not, so `query(soql)` on
either Bulk API picks one model for the whole result from the query's top-level FROM object
(`rest.soql.query_object`) in the client's package. What must stay true: it never guesses
past what `query_object` can tell; an unknown object, or a client without a package, reads
as `Record` (every column kept, nothing typed).
"""

from __future__ import annotations

from salesforce_typed.core.models import Record, SObject, resolve_sobject
from salesforce_typed.rest.soql import query_object

__all__ = ["model_for_query"]


def model_for_query(soql: str, package: str) -> type[SObject]:
    """`package`'s model for the SObject `soql` reads FROM, or `Record`."""
    name = query_object(soql)
    if not name or not package:
        return Record
    return resolve_sobject(package, name)
