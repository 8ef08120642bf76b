"""An independent SOAP client (zeep, bound to the real v66 partner WSDL) against the fake org.

Our client and the fake org share the generated classes, so they could agree on a mistake;
zeep reads the WSDL itself and builds and parses envelopes its own way (lxml, its own
prefixes). It comes with simple-salesforce, the dev extra's independent REST client.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import zeep
from lxml import etree

import salesforce_typed_std as std
from codegen.soap import load_rules, preprocess_wsdl
from salesforce_typed import AccessTokenAuth, Salesforce
from salesforce_typed.testing.server import FakeOrg

BINDING = "{urn:partner.soap.sforce.com}SoapBinding"
SF = "{urn:sobject.partner.soap.sforce.com}"


@pytest.fixture(scope="module")
def wsdl_client(realdata: Path, tmp_path_factory: pytest.TempPathFactory) -> zeep.Client:
    text = (realdata / "wsdl" / "partner-v66.0.wsdl").read_text(encoding="utf-8")
    path = tmp_path_factory.mktemp("wsdl") / "partner.wsdl"
    path.write_text(preprocess_wsdl(text, load_rules()), encoding="utf-8")
    return zeep.Client(str(path))


@pytest.fixture
def logged_in(
    fake_org: FakeOrg, wsdl_client: zeep.Client
) -> Iterator[tuple[Any, dict[str, Any], str]]:
    creds = fake_org.credentials()
    login = wsdl_client.create_service(BINDING, f"{fake_org.instance_url}/services/Soap/u/64.0")
    result = login.login(
        username=creds["username"], password=creds["password"] + creds["security_token"]
    )
    service = wsdl_client.create_service(BINDING, result.serverUrl)
    yield service, {"SessionHeader": {"sessionId": result.sessionId}}, result.sessionId


def test_zeep_logs_in_and_reads_user_info(
    fake_org: FakeOrg, logged_in: tuple[Any, dict[str, Any], str]
) -> None:
    service, header, _ = logged_in
    info = service.getUserInfo(_soapheaders=header).body.result
    assert info.userName == fake_org.state.config.username and info.roleId is None
    stamp = service.getServerTimestamp(_soapheaders=header).body.result.timestamp
    assert stamp.tzinfo is not None


def test_zeep_writes_what_our_rest_client_reads(
    fake_org: FakeOrg, wsdl_client: zeep.Client, logged_in: tuple[Any, dict[str, Any], str]
) -> None:
    service, header, session = logged_in
    sobject = wsdl_client.get_type(f"{SF}sObject")
    name = etree.Element(f"{SF}Name")
    name.text = "Zeep Co"
    (saved,) = service.create(
        sObjects=[sobject(type="Account", Id=None, _value_1=[name])], _soapheaders=header
    ).body.result
    assert saved.success and saved.id.startswith("001")
    with Salesforce(
        auth=AccessTokenAuth(access_token=session, instance_url=fake_org.instance_url)
    ) as sf:
        assert sf.get(std.Account, saved.id).Name == "Zeep Co"
    page = service.query(
        queryString="SELECT Id, Name, Website FROM Account", _soapheaders=header
    ).body.result
    assert (page.done, page.size, page.queryLocator) == (True, 1, None)
    (record,) = page.records
    fields = {etree.QName(e).localname: e for e in record._value_1}
    assert record.type == "Account" and record.Id == saved.id
    assert fields["Name"].text == "Zeep Co"
    assert fields["Website"].get("{http://www.w3.org/2001/XMLSchema-instance}nil") == "true"


def test_zeep_sees_salesforce_shaped_faults(
    fake_org: FakeOrg, wsdl_client: zeep.Client, logged_in: tuple[Any, dict[str, Any], str]
) -> None:
    service, header, _ = logged_in
    with pytest.raises(zeep.exceptions.Fault) as bad:
        service.query(queryString="SELECT FROM Account", _soapheaders=header)
    assert bad.value.code == "sf:MALFORMED_QUERY"
    with pytest.raises(zeep.exceptions.Fault) as dead:
        service.getUserInfo(_soapheaders={"SessionHeader": {"sessionId": "00Dnope!x"}})
    assert dead.value.code == "sf:INVALID_SESSION_ID"
    retired = wsdl_client.create_service(BINDING, f"{fake_org.instance_url}/services/Soap/u/65.0")
    creds = fake_org.credentials()
    with pytest.raises(zeep.exceptions.Fault) as refused:
        retired.login(
            username=creds["username"], password=creds["password"] + creds["security_token"]
        )
    assert refused.value.code == "sf:INVALID_OPERATION"
