"""sObject rows: the DML every write API shares (REST, collections, composite, SOAP, Bulk).

`Writer` is the one write path: it validates against the describe (`validation`), stores
through `RecordStore` inside one transaction, and queues CDC events (`changes`) that go out
only when that commits. Results are `Outcome` values, never exceptions, except for bodies
that cannot be deserialized (`PayloadError`), which fail the whole request as Salesforce
does. `key_field` checks an upsert key the way every API names it. `ColumnInsert` is
`Writer.create` for many rows that share their fields (a Bulk insert's CSV columns), run
column by column with the same outcome, for the cases it can plan; else `create` it is.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import attrs

from salesforce_typed.core.unset import UNSET
from salesforce_typed.testing.org import autonumbers, changes, derived
from salesforce_typed.testing.org.http import SfError
from salesforce_typed.testing.org.state import OrgState
from salesforce_typed.testing.org.store import RecordStore, store
from salesforce_typed.testing.org.validation import (
    FieldError,
    FieldIndex,
    Normalized,
    PayloadError,
    check,
    coerce,
    column_tests,
    computed_fields,
    insert_defaults,
    missing_error,
    normalize,
    required_on_insert,
    unique_fields,
    value_checks,
    writable,
)
from salesforce_typed.testing.soql import normalize_id
from salesforce_typed.testing.soql.storage import SqlValue

ROLLED_BACK = FieldError(
    "ALL_OR_NONE_OPERATION_ROLLED_BACK",
    "Record rolled back because not all records were valid and the request was using "
    "AllOrNone header",
)
NOT_FOUND = "The requested resource does not exist"
XREF = FieldError("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id")
DELETED = FieldError("ENTITY_IS_DELETED", "entity is deleted")


@attrs.define
class Outcome:
    """One record's result, in input order; `matches` lists ids when an upsert key hit >1."""

    id: str | None = None
    errors: list[FieldError] = attrs.field(factory=list)
    created: bool | None = None
    matches: list[str] = attrs.field(factory=list)

    @property
    def success(self) -> bool:
        return not self.errors

    def collection(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id if self.success else None,
            "success": self.success,
            "errors": [e.collection() for e in self.errors],
        }
        if self.created is not None:
            out["created"] = self.created if self.success else False
        return out


def field_index(state: OrgState, sobject: str) -> FieldIndex | None:
    """The describe's `FieldIndex`, cached until the describe object is replaced."""
    doc = state.schema.describe(sobject)
    if doc is None:
        return None
    cache: dict[str, tuple[object, FieldIndex]] = state.extensions.setdefault("field_index", {})
    hit = cache.get(str(doc["name"]))
    if hit is None or hit[0] is not doc:
        hit = (doc, FieldIndex(str(doc["name"]), doc["fields"]))
        cache[str(doc["name"])] = hit
    return hit[1]


def require_index(state: OrgState, sobject: str) -> FieldIndex:
    index = field_index(state, sobject)
    if index is None:
        raise SfError(404, "NOT_FOUND", NOT_FOUND)
    return index


class RecordLookups:
    """`validation.Lookups` over the org's schema and store."""

    def __init__(self, state: OrgState) -> None:
        self.state = state
        self.store = store(state)

    def index(self, sobject: str) -> FieldIndex | None:
        return field_index(self.state, sobject)

    def sobject_of(self, record_id: str) -> str | None:
        return self.state.schema.by_prefix(record_id[:3])

    def exists(self, sobject: str, record_id: str) -> bool:
        if record_id == self.state.config.user_id:  # the org's user has no stored row
            return True
        return self.store.deleted_flags(sobject, [record_id]).get(record_id) is False

    def match(self, sobject: str, field: str, value: Any) -> list[str]:
        if value is None:
            return []
        if field == "Id":
            record_id = normalize_id(str(value))
            return [record_id] if record_id and self.exists(sobject, record_id) else []
        found = self.store.ids_by_value(sobject, field, [value])
        return found.get(self.store.match_key(sobject, field, value), [])


