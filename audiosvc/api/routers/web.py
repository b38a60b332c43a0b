"""The web app: its page at ``/``, its files under ``/app/``, and ``/v1/config``, what the
page needs to know about this service before it asks for anything else."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import fastapi_offline
from fastapi import APIRouter, FastAPI
from fastapi.openapi.docs import get_redoc_html
from fastapi.responses import FileResponse, HTMLResponse, Response
from fastapi.staticfiles import StaticFiles

from audiosvc import __version__
from audiosvc.api.deps import ServicesDep
from audiosvc.jobs import MAX_SPEAKERS, MAX_SUBTITLE_LINE_CHARS, MIN_SUBTITLE_LINE_CHARS
from audiosvc.languages import LANGUAGES
from audiosvc.subtitles import SubtitleLimits

WEB = Path(__file__).resolve().parent.parent.parent / "web"

# The page loads nothing from another origin, and the browser holds it to that.
_POLICY = (
    "default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; "
    "connect-src 'self'; style-src 'self'; script-src 'self'; object-src 'none'; "
    "base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)
_HEADERS = {
    "Content-Security-Policy": _POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}

router = APIRouter()


@router.get("/", include_in_schema=False)
async def page() -> FileResponse:
    return FileResponse(WEB / "index.html", media_type="text/html", headers=_HEADERS)


@router.get("/v1/config")
async def config(svc: ServicesDep) -> dict[str, Any]:
    """What a client needs before its first request; no key is needed to read it."""
    limits = SubtitleLimits.from_settings(svc.settings)
    return {
        "object": "config",
        "version": __version__,
        "auth_required": bool(svc.settings.api_key_list()),
        "max_upload_bytes": svc.settings.max_upload_bytes,
        "languages": [
            {"code": code, "name": name.title()}
            for code, name in sorted(LANGUAGES.items(), key=lambda item: item[1])
        ],
        "speakers": {"max": MAX_SPEAKERS},
        "subtitles": {
            "max_line_chars": limits.max_line_chars,
            "max_lines": limits.max_lines,
            "max_cue_seconds": limits.max_cue_seconds,
            "min_cue_seconds": limits.min_cue_seconds,
            "line_chars_min": MIN_SUBTITLE_LINE_CHARS,
            "line_chars_max": MAX_SUBTITLE_LINE_CHARS,
        },
    }


# ReDoc as fastapi-offline ships it, but for the one thing it loads from the internet: the
# "API docs by Redocly" link's logo (an <img> that is dropped when it fails to load).
_REDOC_JS = Path(fastapi_offline.__file__).parent / "static" / "redoc.standalone.js"
_REDOC_LOGO = b"https://cdn.redoc.ly/redoc/logo-mini.svg"


@functools.cache
def _redoc_without_logo() -> bytes:
    return _REDOC_JS.read_bytes().replace(_REDOC_LOGO, b"")


@router.get("/docs-offline/redoc.standalone.js", include_in_schema=False)
async def redoc_script() -> Response:
    return Response(
        _redoc_without_logo(),
        media_type="text/javascript",
        headers={"Cache-Control": "public, max-age=86400"},
    )


@router.get("/redoc", include_in_schema=False)
async def redoc() -> HTMLResponse:
    return get_redoc_html(
        openapi_url="/openapi.json",
        title="audiosvc - ReDoc",
        redoc_js_url="/docs-offline/redoc.standalone.js",
        redoc_favicon_url="/static-offline-docs/favicon.png",
        with_google_fonts=False,
    )


def install(app: FastAPI) -> None:
    app.include_router(router)
    app.mount("/app", StaticFiles(directory=WEB), name="web")
