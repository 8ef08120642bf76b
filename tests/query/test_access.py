"""Class-level columns vs instance values, `record.require`, and picklists read leniently."""

from __future__ import annotations

import pytest

from salesforce_typed.core.errors import FieldUnavailableError, SalesforceError
from salesforce_typed.core.unset import UNSET
from salesforce_typed.query.columns import (
    Children,
    DateTimeCol,
    Number,
    Opaque,
    Picklist,
    Text,
)
from salesforce_typed_std import (
    Account,
    AccountCleanStatusPicklist,
    AccountIndustryPicklist,
    Contact,
    User,
)


def test_class_level_fields_are_columns() -> None:
    assert isinstance(Account.Name, Text) and Account.Name.path == "Name"
    assert isinstance(Account.Industry, Picklist)
    assert isinstance(Account.AnnualRevenue, Number)
    assert isinstance(Account.CreatedDate, DateTimeCol)
    assert isinstance(Account.Description, Opaque)  # textarea(32000): not filterable
    assert isinstance(Contact.Account.Name, Text) and Contact.Account.Name.path == "Account.Name"
    assert Contact.Account.Name.root is Contact  # conditions belong to the FROM object
    assert Contact.Account.Owner.Email.path == "Account.Owner.Email"
    assert isinstance(Account.Contacts, Children) and Account.Contacts.child is Contact
    assert Account.Name is Account.Name  # built once per model


def test_unknown_names_still_raise_attribute_error() -> None:
    with pytest.raises(AttributeError):
        _ = Account.Nmae  # type: ignore[attr-defined]
    with pytest.raises(AttributeError, match="no field 'Nmae'"):
        _ = Contact.Account.Nmae  # type: ignore[attr-defined]
    with pytest.raises(AttributeError, match="is a field"):
        Account.Name = "x"  # type: ignore[misc,assignment]


def test_instances_see_plain_values() -> None:
    acc = Account(Name="Acme")
    assert acc.Name == "Acme" and acc.Industry is UNSET
    acc.Name = "Renamed"
    assert acc.Name == "Renamed" and acc.to_dict()["Name"] == "Renamed"
    assert type(Account.__dict__["Name"]).__name__ == "member_descriptor"  # slots untouched
    # a class attribute that is not a column keeps its ordinary meaning
    assert Account.field_info("Name").name == "Name"
    assert User.__sobject_type__ == "User"


def test_require_reads_or_names_the_missing_field() -> None:
    acc = Account(Name="Acme", Industry=None)
    assert acc.require.Name == "Acme"
    with pytest.raises(FieldUnavailableError) as not_selected:
        _ = acc.require.AnnualRevenue
    assert (not_selected.value.sobject, not_selected.value.field) == ("Account", "AnnualRevenue")
    assert not_selected.value.reason == "not selected"
    assert str(not_selected.value) == "Account.AnnualRevenue is not selected"
    with pytest.raises(FieldUnavailableError, match=r"^Account\.Industry is null$") as null:
        _ = acc.require.Industry
    assert null.value.reason == "null"
    assert isinstance(null.value, SalesforceError) and isinstance(null.value, AttributeError)


def test_picklists_decode_unknown_values_and_write_enums() -> None:
    acc = Account.from_dict(
        {"attributes": {"type": "Account"}, "Industry": "Banking", "CleanStatus": "BrandNew"}
    )
    assert acc.Industry is AccountIndustryPicklist.BANKING
    assert acc.CleanStatus == "BrandNew" and not isinstance(
        acc.CleanStatus, AccountCleanStatusPicklist
    )
    assert (
        Account(CleanStatus=AccountCleanStatusPicklist.MATCHED).to_dict()["CleanStatus"]
        == "Matched"
    )


def test_a_subclass_of_a_model_has_its_own_columns() -> None:
    import attrs

    @attrs.define(kw_only=True, slots=True, repr=False)
    class MyAccount(Account):
        pass

    col = MyAccount.Name
    assert isinstance(col, Text) and col.root is MyAccount
    assert MyAccount(Name="x").Name == "x"


def test_columns_stay_hashable() -> None:
    cols = {Account.Name, Account.AnnualRevenue, Account.CreatedDate, Account.IsDeleted}
    assert Account.Name in cols and len(cols) == 4
