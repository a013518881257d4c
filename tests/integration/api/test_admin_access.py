"""Who may call the admin endpoints, and how they are documented."""

from __future__ import annotations

import pytest
from sqlalchemy import update

from conduit.domain.users.models import User
from tests.factories import make_user
from tests.integration.api.test_admin_export import LINE_KEYS

FORBIDDEN = {"errors": {"user": ["forbidden"]}}
TOKEN_MISSING = {"errors": {"token": ["is missing"]}}
ENDPOINTS = [
    ("GET", "/api/admin/stats", None),
    ("POST", "/api/admin/users/deactivate", {"inactiveSince": "2020-01-01"}),
    ("POST", "/api/admin/credits/grant", {"grant": {"usernames": ["someone"], "amount": 5}}),
    ("POST", "/api/admin/articles/some-slug/restore", None),
    ("GET", "/api/admin/export/articles", None),
]
ADMIN_PATHS = {
    "/api/admin/stats": "get",
    "/api/admin/users/deactivate": "post",
    "/api/admin/credits/grant": "post",
    "/api/admin/articles/{slug}/restore": "post",
    "/api/admin/export/articles": "get",
}


@pytest.mark.parametrize(("method", "path", "body"), ENDPOINTS)
async def test_every_admin_endpoint_needs_a_token(client, method, path, body):
    response = await client.request(method, path, json=body)
    assert response.status_code == 401
    assert response.json() == TOKEN_MISSING


@pytest.mark.parametrize("role", ["user", "moderator"])
@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=[path for _, path, _ in ENDPOINTS])
async def test_every_admin_endpoint_is_403_for_other_roles(app, client, role, endpoint):
    method, path, body = endpoint
    caller = await make_user(app, role=role)
    response = await client.request(method, path, json=body, headers=caller.auth)
    assert response.status_code == 403
    assert response.json() == FORBIDDEN


@pytest.mark.parametrize(("method", "path", "body"), ENDPOINTS)
async def test_a_bad_token_is_401_on_every_admin_endpoint(client, method, path, body):
    response = await client.request(
        method, path, json=body, headers={"Authorization": "Token not-a-jwt"}
    )
    assert response.status_code == 401
    assert response.json() == {"errors": {"token": ["is invalid"]}}


async def test_a_demoted_admin_loses_access_with_the_same_token(app, client, database):
    admin = await make_user(app, role="admin")
    assert (await client.get("/api/admin/stats", headers=admin.auth)).status_code == 200
    async with database.unit_of_work() as session:
        await session.execute(update(User).where(User.id == admin.user.id).values(role="user"))
    response = await client.get("/api/admin/stats", headers=admin.auth)
    assert response.status_code == 403
    assert response.json() == FORBIDDEN


async def test_a_deactivated_admins_token_is_401(app, client):
    admin = await make_user(app, role="admin", is_active=False)
    response = await client.get("/api/admin/stats", headers=admin.auth)
    assert response.status_code == 401


async def test_the_openapi_schema_documents_every_admin_endpoint_with_its_errors(client):
    schema = (await client.get("/openapi.json")).json()
    for path, method in ADMIN_PATHS.items():
        operation = schema["paths"][path][method]
        assert operation["tags"] == ["admin"]
        assert {"200", "401", "403"} <= set(operation["responses"]), path
        forbidden = operation["responses"]["403"]["content"]["application/json"]["schema"]
        assert forbidden == {"$ref": "#/components/schemas/ErrorBody"}
    responses = {path: schema["paths"][path][m]["responses"] for path, m in ADMIN_PATHS.items()}
    assert "422" in responses["/api/admin/users/deactivate"]
    assert "422" in responses["/api/admin/credits/grant"]
    assert {"404", "409"} <= set(responses["/api/admin/articles/{slug}/restore"])
    export = responses["/api/admin/export/articles"]["200"]["content"]
    line = export["application/x-ndjson"]["schema"]
    assert set(line["required"]) == LINE_KEYS