class Writer:
    """One request's writes. Each call runs in one store transaction; with `all_or_none`
    nothing is written when any record fails and the others report ROLLED_BACK."""

    def __init__(self, state: OrgState, origin: changes.Origin | None = None) -> None:
        self.state = state
        self.origin = origin or changes.Origin(
            version=state.config.api_version, user_id=state.config.user_id
        )
        self.lookups = RecordLookups(state)
        self.store: RecordStore = self.lookups.store

    def normalize(self, index: FieldIndex, body: Any) -> Normalized:
        try:
            return normalize(index, body, self.lookups)
        except PayloadError as exc:
            raise SfError(400, exc.code, exc.message) from None

    # -- the four operations ---------------------------------------------------------------

    def create(
        self, sobject: str, bodies: Sequence[Any], *, all_or_none: bool = False
    ) -> list[Outcome]:
        index = require_index(self.state, sobject)
        prepared = [self.normalize(index, b) for b in bodies]
        outcomes = [Outcome() for _ in prepared]
        with self.store.transaction():  # checks and writes see the same data
            now = self.store.now()
            inserts = [
                (i, self._plan_insert(index, n, outcomes[i], now)) for i, n in enumerate(prepared)
            ]
            return self._commit(index, outcomes, inserts, [], all_or_none)

    def update(
        self, sobject: str, items: Sequence[tuple[Any, Any]], *, all_or_none: bool = False
    ) -> list[Outcome]:
        """`items` are (id as sent, body); the id is checked here (MISSING_ARGUMENT,
        MALFORMED_ID, ENTITY_IS_DELETED, INVALID_CROSS_REFERENCE_KEY)."""
        index = require_index(self.state, sobject)
        prepared = [self.normalize(index, body) for _, body in items]
        outcomes = [Outcome() for _ in prepared]
        ids = [self._target_id(index, raw, outcomes[i]) for i, (raw, _) in enumerate(items)]
        with self.store.transaction():
            flags = self.store.deleted_flags(index.sobject, [i for i in ids if i])
            updates = []
            for i, (record_id, norm) in enumerate(zip(ids, prepared, strict=True)):
                if record_id is None:
                    continue
                if record_id not in flags or flags[record_id]:
                    outcomes[i].errors.append(DELETED if record_id in flags else XREF)
                else:
                    plan = self._plan_update(index, record_id, norm, outcomes[i])
                    updates.append((i, record_id, plan))
            return self._commit(index, outcomes, [], updates, all_or_none)

    def upsert(
        self,
        sobject: str,
        field: str,
        items: Sequence[tuple[Any, Any]],
        *,
        all_or_none: bool = False,
        update_only: bool = False,
    ) -> list[Outcome]:
        """`items` are (key value, body); `field` is a canonical external-id/idLookup field."""
        index = require_index(self.state, sobject)
        prepared = [self.normalize(index, body) for _, body in items]
        outcomes = [Outcome(created=False) for _ in prepared]
        keys = [
            self._upsert_key(index, field, raw, outcomes[i]) for i, (raw, _) in enumerate(items)
        ]
        _flag_duplicate_keys(self.store, index.sobject, field, keys, outcomes)
        with self.store.transaction():
            now = self.store.now()
            matches = self._match_keys(index.sobject, field, keys)
            inserts, updates = [], []
            for i, (key, norm, outcome) in enumerate(zip(keys, prepared, outcomes, strict=True)):
                found = matches.get(key, []) if key is not None else []
                norm.values.pop("Id", None)
                if not outcome.success:
                    continue
                if len(found) > 1:
                    outcome.matches = found
                    message = (
                        f"more than one record found for external id field: [{', '.join(found)}]"
                    )
                    outcome.errors.append(
                        FieldError("DUPLICATE_EXTERNAL_ID", f"{field}: {message}", (field,))
                    )
                elif found:
                    updates.append((i, found[0], self._plan_update(index, found[0], norm, outcome)))
                elif update_only or (field == "Id" and key is not None):
                    outcome.errors.append(FieldError("NOT_FOUND", NOT_FOUND))
                else:
                    if field != "Id":
                        norm.values[field] = key
                    outcome.created = True
                    inserts.append((i, self._plan_insert(index, norm, outcome, now)))
            return self._commit(index, outcomes, inserts, updates, all_or_none)

    def delete(self, raw_ids: Sequence[Any], *, all_or_none: bool = False) -> list[Outcome]:
        """Soft delete (recycle bin) records of any types; one DELETE event per type."""
        outcomes = [Outcome() for _ in raw_ids]
        by_type: dict[str, list[tuple[int, str]]] = {}
        for i, raw in enumerate(raw_ids):
            record_id = normalize_id(raw) if isinstance(raw, str) else None
            sobject = self.lookups.sobject_of(record_id) if record_id else None
            if record_id is None:
                outcomes[i].errors.append(FieldError("MALFORMED_ID", f"malformed id {raw}"))
            elif sobject is None:
                outcomes[i].errors.append(XREF)
            else:
                by_type.setdefault(sobject, []).append((i, record_id))
        with self.store.transaction():
            for sobject, pairs in by_type.items():
                flags = self.store.deleted_flags(sobject, [r for _, r in pairs])
                for i, record_id in pairs:
                    if record_id not in flags or flags[record_id]:
                        outcomes[i].errors.append(DELETED if record_id in flags else XREF)
                    else:
                        outcomes[i].id = record_id
            if all_or_none and not all(o.success for o in outcomes):
                return rolled_back(outcomes)
            for sobject, pairs in by_type.items():
                done = []
                for i, record_id in pairs:
                    if outcomes[i].success and self.store.set_deleted(sobject, record_id, True):
                        done.append(record_id)
                    elif outcomes[i].success:  # the same id twice in one request
                        outcomes[i].errors.append(DELETED)
                if done:
                    changes.publish(
                        self.state, sobject, "DELETE", done, (), (), {}, origin=self.origin
                    )
        return outcomes

    def undelete(self, sobject: str, record_id: str) -> Outcome:
        """Restore from the recycle bin (SOAP `undelete`; REST has none)."""
        index = require_index(self.state, sobject)
        flags = self.store.deleted_flags(index.sobject, [record_id])
        if record_id not in flags:
            return Outcome(errors=[XREF])
        with self.store.transaction():
            if not self.store.set_deleted(index.sobject, record_id, False):
                return Outcome(
                    errors=[FieldError("UNDELETE_FAILED", "Entity is not in the recycle bin")]
                )
            if changes.listening(self.state):
                row = self.store.get(index.sobject, record_id) or {}
                changes.publish_rows(
                    self.state,
                    index,
                    "UNDELETE",
                    [row],
                    origin=self.origin,
                    skip=computed_fields(index),
                )
        return Outcome(id=record_id)

    # -- planning and committing -----------------------------------------------------------

    def _target_id(self, index: FieldIndex, raw: Any, outcome: Outcome) -> str | None:
        if raw is None or raw == "":
            message = "Id not specified in an update call"
            outcome.errors.append(FieldError("MISSING_ARGUMENT", message))
            return None
        return _parse_id(raw, outcome)

    def _upsert_key(self, index: FieldIndex, field: str, raw: Any, outcome: Outcome) -> Any:
        if field == "Id":  # upsert on Id: no value means insert
            return None if raw is None or raw == "" else _parse_id(raw, outcome)
        try:
            key = coerce(index.fields[field], raw)
        except PayloadError as exc:
            outcome.errors.append(FieldError(exc.code, exc.message, (field,)))
            return None
        if key is None:
            outcome.errors.append(
                FieldError("MISSING_ARGUMENT", f"{field} not specified", (field,))
            )
        return key

    def _match_keys(self, sobject: str, field: str, keys: list[Any]) -> dict[Any, list[str]]:
        present = [k for k in keys if k is not None]
        if field == "Id":
            flags = self.store.deleted_flags(sobject, present)
            return {k: [k] for k in present if flags.get(k) is False}
        found = self.store.ids_by_value(sobject, field, present)
        return {k: found.get(self.store.match_key(sobject, field, k), []) for k in present}

    def _plan_insert(
        self, index: FieldIndex, norm: Normalized, outcome: Outcome, now: str
    ) -> dict[str, Any]:
        if norm.values.pop("Id", None) is not None:
            outcome.errors.append(
                FieldError(
                    "INVALID_FIELD_FOR_INSERT_UPDATE",
                    "Record ID: cannot specify Id in an insert call",
                    ("Id",),
                )
            )
            return {}
        values, errors = check(index, norm, "insert", self.lookups)
        outcome.errors.extend(errors)
        outcome.errors.extend(self._unique_errors(index, values, None))
        values.update(derived.derive(index, values, {}, now=now))  # one time per transaction
        return values

    def _plan_update(
        self, index: FieldIndex, record_id: str, norm: Normalized, outcome: Outcome
    ) -> dict[str, Any]:
        norm.values.pop("Id", None)
        values, errors = check(index, norm, "update", self.lookups)
        outcome.errors.extend(errors)
        outcome.errors.extend(self._unique_errors(index, values, record_id))
        if derived.touches(index, values):
            previous = self.store.get(index.sobject, record_id) or {}
            values.update(derived.derive(index, values, previous, now=self.store.now()))
        return values

    def _unique_errors(
        self, index: FieldIndex, values: dict[str, Any], record_id: str | None
    ) -> list[FieldError]:
        errors: list[FieldError] = []
        unique = unique_fields(index)
        if unique.isdisjoint(values):
            return errors
        for name, value in values.items():
            if value is None or name not in unique:
                continue
            others = [i for i in self.lookups.match(index.sobject, name, value) if i != record_id]
            if others:
                errors.append(
                    FieldError(
                        "DUPLICATE_VALUE",
                        f"duplicate value found: {name} duplicates value on record with id: "
                        f"{others[0]}",
                        (name,),
                    )
                )
        return errors

    def _commit(
        self,
        index: FieldIndex,
        outcomes: list[Outcome],
        inserts: list[tuple[int, dict[str, Any]]],
        updates: list[tuple[int, str, dict[str, Any]]],
        all_or_none: bool,
    ) -> list[Outcome]:
        """Write the planned rows (inside the caller's transaction) and queue CDC events."""
        if all_or_none and not all(o.success for o in outcomes):
            return rolled_back(outcomes)
        sobject = index.sobject
        valid = [(i, v) for i, v in inserts if outcomes[i].success]
        autonumbers.assign(self.store, index, [v for _, v in valid])
        new_ids = self.store.insert_many(sobject, [v for _, v in valid])
        for (i, _), new_id in zip(valid, new_ids, strict=True):
            outcomes[i].id = new_id
        written = [(i, r, v) for i, r, v in updates if outcomes[i].success]
        listening = changes.listening(self.state)
        # CDC may send a long text's change as a diff of the value before (changes.text_diff)
        diffable = changes.diffable(index) if listening else frozenset()
        touched = [r for _, r, v in written if diffable & v.keys()]
        before = self.store.get_many(sobject, touched) if touched else {}
        for i, record_id, values in written:
            self.store.update(sobject, record_id, values)
            outcomes[i].id = record_id
        if listening:
            rows = self.store.get_many(sobject, [*new_ids, *(r for _, r, _ in written)])
            origin, skip = self.origin, computed_fields(index)
            created = [rows[i] for i in new_ids]
            changes.publish_rows(self.state, index, "CREATE", created, origin=origin, skip=skip)
            pairs = [(rows[r], v) for _, r, v in written]
            changes.publish_updates(self.state, index, pairs, origin=origin, before=before)
        return outcomes


