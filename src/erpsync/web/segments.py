"""The entity families' screens (``/companies``, ``/persons``, ``/projects``) share flat handlers: each handler is
routed once per family under the family's path segment, and learns its family from the route that matched."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from fastapi import APIRouter, Request

from erpsync.web.crm_forms import ENTITY_BY_SEGMENT

Route = tuple[str, str, Callable[..., Any]]
"""(method, path after the family's segment, handler)."""


def route_families(router: APIRouter, routes: Sequence[Route]) -> None:
    """Route every handler under each family's segment, in the order given (a literal path before a parameter)."""
    for segment in ENTITY_BY_SEGMENT:
        for method, path, handler in routes:
            router.add_api_route(f"/{segment}{path}", handler, methods=[method])


def segment_of(request: Request) -> str:
    """The family segment of the route that serves ``request``."""
    path = str(request.scope["route"].path)
    return path.split("/")[1]
