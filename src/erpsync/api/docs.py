"""The API's documentation page: Swagger UI at ``{prefix}/docs``, served offline and under the hub's security policy.

Its script and style come from the installed ``fastapi-offline`` package (no CDN: the page works on a network without
internet) and its start-up code from the hub's static files, so the page keeps to the Content-Security-Policy (no
inline script or style). The page itself is fixed markup: nothing in it comes from a request.

ReDoc, from the same package, at ``{prefix}/redoc``: its bundle injects ``<style>`` elements while it renders, so
its page carries a policy of its own: styles bearing the response's nonce (handed to ReDoc, which puts it on every
style element it adds) or the hashes of the two it adds before, its search index's worker from a ``blob:`` URL, and
its footer's logo from its CDN. Scripts stay the hub's own.

Public names: ``install_docs``.
"""

from __future__ import annotations

import secrets
from pathlib import Path

import fastapi_offline
from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from erpsync.http.security_headers import CONTENT_SECURITY_POLICY

BUNDLED_ASSETS = Path(fastapi_offline.__file__).parent / "static"

REDOC_STYLE_HASHES = (
    "'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=' 'sha256-QMIg+bpjm3JdElJ388KYke01izlUW0UoNOeKjpMxdgc='"
)
"""The two style elements ReDoc's bundle adds as it loads, before it knows the nonce (an empty one and its base
rules): allowed by their hashes, which change only with the bundle (the browser test fails if they do)."""
REDOC_LOGO_ORIGIN = "https://cdn.redoc.ly"
"""Where ReDoc's footer takes its small logo from; without internet the image fails and ReDoc hides it."""


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

    @app.get(f"{prefix}/redoc", include_in_schema=False)
    def redoc() -> HTMLResponse:
        nonce = secrets.token_urlsafe(16)
        policy = (
            CONTENT_SECURITY_POLICY.replace(
                "style-src 'self'", f"style-src 'self' 'nonce-{nonce}' {REDOC_STYLE_HASHES}"
            )
            .replace("img-src 'self' data:", f"img-src 'self' data: {REDOC_LOGO_ORIGIN}")
            .replace("default-src 'self'", "default-src 'self'; worker-src blob:")
        )
        return HTMLResponse(
            '<!doctype html><html lang="en"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{app.title} API</title></head>"
            f'<body data-openapi-url="{openapi_url}" data-nonce="{nonce}"><div id="redoc"></div>'
            f'<script src="{assets}/redoc.standalone.js"></script>'
            '<script src="/static/api-docs/redoc-init.js"></script></body></html>',
            headers={"Content-Security-Policy": policy},
        )
