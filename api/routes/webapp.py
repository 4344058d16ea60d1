"""The shop-floor web app: its shell, ES modules, manifest, service worker and icons, all
from `api/static/` (nothing fetched from elsewhere at run time). The app itself talks to
the API like any other client."""

from __future__ import annotations

from pathlib import Path as FilePath
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path
from starlette.responses import FileResponse, Response

STATIC = FilePath(__file__).resolve().parent.parent / "static"
TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".webmanifest": "application/manifest+json",
    ".png": "image/png",
    ".svg": "image/svg+xml",
    ".txt": "text/plain; charset=utf-8",
}
# Pages revalidate every time (cheap: ETag); offline use is the service worker's job.
NO_CACHE = {"Cache-Control": "no-cache"}

router = APIRouter(include_in_schema=False)

AssetPath = Annotated[str, Path(pattern=r"^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$")]


def _file(relative: str, headers: dict[str, str] | None = None) -> Response:
    path = (STATIC / relative).resolve()
    if not path.is_relative_to(STATIC) or not path.is_file() or path.suffix not in TYPES:
        raise HTTPException(404, f"no file {relative}")
    return FileResponse(
        path, media_type=TYPES[path.suffix], headers={**NO_CACHE, **(headers or {})}
    )


@router.get("/")
async def shell() -> Response:
    return _file("index.html")


@router.get("/manifest.webmanifest")
async def manifest() -> Response:
    return _file("manifest.webmanifest")


@router.get("/sw.js")
async def service_worker() -> Response:
    # Served from the root so that its scope is the whole app.
    return _file("sw.js", {"Service-Worker-Allowed": "/"})


@router.get("/app/{asset:path}")
async def app_asset(asset: AssetPath) -> Response:
    return _file(f"app/{asset}")


@router.get("/icons/{asset:path}")
async def icon(asset: AssetPath) -> Response:
    return _file(f"icons/{asset}")
