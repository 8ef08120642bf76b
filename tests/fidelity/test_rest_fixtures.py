"""REST and OAuth answers of the fake org compared with recorded Salesforce answers.

- restforce fixtures (`fixtures/rest/restforce/`): for each response the fake org can
  produce, the fake's answer to the matching request has the same JSON shape: keys and value
  types, recursively (null matches any type; records are open objects, since the recordings
  are of other sObjects, so only the keys both carry are compared). Requests go to the
  oldest version the fake serves that has the resource, the recordings being v20-v26.
- CumulusCI cassettes (`fixtures/rest/cumulusci/cassettes/`): every recorded interaction is
  replayed in order against a fresh org (ids the real org gave are mapped to the ids the fake
  gave), and the status and the response shape compared; XML (Bulk API 1.0) by element tree.
- OAuth token answers (password, refresh, errors) against the restforce token recordings.

Keys the fake sends beyond an old recording are accepted only where a deviation row says
why, and the reason is checked here (e.g. the key is in a newer real recording). Top-level
sObject describe keys are the describe suite's (test_describe_*); here the field, child
relationship and record type entries and urls of the restforce describe are compared.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from fidelity.conftest import password_token
from fidelity.deviations import accepted
from salesforce_typed.testing.server import FakeOrg

REST = Path(__file__).resolve().parents[2].parent / "shared" / "realdata" / "fixtures" / "rest"
RESTFORCE = REST / "restforce"
CASSETTES = REST / "cumulusci" / "cassettes"
CCI_DESCRIBE = REST / "cumulusci" / "describe"

_tally = {"compared": 0, "matched": 0, "accepted": 0, "status_only": 0}


# -- shapes -------------------------------------------------------------------------------


def _kind(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def _item(values: list[Any]) -> Any:
    """The merged shape of an array's items (None for an empty array)."""
    out: Any = None
    for value in values:
        out = _merge(out, value)
    return out


def _merge(a: Any, b: Any) -> Any:
    """One shape for two values: objects get the union of keys, arrays one merged item."""
    if a is None:
        return b
    if b is None:
        return a
    if isinstance(a, dict) and isinstance(b, dict):
        return {k: _merge(a.get(k), b.get(k)) for k in dict.fromkeys([*a, *b])}
    if isinstance(a, list) and isinstance(b, list):
        return [_item([*a, *b])] if a or b else []
    return a


def _is_record(value: Any) -> bool:
    attributes = value.get("attributes") if isinstance(value, dict) else None
    return isinstance(attributes, dict) and "type" in attributes


def shape_diff(real: Any, fake: Any, path: str = "$") -> list[str]:
    """Where the fake's JSON differs in shape from the real one: `path: missing|extra|a vs b`."""
    kr, kf = _kind(real), _kind(fake)
    if kr is None or kf is None:
        return []
    if kr != kf:
        return [f"{path}: {kr} vs {kf}"]
    if kr == "array":
        return shape_diff(_item(real), _item(fake), path + "[]")
    if kr != "object":
        return []
    out: list[str] = []
    if not (_is_record(real) and _is_record(fake)):
        out += [f"{path}.{k}: missing" for k in real if k not in fake]
        out += [f"{path}.{k}: extra" for k in fake if k not in real]
    for key in real:
        if key in fake:
            out += shape_diff(real[key], fake[key], f"{path}.{key}")
    return out


def _xml_tree(text: str) -> dict[str, Any]:
    def walk(el: ET.Element) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for child in el:
            out[child.tag.split("}")[-1]] = _merge(out.get(child.tag.split("}")[-1]), walk(child))
        return out

    root = ET.fromstring(text.encode())
    return {root.tag.split("}")[-1]: walk(root)}


def xml_diff(real: str, fake: str) -> list[str]:
    """Element-tree shape of two XML documents (tags and nesting; text ignored)."""
    return shape_diff(_xml_tree(real), _xml_tree(fake))


def _later_keys(diffs: list[str], newer: dict[str, Any]) -> list[str]:
    """The `extra` diffs whose key the newer real recording also carries (same path)."""
    later = []
    for d in diffs:
        path, _, what = d.rpartition(": ")
        if what == "extra" and _has_path(newer, path):
            later.append(d)
    return later


def _has_path(doc: Any, path: str) -> bool:
    node: Any = doc
    for part in re.findall(r"\.([^.\[]+)|(\[\])", path):
        key, arr = part
        if arr:
            node = _item(node) if isinstance(node, list) else None
        elif isinstance(node, dict) and key in node:
            node = node[key]
        else:
            return False
    return True


