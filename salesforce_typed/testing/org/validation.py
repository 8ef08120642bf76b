"""Write validation from the describe: what Salesforce checks before it saves a record.

Pure functions over field describes (the dicts `OrgSchema.fields` holds) and one record's
JSON, in Salesforce's two stages:

1. `normalize` deserializes: canonical field names (input is case-insensitive), values
   coerced to the field type, `attributes` dropped, `"Account": {"Ext__c": "A-1"}` noted as
   a foreign key. Its failures (`PayloadError`: INVALID_FIELD, JSON_PARSER_ERROR) fail the
   whole request, even a collection's, because Salesforce fails while parsing the body.
2. `check` validates one record for insert or update and returns per-record `FieldError`s
   (INVALID_FIELD_FOR_INSERT_UPDATE, REQUIRED_FIELD_MISSING, STRING_TOO_LONG, restricted
   picklists, reference types and targets, foreign external ids).

Stored data is reached only through `Lookups`, so this module never touches storage.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import partial
from typing import Any, Literal, Protocol

import attrs

from salesforce_typed.testing.soql import format_datetime, normalize_id, parse_datetime

Op = Literal["insert", "update"]
FieldDescribe = Mapping[str, Any]

TEXT_TYPES = frozenset(
    {
        "string",
        "textarea",
        "email",
        "phone",
        "url",
        "picklist",
        "multipicklist",
        "combobox",
        "encryptedstring",
        "id",
        "reference",
        "base64",
    }
)
NUMBER_TYPES = frozenset({"double", "currency", "percent"})
NAME_PARTS = ("FirstName", "MiddleName", "LastName", "Suffix")
_COMPOUND_TYPES = frozenset({"address", "location"})


@attrs.frozen
class FieldError:
    """One per-record error; REST spells the code `errorCode`, collections `statusCode`."""

    code: str
    message: str
    fields: tuple[str, ...] = ()

    def rest(self) -> dict[str, Any]:
        return {"message": self.message, "errorCode": self.code, "fields": list(self.fields)}

    def collection(self) -> dict[str, Any]:
        return {"statusCode": self.code, "message": self.message, "fields": list(self.fields)}


class PayloadError(Exception):
    """A body Salesforce cannot deserialize: the request fails as a whole with a 400."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


def compound_key(compound: str, component: str) -> str:
    """The nested key of a compound's component, capitalized: (BillingAddress, BillingCity)
    -> City; (Loc__c, Loc__Latitude__s) -> Latitude. REST lower-cases the first letter."""
    if compound.endswith("__c"):
        base = compound[:-3] + "__"
        rest = component[len(base) :] if component.startswith(base) else component
        return rest.removesuffix("__s")
    base = compound.removesuffix("Address")
    return component[len(base) :] if base and component.startswith(base) else component


class FieldIndex:
    """One sObject's field describes, looked up case-insensitively (names and relationships)."""

    def __init__(self, sobject: str, fields: Iterable[FieldDescribe]) -> None:
        self.sobject = sobject
        self.fields: dict[str, FieldDescribe] = {str(f["name"]): f for f in fields}
        self._lower = {n.lower(): n for n in self.fields}
        self._relationships = {
            str(f["relationshipName"]).lower(): n
            for n, f in self.fields.items()
            if f.get("relationshipName") and f.get("referenceTo")
        }
        # component (BillingCity) -> (compound, capitalized key): REST and CDC nest them
        self.compounds: dict[str, tuple[str, str]] = {
            n: (str(f["compoundFieldName"]), compound_key(str(f["compoundFieldName"]), n))
            for n, f in self.fields.items()
            if f.get("compoundFieldName")
        }
        # what the per-record checks derive from the describe alone (see `_derived`): the
        # index is rebuilt whenever the describe is replaced, so this never goes stale
        self.derived: dict[str, Any] = {}

    def field(self, name: str) -> FieldDescribe | None:
        canonical = self._lower.get(name.lower())
        return None if canonical is None else self.fields[canonical]

    def relationship(self, name: str) -> FieldDescribe | None:
        canonical = self._relationships.get(name.lower())
        return None if canonical is None else self.fields[canonical]

    def label(self, name: str) -> str:
        return str(self.fields[name].get("label") or name)

    def lookup_fields(self) -> list[str]:
        """Fields usable as an upsert key: external ids and idLookup fields (Id included)."""
        return [n for n, f in self.fields.items() if f.get("externalId") or f.get("idLookup")]


