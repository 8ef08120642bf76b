"""Apex REST: call `@RestResource` classes at `/services/apexrest/<urlMapping>`.

    python examples/apex_rest.py                    # fake org: registers an orders handler
    SF_INSTANCE_URL=... python examples/apex_rest.py orders/42   # real org: GET that path

On the fake org, `register_apex` plays the part of an Apex class mapped to `/orders/*`;
a handler that raises becomes Salesforce's 500 APEX_ERROR. On a real org the script GETs
the path you give (argument or `SF_APEX_PATH`) and prints the JSON answer.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

from _connect import Target, step, target

from salesforce_typed import NotFoundError, Salesforce, ServerError
from salesforce_typed.testing.rest.apex import register_apex

ORDERS: dict[str, dict[str, Any]] = {"42": {"id": "42", "status": "Open", "lines": 3}}


def orders(method: str, path: str, params: dict[str, str], body: Any) -> tuple[int, Any]:
    """What an `@RestResource(urlMapping='/orders/*')` class would answer."""
    if method == "POST":
        order_id = str(len(ORDERS) + 100)
        ORDERS[order_id] = {"id": order_id, "status": "New", **(body or {})}
        return 201, ORDERS[order_id]
    order_id = path.rsplit("/", 1)[-1]
    if order_id not in ORDERS:
        raise LookupError(f"no order {order_id}")  # unhandled in Apex: 500 APEX_ERROR
    order = dict(ORDERS[order_id])
    if params.get("expand") == "lines":
        order["lineItems"] = [{"n": n} for n in range(order.get("lines", 0))]
    return 200, order


def fake_tour(org: Target, sf: Salesforce) -> None:
    assert org.fake is not None
    step("register a handler for GET and POST on /orders/* (the fake org's Apex)")
    register_apex(org.fake.state, "GET", "/orders/*", orders)
    register_apex(org.fake.state, "POST", "/orders/*", orders)

    step("GET /services/apexrest/orders/42?expand=lines")
    print(json.dumps(sf.apex("GET", "orders/42", params={"expand": "lines"})))

    step("POST /services/apexrest/orders with a JSON body")
    print(json.dumps(sf.apex("POST", "orders", json={"customer": "Acme", "lines": 1})))

    step("errors are typed like any REST error")
    try:
        sf.apex("GET", "orders/999")
    except ServerError as exc:
        print(f"ServerError {exc.status_code} {exc.error_code}: {exc.message.splitlines()[0]}")
    try:
        sf.apex("GET", "invoices/1")
    except NotFoundError as exc:
        print(f"NotFoundError {exc.status_code} {exc.error_code}: {exc.message}")


def real_call(sf: Salesforce, path: str) -> None:
    step(f"GET /services/apexrest/{path}")
    print(json.dumps(sf.apex("GET", path), indent=2))


def main() -> int:
    path = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("SF_APEX_PATH", "")
    with target() as org, org.client() as sf:
        if org.fake is not None:
            fake_tour(org, sf)
        elif not path:
            print("a real org needs the Apex REST path to call: apex_rest.py <path>")
            return 2
        else:
            real_call(sf, path.lstrip("/"))
    print("\napex_rest: done")
    return 0


if __name__ == "__main__":
    sys.exit(main())