def judge(label: str, diffs: list[str], area: str = "rest", later: Sequence[str] = ()) -> None:
    """Count one comparison; fail on differences no deviation row accepts."""
    _tally["compared"] += 1
    rest = [d for d in diffs if d not in later]
    if later and not accepted(area, "restforce.later-version-keys"):
        rest = diffs
    if not rest:
        _tally["matched" if not diffs else "accepted"] += 1
        return
    pytest.fail(f"{label}: the fake org's answer differs in shape: {rest}")


@pytest.fixture(scope="module", autouse=True)
def _summary(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    line = (
        f"REST/OAuth fixture fidelity: {_tally['compared']} responses compared, "
        f"{_tally['matched']} identical in shape, {_tally['accepted']} with accepted deviations, "
        f"{_tally['status_only']} by status only (their recorded template is missing)"
    )
    if capture is not None:
        with capture.global_and_fixture_disabled():
            print(f"\n{line}")


def _real(name: str) -> Any:
    text = (RESTFORCE / name).read_text().strip()
    return json.loads(text) if text else None


# -- restforce: one seeded org, a request per recorded answer ------------------------------


@pytest.fixture(scope="module")
def seeded(module_org: FakeOrg, module_api: httpx.Client) -> dict[str, str]:
    base = "/services/data/v62.0"
    acc = module_api.post(base + "/sobjects/Account", json={"Name": "Acme", "Phone": "1"}).json()
    for last in ("Smith", "Jones"):
        body = {"LastName": last, "AccountId": acc["id"], "Email": "twice@example.com"}
        assert module_api.post(base + "/sobjects/Contact", json=body).status_code == 201
    opp = {"Name": "Deal", "StageName": "Prospecting", "CloseDate": "2030-01-01", "Amount": 5}
    module_api.post(base + "/sobjects/Opportunity", json={**opp, "AccountId": acc["id"]})
    gone = module_api.post(base + "/sobjects/Account", json={"Name": "Gone"}).json()["id"]
    module_api.delete(base + f"/sobjects/Account/{gone}")
    module_api.get(base + f"/sobjects/Account/{acc['id']}")  # viewed: /recent lists it
    records = [{"attributes": {"type": "Account"}, "Name": f"Bulk {i}"} for i in range(200)]
    module_api.post(base + "/composite/sobjects", json={"records": records})
    return {"account": acc["id"]}


def _window() -> dict[str, str]:
    now = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0)
    fmt = "%Y-%m-%dT%H:%M:%S+00:00"
    start, end = now - dt.timedelta(days=1), now + dt.timedelta(minutes=1)
    return {"start": start.strftime(fmt), "end": end.strftime(fmt)}


