"""The docs page at `/schema` works offline and under a strict Content-Security-Policy: every file
it loads comes from the API itself, and it carries no inline script or style."""

from __future__ import annotations

from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import pytest
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.testing import TestClient
from tests.backends import Options, memory_backend

import mov_api.app
from mov_api.app import create_app

STRICT_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'"
)
CONTENT_TYPES = {
    ".js": "text/javascript",
    ".css": "text/css",
    ".png": "image/png",
    ".json": "application/vnd.oai.openapi+json",  # the no-JavaScript link to the document
}
NOT_BUILT = "the build hook copies swagger-ui into mov_api/static/swagger: `pip install -e .`"


class Page(HTMLParser):
    """What a browser would fetch from a page, and anything a strict CSP would block."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.inline: list[str] = []
        self._in_script = False
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        self.urls += [value for name, value in attrs if name in ("src", "href") and value]
        self.inline += [f"{tag} {name}=" for name, _ in attrs if name == "style"]
        self.inline += [f"{tag} {name}=" for name, _ in attrs if name.startswith("on")]
        if tag == "style":
            self.inline.append("<style>")
        if tag == "script" and "src" not in found:
            self.inline.append("<script> without src")
        self._in_script = tag == "script"

    def handle_endtag(self, tag: str) -> None:  # noqa: ARG002 (HTMLParser's signature)
        self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.inline.append(f"script body {data.strip()[:40]!r}")


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    env = {"MOV_DATA_DIR": str(tmp_path_factory.mktemp("docs")), "MOV_RATE_LIMIT_ENABLED": "false"}
    with TestClient(create_app(memory_backend(Options(env=env)).runtime)) as test_client:
        yield test_client


def test_the_docs_page_loads_only_same_origin_files_and_has_no_inline_code(client):
    for path in ("/schema", "/schema/"):
        page = client.get(path)
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        parsed = Page(page.text)
        assert parsed.urls, "the page references its files"
        for url in parsed.urls:
            assert url.startswith("/"), url
            assert not url.startswith("//"), url
        assert parsed.inline == []


def test_every_file_the_docs_page_references_answers_with_its_content_type(client):
    urls = Page(client.get("/schema").text).urls
    assert {Path(url).name for url in urls} >= {"swagger-ui-bundle.js", "swagger-ui.css"}
    for url in urls:
        answer = client.get(url)
        assert answer.status_code == 200, f"{url}: {NOT_BUILT}"
        assert answer.headers["content-type"].startswith(CONTENT_TYPES[Path(url).suffix]), url
        assert answer.content, url


def test_the_page_points_swagger_ui_at_the_openapi_document(client):
    page = client.get("/schema").text
    assert 'data-openapi-url="/schema/openapi.json"' in page
    starter = client.get("/schema/assets/swagger-init.js").text
    assert "dataset.openapiUrl" in starter
    assert "https://" not in starter


def test_the_docs_csp_allows_nothing_inline_nothing_evaluated_and_no_other_host(client):
    for path in ("/schema", "/schema/assets/swagger-ui-bundle.js", "/schema/openapi.json"):
        policy = client.get(path).headers["content-security-policy"]
        assert policy == STRICT_CSP
        sources = {s for directive in policy.split(";") for s in directive.split()[1:]}
        assert sources <= {"'self'", "'none'", "data:"}, sources


def test_a_file_the_docs_do_not_ship_is_not_found(client):
    assert client.get("/schema/assets/swagger-ui-bundle.js.map").status_code == 404
    assert client.get("/schema/assets/%2e%2e/docs.py").status_code == 404


def test_the_openapi_document_is_what_litestar_served_before(client, tmp_path, monkeypatch):
    """Only the page changed: the document is byte for byte the one Litestar's own Swagger
    plugin serves for the same routes."""
    ours = client.get("/schema/openapi.json")
    assert ours.headers["content-type"] == "application/vnd.oai.openapi+json"
    monkeypatch.setattr(mov_api.app, "OfflineSwagger", lambda: SwaggerRenderPlugin(path="/"))
    env = {"MOV_DATA_DIR": str(tmp_path), "MOV_RATE_LIMIT_ENABLED": "false"}
    with TestClient(create_app(memory_backend(Options(env=env)).runtime)) as stock:
        assert ours.content == stock.get("/schema/openapi.json").content
    assert not [path for path in ours.json()["paths"] if path.startswith("/schema")]
