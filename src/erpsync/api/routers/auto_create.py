"""Automatic creation (``sync.auto_config``, ``sync.auto_reviews``), for administrators:
``/connections/{id}/auto-create/{actor_type}`` (read and replace, audited), ``.../preview`` (what a setting would do to
today's data, nothing written), and the review list ``/connections/{id}/auto-reviews`` with its actions (link to a
candidate, create new, ignore). A bad setting answers 422 with every reason."""

from __future__ import annotations

from fastapi import APIRouter

from erpsync.api.auto_schemas import AutoPreviewsPublic, ReviewLinkBody
from erpsync.errors import NotFoundError
from erpsync.http.deps import AdminUser, ClientsDep, DatabaseDep, SessionDep
from erpsync.protocol import models as m
from erpsync.storage.tables import ErpConnection, User
from erpsync.sync import (
    auto_config,
    auto_reviews,
    configuration_loading,
    connection_visibility,
)
from erpsync.sync.auto_reviews import ReviewAction, ReviewView
from erpsync.sync.mapping import AutoCreate
from erpsync.sync.work import Engine

router = APIRouter(tags=["configuration"])

_AUTO = "/connections/{connection_id}/auto-create/{actor_type}"
_REVIEWS = "/connections/{connection_id}/auto-reviews"


def _connection(session: SessionDep, admin: User, connection_id: int, actor_type: str | None = None) -> ErpConnection:
    connection = connection_visibility.get_connection(session, connection_id, user=admin)
    if connection.deleted_at is not None:
        raise NotFoundError(f"connection {connection.name!r} is deleted: restore it to configure it")
    if actor_type is not None:
        configuration_loading.erp_fields_of(session, connection, actor_type)  # 404 for an actor type it has no part of
    return connection


@router.get(_AUTO)
def get_auto_create(session: SessionDep, admin: AdminUser, connection_id: int, actor_type: str) -> AutoCreate:
    connection = _connection(session, admin, connection_id, actor_type)
    return configuration_loading.mapping_of(session, connection, m.ActorType(actor_type)).auto_create


@router.put(_AUTO)
def put_auto_create(
    session: SessionDep, admin: AdminUser, connection_id: int, actor_type: str, body: AutoCreate
) -> AutoCreate:
    connection = _connection(session, admin, connection_id, actor_type)
    return auto_config.save_auto_create(session, connection, m.ActorType(actor_type), body, by=admin.id)


@router.post(_AUTO + "/preview")
def preview_auto_create(
    database: DatabaseDep,
    clients: ClientsDep,
    admin: AdminUser,
    connection_id: int,
    actor_type: m.ActorType,
    body: AutoCreate,
) -> AutoPreviewsPublic:
    """What ``body`` would do to today's data, nothing written. No request session: the preview reads in transactions
    of its own between its connector calls (administrators see every connection)."""
    shown = auto_config.preview(Engine(database, clients), connection_id, actor_type, body)
    return AutoPreviewsPublic.of(shown)


@router.get(_REVIEWS)
def list_reviews(
    session: SessionDep, admin: AdminUser, connection_id: int, status: str | None = "open"
) -> list[ReviewView]:
    """The review items of the connection: ``status`` open (the default), linked, created or ignored; empty: all."""
    _connection(session, admin, connection_id)
    return auto_reviews.list_reviews(session, connection_id, status=status or None)


@router.post(_REVIEWS + "/{review_id}/link")
def link_review(
    database: DatabaseDep,
    clients: ClientsDep,
    admin: AdminUser,
    connection_id: int,
    review_id: int,
    body: ReviewLinkBody,
) -> ReviewView:
    """Link the item's record to one of its candidates. No request session: the use case reads, calls the connector
    and writes in transactions of its own (administrators see every connection)."""
    engine, link = Engine(database, clients), ReviewAction.LINK
    return auto_reviews.decide(engine, connection_id, review_id, link, candidate=body.candidate, by=admin.id)


@router.post(_REVIEWS + "/{review_id}/create")
def create_review(
    database: DatabaseDep, clients: ClientsDep, admin: AdminUser, connection_id: int, review_id: int
) -> ReviewView:
    """Create the partner of the item's record on the other side, and link them."""
    return auto_reviews.decide(Engine(database, clients), connection_id, review_id, ReviewAction.CREATE, by=admin.id)


@router.post(_REVIEWS + "/{review_id}/ignore")
def ignore_review(session: SessionDep, admin: AdminUser, connection_id: int, review_id: int) -> ReviewView:
    _connection(session, admin, connection_id)
    return auto_reviews.ignore(session, connection_id, review_id, by=admin.id)
