"""The page routers, one per screen family; every one refuses state-changing requests without the CSRF token."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from starlette.datastructures import FormData

from erpsync.web import csrf


def page_router(prefix: str = "") -> APIRouter:
    return APIRouter(prefix=prefix, include_in_schema=False, dependencies=[Depends(csrf.require_csrf)])


async def read_form(request: Request) -> FormData:
    """The posted form, read in a dependency so handlers can stay synchronous (they run in the thread pool)."""
    return await request.form()


PostedForm = Annotated[FormData, Depends(read_form)]