class ColumnInsert:
    """`Writer.create` for rows that share one list of fields (a Bulk CSV's columns), planned
    once for that list and run column by column: the same errors, stored values, ids and
    change events as `create` on the equivalent bodies, without a body, an `Outcome` or a
    check call per record where a whole column can be seen to pass.

    `plan` returns None for what it does not cover (Id, read-only, unique or auto-number
    fields, fields Salesforce derives from the record's values, fields without a column of
    their own), and `run` None when the describe changed since; callers use `create` then.
    """

    def __init__(
        self,
        writer: Writer,
        index: FieldIndex,
        names: list[str],
        converters: list[Callable[[Sequence[object]], Sequence[SqlValue]]],
        constants: dict[str, SqlValue],
    ) -> None:
        self.writer = writer
        self.index = index
        self.names = names
        self.converters = converters
        self.constants = constants
        defaults = insert_defaults(index)
        # UNSET (the record leaves the field out) takes the default (or null), as in `check`
        self.absent = [defaults.get(n) for n in names]
        # (field, its column or -1): what REQUIRED_FIELD_MISSING may name, in `check`'s order
        self.required = [
            (n, names.index(n) if n in names else -1)
            for n in required_on_insert(index)
            if n in names or defaults.get(n) is None
        ]
        checks = value_checks(index)
        self.checks = [checks[n] for n in names]
        tests = column_tests(index)
        self.clean = [tests[n] for n in names]

    @classmethod
    def plan(cls, writer: Writer, index: FieldIndex, names: Sequence[str]) -> ColumnInsert | None:
        """The plan for inserting `names` (canonical field names), or None (see above)."""
        fields = list(names)
        if not fields or len(set(fields)) != len(fields) or "Id" in fields:
            return None
        if not set(fields) <= writable(index, "insert") or autonumbers.fields(index):
            return None
        defaults = insert_defaults(index)
        given = {*fields, *(k for k, v in defaults.items() if v is not None)}
        if not unique_fields(index).isdisjoint(given):
            return None
        constant = derived.insert_constants(index, fields, defaults)
        converters = writer.store.column_converters(index.sobject, fields)
        if constant is None or converters is None:
            return None
        constants: dict[str, SqlValue] = {}
        for name, value in {
            **{k: v for k, v in defaults.items() if k not in fields},
            **constant,
        }.items():
            stored = writer.store.column_converters(index.sobject, [name])
            if stored is not None:  # as insert_many: a field without a column is not stored
                constants[name] = stored[0]([value])[0]
        return cls(writer, index, fields, converters, constants)

    def run(self, columns: list[list[Any]]) -> list[str | list[FieldError]] | None:
        """Insert rows given column by column: `columns[i]` holds `names[i]`'s values, as
        `normalize` returns them, or UNSET; the lists may be changed. Per row, its new id or
        its errors; None when the object's describe is no longer the planned one."""
        writer, index = self.writer, self.index
        if field_index(writer.state, index.sobject) is not index:
            return None
        count = len(columns[0])
        problems: dict[int, list[FieldError]] = {}
        with writer.store.transaction():  # checks and writes see the same data
            self._check(columns, count, problems)
            good = [r for r in range(count) if r not in problems] if problems else None
            stored: list[Sequence[SqlValue]] = []
            for column, convert, absent in zip(columns, self.converters, self.absent, strict=True):
                if good is not None:
                    column = [column[r] for r in good]
                if UNSET in column:
                    column = [absent if v is UNSET else v for v in column]
                stored.append(convert(column))
            size = count - len(problems)
            stored.extend([value] * size for value in self.constants.values())
            names = [*self.names, *self.constants]
            new_ids = writer.store.insert_stored(index.sobject, names, stored)
            if changes.listening(writer.state):
                rows = writer.store.get_many(index.sobject, new_ids)
                created = [rows[i] for i in new_ids]
                changes.publish_rows(
                    writer.state,
                    index,
                    "CREATE",
                    created,
                    origin=writer.origin,
                    skip=computed_fields(index),
                )
        if not problems:
            return list(new_ids)
        made = iter(new_ids)
        return [problems[r] if r in problems else next(made) for r in range(count)]

    def _check(
        self, columns: list[list[Any]], count: int, problems: dict[int, list[FieldError]]
    ) -> None:
        """`check`'s errors per row: REQUIRED_FIELD_MISSING first, then each column's."""
        missing: dict[int, list[str]] = {}
        for name, j in self.required:
            if j < 0:
                rows: Iterable[int] = range(count)
            else:
                column = columns[j]
                if None not in column and UNSET not in column:
                    continue
                absent_missing = self.absent[j] is None
                rows = [
                    r for r, v in enumerate(column) if v is None or (v is UNSET and absent_missing)
                ]
            for r in rows:
                missing.setdefault(r, []).append(name)
        for r in sorted(missing):
            problems[r] = [missing_error(missing[r])]
        lookups = self.writer.lookups
        for j, (name, run, clean) in enumerate(
            zip(self.names, self.checks, self.clean, strict=True)
        ):
            column = columns[j]
            if run is None or (clean is not None and clean(column)):
                continue
            for r, value in enumerate(column):
                if value is None or value is UNSET:
                    continue
                box: dict[str, Any] = {}
                errors = run(value, box, lookups)
                if name in box:  # a reference, as its 18-char id
                    column[r] = box[name]
                if errors:
                    problems.setdefault(r, []).extend(errors)