Case = tuple[str, str, str, Any, int, str]  # fixture, method, path, body, status, version
ACC = "{account}"
CASES: list[Case] = [
    (
        "query_success_response.json",
        "GET",
        "/query?q=SELECT Id, Name, Owner.Name, "
        "(SELECT Id, LastName FROM Contacts) FROM Account WHERE Name = 'Acme'",
        None,
        200,
        "31.0",
    ),
    (
        "query_aggregate_success_response.json",
        "GET",
        "/query?q=SELECT AccountId, SUM(Amount) FROM Opportunity GROUP BY AccountId",
        None,
        200,
        "31.0",
    ),
    (
        "query_empty_response.json",
        "GET",
        "/query?q=SELECT Id FROM Account WHERE Name = 'x'",
        None,
        200,
        "31.0",
    ),
    ("query_error_response.json", "GET", "/query?q=SELECT Nope FROM Account", None, 400, "31.0"),
    ("org_query_response.json", "GET", "/query?q=SELECT Id FROM Organization", None, 200, "31.0"),
    ("create_success_response.json", "POST", "/sobjects/Account", {"Name": "N"}, 201, "31.0"),
    ("write_error_response.json", "POST", "/sobjects/Account", {"foo": 1}, 400, "31.0"),
    (
        "upsert_created_success_response.json",
        "PATCH",
        "/sobjects/Contact/Email/new@example.com",
        {"LastName": "New"},
        201,
        "31.0",
    ),
    (
        "upsert_updated_success_response.json",
        "PATCH",
        "/sobjects/Contact/Email/new@example.com",
        {"LastName": "Newer"},
        204,
        "31.0",
    ),
    (
        "upsert_error_response.json",
        "PATCH",
        "/sobjects/Account/Namez/foo",
        {"Name": "x"},
        404,
        "31.0",
    ),
    (
        "upsert_multiple_error_response.json",
        "PATCH",
        "/sobjects/Contact/Email/twice@example.com",
        {"LastName": "x"},
        300,
        "31.0",
    ),
    ("delete_error_response.json", "DELETE", "/sobjects/Account/rid/foo", None, 404, "31.0"),
    ("describe_sobjects_success_response.json", "GET", "/sobjects", None, 200, "31.0"),
    ("list_sobjects_success_response.json", "GET", "/sobjects", None, 200, "31.0"),
    (
        "sobject_describe_success_response.json",
        "GET",
        "/sobjects/Account/describe",
        None,
        200,
        "31.0",
    ),
    (
        "sobject_describe_error_response.json",
        "GET",
        "/sobjects/Whizbang/describe",
        None,
        404,
        "31.0",
    ),
    ("sobject_find_success_response.json", "GET", f"/sobjects/Account/{ACC}", None, 200, "31.0"),
    (
        "sobject_select_success_response.json",
        "GET",
        f"/sobjects/Account/{ACC}?fields=Name",
        None,
        200,
        "31.0",
    ),
    ("sobject_find_error_response.json", "GET", "/sobjects/Account/23foo", None, 404, "31.0"),
    (
        "get_updated_success_response.json",
        "GET",
        "/sobjects/Account/updated",
        "window",
        200,
        "31.0",
    ),
    (
        "get_deleted_success_response.json",
        "GET",
        "/sobjects/Account/deleted",
        "window",
        200,
        "31.0",
    ),
    ("search_success_response.json", "GET", "/search?q=FIND {Acme}", None, 200, "31.0"),
    ("search_error_response.json", "GET", "/search?q=Acme", None, 400, "31.0"),
    ("recent_success_response.json", "GET", "/recent", None, 200, "31.0"),
    ("list_view_results_success_response.json", "GET", "listview", None, 200, "32.0"),
    ("services_data_success_response.json", "GET", "/services/data", None, 200, ""),
    ("expired_session_response.json", "GET", "/sobjects", "expired", 401, "31.0"),
]
# Newer real recordings of the same resources: keys the fake adds beyond the old recording
# must be in these (the reason the deviation row gives).
NEWER: dict[str, Callable[[], Any]] = {
    "describe_sobjects_success_response.json": lambda: _cci("describeGlobal.json"),
    "list_sobjects_success_response.json": lambda: _cci("describeGlobal.json"),
    "sobject_describe_success_response.json": lambda: _cci("Account_describe.json"),
}


def _cci(name: str) -> Any:
    return json.loads((CCI_DESCRIBE / name).read_text())


def _restforce_request(api: httpx.Client, case: Case, ids: dict[str, str]) -> httpx.Response:
    _, method, path, body, _, version = case
    base = f"/services/data/v{version}"
    if path == "listview":
        views = api.get(base + "/sobjects/Account/listviews").json()["listviews"]
        return api.get(views[0]["resultsUrl"])
    if path.startswith("/services/"):
        return api.request(method, path)
    url = base + path.replace(ACC, ids["account"])
    if body == "window":
        return api.get(url, params=_window())
    if body == "expired":
        return api.get(url, headers={"Authorization": "Bearer 00Dexpired!nope"})
    return api.request(method, url, json=body)


@pytest.mark.parametrize("case", CASES, ids=[c[0].removesuffix("_response.json") for c in CASES])
def test_restforce_shape(case: Case, module_api: httpx.Client, seeded: dict[str, str]) -> None:
    name, status = case[0], case[4]
    answer = _restforce_request(module_api, case, seeded)
    assert answer.status_code == status, answer.text
    fake = answer.json() if answer.content else None
    real = _real(name)
    if name == "sobject_describe_success_response.json":
        real = {k: real[k] for k in ("fields", "childRelationships", "recordTypeInfos", "urls")}
        fake = {k: fake[k] for k in real}
    diffs = shape_diff(real, fake)
    later = _later_keys(diffs, NEWER[name]()) if name in NEWER else []
    unserved = [d for d in diffs if d in _UI_URLS]
    if unserved and accepted("describe", "urls.unserved-pages"):
        later = [*later, *unserved]  # the describe suite's row: no Classic UI pages served
    judge(name, diffs, later=later)


_UI_URLS = frozenset(
    f"$.urls.{k}: missing" for k in ("uiDetailTemplate", "uiEditTemplate", "uiNewRecord")
)


# -- OAuth ---------------------------------------------------------------------------------


