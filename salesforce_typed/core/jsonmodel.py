"""JsonModel: attrs classes for Salesforce's JSON documents (describe results and the like).

Keys keep Salesforce's spelling; a key the document did not carry stays UNSET and is not
written back, unknown keys land in `extra_fields`, so `to_dict(from_dict(x)) == x`.
Nested documents are declared with `jnested(Model)` / `jnested(Model, many=True)`.
"""

from __future__ import annotations

from typing import Any, Self

import attrs

from salesforce_typed.core.unset import UNSET

_PLANS: dict[type, dict[str, tuple[type[JsonModel] | None, bool]]] = {}


def jfield() -> Any:
    """A plain field: whatever JSON gave, UNSET when absent."""
    return attrs.field(default=UNSET)


def jnested(model: type[JsonModel], *, many: bool = False) -> Any:
    """A field holding another JsonModel (or a list of them)."""
    return attrs.field(default=UNSET, metadata={"model": model, "many": many})


@attrs.define(kw_only=True, slots=True)
class JsonModel:
    extra_fields: dict[str, Any] = attrs.field(factory=dict, repr=False)

    @classmethod
    def _plan(cls) -> dict[str, tuple[type[JsonModel] | None, bool]]:
        plan = _PLANS.get(cls)
        if plan is None:
            plan = {
                a.name: (a.metadata.get("model"), bool(a.metadata.get("many")))
                for a in attrs.fields(cls)
                if a.name != "extra_fields"
            }
            _PLANS[cls] = plan
        return plan

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Self:
        plan = cls._plan()
        kwargs: dict[str, Any] = {}
        extra: dict[str, Any] = {}
        for key, val in data.items():
            entry = plan.get(key)
            if entry is None:
                extra[key] = val
                continue
            model, many = entry
            if model is not None and val is not None:
                val = [model.from_dict(v) for v in val] if many else model.from_dict(val)
            kwargs[key] = val
        return cls(**kwargs, extra_fields=extra)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, (model, many) in self._plan().items():
            val = getattr(self, key)
            if val is UNSET:
                continue
            if model is not None and val is not None:
                val = [v.to_dict() for v in val] if many else val.to_dict()
            out[key] = val
        out.update(self.extra_fields)
        return out