def rolled_back(outcomes: list[Outcome]) -> list[Outcome]:
    for outcome in outcomes:
        if outcome.success:
            outcome.errors.append(ROLLED_BACK)
        outcome.id = None
    return outcomes


def _flag_duplicate_keys(
    st: RecordStore, sobject: str, field: str, keys: list[Any], outcomes: list[Outcome]
) -> None:
    """The same upsert key twice in one call fails both records (DUPLICATE_EXTERNAL_ID)."""
    seen: dict[Any, int] = {}
    for i, key in enumerate(keys):
        if key is None or not outcomes[i].success:
            continue
        match_key = key if field == "Id" else st.match_key(sobject, field, key)
        if match_key in seen:
            dup = FieldError("DUPLICATE_EXTERNAL_ID", f"Duplicate external id specified: {key}")
            for j in (seen[match_key], i):
                outcomes[j].errors[:] = [dup]
        seen.setdefault(match_key, i)


def _parse_id(raw: Any, outcome: Outcome) -> str | None:
    record_id = normalize_id(raw) if isinstance(raw, str) else None
    if record_id is None:
        outcome.errors.append(FieldError("MALFORMED_ID", f"malformed id {raw}", ("Id",)))
    return record_id


# -- upsert keys and undelete ----------------------------------------------------------------


def no_external_field(segment: str) -> SfError:
    return SfError(
        404,
        "NOT_FOUND",
        f"Provided external ID field does not exist or is not accessible: {segment}",
    )


def key_field(index: FieldIndex, segment: str) -> str:
    """The canonical upsert-key field named by a URL segment (404 / 400 INVALID_FIELD)."""
    f = index.field(segment)
    if f is None:
        raise no_external_field(segment)
    name = str(f["name"])
    if name not in index.lookup_fields():
        raise SfError(
            400,
            "INVALID_FIELD",
            f"Field name provided, {name} is not an External ID or indexed field for "
            f"{index.sobject}",
        )
    return name


def undelete(state: OrgState, sobject: str, record_id: str) -> Outcome:
    """Restore a record from the recycle bin and publish UNDELETE (for the SOAP module)."""
    return Writer(state).undelete(sobject, record_id)
