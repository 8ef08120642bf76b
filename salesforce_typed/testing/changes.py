"""Change Data Capture events for the fake org's writes, published through `OrgState`.

Every write (REST, collections, composite, later SOAP and Bulk) calls `publish` with what it
changed; listeners in `state.change_listeners` receive one CDC payload per event:

    {"ChangeEventHeader": {"entityName": "Account", "recordIds": [...], "changeType": "UPDATE",
      "changeOrigin": "com/salesforce/api/rest/62.0;client=billing-sync", "transactionKey": ...,
      "sequenceNumber": 1, "commitTimestamp": 1714564800000, "commitNumber": 11, "commitUser":
      "005...", "changedFields": [...], "nulledFields": [...], "diffFields": []},
     "Name": "Acme", "LastModifiedDate": "2024-05-01T12:00:00.000Z"}

What must stay true: nothing is built when nobody listens; events of one store transaction
share a transactionKey, number 1..n in order, and are delivered only after it commits (a
rolled-back composite publishes nothing); datetimes use the `...000Z` form; compound address
fields are nested with capitalized keys and listed as `BillingAddress.City`.
"""

from __future__ import annotations

import itertools
import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import attrs

from salesforce_typed.testing.state import OrgState

_DATETIME_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+0000$")
_commit_numbers = itertools.count(11_657_372_702_432)  # any increasing number will do
_SKIPPED = frozenset({"Id", "IsDeleted", "SystemModstamp"})


@attrs.frozen(kw_only=True)
class Origin:
    """Who wrote: the API and version, the `client=` of `Sforce-Call-Options`, the user."""

    api: str = "rest"
    version: str = "62.0"
    client: str | None = None
    user_id: str = ""

    @property
    def change_origin(self) -> str:
        base = f"com/salesforce/api/{self.api}/{self.version}"
        return f"{base};client={self.client}" if self.client else base


def call_options_client(header: str | None) -> str | None:
    """`client` from `Sforce-Call-Options: client=X; defaultNamespace=ns` (`,` also splits)."""
    if not header:
        return None
    for part in re.split(r"[;,]", header):
        key, _, value = part.partition("=")
        if key.strip().lower() == "client" and value.strip():
            return value.strip()
    return None


def listening(state: OrgState) -> bool:
    return bool(state.change_listeners)


def cdc_value(value: Any) -> Any:
    """REST JSON value as CDC carries it: `+0000` datetimes become `Z`."""
    if isinstance(value, str) and _DATETIME_UTC.match(value):
        return value[:-5] + "Z"
    return value


def nest_fields(
    values: Mapping[str, Any], compounds: Mapping[str, tuple[str, str]]
) -> tuple[dict[str, Any], dict[str, str]]:
    """Group compound components under their compound with capitalized keys.

    `compounds` maps a component (BillingCity) to (compound, key) e.g. ("BillingAddress",
    "City"). Returns the payload fields and each field's name for changedFields.
    """
    out: dict[str, Any] = {}
    names: dict[str, str] = {}
    for name, value in values.items():
        parent = compounds.get(name)
        if parent is None:
            out[name] = cdc_value(value)
            names[name] = name
            continue
        compound, key = parent
        nested = out.setdefault(compound, {})
        if isinstance(nested, dict):
            nested[key] = cdc_value(value)
        names[name] = f"{compound}.{key}"
    return out, names


@attrs.define
class _Batch:
    """Numbering shared by the events of one transaction."""

    transaction_key: str = attrs.field(factory=lambda: str(uuid.uuid4()))
    sequence: int = 0
    commit_number: int | None = None
    commit_timestamp: int | None = None


def publish(
    state: OrgState,
    entity: str,
    change_type: str,
    record_ids: Sequence[str],
    changed_fields: Iterable[str],
    nulled_fields: Iterable[str],
    values: Mapping[str, Any],
    *,
    origin: Origin | None = None,
    compounds: Mapping[str, tuple[str, str]] | None = None,
) -> None:
    """Queue one CDC event; delivered to listeners when the store transaction commits.

    `values` are the REST JSON values to carry (already cut to what CDC sends: the written
    fields, or every non-empty field on CREATE/UNDELETE); `changed_fields` / `nulled_fields`
    are field names, mapped to `Compound.Key` form for components.
    """
    if not state.change_listeners:
        return
    from salesforce_typed.testing.store import store

    origin = origin or Origin(version=state.config.api_version, user_id=state.config.user_id)
    payload, names = nest_fields(
        {k: v for k, v in values.items() if k not in _SKIPPED}, compounds or {}
    )
    header: dict[str, Any] = {
        "entityName": entity,
        "recordIds": list(record_ids),
        "changeType": change_type,
        "changeOrigin": origin.change_origin,
        "transactionKey": "",
        "sequenceNumber": 0,
        "commitTimestamp": 0,
        "commitNumber": 0,
        "commitUser": origin.user_id or state.config.user_id,
        "changedFields": list(dict.fromkeys(names.get(f, _component(f, compounds)) for f in changed_fields)),
        "nulledFields": list(dict.fromkeys(names.get(f, _component(f, compounds)) for f in nulled_fields)),
        "diffFields": [],
    }
    event = {"ChangeEventHeader": header, **payload}
    st = store(state)
    data = st.transaction_data()
    batch = _Batch() if data is None else data.setdefault("cdc_batch", _Batch())

    def deliver() -> None:
        if batch.commit_number is None:
            batch.commit_number = next(_commit_numbers)
            batch.commit_timestamp = int(state.clock() * 1000)
        batch.sequence += 1
        header["transactionKey"] = batch.transaction_key
        header["sequenceNumber"] = batch.sequence
        header["commitNumber"] = batch.commit_number
        header["commitTimestamp"] = batch.commit_timestamp
        state.publish_change(event)

    st.after_commit(deliver)


def _component(name: str, compounds: Mapping[str, tuple[str, str]] | None) -> str:
    parent = (compounds or {}).get(name)
    return name if parent is None else f"{parent[0]}.{parent[1]}"
