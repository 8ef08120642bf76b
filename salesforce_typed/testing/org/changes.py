"""What changed and when: CDC events for every write, shaped as Salesforce sends them.

The replication routes (`GET /sobjects/{T}/updated` and `/deleted`, in `rest.replication`)
read the same history from the store.

Every write (REST, collections, composite, SOAP and Bulk) calls `publish` with what it
changed; listeners in `state.change_listeners` receive one CDC event per change, with the
full header (what Pub/Sub API and Apex see) and the body CometD carries:

    {"ChangeEventHeader": {"entityName": "Contact", "recordIds": [...], "changeType": "UPDATE",
      "changeOrigin": "com/salesforce/api/rest/62.0;client=billing-sync", "transactionKey": ...,
      "sequenceNumber": 1, "commitTimestamp": 1714564800000, "commitNumber": 11, "commitUser":
      "005...", "changedFields": ["Name.LastName", "Phone", "LastModifiedDate"],
      "nulledFields": ["Phone"], "diffFields": []},
     "Name": {"LastName": "Byron"}, "Phone": null, "LastModifiedDate": "2024-05-01T12:00:00.000Z"}

`cometd_event` drops the header keys Streaming API does not send (docs/fidelity/cdc.md has the
guide's rules this follows, section by section).

What must stay true: nothing is built when nobody listens; events of one store transaction
share a transactionKey, number 1..n in order, and are delivered only after it commits (a
rolled-back composite publishes nothing); datetimes use the `...000Z` form; compounds (person
name, addresses, geolocations) are nested with capitalized keys, hold only the components the
event carries, and are named `Compound.Component` in changedFields; the computed full Name
never travels flat.
"""

from __future__ import annotations

import difflib
import hashlib
import itertools
import logging
import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import attrs

from salesforce_typed.testing.org.http import Request
from salesforce_typed.testing.org.state import OrgState
from salesforce_typed.testing.org.validation import FieldIndex, computed_fields

log = logging.getLogger("salesforce_typed.testing")

_DATETIME_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+0000$")
_commit_numbers = itertools.count(11_657_372_702_432)  # any increasing number will do
# Never in a change event body ("Change Event Message Structure"): the record id travels in
# recordIds; IsDeleted and SystemModstamp are left out; LastActivityDate and PhotoUrl are
# derived from other records.
_SKIPPED = frozenset({"Id", "IsDeleted", "SystemModstamp", "LastActivityDate", "PhotoUrl"})
# The person-name compound's components, in the order CDC schemas list them.
PERSON_NAME = ("Salutation", "FirstName", "MiddleName", "LastName", "Suffix", "InformalName")
# Header keys only Pub/Sub API and Apex receive ("Change Event Message Structure").
PUBSUB_ONLY_HEADER = ("nulledFields", "diffFields")


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


def origin_of(req: Request) -> Origin:
    """The origin of a REST write: its API version, `client=`, and the session's user."""
    session = req.session
    return Origin(
        version=req.api_version or req.org.config.api_version,
        client=call_options_client(req.headers.get("sforce-call-options")),
        user_id=session.user_id if session else req.org.config.user_id,
    )


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


def cdc_compounds(index: FieldIndex) -> dict[str, tuple[str, str]]:
    """Component -> (compound, key) for every compound CDC nests: the describe's
    `compoundFieldName` ones (addresses, geolocations), plus the person name of an object
    whose full `Name` is computed from its parts (Contact, Lead, User), should the catalog's
    describe not mark them."""
    out = {k: v for k, v in index.compounds.items() if _nested(index, k, v[0])}
    if "Name" in computed_fields(index):
        for part in PERSON_NAME:
            if part in index.fields:
                out.setdefault(part, ("Name", part))
    return out


def _nested(index: FieldIndex, component: str, compound: str) -> bool:
    """Whether CDC nests `component` under `compound` ("Get Compound Fields in Change
    Events": name, address and geolocation). Not a field naming itself (Account.Name's
    describe says compoundFieldName Name), nor the fiscal period's parts."""
    if component == compound:
        return False
    kind = (index.fields.get(compound) or {}).get("type")
    return kind in ("address", "location") or compound == "Name"


def _flat_skips(index: FieldIndex, compounds: Mapping[str, tuple[str, str]]) -> frozenset[str]:
    """Fields never sent flat: the fixed set, formula fields, a compound's own value (the
    computed full Name, an address field) since its components travel nested."""
    nested = {compound for compound, _ in compounds.values()}
    formulas = {n for n, f in index.fields.items() if f.get("calculated")}
    # parts of compounds CDC does not nest (FiscalYear, FiscalQuarter of Opportunity's
    # Fiscal): derived from other fields, and absent from the ChangeEvent schema
    unnested = {k for k, (c, _) in index.compounds.items() if k != c and k not in compounds}
    return _SKIPPED | nested | formulas | unnested