class Lookups(Protocol):
    """What validation needs to know about stored data and other objects."""

    def index(self, sobject: str) -> FieldIndex | None: ...

    def sobject_of(self, record_id: str) -> str | None: ...

    def exists(self, sobject: str, record_id: str) -> bool: ...

    def match(self, sobject: str, field: str, value: Any) -> list[str]: ...


@attrs.frozen
class ForeignKey:
    """`"Account": {"Ext__c": "A-1"}` in a Contact payload: AccountId by Account.Ext__c."""

    field: str
    target: str
    ext_field: str
    value: Any


@attrs.define
class Normalized:
    values: dict[str, Any]
    foreign_keys: list[ForeignKey] = attrs.field(factory=list)


# -- stage 1: deserialization ----------------------------------------------------------------


def _token(value: Any) -> tuple[str, str]:
    if isinstance(value, bool):
        return ("VALUE_TRUE", "true") if value else ("VALUE_FALSE", "false")
    if isinstance(value, int):
        return "VALUE_NUMBER_INT", str(value)
    if isinstance(value, float):
        return "VALUE_NUMBER_FLOAT", repr(value)
    if isinstance(value, dict):
        return "START_OBJECT", "{"
    if isinstance(value, list):
        return "START_ARRAY", "["
    return "VALUE_STRING", str(value)


def _cannot(type_name: str, value: Any) -> PayloadError:
    token, text = _token(value)
    return PayloadError(
        "JSON_PARSER_ERROR",
        f"Cannot deserialize instance of {type_name} from {token} value {text} "
        "or request may be missing a required field",
    )


def coerce(field: FieldDescribe, value: Any) -> Any:
    """A JSON value as the field's type stores it (Salesforce's lenient JSON binding):
    scalars become text for text fields, numeric strings numbers, `""` null."""
    if value is None:
        return False if field.get("type") == "boolean" else None
    ftype = str(field.get("type", "string"))
    try:
        if ftype in TEXT_TYPES:
            if isinstance(value, dict | list):
                raise ValueError
            text = ("true" if value else "false") if isinstance(value, bool) else str(value)
            return text or None
        if ftype == "boolean":
            if isinstance(value, bool):
                return value
            if isinstance(value, str) and value.lower() in ("true", "false"):
                return value.lower() == "true"
            raise ValueError
        if ftype in ("int", "long"):
            if isinstance(value, bool) or not isinstance(value, int | float | str):
                raise ValueError
            number = float(value)
            if not number.is_integer():
                raise ValueError
            return int(number)
        if ftype in NUMBER_TYPES:
            if isinstance(value, bool) or not isinstance(value, int | float | str):
                raise ValueError
            return float(value)
        if ftype in ("date", "datetime", "time") and not isinstance(value, str):
            raise ValueError
        if ftype == "date":
            return dt.date.fromisoformat(value).isoformat()
        if ftype == "datetime":
            return format_datetime(parse_datetime(value))
        if ftype == "time":
            parsed = dt.time.fromisoformat(value.rstrip("Zz"))
            return f"{parsed.strftime('%H:%M:%S')}.{parsed.microsecond // 1000:03d}Z"
    except (ValueError, TypeError):
        raise _cannot(ftype, value) from None
    return value


