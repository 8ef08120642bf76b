"""What SOAP callers hand in and get back, where the generated classes are awkward or unsafe.

The generated `LeadConvert` and `MergeRequest` make every optional element a required
argument, and the generated `LoginResult` would print the session id in its repr. These
small attrs classes take our typed models, default what Salesforce defaults, keep secrets
out of reprs, and convert to the generated classes with `to_wsdl()`. Results that are
already plain and safe (`SaveResult`, `LeadConvertResult`, `MergeResult`, ...) are returned
as the generated classes themselves.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

import attrs

import salesforce_typed_soap as wsdl
from salesforce_typed.core.errors import UsageError
from salesforce_typed.core.models import SObject
from salesforce_typed.soap.records import encode_sobject

__all__ = ["LeadConvert", "LoginResult", "MergeRequest"]

T = TypeVar("T")


def _record(value: SObject | None) -> wsdl.SObject | None:
    return None if value is None else encode_sobject(value, "create", id_field=False)


@attrs.frozen(kw_only=True)
class LeadConvert:
    """One lead to convert. Without `account_id`/`contact_id` Salesforce creates them; with
    `do_not_create_opportunity=False` it also creates an Opportunity (`opportunity_name`,
    else the lead's company). `converted_status` must be a converted Lead Status value."""

    lead_id: str
    converted_status: str
    do_not_create_opportunity: bool = False
    opportunity_name: str | None = None
    account_id: str | None = None
    contact_id: str | None = None
    opportunity_id: str | None = None
    owner_id: str | None = None
    overwrite_lead_source: bool = False
    send_notification_email: bool = False
    account_record: SObject | None = None
    contact_record: SObject | None = None
    opportunity_record: SObject | None = None
    bypass_account_dedupe_check: bool | None = None
    bypass_contact_dedupe_check: bool | None = None
    related_person_account_id: str | None = None

    def to_wsdl(self) -> wsdl.LeadConvert:
        return wsdl.LeadConvert(
            lead_id=self.lead_id,
            converted_status=self.converted_status,
            do_not_create_opportunity=self.do_not_create_opportunity,
            opportunity_name=self.opportunity_name,
            account_id=self.account_id,
            contact_id=self.contact_id,
            opportunity_id=self.opportunity_id,
            owner_id=self.owner_id,
            overwrite_lead_source=self.overwrite_lead_source,
            send_notification_email=self.send_notification_email,
            account_record=_record(self.account_record),
            contact_record=_record(self.contact_record),
            opportunity_record=_record(self.opportunity_record),
            bypass_account_dedupe_check=self.bypass_account_dedupe_check,
            bypass_contact_dedupe_check=self.bypass_contact_dedupe_check,
            related_person_account_id=self.related_person_account_id,
            related_person_account_record=None,
        )


def _merge_ids(value: Sequence[str]) -> tuple[str, ...]:
    ids = tuple(value)
    if not 1 <= len(ids) <= 2:
        raise UsageError("merge takes one or two records to merge into the master")
    return ids


@attrs.frozen(kw_only=True)
class MergeRequest:
    """Merge one or two records into `master` (a Lead, Contact or Account with its `Id`).

    Other set, updateable fields of `master` are written to the surviving record, as the
    partner call does with `masterRecord`.
    """

    master: SObject
    merge_ids: tuple[str, ...] = attrs.field(converter=_merge_ids)

    def to_wsdl(self) -> wsdl.MergeRequest:
        master = encode_sobject(self.master, "update")
        if not master.id:
            raise UsageError("the master record needs its Id")
        return wsdl.MergeRequest(
            master_record=master,
            record_to_merge_ids=list(self.merge_ids),
            additional_information_map=[],
        )


@attrs.frozen(kw_only=True)
class LoginResult:
    """What `login()` answered. `session_id` is a bearer token: never printed."""

    session_id: str = attrs.field(repr=False)
    server_url: str
    user_id: str
    organization_id: str
    password_expired: bool
    sandbox: bool
    metadata_server_url: str | None = None
    user_info: wsdl.GetUserInfoResult | None = None

    @classmethod
    def from_wsdl(cls, result: wsdl.LoginResult) -> LoginResult:
        info = result.user_info
        return cls(
            session_id=result.session_id or "",
            server_url=result.server_url or "",
            user_id=result.user_id or "",
            organization_id=info.organization_id if info is not None else "",
            password_expired=result.password_expired,
            sandbox=result.sandbox,
            metadata_server_url=result.metadata_server_url,
            user_info=info,
        )
