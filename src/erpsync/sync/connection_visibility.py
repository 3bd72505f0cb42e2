"""Who sees which ERP connection (SPEC §4 step 5, *Visibility*): everyone, or the users and groups named; administrators
see every connection. A connection hidden from a user is "not found" for them, and is not named where the CRM shows
who changed a record.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from erpsync import accounts
from erpsync.errors import NotFoundError, ValidationError
from erpsync.storage.tables import ConnectionGroup, ConnectionUser, ErpConnection, Group, User


@dataclass(frozen=True)
class Visibility:
    everyone: bool = True
    users: tuple[int, ...] = ()
    groups: tuple[int, ...] = ()


def set_visibility(session: Session, connection: ErpConnection, visibility: Visibility) -> None:
    users = set(visibility.users)
    groups = set(visibility.groups)
    _check_ids(session, User, users, "user")
    _check_ids(session, Group, groups, "group")
    connection.everyone = visibility.everyone
    session.execute(delete(ConnectionUser).where(ConnectionUser.connection_id == connection.id))
    session.execute(delete(ConnectionGroup).where(ConnectionGroup.connection_id == connection.id))
    if not visibility.everyone:
        session.add_all(ConnectionUser(connection_id=connection.id, user_id=user_id) for user_id in sorted(users))
        session.add_all(ConnectionGroup(connection_id=connection.id, group_id=group_id) for group_id in sorted(groups))


def _check_ids(session: Session, table: type[User] | type[Group], ids: set[int], what: str) -> None:
    if not ids:
        return
    found = set(session.scalars(select(table.id).where(table.id.in_(ids))))
    if missing := sorted(ids - found):
        ids_named = "id" if len(missing) == 1 else "ids"
        raise ValidationError(f"visibility names unknown {what} {ids_named}: {', '.join(map(str, missing))}")


def visibility_of(session: Session, connection: ErpConnection) -> Visibility:
    users = session.scalars(select(ConnectionUser.user_id).where(ConnectionUser.connection_id == connection.id))
    groups = session.scalars(select(ConnectionGroup.group_id).where(ConnectionGroup.connection_id == connection.id))
    return Visibility(everyone=connection.everyone, users=tuple(sorted(users)), groups=tuple(sorted(groups)))


def _visible_clause(session: Session, user: User) -> object:
    group_ids = accounts.group_ids_of(session, user)
    return or_(
        ErpConnection.everyone.is_(True),
        ErpConnection.id.in_(select(ConnectionUser.connection_id).where(ConnectionUser.user_id == user.id)),
        ErpConnection.id.in_(select(ConnectionGroup.connection_id).where(ConnectionGroup.group_id.in_(group_ids))),
    )


def visible_connections(
    session: Session, user: User, *, deleted: bool = False, active_only: bool = False
) -> list[ErpConnection]:
    """Connections ``user`` may see, in sync-priority order; administrators see every one."""
    query = select(ErpConnection).order_by(ErpConnection.priority, ErpConnection.id)
    query = query.where(ErpConnection.deleted_at.is_not(None) if deleted else ErpConnection.deleted_at.is_(None))
    if active_only:
        query = query.where(ErpConnection.active.is_(True))
    if not user.is_admin:
        query = query.where(_visible_clause(session, user))  # type: ignore[arg-type]
    return list(session.scalars(query))


class OriginView:
    """A CRM record's ``changed_by`` as ``user`` may see it: a connection hidden from them is not named.

    ``sync:<id>`` of a connection the user cannot see (no ERP licence, or outside its users and groups) reads
    ``sync``; ``import-undo:<job id>`` reads ``import-undo`` for everyone but administrators (imports are theirs).
    Administrators see every tag as stored.
    """

    def __init__(self, session: Session, user: User) -> None:
        self._everything = user.is_admin
        licensed = accounts.has_licence(user, accounts.Licence.ERP)
        seen = visible_connections(session, user) if licensed and not user.is_admin else []
        self._visible = frozenset(connection.id for connection in seen)

    def __call__(self, changed_by: str) -> str:
        if self._everything:
            return changed_by
        kind, _, ident = changed_by.partition(":")
        if kind == "sync" and ident.isdigit() and int(ident) in self._visible:
            return changed_by
        return kind if kind in ("sync", "import-undo") else changed_by


def hidden_connection_names(session: Session, user: User) -> frozenset[str]:
    """The names of live connections ``user`` cannot see (none for administrators)."""
    if user.is_admin:
        return frozenset()
    licensed = accounts.has_licence(user, accounts.Licence.ERP)
    visible = {connection.id for connection in visible_connections(session, user)} if licensed else set()
    live = session.execute(select(ErpConnection.id, ErpConnection.name).where(ErpConnection.deleted_at.is_(None)))
    return frozenset(name for connection_id, name in live if connection_id not in visible)


def get_connection(session: Session, connection_id: int, *, user: User | None) -> ErpConnection:
    """The connection if ``user`` may see it (None: the command line, which sees every connection); otherwise 'not
    found', so its existence is not disclosed."""
    connection = session.get(ErpConnection, connection_id)
    if connection is None or (user is not None and not can_see(session, user, connection)):
        raise NotFoundError(f"no ERP connection with id {connection_id}")
    return connection


def can_see(session: Session, user: User, connection: ErpConnection) -> bool:
    if user.is_admin:
        return True
    if connection.deleted_at is not None:
        return False
    query = select(ErpConnection.id).where(ErpConnection.id == connection.id, _visible_clause(session, user))  # type: ignore[arg-type]
    return session.scalar(query) is not None
