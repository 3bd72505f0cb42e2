"""FastAPI dependencies as ``Annotated`` aliases: who is asking, with which rights, on which session.

Public names: ``SessionDep`` (a Session, read-only for GET; the use cases it is passed to end its transactions),
``DatabaseDep``, ``SettingsDep``, ``CipherDep``,
``ClientsDep`` (connector clients), ``BearerToken`` (the request's bearer token or None),
``CurrentUser`` (401 without a valid bearer token), ``AdminUser`` (403 without the admin role), ``LicensedUser``
(403 without the ``erp`` licence), ``TOKEN_URL``, ``JobSender`` and ``send_job`` (hand a queued job to the workers).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Annotated, TypeVar

import anyio.to_thread
from fastapi import Depends, HTTPException, Request, status
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy.orm import Session
from starlette.datastructures import State

from erpsync import accounts, sign_ins
from erpsync.crypto import Cipher
from erpsync.settings import Settings
from erpsync.sign_ins import SignInCache
from erpsync.storage.db import QUICK_THREADS, Database
from erpsync.storage.tables import User, utcnow
from erpsync.sync.connectors import ConnectorClients

TOKEN_URL = "/api/v1/auth/token"

_bearer = OAuth2PasswordBearer(tokenUrl=TOKEN_URL, auto_error=False)
BearerToken = Annotated[str | None, Depends(_bearer)]
"""The request's bearer token, None without one."""

T = TypeVar("T")

# The dependencies that only read the app's state or check a user already read are ``async``: FastAPI runs a
# synchronous dependency in the request thread pool, and under load each one would queue there behind slow requests.


async def run_quick(request: Request, function: Callable[..., T], *args: object) -> T:
    """``function(*args)`` in a thread of the quick pool (``storage.db.QUICK_THREADS``), not the request pool: for the
    short reads every request starts with, so a cheap request never waits for the threads slow ones hold."""
    limiter: anyio.CapacityLimiter | None = getattr(request.app.state, "quick_limiter", None)
    if limiter is None:  # made in the event loop (no await since the check), once per app
        limiter = request.app.state.quick_limiter = anyio.CapacityLimiter(QUICK_THREADS)
    return await anyio.to_thread.run_sync(function, *args, limiter=limiter)


async def get_database(request: Request) -> Database:
    database: Database = request.app.state.database
    return database


async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_cipher(request: Request) -> Cipher:
    cipher: Cipher = request.app.state.cipher
    return cipher


async def get_clients(request: Request) -> ConnectorClients:
    clients: ConnectorClients = request.app.state.clients
    return clients


JobSender = Callable[[int], None]
"""Hands a job just queued (or requeued) to whoever runs jobs; the composition root puts it on ``app.state``."""


def send_job(state: State, job_id: int) -> None:
    sender: JobSender = state.send_job
    sender(job_id)


DatabaseDep = Annotated[Database, Depends(get_database)]
ClientsDep = Annotated[ConnectorClients, Depends(get_clients)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
CipherDep = Annotated[Cipher, Depends(get_cipher)]


_READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


async def get_session(request: Request, database: DatabaseDep) -> AsyncIterator[Session]:
    """One session per request, begun when first used; what the handler did not commit is rolled back.

    A GET reads: its session is read-only (on SQLite a WAL reader that neither waits for nor blocks the writer).
    Other methods get a write session; the use cases end it before they wait on a connector. Making it touches no
    database; closing it (which may roll back) runs in the quick pool.
    """
    factory = database.read_sessions if request.method in _READ_METHODS else database.sessions
    session = factory()
    try:
        yield session
    finally:
        with anyio.CancelScope(shield=True):  # a request cancelled (client gone) still hands its connection back
            await run_quick(request, session.close)


SessionDep = Annotated[Session, Depends(get_session)]


def _unauthenticated(message: str) -> HTTPException:
    return HTTPException(status.HTTP_401_UNAUTHORIZED, detail=message, headers={"WWW-Authenticate": "Bearer"})


def _user_for_token(database: Database, token: str, kept: SignInCache) -> User | None:
    since = sign_ins.generation()  # taken before reading: a change committed meanwhile keeps this read out of the cache
    with database.read_session() as session:
        holder = accounts.token_holder(session, token)
        if holder is None:
            return None
        user, expires_at = holder
        session.expunge(user)  # a plain value from here on; handlers read it, services look it up again to change it
    kept.keep(token, user, seconds_left=(expires_at - utcnow()).total_seconds(), since=since)
    return user


async def get_current_user(request: Request, database: DatabaseDep, token: BearerToken) -> User:
    """The token's user: kept a few seconds per process (``erpsync.sign_ins``), so a busy hub answers who calls in
    the event loop with no thread and no database; otherwise read in a short read-only transaction of its own in the
    quick pool (``run_quick``): asking who calls never waits for, holds or blocks a write lock, nor queues behind slow
    requests for a thread."""
    if not token:
        raise _unauthenticated("not authenticated: send a bearer token from POST /api/v1/auth/token")
    kept: SignInCache = request.app.state.sign_ins
    user = kept.user(token) or await run_quick(request, _user_for_token, database, token, kept)
    if user is None:
        raise _unauthenticated("invalid or expired token")
    return user


CurrentUser = Annotated[User, Depends(get_current_user)]


async def get_admin_user(user: CurrentUser) -> User:
    if not user.is_admin:
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail="this needs the administrator role")
    return user


async def get_licensed_user(user: CurrentUser) -> User:
    if not accounts.has_licence(user, accounts.Licence.ERP):
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail="this needs the ERP licence")
    return user


AdminUser = Annotated[User, Depends(get_admin_user)]
LicensedUser = Annotated[User, Depends(get_licensed_user)]
