"""The API documentation pages load everything from Conduit itself: no outbound request."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import httpx
import pytest

_CSS_URL = re.compile(r"""url\(\s*['"]?([^'")]+)""")


class _References(HTMLParser):
    """Every address a page makes the browser load: ``src``, ``href`` and CSS ``url(…)``."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if value is not None and name in {"src", "href", "spec-url"}:
                self.found.append(value)
            if value is not None and name == "style":
                self.found.extend(_CSS_URL.findall(value))

    def handle_data(self, data: str) -> None:
        self.found.extend(_CSS_URL.findall(data))


def _is_local(address: str) -> bool:
    return address.startswith(("data:", "#")) or (
        address.startswith("/") and not address.startswith("//")
    )


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
async def test_a_docs_page_and_its_assets_load_nothing_from_elsewhere(
    client: httpx.AsyncClient, page: str
) -> None:
    response = await client.get(page)
    assert response.status_code == 200
    parser = _References()
    parser.feed(response.text)
    assert parser.found, "the page references its script"
    assert [address for address in parser.found if not _is_local(address)] == []
    # Swagger UI's configuration can name addresses of its own (the schema, the validator).
    assert re.findall(r"""https?://[^\s'"]+""", response.text) == []
    for address in parser.found:
        if address.startswith("/"):
            asset = await client.get(address)
            assert asset.status_code == 200, address
            if address.endswith(".css"):
                assert [u for u in _CSS_URL.findall(asset.text) if not _is_local(u)] == []


async def test_swagger_ui_does_not_send_the_schema_to_the_online_validator(
    client: httpx.AsyncClient,
) -> None:
    page = (await client.get("/docs")).text
    # Left unset, Swagger UI shows a badge fetched from validator.swagger.io.
    assert '"validatorUrl": null' in page