def coercer(field: FieldDescribe) -> Callable[[Any], Any]:
    """`coerce` for one field, with text from `str`, numbers from `float`, `int` or `str`
    and checkboxes from `bool` answered without the type dispatch; the same results and
    errors (anything else goes through `coerce`)."""
    ftype = str(field.get("type", "string"))
    if ftype in TEXT_TYPES:

        def text(value: Any) -> Any:
            return (value or None) if type(value) is str else coerce(field, value)

        return text
    if ftype in NUMBER_TYPES:

        def number(value: Any) -> Any:
            kind = type(value)
            if kind is float or kind is int or kind is str:
                try:
                    return float(value)
                except ValueError:
                    raise _cannot(ftype, value) from None
            return coerce(field, value)

        return number
    if ftype in ("int", "long"):

        def integer(value: Any) -> Any:
            kind = type(value)
            if kind is int:
                return int(float(value))  # as coerce: through a float
            if kind is str or kind is float:
                try:
                    number = float(value)
                except ValueError:
                    raise _cannot(ftype, value) from None
                if not number.is_integer():
                    raise _cannot(ftype, value)
                return int(number)
            return coerce(field, value)

        return integer
    if ftype == "boolean":
        return lambda value: value if type(value) is bool else coerce(field, value)
    return partial(coerce, field)


def recoerces_to_itself(field: FieldDescribe) -> bool:
    """Whether `coerce` returns what it is given back for any non-null value it returned
    (text, numbers, checkboxes): then a second pass (a body's values, coerced once when
    read from CSV) can be skipped."""
    ftype = str(field.get("type", "string"))
    return ftype in TEXT_TYPES or ftype in NUMBER_TYPES or ftype in ("int", "long", "boolean")


def _keys(index: FieldIndex) -> dict[str, tuple[str, Callable[[Any], Any]]]:
    return {}


def normalize(index: FieldIndex, record: Mapping[str, Any], lookups: Lookups) -> Normalized:
    """Stage 1: canonical names and typed values, or a `PayloadError` for the request."""
    if not isinstance(record, Mapping):
        raise _cannot(index.sobject, record)
    out = Normalized(values={})
    values = out.values
    # a field's name -> (itself, its coercer), learnt once per index (bodies of one
    # request, and of later ones, repeat their keys)
    keys: dict[str, tuple[str, Callable[[Any], Any]]] = _derived(index, "keys", _keys)
    for key, value in record.items():
        known = keys.get(key)
        if known is None:
            if key == "attributes":
                continue
            field = index.field(key)
            if field is None:
                rel = index.relationship(key)
                if rel is not None and isinstance(value, dict):
                    out.foreign_keys.append(_foreign_key(index, rel, key, value, lookups))
                    continue
                raise PayloadError(
                    "INVALID_FIELD", f"No such column '{key}' on sobject of type {index.sobject}"
                )
            known = (str(field["name"]), coercer(field))
            if key == known[0]:  # canonical spellings only: the cache stays one per field
                keys[key] = known
        values[known[0]] = known[1](value)
    return out


def _foreign_key(
    index: FieldIndex, rel: FieldDescribe, key: str, value: dict[str, Any], lookups: Lookups
) -> ForeignKey:
    targets = [str(t) for t in rel.get("referenceTo") or ()]
    attrs_type = value.get("attributes", {}).get("type") if isinstance(value, dict) else None
    target = str(attrs_type) if attrs_type else targets[0]
    target_index = lookups.index(target)
    keys = [k for k in value if k != "attributes"]
    if target_index is None or len(keys) != 1:
        raise PayloadError(
            "INVALID_FIELD", f"No such column '{key}' on sobject of type {index.sobject}"
        )
    ext = target_index.field(keys[0])
    if ext is None:
        raise PayloadError(
            "INVALID_FIELD", f"No such column '{keys[0]}' on sobject of type {target_index.sobject}"
        )
    if str(ext["name"]) not in target_index.lookup_fields():
        raise PayloadError(
            "INVALID_FIELD",
            f"Field name provided, {ext['name']} is not an External ID or indexed field for "
            f"{target_index.sobject}",
        )
    return ForeignKey(
        field=str(rel["name"]),
        target=target_index.sobject,
        ext_field=str(ext["name"]),
        value=coerce(ext, value[keys[0]]),
    )