def nest_fields(
    values: Mapping[str, Any], compounds: Mapping[str, tuple[str, str]]
) -> dict[str, Any]:
    """Group compound components under their compound with capitalized keys: `compounds`
    maps a component (BillingCity) to (compound, key), e.g. ("BillingAddress", "City")."""
    out: dict[str, Any] = {}
    for name, value in values.items():
        parent = compounds.get(name)
        if parent is None:
            out[name] = cdc_value(value)
            continue
        nested = out.get(parent[0])
        if not isinstance(nested, dict):
            nested = out[parent[0]] = {}
        nested[parent[1]] = cdc_value(value)
    return out


def flat_values(state: OrgState, entity: str, event: Mapping[str, Any]) -> dict[str, Any]:
    """An event's body with each compound spread back into its fields (`Name.FirstName` ->
    FirstName, `BillingAddress.City` -> BillingCity), as PushTopic notifications name them."""
    from salesforce_typed.testing.org.records import field_index

    index = field_index(state, entity)
    parts = {v: k for k, v in cdc_compounds(index).items()} if index else {}
    out: dict[str, Any] = {}
    for name, value in event.items():
        if not isinstance(value, dict):
            out[name] = value
            continue
        for key, inner in value.items():
            component = parts.get((name, key))
            if component is not None:
                out[component] = inner
    return out


def _field_name(name: str, compounds: Mapping[str, tuple[str, str]]) -> str:
    parent = compounds.get(name)
    return name if parent is None else f"{parent[0]}.{parent[1]}"


# "Sending Data Differences for Fields of Updated Records": a long text's update may travel
# as a unified diff; never for a value under 1,000 characters, a length change over 50%, over
# 25% of the old and new lines changed, or a diff longer than the new value.
DIFF_MIN_LENGTH = 1000


def diffable(index: FieldIndex) -> frozenset[str]:
    """The object's long text fields (textarea longer than 255: long and rich text areas,
    Description): the only ones CDC may send as a diff."""
    return frozenset(
        n
        for n, f in index.fields.items()
        if f.get("type") == "textarea" and int(f.get("length") or 0) > 255
    )


def text_diff(old: Any, new: Any) -> str | None:
    """The diff CDC sends for `old` -> `new`, or None where the guide says the whole value
    goes: `--- \n+++ <SHA-256 of new>\n` then zero-context hunks over `\n`-split lines."""
    if not isinstance(old, str) or not isinstance(new, str) or old == new:
        return None
    if len(new) < DIFF_MIN_LENGTH or abs(len(new) - len(old)) > len(old) / 2:
        return None
    a, b = old.split("\n"), new.split("\n")
    hunks: list[str] = []
    changed = 0
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag == "equal":
            continue
        changed += (i2 - i1) + (j2 - j1)
        hunks.append(f"@@ -{_hunk_range(i1, i2)} +{_hunk_range(j1, j2)} @@")
        hunks += ["-" + line for line in a[i1:i2]] + ["+" + line for line in b[j1:j2]]
    if changed > (len(a) + len(b)) / 4:
        return None
    digest = hashlib.sha256(new.encode()).hexdigest()
    diff = "\n".join([f"--- \n+++ {digest}", *hunks])
    return diff if len(diff) <= len(new) else None


def _hunk_range(start: int, end: int) -> str:
    """Unified diff `start,count`, 1-based; an empty range names the line before it."""
    count = end - start
    return f"{start if count == 0 else start + 1},{count}"


