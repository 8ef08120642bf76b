"""Per-sObject REST operations as pure request descriptions, bound by the runtime's clients.

Generated modules subclass `SObjectEndpoints` per sObject; the clients turn a `RequestSpec`
into an HTTP request and hand the response JSON back to the matching `parse_*`. Nothing here
does I/O, so it is tested without a transport.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar, Generic, TypeVar

import attrs

from salesforce_typed.core.errors import UsageError
from salesforce_typed.core.models import SObject

T = TypeVar("T", bound=SObject)


@attrs.frozen(kw_only=True, slots=True)
class RequestSpec:
    """One REST call, relative to `/services/data/vXX.X`."""

    method: str
    path: str
    params: tuple[tuple[str, str], ...] = ()
    json: Any = None
    idempotent: bool = True
    headers: tuple[tuple[str, str], ...] = ()


@attrs.frozen(kw_only=True, slots=True)
class SaveResult:
    """What create/upsert answer: the id, and for upsert whether a record was created."""

    id: str
    created: bool
    success: bool = True
    errors: tuple[Any, ...] = ()


def _seg(value: str) -> str:
    from urllib.parse import quote  # here, not at import: models must import fast

    return quote(value, safe="")


class SObjectEndpoints(Generic[T]):
    """Typed operations on one sObject type."""

    model: ClassVar[type[SObject]]
    external_id_fields: ClassVar[tuple[str, ...]] = ("Id",)

    @classmethod
    def base_path(cls) -> str:
        return f"/sobjects/{cls.model.__sobject_type__}"

    @classmethod
    def build_get(cls, record_id: str, fields: Sequence[str] | None = None) -> RequestSpec:
        params = (("fields", ",".join(fields)),) if fields else ()
        return RequestSpec(method="GET", path=f"{cls.base_path()}/{_seg(record_id)}", params=params)

    @classmethod
    def build_create(cls, record: T) -> RequestSpec:
        return RequestSpec(
            method="POST",
            path=f"{cls.base_path()}/",
            json=record.to_create_payload(),
            idempotent=False,
        )

    @classmethod
    def build_update(cls, record_id: str, record: T) -> RequestSpec:
        return RequestSpec(
            method="PATCH",
            path=f"{cls.base_path()}/{_seg(record_id)}",
            json=record.to_update_payload(),
        )

    @classmethod
    def build_delete(cls, record_id: str) -> RequestSpec:
        return RequestSpec(method="DELETE", path=f"{cls.base_path()}/{_seg(record_id)}")

    @classmethod
    def _external_path(cls, field: str, value: str) -> str:
        if field not in cls.external_id_fields:
            raise UsageError(
                f"{field!r} is not an external id field of {cls.model.__sobject_type__} "
                f"(known: {', '.join(cls.external_id_fields)})"
            )
        return f"{cls.base_path()}/{_seg(field)}/{_seg(value)}"

    @classmethod
    def build_upsert(cls, field: str, value: str, record: T) -> RequestSpec:
        """PATCH by external id: 201 created, 200/204 updated. Idempotent by construction."""
        payload = record.to_create_payload()
        payload.pop(field, None)
        return RequestSpec(method="PATCH", path=cls._external_path(field, value), json=payload)

    @classmethod
    def build_get_by_external_id(
        cls, field: str, value: str, fields: Sequence[str] | None = None
    ) -> RequestSpec:
        params = (("fields", ",".join(fields)),) if fields else ()
        return RequestSpec(method="GET", path=cls._external_path(field, value), params=params)

    @classmethod
    def build_delete_by_external_id(cls, field: str, value: str) -> RequestSpec:
        return RequestSpec(method="DELETE", path=cls._external_path(field, value))

    @classmethod
    def parse_record(cls, data: dict[str, Any]) -> T:
        record: T = cls.model.from_dict(data)  # type: ignore[assignment]
        return record

    @staticmethod
    def parse_save(status_code: int, data: Any) -> SaveResult:
        """Create answers 201 with `{id, success, errors}`; upsert 201 created or 200/204."""
        body = data if isinstance(data, dict) else {}
        return SaveResult(
            id=str(body.get("id", "")),
            created=status_code == 201 if "created" not in body else bool(body["created"]),
            success=bool(body.get("success", True)),
            errors=tuple(body.get("errors") or ()),
        )