# -- stage 2: per-record checks --------------------------------------------------------------


def _derived(index: FieldIndex, key: str, build: Callable[[FieldIndex], Any]) -> Any:
    """`build(index)`, computed once per index (per describe), not once per record."""
    try:
        return index.derived[key]
    except KeyError:
        value = index.derived[key] = build(index)
        return value


def _insert_defaults(index: FieldIndex) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, f in index.fields.items():
        default = f.get("defaultValue")
        if f.get("type") == "boolean" and not f.get("calculated"):
            # a checkbox is never null, read-only ones (Contact.IsEmailBounced) included
            out[name] = default if isinstance(default, bool) else False
            continue
        if not f.get("createable"):
            continue
        if f.get("type") == "picklist":
            for entry in f.get("picklistValues") or ():
                if entry.get("defaultValue") and entry.get("active", True):
                    default = entry.get("value")
        if default is not None:
            out[name] = default
    return out


def insert_defaults(index: FieldIndex) -> dict[str, Any]:
    """Values Salesforce fills on insert: checkbox defaults, default picklist values and
    the describe's other `defaultValue`s."""
    return dict(_derived(index, "insert_defaults", _insert_defaults))


def _computed_fields(index: FieldIndex) -> frozenset[str]:
    name = index.fields.get("Name")
    parts = "LastName" in index.fields and "FirstName" in index.fields
    return frozenset({"Name"}) if name and parts and not name.get("createable") else frozenset()


def computed_fields(index: FieldIndex) -> frozenset[str]:
    """Fields Salesforce computes on save: a read-only `Name` next to FirstName/LastName
    (Contact, Lead). CDC carries that Name as a compound, so events leave it out."""
    result: frozenset[str] = _derived(index, "computed_fields", _computed_fields)
    return result


def _required(field: FieldDescribe, op: Op) -> bool:
    if field.get("nillable") or field.get("type") == "boolean":
        return False
    if op == "insert":
        return bool(field.get("createable")) and not field.get("defaultedOnCreate")
    return bool(field.get("updateable"))


def _required_insert(index: FieldIndex) -> tuple[str, ...]:
    return tuple(n for n, f in index.fields.items() if _required(f, "insert"))


def _required_update(index: FieldIndex) -> frozenset[str]:
    return frozenset(n for n, f in index.fields.items() if _required(f, "update"))


def _createable(index: FieldIndex) -> frozenset[str]:
    return frozenset(n for n, f in index.fields.items() if f.get("createable"))


def _updateable(index: FieldIndex) -> frozenset[str]:
    return frozenset(n for n, f in index.fields.items() if f.get("updateable"))


_writable: dict[Op, Callable[[FieldIndex], frozenset[str]]] = {
    "insert": _createable,
    "update": _updateable,
}


def writable(index: FieldIndex, op: Op) -> frozenset[str]:
    """The fields a record may set on insert (createable) or update (updateable)."""
    flag = "createable" if op == "insert" else "updateable"
    result: frozenset[str] = _derived(index, flag, _writable[op])
    return result


def _unique(index: FieldIndex) -> frozenset[str]:
    return frozenset(n for n, f in index.fields.items() if f.get("unique"))


def unique_fields(index: FieldIndex) -> frozenset[str]:
    """The fields whose values no two records may share."""
    result: frozenset[str] = _derived(index, "unique", _unique)
    return result


def required_on_insert(index: FieldIndex) -> tuple[str, ...]:
    """The fields an insert must leave non-null (after the defaults), in describe order."""
    result: tuple[str, ...] = _derived(index, "required_insert", _required_insert)
    return result


