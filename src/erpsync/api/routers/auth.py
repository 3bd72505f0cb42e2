"""``POST /auth/token`` (OAuth2 password form -> bearer token) and ``GET /me``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, status
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import BaseModel

from erpsync import accounts, logins
from erpsync.api.schemas import UserPublic, user_public
from erpsync.http.deps import CurrentUser, SessionDep
from erpsync.http.rate_limit import ClientAddress, LoginLimiterDep, too_many_attempts

router = APIRouter(tags=["auth"])


class Token(BaseModel):
    access_token: str
    token_type: str = "bearer"


@router.post("/auth/token")
def issue_token(
    session: SessionDep,
    limiter: LoginLimiterDep,
    address: ClientAddress,
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
) -> Token:
    try:
        token = logins.issue_token(session, limiter, login=form.username, password=form.password, address=address)
    except accounts.LoginThrottledError as exc:
        raise too_many_attempts(exc) from exc
    except accounts.LoginFailedError as exc:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED, detail=exc.user_message, headers={"WWW-Authenticate": "Bearer"}
        ) from exc
    return Token(access_token=token)


@router.get("/me")
def me(user: CurrentUser) -> UserPublic:
    return user_public(user)