def _token(api: httpx.Client, org: FakeOrg, **form: str) -> httpx.Response:
    creds = org.credentials()
    data = {"client_id": creds["client_id"], "client_secret": creds["client_secret"], **form}
    return api.post(creds["token_url"], data=data)


OAUTH_LATER = ("token_type", "scope")


def _judge_token(name: str, answer: httpx.Response, status: int) -> None:
    assert answer.status_code == status, answer.text
    diffs = shape_diff(_real(name), answer.json())
    later = [f"$.{k}: extra" for k in OAUTH_LATER if f"$.{k}: extra" in diffs]
    _tally["compared"] += 1
    rest = [d for d in diffs if d not in later]
    if later and not accepted("oauth", "token.token_type-scope"):
        rest = diffs
    if rest:
        pytest.fail(f"{name}: the fake org's token answer differs in shape: {rest}")
    _tally["accepted" if later else "matched"] += 1


def test_oauth_token_answers(fake_org: FakeOrg) -> None:
    creds = fake_org.credentials()
    with httpx.Client(base_url=fake_org.instance_url) as api:
        password = {"grant_type": "password", "username": creds["username"]}
        ok = _token(api, fake_org, **password, password=creds["password"] + creds["security_token"])
        _judge_token("auth_success_response.json", ok, 200)
        _judge_token("reauth_success_response.json", ok, 200)
        bad = _token(api, fake_org, **password, password="wrong")
        _judge_token("auth_error_response.json", bad, 400)
        # Without rotation a refresh answers no new refresh token, as in the recording.
        fake_org.state.config.refresh_token_rotation = False
        refresh = {"grant_type": "refresh_token", "refresh_token": creds["refresh_token"]}
        _judge_token("refresh_success_response.json", _token(api, fake_org, **refresh), 200)
        expired = {"grant_type": "refresh_token", "refresh_token": "5Aep861expired"}
        _judge_token("refresh_error_response.json", _token(api, fake_org, **expired), 400)


# -- CumulusCI cassettes replayed ----------------------------------------------------------

_ID = re.compile(r"\b[a-zA-Z0-9]{15}(?:[a-zA-Z0-9]{3})?\b")


def _learn_ids(real: Any, fake: Any, ids: dict[str, str]) -> None:
    """Map ids the real org answered to those the fake answered at the same place."""
    if isinstance(real, dict) and isinstance(fake, dict):
        for key, value in real.items():
            if key in ("id", "Id") and isinstance(value, str) and isinstance(fake.get(key), str):
                ids[value] = fake[key]
            elif key in fake:
                _learn_ids(value, fake[key], ids)
    elif isinstance(real, list) and isinstance(fake, list):
        for r, f in zip(real, fake, strict=False):
            _learn_ids(r, f, ids)


def _learn_xml_ids(real: str, fake: str, ids: dict[str, str]) -> None:
    found = [re.findall(r"<(id|jobId)>([^<]+)</\1>", t) for t in (real, fake)]
    for (tag_r, r), (tag_f, f) in zip(found[0], found[1], strict=False):
        if tag_r == tag_f:
            ids[r] = f


def _mapped(text: str, ids: dict[str, str], version: str) -> str:
    # The recordings' scrubber wrote every version as `vxx.0`, Bulk 1.0 paths included
    # (whose real form is `/services/async/56.0`).
    text = text.replace("/services/async/vxx.0", f"/services/async/{version}")
    text = text.replace("vxx.0", f"v{version}")
    return _ID.sub(lambda m: ids.get(m.group(0), m.group(0)), text)


def _dechunk(text: str) -> str:
    """A body recorded with its HTTP chunk framing (`25\r\n...\r\n0\r\n\r\n`) unframed."""
    if not re.match(r"[0-9a-f]+\r\n", text):
        return text
    out, rest = [], text
    while rest:
        size_text, _, rest = rest.partition("\r\n")
        size = int(size_text, 16)
        if size == 0:
            break
        out.append(rest[:size])
        rest = rest[size + 2 :]
    return "".join(out)


def _template(body: dict[str, Any]) -> str | None:
    """A response recorded as `include_template` + vars, rendered; None if not recorded."""
    path = CASSETTES / str(body["include_template"])
    if not path.exists():
        return None
    values = {str(k): str(v) for k, v in (body.get("vars") or {}).items()}

    def fill(m: re.Match[str]) -> str:
        name, _, default = m.group(1).partition(":")
        return values.get(name, default)

    return re.sub(r"\{([A-Za-z]+(?::[^}]*)?)\}", fill, path.read_text())


def _interactions(path: Path) -> list[dict[str, Any]]:
    data = yaml.safe_load(path.read_text())
    return [i for i in data["interactions"] if "request" in i]