def check(
    index: FieldIndex, record: Normalized, op: Op, lookups: Lookups
) -> tuple[dict[str, Any], list[FieldError]]:
    """Stage 2: the values to store and this record's errors (none means it may be saved).

    `record.values` must not hold `Id` (the caller owns the key). Insert values include
    the describe's defaults for fields the record leaves out.
    """
    allowed = writable(index, op)
    denied: list[str] = []
    if record.foreign_keys or not allowed.issuperset(record.values):
        written = [*record.values, *(fk.field for fk in record.foreign_keys)]
        denied = [n for n in dict.fromkeys(written) if n not in allowed]
    if denied:
        names = ", ".join(denied)
        return dict(record.values), [
            FieldError(
                "INVALID_FIELD_FOR_INSERT_UPDATE",
                f"Unable to create/update fields: {names}. Please check the security settings "
                "of this field and verify that it is read/write for your profile or "
                "permission set.",
                tuple(denied),
            )
        ]
    values = dict(record.values)
    errors: list[FieldError] = []
    for fk in record.foreign_keys:
        found = lookups.match(fk.target, fk.ext_field, fk.value)
        if len(found) == 1:
            values[fk.field] = found[0]
            continue
        what = "not found" if not found else "matched multiple records"
        errors.append(
            FieldError(
                "INVALID_FIELD",
                f"Foreign key external ID: {fk.value} {what} for field {fk.ext_field} "
                f"in entity {fk.target}",
            )
        )
    if op == "insert":
        defaults: dict[str, Any] = _derived(index, "insert_defaults", _insert_defaults)
        values = {**{k: v for k, v in defaults.items() if k not in values}, **values}
        missing = [n for n in required_on_insert(index) if values.get(n) is None]
    else:
        needed: frozenset[str] = _derived(index, "required_update", _required_update)
        missing = [n for n, v in values.items() if v is None and n in needed]
    if missing and record.foreign_keys:
        missing = [n for n in missing if n not in {fk.field for fk in record.foreign_keys}]
    if missing:
        errors.append(missing_error(missing))
    checks = value_checks(index)
    for name in record.values:  # the order of `values` restricted to these
        value = values[name]
        if value is not None:
            run = checks[name]
            if run is not None:
                errors.extend(run(value, values, lookups))
    return values, errors


def missing_error(missing: Sequence[str]) -> FieldError:
    return FieldError(
        "REQUIRED_FIELD_MISSING",
        f"Required fields are missing: [{', '.join(missing)}]",
        tuple(missing),
    )


ValueCheck = Callable[[Any, dict[str, Any], Lookups], list[FieldError]]


@attrs.frozen
class _Limits:
    """What the value checks of one field test (see `_value_check`)."""

    length: int  # a text's maximum length, 0 for none
    allowed: frozenset[Any] | None  # a restricted picklist's active values
    limit: int | None  # numbers: abs(value) must stay below
    reference: bool

    @classmethod
    def of(cls, f: FieldDescribe) -> _Limits:
        ftype = f.get("type")
        length = int(f.get("length") or 0)
        if not (ftype in TEXT_TYPES and ftype not in ("id", "reference")):
            length = 0
        allowed = None
        if ftype in ("picklist", "multipicklist") and f.get("restrictedPicklist"):
            allowed = frozenset(
                p.get("value") for p in f.get("picklistValues") or () if p.get("active", True)
            )
        digits = None
        if ftype in NUMBER_TYPES and f.get("precision"):
            digits = int(f["precision"]) - int(f.get("scale") or 0)
        elif ftype in ("int", "long") and f.get("digits"):
            digits = int(f["digits"])  # Employees (8 digits) refuses 1431655766 alike
        limit = None if digits is None else 10**digits
        return cls(length, allowed, limit, ftype == "reference")


