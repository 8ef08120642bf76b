"""PLACEHOLDER until the OAuth module lands: password grant only."""

from __future__ import annotations

import secrets

from salesforce_typed.testing.http import OAuthError, Request, Response, Router
from salesforce_typed.testing.state import OrgState


def issue_refresh_token(state: OrgState) -> str:
    return secrets.token_urlsafe(32)


def register(router: Router, state: OrgState) -> None:
    async def token(req: Request) -> Response:
        form = req.form()
        org = req.org
        if form.get("grant_type") != "password":
            raise OAuthError("unsupported_grant_type", "grant type not supported")
        s = org.new_session()
        return Response.json(
            {
                "access_token": s.access_token,
                "instance_url": org.instance_url,
                "token_type": "Bearer",
                "issued_at": str(int(s.issued_at * 1000)),
            }
        )

    router.add("POST", "/services/oauth2/token", token, auth=False)
