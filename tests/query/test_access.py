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


def test_every_stub_column_kind_matches_the_run_time_column() -> None:
    """What mypy is told (`<module>.pyi`) and what the program gets agree, field by field."""
    import importlib
    import re
    from pathlib import Path

    import salesforce_typed_std

    folder = Path(salesforce_typed_std.__file__).parent
    model = re.compile(
        r"^class (\w+)\(_sf\.(?:SObject|ChangeEvent)\):\n(.*?)\n    def __init__", re.S | re.M
    )
    checked, wrong = 0, []
    for stub in sorted(folder.glob("*.pyi")):
        module = importlib.import_module(f"salesforce_typed_std.{stub.stem}")
        for found in model.finditer(stub.read_text(encoding="utf-8")):
            cls = getattr(module, found[1])
            for line in found[2].splitlines():
                field = re.match(r"    (\w+): _sf\.(\w+)\[", line)
                if field is None:
                    continue
                column = getattr(cls, field[1])
                kind = "Parent" if type(column).__name__ == "ParentPath" else type(column).__name__
                checked += 1
                if kind != field[2]:
                    wrong.append((cls.__name__, field[1], kind, field[2]))
    assert wrong == [] and checked > 1500  # every field, parent and child of the package