def _value_check(index: FieldIndex, name: str) -> ValueCheck | None:
    """The checks of one non-null value of field `name` (length, restricted picklist, numeric
    range, reference), or None when none applies to the field. A reference's check stores
    the 18-char id in `values[name]`."""
    f = index.fields[name]
    ftype = f.get("type")
    label = index.label(name)
    limits = _Limits.of(f)
    length, allowed, limit, reference = (
        limits.length,
        limits.allowed,
        limits.limit,
        limits.reference,
    )
    if not length and allowed is None and limit is None and not reference:
        return None

    def run(value: Any, values: dict[str, Any], lookups: Lookups) -> list[FieldError]:
        if length and len(value) > length:
            return [
                FieldError(
                    "STRING_TOO_LONG",
                    f"{label}: data value too large: {value} (max length={length})",
                    (name,),
                )
            ]
        if allowed is not None:
            parts = value.split(";") if ftype == "multipicklist" else [value]
            bad = next((p for p in parts if p not in allowed), None)
            if bad is not None:
                return [
                    FieldError(
                        "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                        f"{label}: bad value for restricted picklist field: {bad}",
                        (name,),
                    )
                ]
        if limit is not None and abs(value) >= limit:
            return [
                FieldError(
                    "NUMBER_OUTSIDE_VALID_RANGE",
                    f"{label}: value outside of valid range on numeric field: {value}",
                    (name,),
                )
            ]
        if reference:
            return _check_reference(f, label, name, value, values, lookups)
        return []

    return run


def _value_checks(index: FieldIndex) -> dict[str, ValueCheck | None]:
    return {name: _value_check(index, name) for name in index.fields}


ColumnTest = Callable[[list[Any]], bool]
_TEXT: frozenset[type] = frozenset({str})
_NUMBERS: frozenset[type] = frozenset({float, int})


def _column_test(f: FieldDescribe) -> ColumnTest | None:
    limits = _Limits.of(f)
    if limits.reference or limits.allowed is not None:
        return None
    if limits.length:
        length = limits.length

        def short(column: list[Any]) -> bool:
            # text only (no null, nor any other non-value)
            return {*map(type, column)} <= _TEXT and max(map(len, column), default=0) <= length

        return short
    # 10**22 is the largest power of ten a float holds exactly
    if limits.limit is None or limits.limit > 10**22:
        return None
    limit = float(limits.limit)

    def in_range(column: list[Any]) -> bool:
        # numbers only; `limit <= abs(v)` is the check's `abs(v) >= 10**digits`
        if not {*map(type, column)} <= _NUMBERS:
            return False
        return not any(map(limit.__le__, map(abs, column)))

    return in_range


def _column_tests(index: FieldIndex) -> dict[str, ColumnTest | None]:
    return {name: _column_test(f) for name, f in index.fields.items()}


def column_tests(index: FieldIndex) -> dict[str, ColumnTest | None]:
    """Field name -> a test that every value of a column passes the field's value check
    (True) where that check is a text length or a numeric range alone, else None. False
    says nothing: check each value then."""
    result: dict[str, ColumnTest | None] = _derived(index, "column_tests", _column_tests)
    return result


def value_checks(index: FieldIndex) -> dict[str, ValueCheck | None]:
    """Field name -> the check `check` runs on a non-null value written to it (None: no
    check applies), built once per index."""
    result: dict[str, ValueCheck | None] = _derived(index, "value_checks", _value_checks)
    return result


def _check_reference(
    f: FieldDescribe, label: str, name: str, value: str, values: dict[str, Any], lookups: Lookups
) -> list[FieldError]:
    record_id = normalize_id(value)
    if record_id is None:
        return [
            FieldError("MALFORMED_ID", f"{label}: id value of incorrect type: {value}", (name,))
        ]
    targets = [str(t) for t in f.get("referenceTo") or ()]
    sobject = lookups.sobject_of(record_id)
    if sobject is None or sobject not in targets:
        if sobject is None and any(lookups.index(t) is None for t in targets):
            values[name] = record_id  # a target this org has no describe for: cannot tell
            return []
        return [
            FieldError(
                "FIELD_INTEGRITY_EXCEPTION",
                f"{label}: id value of incorrect type: {value}",
                (name,),
            )
        ]
    if not lookups.exists(sobject, record_id):
        return [FieldError("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id")]
    values[name] = record_id
    return []
