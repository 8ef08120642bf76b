"""Apex REST against the fake org over real sockets: registered handlers for every verb,
urlMapping wildcards, 404/405, APEX_ERROR, auth and API-call counting."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from salesforce_typed.testing.org.http import Request, Response, SfError
from salesforce_typed.testing.rest.apex import register_apex
from salesforce_typed.testing.server import FakeOrg

APEX = "/services/apexrest"


def echo(method: str, path: str, params: dict[str, str], body: Any) -> tuple[int, Any]:
    return 200, {"method": method, "path": path, "params": params, "body": body}


@pytest.mark.parametrize("verb", ["GET", "POST", "PUT", "PATCH", "DELETE"])
def test_sync_handler_answers_every_verb(fake_org: FakeOrg, api: httpx.Client, verb: str) -> None:
    register_apex(fake_org.state, verb, "/orders/*", echo)
    body = None if verb in ("GET", "DELETE") else {"qty": 2}
    r = api.request(verb, f"{APEX}/orders/42", params={"expand": "lines"}, json=body)
    assert r.status_code == 200
    assert r.json() == {
        "method": verb,
        "path": "/orders/42",
        "params": {"expand": "lines"},
        "body": body,
    }


def test_async_handler_controls_the_response(fake_org: FakeOrg, api: httpx.Client) -> None:
    async def handler(req: Request) -> Response:
        assert req.session is not None  # authenticated like any API call
        return Response.text(f"<ok>{req.method}</ok>", status=202, content_type="application/xml")

    register_apex(fake_org.state, "*", "ns/feed", handler)
    r = api.post(f"{APEX}/ns/feed", content=b"<x/>")
    assert r.status_code == 202 and r.text == "<ok>POST</ok>"
    assert r.headers["content-type"] == "application/xml"
    assert r.headers["sforce-limit-info"].startswith("api-usage=")


def test_most_specific_mapping_wins_and_bare_path_matches(
    fake_org: FakeOrg, api: httpx.Client
) -> None:
    register_apex(fake_org.state, "GET", "/orders/*", lambda *a: (200, "wildcard"))
    register_apex(fake_org.state, "GET", "/orders/special", lambda *a: (200, "exact"))
    register_apex(fake_org.state, "GET", "/orders/*/lines", lambda *a: (200, "lines"))
    assert api.get(f"{APEX}/orders/special").json() == "exact"
    assert api.get(f"{APEX}/orders/7/lines").json() == "lines"
    assert api.get(f"{APEX}/orders/7").json() == "wildcard"
    assert api.get(f"{APEX}/orders").json() == "wildcard"


def test_registering_again_replaces_and_none_means_no_body(
    fake_org: FakeOrg, api: httpx.Client
) -> None:
    register_apex(fake_org.state, "delete", "/orders/*", lambda *a: (200, "first"))
    register_apex(fake_org.state, "DELETE", "/orders/*", lambda *a: (204, None))
    r = api.delete(f"{APEX}/orders/1")
    assert r.status_code == 204 and r.content == b""


def test_unmapped_path_is_404_and_unmapped_verb_405(fake_org: FakeOrg, api: httpx.Client) -> None:
    r = api.get(f"{APEX}/nothing/here")
    assert r.status_code == 404
    assert r.json() == [
        {"message": "Could not find a match for URL /nothing/here", "errorCode": "NOT_FOUND"}
    ]
    register_apex(fake_org.state, "GET", "/orders/*", echo)
    register_apex(fake_org.state, "POST", "/orders/*", echo)
    r = api.put(f"{APEX}/orders/1", json={})
    assert r.status_code == 405
    assert r.json()[0] == {
        "message": "HTTP Method 'PUT' not allowed. Allowed are GET,POST",
        "errorCode": "METHOD_NOT_ALLOWED",
    }


def test_handler_exceptions_become_apex_error(fake_org: FakeOrg, api: httpx.Client) -> None:
    def broken(method: str, path: str, params: dict[str, str], body: Any) -> tuple[int, Any]:
        raise ZeroDivisionError("division by zero")

    async def refusing(req: Request) -> Response:
        raise SfError(400, "INVALID_INPUT", "bad order")

    register_apex(fake_org.state, "GET", "/broken", broken)
    register_apex(fake_org.state, "GET", "/refusing", refusing)
    r = api.get(f"{APEX}/broken")
    assert r.status_code == 500
    entry = r.json()[0]
    assert entry["errorCode"] == "APEX_ERROR"
    assert entry["message"].startswith("ZeroDivisionError: division by zero\n\nClass.")
    assert "broken: line " in entry["message"]
    r = api.get(f"{APEX}/refusing")
    assert r.status_code == 400 and r.json()[0]["errorCode"] == "INVALID_INPUT"


def test_non_json_body_reaches_sync_handler_as_text(fake_org: FakeOrg, api: httpx.Client) -> None:
    register_apex(fake_org.state, "POST", "/raw", echo)
    r = api.post(f"{APEX}/raw", content=b"plain text")
    assert r.json()["body"] == "plain text"


def test_authenticated_and_counted(fake_org: FakeOrg, api: httpx.Client) -> None:
    register_apex(fake_org.state, "GET", "/ping", lambda *a: (200, {"pong": True}))
    r = httpx.get(f"{fake_org.instance_url}{APEX}/ping")
    assert r.status_code == 401 and r.json()[0]["errorCode"] == "INVALID_SESSION_ID"
    before = fake_org.state.api_usage
    assert api.get(f"{APEX}/ping").json() == {"pong": True}
    assert fake_org.state.api_usage == before + 1


def test_unknown_verbs_are_refused_at_registration(fake_org: FakeOrg) -> None:
    with pytest.raises(ValueError, match="no TRACE methods"):
        register_apex(fake_org.state, "TRACE", "/x", echo)
