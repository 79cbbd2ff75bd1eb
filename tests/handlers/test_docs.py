"""/docs works without internet: Swagger UI's page references only this service, and
every asset it references is served here, cacheable for long."""
from __future__ import annotations

import re
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit


class _References(HTMLParser):
    def __init__(self):
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.urls += [value for name, value in attrs if name in ("src", "href") and value]


def references(html: str) -> list[str]:
    parser = _References()
    parser.feed(html)
    return parser.urls


def test_docs_page_references_no_other_host(client):
    resp = client.get("/docs")
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    urls = references(html)
    assert any(u.endswith(".js") for u in urls) and any(u.endswith(".css") for u in urls)
    assert [u for u in urls if urlsplit(u).netloc or urlsplit(u).scheme] == []
    # Nor anywhere else on the page (its script's comments aside).
    code = "\n".join(line for line in html.splitlines() if not line.strip().startswith("//"))
    assert re.findall(r"https?://[^\s\"'<>]+", code) == []


def test_every_asset_of_docs_is_served_here_for_long(client):
    urls = references(client.get("/docs").get_data(as_text=True))
    assert urls
    for url in urls:
        resp = client.get(urljoin("http://localhost/docs", url))
        assert resp.status_code == 200, url
        assert resp.get_data(), url
        assert resp.cache_control.max_age and resp.cache_control.max_age >= 30 * 24 * 3600, url
        if url.endswith(".css"):  # a stylesheet could pull fonts or images from elsewhere
            assert not re.findall(r"url\(\s*['\"]?https?:", resp.get_data(as_text=True)), url


def test_docs_assets_are_not_in_the_api_document(client):
    paths = client.get("/openapi.json").json["paths"]
    assert not [p for p in paths if p.startswith("/docs")]


def test_unknown_docs_asset_is_a_json_404(client):
    resp = client.get("/docs/assets/nope.js")
    assert resp.status_code == 404 and resp.json["error"]["code"] == "not_found"
