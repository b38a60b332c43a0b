"""The interactive API docs work offline: every script, stylesheet and icon of /docs and
/redoc comes from the service itself (issue 9: /docs was blank without internet, its
JavaScript loaded from a CDN)."""

from __future__ import annotations

import re

import httpx
import pytest

ASSET = re.compile(r"""(?:src|href)="([^"]+)"|url: *'([^']+)'""")


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_docs_pages_load_everything_from_the_service(client: httpx.Client, page: str) -> None:
    r = client.get(page)
    assert r.status_code == 200
    assert not re.findall(r"https?://", r.text), "a docs page must not load from elsewhere"
    assets = [a or b for a, b in ASSET.findall(r.text)]
    scripts = [a for a in assets if a.endswith(".js")]
    assert scripts, "the page names its script"
    for asset in assets:
        got = client.get(asset)
        assert got.status_code == 200, asset
        assert len(got.content) > 100, asset
