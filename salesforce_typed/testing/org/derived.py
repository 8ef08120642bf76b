"""Values Salesforce computes on save, as pure functions of one write.

`derive(index, values, previous, now=...)` takes the values a create or update will store
(after `validation.check`, so insert defaults are in) and the stored row before the write
(empty on insert) and returns the fields Salesforce sets itself: a person's `Name`, an
Opportunity's stage-driven fields and fiscal period, a Case's or Task's `IsClosed`, a
Contract's `EndDate`, a new record's currency. Every write API goes through
`records.Writer`, which merges these, so REST, SOAP and Bulk agree and change events list
them as changed. Auto-numbers need a counter; see `autonumbers`.

The stage and status tables are those of a new org (Setup's defaults); the fiscal year is
the standard one, starting in January. `Name` is FirstName MiddleName LastName Suffix:
the real describes size it 121 = 40 + 1 + 80, so Salutation is not part of it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping
from typing import Any, NamedTuple

from salesforce_typed.testing.org.validation import NAME_PARTS, FieldIndex, computed_fields


class Stage(NamedTuple):
    """One OpportunityStage row: DefaultProbability, ForecastCategoryName, IsClosed, IsWon."""

    probability: float
    forecast: str
    closed: bool
    won: bool


# OpportunityStage of a new org, in its sort order
STAGES: Mapping[str, Stage] = {
    "Prospecting": Stage(10.0, "Pipeline", False, False),
    "Qualification": Stage(10.0, "Pipeline", False, False),
    "Needs Analysis": Stage(20.0, "Pipeline", False, False),
    "Value Proposition": Stage(50.0, "Pipeline", False, False),
    "Id. Decision Makers": Stage(60.0, "Pipeline", False, False),
    "Perception Analysis": Stage(70.0, "Pipeline", False, False),
    "Proposal/Price Quote": Stage(75.0, "Pipeline", False, False),
    "Negotiation/Review": Stage(90.0, "Pipeline", False, False),
    "Closed Won": Stage(100.0, "Closed", True, True),
    "Closed Lost": Stage(0.0, "Omitted", True, False),
}

# ForecastCategoryName (label) -> ForecastCategory (API value); "Commit" is stored as Forecast
FORECAST_CATEGORIES: Mapping[str, str] = {
    "Omitted": "Omitted",
    "Pipeline": "Pipeline",
    "Best Case": "BestCase",
    "Most Likely": "MostLikely",
    "Commit": "Forecast",
    "Closed": "Closed",
}

# a multi-currency org's corporate currency: new records without one get it
CORPORATE_CURRENCY = "USD"

# sObject -> (status field, the statuses whose IsClosed is true) from CaseStatus/TaskStatus
CLOSED_STATUSES: Mapping[str, tuple[str, frozenset[str]]] = {
    "Case": ("Status", frozenset({"Closed"})),
    "Task": ("Status", frozenset({"Completed"})),
}


def derive(
    index: FieldIndex,
    values: Mapping[str, Any],
    previous: Mapping[str, Any],
    *,
    now: str,
) -> dict[str, Any]:
    """The fields Salesforce sets on this save; `previous` is empty on insert, `now` the
    save's timestamp as the store formats datetimes."""
    out: dict[str, Any] = {}
    insert = not previous
    if insert and values.get("CurrencyIsoCode") is None:
        out["CurrencyIsoCode"] = CORPORATE_CURRENCY  # kept only when the object has it
    if computed_fields(index) and (insert or any(p in values for p in NAME_PARTS)):
        out["Name"] = full_name(index, values, previous)
    if index.sobject == "Opportunity":
        out.update(opportunity(index, values, previous, now=now))
    if index.sobject == "Contract" and (insert or {"StartDate", "ContractTerm"} & values.keys()):
        merged = {**previous, **values}
        out["EndDate"] = contract_end(merged.get("StartDate"), merged.get("ContractTerm"))
    status = CLOSED_STATUSES.get(index.sobject)
    if status is not None and "IsClosed" in index.fields and status[0] in values:
        closed = values[status[0]] in status[1]
        out["IsClosed"] = closed
        if index.sobject == "Case" and "ClosedDate" in index.fields:
            kept = previous.get("ClosedDate") if previous.get("IsClosed") else None
            out["ClosedDate"] = (kept or now) if closed else None
    if index.sobject == "Task" and "IsHighPriority" in index.fields and "Priority" in values:
        out["IsHighPriority"] = values["Priority"] == "High"
    # an update lists only what it changes (CDC's changedFields, LastModified semantics)
    return {
        k: v
        for k, v in out.items()
        if k in index.fields and (insert or k not in previous or previous[k] != v)
    }


