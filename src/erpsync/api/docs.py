"""The API's documentation page: Swagger UI at ``{prefix}/docs``, served offline and under the hub's security policy.

Its script and style come from the installed ``fastapi-offline`` package (no CDN: the page works on a network without
internet) and its start-up code from the hub's static files, so the page keeps to the Content-Security-Policy (no
inline script or style). The page itself is fixed markup: nothing in it comes from a request.

ReDoc, which the same package bundles, is not served: its bundle injects ``<style>`` elements while it loads, which a
policy without ``'unsafe-inline'`` styles blocks.

Public names: ``install_docs``.
"""

from __future__ import annotations

from pathlib import Path

import fastapi_offline
from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

BUNDLED_ASSETS = Path(fastapi_offline.__file__).parent / "static"


def install_docs(app: FastAPI, *, prefix: str, openapi_url: str) -> None:
    """Swagger UI for ``openapi_url``, with its bundled assets under ``{prefix}/docs/assets``."""
    assets = f"{prefix}/docs/assets"
    page = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<title>{app.title} API</title><link rel="stylesheet" href="{assets}/swagger-ui.css"></head>'
        f'<body data-openapi-url="{openapi_url}"><div id="swagger-ui"></div>'
        f'<script src="{assets}/swagger-ui-bundle.js"></script>'
        '<script src="/static/api-docs/swagger-init.js"></script></body></html>'
    )
    app.mount(assets, StaticFiles(directory=BUNDLED_ASSETS), name="api-docs-assets")

    @app.get(f"{prefix}/docs", include_in_schema=False)
    def swagger_ui() -> HTMLResponse:
        return HTMLResponse(page)
