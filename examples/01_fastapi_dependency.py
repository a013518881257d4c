"""01 - The FastAPI dependency: one unit of work per request, committed before the response.

The guides' ``get_db`` dependency as Conduit writes it (``conduit.http.deps``): ``SessionDep`` is
``Annotated[AsyncSession, Depends(get_session, scope="function")]``. A POST gets a unit of work
that commits when the endpoint returns and rolls back when it raises; a GET reads on a reader
session (no transaction on PostgreSQL). Routes only ``flush()``. A tiny app of three routes,
driven through httpx's ``ASGITransport``: the real ASGI stack, no server.
"""

from __future__ import annotations

import httpx
from fastapi import FastAPI, HTTPException
from sqlalchemy import select

from _support import Example, new_user, run
from conduit.db.session import Database
from conduit.domain.users.models import User
from conduit.http.deps import SessionDep


def make_app(database: Database) -> FastAPI:
    app = FastAPI()
    app.state.database = database  # what conduit.http.deps.get_session opens sessions on

    @app.post("/users/{name}", status_code=201)
    async def create(name: str, session: SessionDep) -> dict[str, str]:
        user = new_user(name)
        session.add(user)
        await session.flush()  # the INSERT; its RETURNING brings back created_at
        return {"username": user.username, "created": user.created_at.isoformat()}

    @app.post("/users/{name}/then-fail")
    async def create_then_fail(name: str, session: SessionDep) -> None:
        session.add(new_user(name))
        await session.flush()
        raise HTTPException(status_code=422, detail="changed my mind")  # the INSERT is undone

    @app.get("/users/{name}")
    async def read(name: str, session: SessionDep) -> dict[str, str]:
        found = await session.scalar(select(User).where(User.username == name))
        if found is None:
            raise HTTPException(status_code=404, detail="no such user")
        return {"username": found.username, "email": found.email}

    return app


async def main(ex: Example) -> None:
    transport = httpx.ASGITransport(app=make_app(ex.database))
    async with httpx.AsyncClient(transport=transport, base_url="http://example.test") as client:
        with ex.step("POST /users/ada: INSERT in the request's unit of work", max_statements=1):
            response = await client.post("/users/ada")
            ex.show("response", f"{response.status_code} {response.json()}")
            ex.check(response.status_code == 201, "the user should be created")

        with ex.step("GET /users/ada from a new request: the commit happened", max_statements=1):
            response = await client.get("/users/ada")
            ex.show("response", f"{response.status_code} {response.json()}")
            ex.check(response.status_code == 200, "the committed user should be found")

        with ex.step(
            "POST that raises after its flush: the dependency rolls back", max_statements=1
        ):
            response = await client.post("/users/bob/then-fail")
            ex.show("response", response.status_code)

        with ex.step("GET /users/bob: nothing was kept", max_statements=1):
            response = await client.get("/users/bob")
            ex.show("response", f"{response.status_code} {response.json()}")
            ex.check(response.status_code == 404, "the failed request's INSERT should be gone")


if __name__ == "__main__":
    run(main)
