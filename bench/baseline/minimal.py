"""The floor under the raw baseline: one route, one ``fetchval``, nothing else.

The single-article statement of app.py on a pool of the same size, with no token handling and
no error path. The benchmark runs it against app.py on the single-article path to show the
baseline is as fast as raw Starlette + asyncpg can be (within 10%); were it slower, the ratios
measured against it would flatter Conduit.

    BASELINE_DATABASE_URL=postgresql://... BASELINE_POOL_SIZE=10 \\
        uvicorn --app-dir bench/baseline minimal:app --workers 1
"""

from __future__ import annotations

from app import ARTICLE_SQL, pooled
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route


async def article(request: Request) -> Response:
    body = await request.app.state.pool.fetchval(ARTICLE_SQL, None, request.path_params["slug"])
    return Response(body, media_type="application/json")


app = Starlette(
    routes=[Route("/api/articles/{slug}", article)], lifespan=pooled("conduit-bench-minimal")
)