def cometd_event(event: Mapping[str, Any]) -> dict[str, Any]:
    """The event as Streaming API (CometD) delivers it: the header without the keys only
    Pub/Sub API and Apex receive; the body is already CometD's (no unchanged, no empty)."""
    header = event.get("ChangeEventHeader")
    if not isinstance(header, Mapping):
        return dict(event)
    kept = {k: v for k, v in header.items() if k not in PUBSUB_ONLY_HEADER}
    return {**event, "ChangeEventHeader": kept}


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
    skip: frozenset[str] = _SKIPPED,
    diffs: Mapping[str, str] | None = None,
) -> None:
    """Queue one CDC event; delivered to listeners when the store transaction commits.

    `values` are the REST JSON values to carry (already cut to what CDC sends: the written
    fields, nulls included, or every non-empty field on CREATE/UNDELETE); `changed_fields` /
    `nulled_fields` are field names, mapped to `Compound.Key` form for components; `diffs`
    holds the long text values sent as a diff (`{"diff": ...}`, named in diffFields).
    """
    if not state.change_listeners:
        return
    from salesforce_typed.testing.org.store import store

    origin = origin or Origin(version=state.config.api_version, user_id=state.config.user_id)
    compounds = compounds or {}
    payload = nest_fields({k: v for k, v in values.items() if k not in skip}, compounds)
    diffs = diffs or {}
    payload.update({name: {"diff": diff} for name, diff in diffs.items()})
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
        "changedFields": list(dict.fromkeys(_field_name(f, compounds) for f in changed_fields)),
        "nulledFields": list(dict.fromkeys(_field_name(f, compounds) for f in nulled_fields)),
        "diffFields": list(diffs),
    }
    event = {"ChangeEventHeader": header, **payload}
    st = store(state)
    data = st.transaction_data()
    batch = data.get("cdc_batch") if data is not None else None
    if batch is None:
        batch = _Batch()
        if data is not None:
            data["cdc_batch"] = batch

    def deliver() -> None:
        if batch.commit_number is None:
            batch.commit_number = next(_commit_numbers)
            batch.commit_timestamp = int(state.clock() * 1000)
        batch.sequence += 1
        header["transactionKey"] = batch.transaction_key
        header["sequenceNumber"] = batch.sequence
        header["commitNumber"] = batch.commit_number
        header["commitTimestamp"] = batch.commit_timestamp
        try:
            state.publish_change(event)
        except Exception:  # a broken listener must not fail a write that has committed
            log.exception("change listener failed on %s %s", entity, change_type)

    st.after_commit(deliver)


def publish_rows(
    state: OrgState,
    index: FieldIndex,
    change_type: str,
    rows: Sequence[Mapping[str, Any]],
    *,
    origin: Origin,
    skip: frozenset[str] = frozenset(),
) -> None:
    """CREATE / UNDELETE: one event per stored row, carrying its non-empty fields
    ("Change Event Body Fields": CometD leaves empty fields out)."""
    compounds = cdc_compounds(index)
    skipped = _flat_skips(index, compounds) | skip
    for row in rows:
        values = {k: v for k, v in row.items() if v is not None and k in index.fields}
        publish(
            state,
            index.sobject,
            change_type,
            [str(row["Id"])],
            (),
            (),
            values,
            origin=origin,
            compounds=compounds,
            skip=skipped,
        )


def publish_updates(
    state: OrgState,
    index: FieldIndex,
    updates: Sequence[tuple[Mapping[str, Any], Mapping[str, Any]]],
    *,
    origin: Origin,
    before: Mapping[str, Mapping[str, Any]] | None = None,
) -> None:
    """UPDATE: per (stored row, written values), the written fields (those set to null with a
    null value) plus LastModifiedDate; records changed alike in one transaction share one
    event ("Change Event Header Fields": recordIds). `before` (rows by id, as they were)
    lets a long text's change travel as a diff."""
    compounds = cdc_compounds(index)
    skipped = _flat_skips(index, compounds)
    long_text = diffable(index) if before else frozenset()
    groups: dict[str, tuple[list[str], dict[str, Any], list[str], list[str], dict[str, str]]]
    groups = {}
    for row, written in updates:
        fields = [k for k in written if k not in skipped and k in index.fields]
        old = (before or {}).get(str(row["Id"])) or {}
        diffs = {
            k: d
            for k in sorted(long_text & set(fields))
            if (d := text_diff(old.get(k), row.get(k)))
        }
        sent = {k: row.get(k) for k in fields if k not in diffs}
        sent["LastModifiedDate"] = row.get("LastModifiedDate")
        changed = [*fields, "LastModifiedDate"]
        nulled = [k for k in fields if row.get(k) is None]
        # alike = the same written values; LastModifiedDate is the transaction's (the first
        # row's), as the store may stamp the rows of one transaction a millisecond apart
        alike = sorted((k, v) for k, v in sent.items() if k != "LastModifiedDate")
        key = repr((alike, changed, sorted(diffs.items())))
        group = groups.setdefault(key, ([], sent, changed, nulled, diffs))
        group[0].append(str(row["Id"]))
    for ids, sent, changed, nulled, diffs in groups.values():
        publish(
            state,
            index.sobject,
            "UPDATE",
            ids,
            changed,
            nulled,
            sent,
            origin=origin,
            compounds=compounds,
            skip=skipped,
            diffs=diffs,
        )