def _await_batch(api: httpx.Client, batch_path: str, headers: dict[str, str]) -> None:
    """Poll a Bulk 1.0 batch until it is done, as the recorded client did before asking for
    its results (the batch runs in the background; each poll lets it progress)."""
    for _ in range(500):
        info = api.get(batch_path, headers={"X-SFDC-Session": headers["X-SFDC-Session"]})
        if re.search(r"<state>(Completed|Failed|Not Processed)</state>", info.text):
            return
    pytest.fail(f"batch {batch_path} did not finish")


CASSETTE_FILES = sorted(CASSETTES.glob("*.yaml"))


@pytest.mark.parametrize("cassette", CASSETTE_FILES, ids=[p.stem for p in CASSETTE_FILES])
def test_cumulusci_cassette_replayed(cassette: Path, fake_org: FakeOrg) -> None:
    version = "62.0"
    ids: dict[str, str] = {}
    with httpx.Client(base_url=fake_org.instance_url, timeout=60) as api:
        token = password_token(fake_org, api)
        for n, item in enumerate(_interactions(cassette)):
            request, response = item["request"], item["response"]
            url = httpx.URL(_mapped(request["uri"], ids, version))
            body = request.get("body")
            content = (
                _mapped(_dechunk(body), ids, version).encode() if isinstance(body, str) else None
            )
            headers = {"Authorization": f"Bearer {token}"}
            if url.path.startswith("/services/async/"):
                headers = {"X-SFDC-Session": token}
            if content:
                xml = content.lstrip().startswith(b"<")
                headers["Content-Type"] = (
                    "application/xml"
                    if xml
                    else "text/csv"
                    if b"," in content[:200] and not content.lstrip().startswith((b"{", b"["))
                    else "application/json"
                )
            if url.path.startswith("/services/async/") and url.path.endswith("/result"):
                _await_batch(api, url.path.removesuffix("/result"), headers)
            answer = api.request(
                request["method"], url.raw_path.decode(), content=content, headers=headers
            )
            label = f"{cassette.stem}#{n} {request['method']} {url.path}"
            expected = response["status"]["code"]
            recorded = (response.get("body") or {}).get("string") or ""
            _tally["compared"] += 1
            assert answer.status_code == expected, f"{label}: {answer.status_code} {answer.text}"
            if isinstance(recorded, dict):  # a Bulk XML template
                for key in ("id", "jobId"):
                    found = re.search(rf"<{key}>([^<]+)</{key}>", answer.text)
                    if found and (recorded.get("vars") or {}).get(key):
                        ids[str(recorded["vars"][key])] = found.group(1)
                real_text = _template(recorded)
                if real_text is None:  # the template was not recorded: status only
                    _tally["status_only"] += 1
                    continue
            else:
                real_text = recorded
            if real_text.lstrip().startswith("<"):
                diffs = xml_diff(real_text, answer.text)
                _learn_xml_ids(real_text, answer.text, ids)
            elif real_text.startswith('"'):  # a Bulk CSV result: its header row
                real_head, fake_head = real_text.split("\n", 1)[0], answer.text.split("\n", 1)[0]
                diffs = [] if real_head == fake_head else [f"CSV header {real_head} vs {fake_head}"]
            elif real_text.strip():
                real = json.loads(real_text)
                fake = answer.json()
                diffs = shape_diff(real, fake)
                _learn_ids(real, fake, ids)
            else:
                diffs = [] if not answer.content else ["$: empty vs body"]
            if diffs:
                pytest.fail(f"{label}: differs in shape: {diffs}")
            _tally["matched"] += 1


def test_bulk_job_info_matches_the_recorded_insert_template(api: httpx.Client) -> None:
    """Bulk API 1.0 jobInfo of an insert job: the element tree of the recorded template."""
    token = api.headers["Authorization"].split(" ", 1)[1]
    job = (
        '<jobInfo xmlns="http://www.force.com/2009/06/asyncapi/dataload"><operation>insert'
        "</operation><object>Account</object><contentType>CSV</contentType></jobInfo>"
    )
    answer = api.post(
        "/services/async/62.0/job",
        content=job,
        headers={"X-SFDC-Session": token, "Content-Type": "application/xml"},
    )
    assert answer.status_code == 201, answer.text
    recorded = _template({"include_template": "jobInfo_insert_xml.tpl", "vars": {}})
    assert recorded is not None
    judge("jobInfo_insert_xml.tpl", xml_diff(recorded, answer.text))
