"""The admin endpoints: platform statistics, bulk operations, restores and the export.

Every one requires an admin (401 without a valid token, 403 for any other role).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any

import anyio
from fastapi.exceptions import RequestValidationError
from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from conduit.db.session import Database
from conduit.domain.admin import bulk, export, restore, stats
from conduit.domain.articles import queries
from conduit.domain.errors import NotFoundError
from conduit.http.deps import AdminUser, DatabaseDep, SessionDep, SettingsDep
from conduit.http.params import Responses
from conduit.http.routes import API_PREFIX, resource_router
from conduit.http.schemas.admin import (
    DeactivateRequest,
    DeactivateResponse,
    ExportLine,
    GrantRequest,
    GrantResponse,
    StatsResponse,
    ndjson,
)
from conduit.http.schemas.articles import SingleArticleResponse
from conduit.http.schemas.common import ErrorBody

router = resource_router(prefix=f"{API_PREFIX}/admin", tags=["admin"])

NDJSON = "application/x-ndjson"


def _error(description: str) -> dict[str, Any]:
    return {"model": ErrorBody, "description": description}


_ADMIN: Responses = {
    403: _error("The caller is not an admin (`user`: `forbidden`)"),
}
# The export's errors are JSON too; without this they would be listed under its NDJSON type.
_ADMIN_JSON: Responses = {
    status: {
        "description": response["description"],
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}},
    }
    for status, response in _ADMIN.items()
}


class NDJSONResponse(StreamingResponse):
    """A stream of JSON lines that stops between chunks when the client goes away.

    Starlette's own streaming cancels the sending task on a disconnect, which can interrupt
    the body generator inside a database call: the driver connection is then in an unknown
    state and gets terminated instead of going back to the pool. Here a disconnect only sets
    a flag; the loop checks it before asking for the next chunk and then closes the generator
    at its ``yield``, so the export's transaction is rolled back cleanly and its connection
    reused. A chunk is one batch of rows, so a departed client costs at most one more batch.
    """

    media_type = NDJSON

    def __init__(self, content: AsyncGenerator[bytes, None]) -> None:
        super().__init__(content)
        self._chunks = content

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        gone = anyio.Event()

        async def watch_for_disconnect() -> None:
            while (await receive())["type"] != "http.disconnect":
                pass
            gone.set()

        try:
            # The first chunk is read before anything is sent (and outside the task group,
            # which would wrap its errors): a database that cannot be reached still gets an
            # error status and body from the error handlers.
            first = await anext(self._chunks, None)
            async with anyio.create_task_group() as watchers:
                watchers.start_soon(watch_for_disconnect)
                try:
                    await self._stream(send, gone, first)
                finally:
                    watchers.cancel_scope.cancel()
        finally:
            with anyio.CancelScope(shield=True):
                await self._chunks.aclose()

    async def _stream(self, send: Send, gone: anyio.Event, chunk: bytes | None) -> None:
        start = {"type": "http.response.start", "status": self.status_code}
        await send({**start, "headers": self.raw_headers})
        try:
            while chunk is not None:
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
                if gone.is_set():
                    return
                chunk = await anext(self._chunks, None)
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        except OSError:
            return  # servers of ASGI spec 2.4 and later report a disconnect this way


@router.get("/stats", response_model=StatsResponse, responses=_ADMIN)
async def platform_stats(session: SessionDep, _admin: AdminUser) -> StatsResponse:
    """Totals, the latest signup, top authors and tags: 3 statements after authentication."""
    return StatsResponse.of(await stats.platform_stats(session))


@router.post(
    "/users/deactivate",
    response_model=DeactivateResponse,
    responses={
        **_ADMIN,
        422: _error("`inactiveSince` is missing, not an ISO 8601 date, or in the future"),
    },
)
async def deactivate_users(
    body: DeactivateRequest, session: SessionDep, _admin: AdminUser
) -> DeactivateResponse:
    """Deactivate every non-admin account that has written nothing since `inactiveSince`.

    One `UPDATE ... RETURNING`. Accounts created since that instant are left alone.
    Deactivated accounts cannot sign in, and their tokens stop working.
    """
    usernames = await bulk.deactivate_inactive(session, since=body.inactive_since)
    return DeactivateResponse.of(usernames)


@router.post(
    "/credits/grant",
    response_model=GrantResponse,
    responses={
        **_ADMIN,
        422: _error(
            "The amount is not a positive integer, the list is empty, or some usernames are "
            "unknown or deactivated (one message each under `usernames`; nothing is granted)"
        ),
    },
)
async def grant_credits(
    body: GrantRequest, session: SessionDep, _admin: AdminUser
) -> GrantResponse:
    """Add platform credits to each named account, with a ledger entry each (no sender).

    One bulk `UPDATE ... RETURNING` and one multi-row ledger `INSERT`; all or nothing.
    """
    grant = body.grant
    try:
        granted = await bulk.grant_credits(session, usernames=grant.usernames, amount=grant.amount)
    except bulk.GrantRefused as refused:
        # One message per refused name, in the validation error format; raising (rather than
        # answering) rolls the unit of work back, so the accounts already updated are not.
        raise RequestValidationError(
            [
                {
                    "loc": ("body", "grant", "usernames"),
                    "msg": reason,
                    "type": "value_error",
                    "input": grant.usernames,
                }
                for reason in refused.reasons
            ]
        ) from None
    return GrantResponse.of(grant.amount, granted)


@router.post(
    "/articles/{slug}/restore",
    response_model=SingleArticleResponse,
    responses={
        **_ADMIN,
        404: _error("No article has this slug (`article`: `not found`)"),
        409: _error(
            "The article is live (`article`: `is already live`), or a live article has taken "
            "the slug since (`slug`: `has already been taken`)"
        ),
    },
)
async def restore_article(
    slug: str, session: SessionDep, admin: AdminUser
) -> SingleArticleResponse:
    """Undo a soft delete. Of several deleted articles with the slug, the most recently
    deleted one is restored."""
    await restore.restore_article(session, slug=slug)
    view = await queries.get_article(session, slug=slug, viewer_id=admin.id)
    if view is None:  # deleted again in between
        raise NotFoundError(restore.SUBJECT)
    return SingleArticleResponse.of(view)


@router.get(
    "/export/articles",
    status_code=200,
    response_class=NDJSONResponse,
    responses={
        200: {
            "description": "Every live article, oldest first, one JSON object per line, "
            "streamed from one consistent snapshot",
            "content": {NDJSON: {"schema": ExportLine.model_json_schema(mode="serialization")}},
        },
        **_ADMIN_JSON,
    },
)
async def export_articles(
    _admin: AdminUser, database: DatabaseDep, settings: SettingsDep
) -> NDJSONResponse:
    """Stream every live article as NDJSON: one statement, read in batches."""
    return NDJSONResponse(_lines(database, settings.export_statement_timeout_ms))


async def _lines(database: Database, statement_timeout_ms: int) -> AsyncGenerator[bytes, None]:
    # The generator opens its own connection when the response starts streaming: the
    # request's unit of work (authentication) has already ended by then.
    batches = export.export_articles(database.engine, statement_timeout_ms=statement_timeout_ms)
    try:
        async for batch in batches:
            yield ndjson(batch)
    finally:
        await batches.aclose()
