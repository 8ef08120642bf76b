"""The fake org's core surface over real sockets: versions, resources, describes, limits."""

from __future__ import annotations

import ssl

import httpx

from salesforce_typed.testing.server import FakeOrg


def test_versions_from_31_to_current_without_auth(fake_org: FakeOrg) -> None:
    versions = httpx.get(f"{fake_org.instance_url}/services/data").json()
    assert versions[0]["version"] == "31.0" and versions[-1]["version"] == "62.0"
    assert {"label", "url", "version"} <= set(versions[-1])


def test_every_version_path_answers_and_beyond_current_404s(api: httpx.Client) -> None:
    for v in ("31.0", "59.0", "62.0"):
        r = api.get(f"/services/data/v{v}/sobjects/Account/describe")
        assert r.status_code == 200
        assert r.json()["name"] == "Account"
    r = api.get("/services/data/v63.0/sobjects")
    assert r.status_code == 404 and r.json()[0]["errorCode"] == "NOT_FOUND"


def test_describe_global_and_limit_header(api: httpx.Client) -> None:
    r = api.get("/services/data/v62.0/sobjects")
    body = r.json()
    assert body["maxBatchSize"] == 200
    names = {s["name"]: s for s in body["sobjects"]}
    assert names["Account"]["keyPrefix"] == "001" and names["Lead"]["keyPrefix"] == "00Q"
    used, limit = r.headers["sforce-limit-info"].removeprefix("api-usage=").split("/")
    assert int(used) >= 1 and int(limit) == 100_000


def test_describe_has_salesforce_field_shape(api: httpx.Client) -> None:
    doc = api.get("/services/data/v62.0/sobjects/Contact/describe").json()
    last = next(f for f in doc["fields"] if f["name"] == "LastName")
    assert last["nillable"] is False and last["createable"] is True and last["length"] == 80
    assert len(last) >= 50
    assert any(c["relationshipName"] == "Cases" for c in doc["childRelationships"])
    assert doc["urls"]["describe"] == "/services/data/v62.0/sobjects/Contact/describe"


def test_unauthenticated_and_bad_token(fake_org: FakeOrg) -> None:
    url = f"{fake_org.instance_url}/services/data/v62.0/sobjects"
    r = httpx.get(url)
    assert r.status_code == 401 and r.json() == [
        {"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}
    ]
    r = httpx.get(url, headers={"Authorization": "Bearer nope"})
    assert r.status_code == 401


def test_daily_limit_and_forced_expiry_through_admin(api: httpx.Client) -> None:
    assert api.post("/_admin/config", json={"daily_api_limit": 3}).status_code == 200
    api.post("/_admin/reset-usage")
    codes = [api.get("/services/data/v62.0/limits").status_code for _ in range(4)]
    assert codes == [200, 200, 200, 403]
    r = api.get("/services/data/v62.0/limits")
    assert r.json()[0]["errorCode"] == "REQUEST_LIMIT_EXCEEDED"
    api.post("/_admin/config", json={"daily_api_limit": 100})
    api.post("/_admin/expire-sessions")
    r = api.get("/services/data/v62.0/limits")
    assert r.status_code == 401


def test_fault_injection_server_errors_and_drops(api: httpx.Client) -> None:
    api.post("/_admin/faults", json={"server_error_rate": 1.0, "seed": 1})
    r = api.get("/services/data/v62.0/limits")
    assert r.status_code == 503 and r.json()[0]["errorCode"] == "SERVER_UNAVAILABLE"
    api.post("/_admin/faults", json={"server_error_rate": 0.0, "drop_rate": 1.0})
    try:
        api.get("/services/data/v62.0/limits")
        raise AssertionError("expected a dropped connection")
    except httpx.TransportError:
        pass
    api.post("/_admin/faults", json={"drop_rate": 0.0})
    assert api.get("/services/data/v62.0/limits").status_code == 200


def test_tls_serves_with_its_own_ca(fake_org_tls: FakeOrg) -> None:
    assert fake_org_tls.instance_url.startswith("https://")
    assert fake_org_tls.tls_files is not None
    ca = ssl.create_default_context(cafile=str(fake_org_tls.tls_files.ca_file))
    assert httpx.get(f"{fake_org_tls.instance_url}/services/data", verify=ca).status_code == 200
    try:
        httpx.get(f"{fake_org_tls.instance_url}/services/data")
        raise AssertionError("an unknown CA must not be trusted")
    except httpx.ConnectError:
        pass
