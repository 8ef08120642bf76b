"""Compound fields: Address and Location (read-only nested objects in REST records).

REST spells the keys in lower camel case (`city`, `postalCode`); CDC payloads capitalize them
(`City`). We read either and write back the casing we read, so both round-trip unchanged.
"""

from __future__ import annotations

from typing import Any

import attrs

_ADDRESS_KEYS = (
    "street",
    "city",
    "state",
    "stateCode",
    "postalCode",
    "country",
    "countryCode",
    "latitude",
    "longitude",
    "geocodeAccuracy",
)
_LOCATION_KEYS = ("latitude", "longitude")


_LOOKUPS: dict[tuple[str, ...], dict[str, str]] = {}
_CANONICAL: dict[tuple[str, ...], frozenset[str]] = {}


def _split(
    data: dict[str, Any], keys: tuple[str, ...]
) -> tuple[dict[str, Any], dict[str, Any], bool]:
    known: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    capitalized = False
    if data.keys() <= _CANONICAL.setdefault(keys, frozenset(keys)):  # REST's usual shape
        return dict(data), extra, keys[0][:1].isupper()
    lookup = _LOOKUPS.get(keys)
    if lookup is None:
        lookup = _LOOKUPS[keys] = {v: k for k in keys for v in (k, k[0].upper() + k[1:])}
    for key, value in data.items():
        canon = lookup.get(key)
        if canon is None:
            canon = lookup.get(key[:1].lower() + key[1:])
        if canon is None:
            extra[key] = value
        else:
            capitalized = capitalized or key[:1].isupper()
            known[canon] = value
    return known, extra, capitalized


def _join(obj: Any, keys: tuple[str, ...]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in keys:
        value = getattr(obj, key)
        if value is not None or key in obj._present:
            out[key[0].upper() + key[1:] if obj._capitalized else key] = value
    out.update(obj.extra_fields)
    return out


@attrs.define(kw_only=True, slots=True)
class Address:
    """A compound address. Components not in the JSON stay None and are not written back."""

    street: str | None = None
    city: str | None = None
    state: str | None = None
    stateCode: str | None = None
    postalCode: str | None = None
    country: str | None = None
    countryCode: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    geocodeAccuracy: str | None = None
    extra_fields: dict[str, Any] = attrs.field(factory=dict, repr=False)
    _present: frozenset[str] = attrs.field(default=frozenset(), repr=False, eq=False)
    _capitalized: bool = attrs.field(default=False, repr=False, eq=False)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Address:
        known, extra, cap = _split(data, _ADDRESS_KEYS)
        return cls(**known, extra_fields=extra, present=frozenset(known), capitalized=cap)

    def to_dict(self) -> dict[str, Any]:
        return _join(self, _ADDRESS_KEYS)


@attrs.define(kw_only=True, slots=True)
class Location:
    """A compound geolocation."""

    latitude: float | None = None
    longitude: float | None = None
    extra_fields: dict[str, Any] = attrs.field(factory=dict, repr=False)
    _present: frozenset[str] = attrs.field(default=frozenset(), repr=False, eq=False)
    _capitalized: bool = attrs.field(default=False, repr=False, eq=False)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Location:
        known, extra, cap = _split(data, _LOCATION_KEYS)
        return cls(**known, extra_fields=extra, present=frozenset(known), capitalized=cap)

    def to_dict(self) -> dict[str, Any]:
        return _join(self, _LOCATION_KEYS)


_PERSON_NAME_KEYS = (
    "Salutation",
    "FirstName",
    "MiddleName",
    "LastName",
    "Suffix",
    "InformalName",
)


@attrs.define(kw_only=True, slots=True)
class PersonName:
    """The compound Name of Contact, Lead and User as CDC payloads nest it."""

    Salutation: str | None = None
    FirstName: str | None = None
    MiddleName: str | None = None
    LastName: str | None = None
    Suffix: str | None = None
    InformalName: str | None = None
    extra_fields: dict[str, Any] = attrs.field(factory=dict, repr=False)
    _present: frozenset[str] = attrs.field(default=frozenset(), repr=False, eq=False)
    _capitalized: bool = attrs.field(default=True, repr=False, eq=False)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PersonName:
        known, extra, _cap = _split(data, _PERSON_NAME_KEYS)
        return cls(**known, extra_fields=extra, present=frozenset(known))

    def to_dict(self) -> dict[str, Any]:
        return _join(self, _PERSON_NAME_KEYS)
