"""Request and response bodies for users and groups (the CRM entities' ladder lives in ``erpsync.crm.schemas``).

Public names: ``UserCreate``, ``UserUpdate``, ``UserPublic``, ``user_public``, ``GroupCreate``, ``GroupUpdate``,
``GroupPublic``, ``group_public``.
"""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field

from erpsync import accounts
from erpsync.storage.tables import Group, User

_Login = Field(min_length=1, max_length=64)
_Password = Field(min_length=accounts.MIN_PASSWORD_LENGTH, max_length=1024)


class UserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    login: str = _Login
    name: str = Field(default="", max_length=255)
    password: str = _Password
    is_admin: bool = False
    licences: list[accounts.Licence] = []


class UserUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, max_length=255)
    password: str | None = Field(default=None, min_length=accounts.MIN_PASSWORD_LENGTH, max_length=1024)
    is_admin: bool | None = None
    licences: list[accounts.Licence] | None = None
    active: bool | None = None


class UserPublic(BaseModel):
    id: int
    login: str
    name: str
    is_admin: bool
    licences: list[accounts.Licence]
    active: bool
    created_at: dt.datetime


def user_public(user: User) -> UserPublic:
    return UserPublic(
        id=user.id,
        login=user.login,
        name=user.name,
        is_admin=user.is_admin,
        licences=sorted(accounts.licences_of(user)),
        active=user.active,
        created_at=user.created_at,
    )


class GroupCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=255)
    description: str = Field(default="", max_length=10_000)
    members: list[int] = []


class GroupUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=255)
    description: str | None = Field(default=None, max_length=10_000)
    members: list[int] | None = None


class GroupPublic(BaseModel):
    id: int
    name: str
    description: str
    members: list[int]


def group_public(group: Group) -> GroupPublic:
    return GroupPublic(
        id=group.id, name=group.name, description=group.description, members=[m.id for m in group.members]
    )
