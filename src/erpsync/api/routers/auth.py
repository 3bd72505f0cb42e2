"""``POST /auth/token`` (OAuth2 password form -> bearer token) and ``GET /me``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, status
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import BaseModel

from erpsync import accounts
from erpsync.api.deps import CurrentUser, SessionDep
from erpsync.api.rate_limit import limit_logins
from erpsync.api.schemas import UserPublic, user_public

router = APIRouter(tags=["auth"])


class Token(BaseModel):
    access_token: str
    token_type: str = "bearer"


@router.post("/auth/token", dependencies=[Depends(limit_logins)])
def issue_token(session: SessionDep, form: Annotated[OAuth2PasswordRequestForm, Depends()]) -> Token:
    try:
        user = accounts.authenticate(session, form.username, form.password)
    except (accounts.LoginFailedError, accounts.AccountLockedError) as exc:
        session.commit()  # keep the failure count, which is what makes the lockout work
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED, detail=exc.user_message, headers={"WWW-Authenticate": "Bearer"}
        ) from exc
    token = accounts.issue_token(session, user)
    session.commit()
    return Token(access_token=token)


@router.get("/me")
def me(user: CurrentUser) -> UserPublic:
    return user_public(user)