def insert_constants(
    index: FieldIndex, columns: Collection[str], defaults: Mapping[str, Any]
) -> dict[str, Any] | None:
    """What `derive` returns for every insert that writes only (some of) `columns` over the
    describe's `defaults`, when that does not depend on the values written; None when it
    may (a person's Name, an Opportunity's, Contract's, Case's or Task's fields, a currency
    among the columns)."""
    special = {"Opportunity", "Contract", "Task", *CLOSED_STATUSES}
    if index.sobject in special or computed_fields(index) or "CurrencyIsoCode" in columns:
        return None
    return derive(index, defaults, {}, now="")


def touches(index: FieldIndex, values: Mapping[str, Any]) -> bool:
    """Whether an update writing `values` can change a derived field (else the writer need
    not read the stored row)."""
    fields = set(NAME_PARTS) if computed_fields(index) else set()
    if index.sobject == "Opportunity":
        fields |= {"StageName", "Probability", "ForecastCategoryName", "Amount", "CloseDate"}
    if index.sobject in CLOSED_STATUSES:
        fields |= {CLOSED_STATUSES[index.sobject][0], "Priority"}
    if index.sobject == "Contract":
        fields |= {"StartDate", "ContractTerm"}
    return not fields.isdisjoint(values)


def full_name(
    index: FieldIndex, values: Mapping[str, Any], previous: Mapping[str, Any]
) -> str | None:
    """A person's `Name`: FirstName, MiddleName, LastName and Suffix (those the object
    has), space-separated; Salutation is a field of its own and stays out of `Name`."""
    parts = [values.get(p, previous.get(p)) for p in NAME_PARTS if p in index.fields]
    return " ".join(str(p) for p in parts if p) or None


def opportunity(
    index: FieldIndex, values: Mapping[str, Any], previous: Mapping[str, Any], *, now: str
) -> dict[str, Any]:
    """Stage-driven fields, ExpectedRevenue and the fiscal period of an Opportunity.

    A stage change resets Probability and ForecastCategoryName to the stage's defaults
    unless the same write sets them; IsClosed and IsWon always follow the stage.
    """
    out: dict[str, Any] = {}
    insert = not previous
    stage_name = values.get("StageName", previous.get("StageName"))
    stage = STAGES.get(str(stage_name)) if stage_name is not None else None
    changed = insert or ("StageName" in values and values["StageName"] != previous.get("StageName"))
    if changed and stage is not None:
        if "Probability" not in values:
            out["Probability"] = stage.probability
        if "ForecastCategoryName" not in values:
            out["ForecastCategoryName"] = stage.forecast
        out["IsClosed"] = stage.closed
        out["IsWon"] = stage.won
    if changed and not insert:
        out["LastStageChangeDate"] = now
    merged = {**previous, **values, **out}
    if "ForecastCategoryName" in out or "ForecastCategoryName" in values:
        out["ForecastCategory"] = FORECAST_CATEGORIES.get(str(merged["ForecastCategoryName"]))
    if insert or {"Amount", "Probability"} & (values.keys() | out.keys()):
        amount, probability = merged.get("Amount"), merged.get("Probability")
        revenue = None
        if amount is not None and probability is not None:
            revenue = round(float(amount) * float(probability) / 100, 2)
        out["ExpectedRevenue"] = revenue
    if insert or "CloseDate" in values:
        out.update(fiscal_period(merged.get("CloseDate")))
    return out


def fiscal_period(close_date: str | None) -> dict[str, Any]:
    """FiscalYear, FiscalQuarter and Fiscal ("YYYY Q") of a date in the standard fiscal
    year, which starts in January and is named for the calendar year."""
    if not close_date:
        return {"FiscalYear": None, "FiscalQuarter": None, "Fiscal": None}
    day = dt.date.fromisoformat(close_date[:10])
    quarter = (day.month - 1) // 3 + 1
    return {"FiscalYear": day.year, "FiscalQuarter": quarter, "Fiscal": f"{day.year} {quarter}"}


def contract_end(start: str | None, months: int | None) -> str | None:
    """A Contract's EndDate: StartDate plus ContractTerm months (the day clamped to the
    month's length), less one day: 2016-11-30 and 1 month end on 2016-12-29."""
    if not start or months is None:
        return None
    day = dt.date.fromisoformat(start[:10])
    year, month = divmod(day.year * 12 + day.month - 1 + int(months), 12)
    try:
        following = dt.date(year + (month + 1) // 12, (month + 1) % 12 + 1, 1)
        last = (following - dt.timedelta(days=1)).day
        end = dt.date(year, month + 1, min(day.day, last)) - dt.timedelta(days=1)
    except (ValueError, OverflowError):  # a term past year 9999: no date to store
        return None
    return end.isoformat()
