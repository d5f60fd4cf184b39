"""Replaying recorded ClinicalTrials.gov API v2 responses: an httpx transport for the tests."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx

from mscfm.refresh import term_slug

_JSON_HEADERS = {"Content-Type": "application/json"}


def replay_handler(folder: Path) -> Callable[[httpx.Request], httpx.Response]:
    """Answer requests from ``folder/<term-slug>/<token>.json``; the first page is ``page-1``.

    The recorded ``nextPageToken`` values are the stems of the following files, so paging works
    as it does against the real API. An unknown term gets an empty page.
    """
    folder = Path(folder)

    def handler(request: httpx.Request) -> httpx.Response:
        term = request.url.params.get("query.term", "")
        token = request.url.params.get("pageToken") or "page-1"
        path = folder / term_slug(term) / f"{Path(token).name}.json"
        if not path.is_file():
            if token == "page-1":
                return httpx.Response(200, json={"studies": []})
            return httpx.Response(400, text=f"unknown pageToken {token}")
        return httpx.Response(200, content=path.read_bytes(), headers=_JSON_HEADERS)

    return handler


def replay_transport(folder: Path) -> httpx.MockTransport:
    """An httpx transport replaying the recorded responses in ``folder``."""
    return httpx.MockTransport(replay_handler(folder))
