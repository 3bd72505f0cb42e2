"""A small ERP kept in dicts, written as a real ``Connector``: what the SDK tests serve and drive."""

from __future__ import annotations

from collections import Counter

from erpsync.errors import AuthError, ErpsyncError, NotFoundError, ValidationError
from erpsync.protocol import models as m
from erpsync.sdk.connector import Connector

SECRET = "test-secret-that-is-long-enough-0123456789"
GOOD_CONFIG: m.Config = {"user": "admin", "password": "hunter2-password"}
CONNECTION_ID = "6f1c2a7e-0000-4000-8000-000000000001"
COUNTRIES = {"NO": "Norway", "DK": "Denmark", "SE": "Sweden"}


class DictErp(Connector):
    """An ERP of customers and persons in memory; ``failures`` makes an operation fail before it succeeds."""

    name = "dict-erp"
    version = "1.2.3"
    capabilities = m.Capabilities(
        get_batch_size=2, save_batch_size=2, max_page_size=2, create={m.ActorType.CUSTOMER: True}
    )

    def __init__(self) -> None:
        super().__init__()
        self.actors: dict[str, m.Actor] = {}
        self.deleted: dict[str, str] = {}  # erp_key -> when it was deleted
        self.created_by_idempotency_key: dict[str, str] = {}
        self.calls: Counter[str] = Counter()
        self.failures: dict[str, list[Exception]] = {}
        self._clock = 0

    # --- test helpers -------------------------------------------------------------------------------------------

    def add(self, actor_type: m.ActorType, key: str, parent_key: str | None = None, **fields: m.Value) -> m.Actor:
        actor = m.Actor(
            actor_type=actor_type,
            erp_key=key,
            last_modified=self._tick(),
            parent_type=m.ActorType.CUSTOMER if parent_key else None,
            parent_key=parent_key,
            fields=fields,
        )
        self.actors[key] = actor
        return actor

    def remove(self, key: str) -> None:
        del self.actors[key]
        self.deleted[key] = self._tick()

    def _tick(self) -> str:
        self._clock += 1
        return f"2024-01-01T00:00:{self._clock:02d}Z"

    def _enter(self, operation: str, connection_id: str | None = None) -> None:
        self.calls[operation] += 1
        pending = self.failures.get(operation)
        if pending:
            raise pending.pop(0)
        if connection_id is not None:
            self.config(connection_id)

    def _of_type(self, actor_type: m.ActorType) -> list[m.Actor]:
        return [actor for actor in self.actors.values() if actor.actor_type == actor_type]

    # --- the protocol -------------------------------------------------------------------------------------------

    def config_fields(self) -> m.FieldsResponse:
        self._enter("config_fields")
        return m.FieldsResponse(
            fields=[
                m.FieldMeta(key="user", label="User", type=m.FieldType.TEXT, access=m.Access.MANDATORY),
                m.FieldMeta(key="password", label="Password", type=m.FieldType.PASSWORD, access=m.Access.MANDATORY),
            ]
        )

    def test_config(self, request: m.TestConfigRequest) -> m.Envelope:
        self._enter("test_config")
        if request.config.get("user") != "admin" or request.config.get("password") != GOOD_CONFIG["password"]:
            raise AuthError("wrong user or password")
        return m.Envelope(state=m.State.OK_WITH_INFO, user_message="logged in")

    def actor_types(self, request: m.ConnectionRequest) -> m.ActorTypesResponse:
        self._enter("actor_types", request.connection_id)
        return m.ActorTypesResponse(actor_types=[m.ActorType.CUSTOMER, m.ActorType.PERSON])

    def actor_fields(self, request: m.ActorTypeRequest) -> m.FieldsResponse:
        self._enter("actor_fields", request.connection_id)
        return m.FieldsResponse(
            fields=[
                m.FieldMeta(key="name", label="Name", type=m.FieldType.TEXT, access=m.Access.MANDATORY, rank=1),
                m.FieldMeta(key="country", label="Country", type=m.FieldType.LIST, list_name="country", rank=2),
            ]
        )

    def searchable_fields(self, request: m.ActorTypeRequest) -> m.SearchableFieldsResponse:
        self._enter("searchable_fields", request.connection_id)
        return m.SearchableFieldsResponse(field_keys=["name", "country"])

    def get_actors(self, request: m.GetActorsRequest) -> m.GetActorsResponse:
        self._enter("get_actors", request.connection_id)
        found = [self.actors[key] for key in request.erp_keys if key in self.actors]
        missing = [key for key in request.erp_keys if key not in self.actors]
        return m.GetActorsResponse(actors=found, not_found=missing)

    def search_actors(self, request: m.SearchActorsRequest) -> m.ActorsResponse:
        self._enter("search_actors", request.connection_id)
        hits = [a for a in self._of_type(request.actor_type) if request.text.lower() in str(a.fields["name"]).lower()]
        return m.ActorsResponse(actors=hits[: request.limit])

    def search_by_parent(self, request: m.SearchByParentRequest) -> m.ActorsResponse:
        self._enter("search_by_parent", request.connection_id)
        children = [a for a in self._of_type(request.actor_type) if a.parent_key == request.parent_key]
        return m.ActorsResponse(actors=children[: request.limit])

    def search_advanced(self, request: m.SearchAdvancedRequest) -> m.ActorsResponse:
        self._enter("search_advanced", request.connection_id)
        hits = [a for a in self._of_type(request.actor_type) if all(_matches(a, r) for r in request.restrictions)]
        return m.ActorsResponse(actors=hits[: request.limit])

    def changes(self, request: m.ChangesRequest) -> m.ChangesResponse:
        self._enter("changes", request.connection_id)
        since = request.since or ""
        changed = sorted(
            (a for a in self._of_type(request.actor_type) if str(a.last_modified) >= since),
            key=lambda actor: (str(actor.last_modified), str(actor.erp_key)),
        )
        start = int(request.cursor or 0)
        page = changed[start : start + request.limit]
        if start + request.limit < len(changed):
            return m.ChangesResponse(actors=page, next_cursor=str(start + request.limit))
        deleted = [key for key, when in self.deleted.items() if when >= since]
        return m.ChangesResponse(actors=page, deleted=deleted, next_since=self._tick())

    def create_actor(self, request: m.CreateActorRequest) -> m.ActorResponse:
        self._enter("create_actor", request.connection_id)
        key = self.created_by_idempotency_key.get(request.idempotency_key)
        if key is None:
            key = f"C{len(self.actors) + 1:04d}"
            self.add(request.actor.actor_type, key, **request.actor.fields)
            self.created_by_idempotency_key[request.idempotency_key] = key
        return m.ActorResponse(actor=self.actors[key])

    def save_actors(self, request: m.SaveActorsRequest) -> m.SaveActorsResponse:
        self._enter("save_actors", request.connection_id)
        saved: list[m.Actor] = []
        errors: list[m.ActorError] = []
        for index, actor in enumerate(request.actors):
            try:
                saved.append(self._save(actor))
            except ErpsyncError as error:
                errors.append(
                    m.ActorError(erp_key=actor.erp_key, index=index, error_code=error.code, message=str(error))
                )
        return m.SaveActorsResponse(actors=saved, errors=errors)

    def _save(self, actor: m.Actor) -> m.Actor:
        if actor.erp_key not in self.actors:
            raise NotFoundError(f"no actor {actor.erp_key}")
        if actor.fields.get("name") == "":
            raise ValidationError("name must not be blank")
        current = self.actors[str(actor.erp_key)]
        return self.add(
            current.actor_type, str(actor.erp_key), current.parent_key, **{**current.fields, **actor.fields}
        )

    def list_items(self, request: m.ListItemsRequest) -> m.ListItemsResponse:
        self._enter("list_items", request.connection_id)
        if request.list_name != "country":
            raise NotFoundError(f"no list {request.list_name}")
        keys = request.keys if request.keys is not None else list(COUNTRIES)
        return m.ListItemsResponse(items=[m.ListItem(key=k, label=COUNTRIES[k]) for k in keys if k in COUNTRIES])


def _matches(actor: m.Actor, restriction: m.Restriction) -> bool:
    value = str(actor.fields.get(restriction.field, "")).lower()
    wanted = [str(v).lower() for v in restriction.values]
    if restriction.operator == m.Operator.EQ:
        return value == wanted[0]
    if restriction.operator == m.Operator.BEGINS:
        return value.startswith(wanted[0])
    if restriction.operator == m.Operator.ONE_OF:
        return value in wanted
    raise ValidationError(f"operator {restriction.operator} is not supported on {restriction.field}")
