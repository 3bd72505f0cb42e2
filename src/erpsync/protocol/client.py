"""The hub's client for connector protocol v1: signing, timeouts, retries, rate limits, batching, typed errors.

Every failure raises a type from ``erpsync.errors``; a returned response always has ``ok: true``. Requests are built,
answers read into typed errors and batches merged in ``erpsync.protocol.wire``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar, cast

import httpx

from erpsync.errors import (
    ConnectorError,
    ErpsyncError,
    RateLimitError,
    TransientError,
    UnknownConnectionError,
)
from erpsync.protocol import language, pacing, wire
from erpsync.protocol import models as m
from erpsync.protocol.pacing import Backoff, MinInterval
from erpsync.protocol.signing import (
    V1,
    V2,
    dual_signed_headers,
    signed_headers,
    signed_headers_v2,
)
from erpsync.protocol.watch import DEFAULT_LIMIT, MAX_WAIT_SECONDS, WatchRequest, WatchResponse, client_timeout

logger = logging.getLogger(__name__)

ResponseT = TypeVar("ResponseT", bound=m.Envelope)
ActorTypeArg = m.ActorType | str
UnknownConnectionCallback = Callable[[str], None]
"""Called with a connection id the connector does not know; it should send ``save_connection`` again."""


class CallGuard(Protocol):
    """Wraps each request a client sends (``send``), e.g. to bound concurrency or to fail fast while a connector is
    down; it returns what ``send`` returns or raises an ``erpsync.errors`` type."""

    def __call__(self, operation: str, send: Callable[[], dict[str, Any]], *, interactive: bool) -> dict[str, Any]: ...


def _unguarded(operation: str, send: Callable[[], dict[str, Any]], *, interactive: bool) -> dict[str, Any]:
    return send()


class ConnectorClient:
    """Calls one connector; one typed method per protocol operation, keyword arguments only."""

    def __init__(
        self,
        base_url: str,
        secret: str,
        *,
        timeout: float = 10.0,
        max_retries: int = 4,
        backoff: Backoff | None = None,
        on_unknown_connection: UnknownConnectionCallback | None = None,
        transport: httpx.BaseTransport | None = None,
        signing: Collection[str] = (),
    ) -> None:
        """``signing``: the versions the connector declared when it was registered (``declared_signing`` of its stored
        info). With ``"2"`` among them every request, ``info`` included, is signed v2 only and a connector that now
        declares less is refused: no downgrade. Otherwise the first ``info`` carries both signatures and the client
        signs as that answer declares (v2 when offered, else v1)."""
        self._secret = secret
        self._pinned_v2 = V2 in signing
        self._signing: str | None = V2 if self._pinned_v2 else None
        self._timeout = timeout
        self._max_retries = max_retries
        self._backoff = backoff or Backoff()
        self._on_unknown_connection = on_unknown_connection
        self._transport = transport
        self._http = httpx.Client(base_url=base_url.rstrip("/"), timeout=timeout, transport=transport)
        self._limiter = MinInterval()
        self._info: m.InfoResponse | None = None
        self._info_lock = threading.Lock()
        self.guard: CallGuard = _unguarded

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> ConnectorClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # --- connector-level ------------------------------------------------------------------------------------------

    def info(self) -> m.InfoResponse:
        """The connector's self-description, fetched once; refuses a connector that speaks another protocol."""
        budget = pacing.budget()
        if not self._info_lock.acquire(timeout=-1 if budget is None else budget):
            raise TransientError("the connector did not answer info in time")
        try:
            if self._info is not None:
                return self._info
            info = self._exchange("info", m.EmptyRequest(), m.InfoResponse)
            if info.protocol_version != m.PROTOCOL_VERSION:
                raise ConnectorError(
                    f"connector {info.name} speaks protocol {info.protocol_version}, "
                    f"this hub speaks {m.PROTOCOL_VERSION}"
                )
            self._adopt(info)
            return info
        finally:
            self._info_lock.release()

    def _adopt(self, info: m.InfoResponse) -> None:
        """Sign and pace as the connector's ``info`` declares, and keep it."""
        self._signing = self._negotiated_signing(info)
        self._limiter = MinInterval(info.capabilities.rate_limit_per_second)
        self._info = info

    def refresh_info(self) -> m.InfoResponse:
        """``info`` read again: a connector's languages may follow the ERPs of its connections (docs/protocol.md,
        *Language*), so the hub reads it afresh before it reads a connection's labels in each language."""
        with self._info_lock:
            self._info = None
        return self.info()

    def _negotiated_signing(self, info: m.InfoResponse) -> str:
        declared = info.capabilities.signing
        if V2 in declared:
            return V2
        if self._pinned_v2:
            raise ConnectorError(
                f"connector {info.name} declared signing v2 when it was registered but now declares only "
                f"{', '.join(declared)}; the hub does not downgrade its signatures"
            )
        if V1 in declared:
            return V1
        raise ConnectorError(f"connector {info.name} declares no signing version this hub speaks: {declared}")

    @property
    def signing(self) -> str | None:
        """The signing version in use: ``"2"`` or ``"1"``, None until ``info`` answered (unless pinned to v2)."""
        return self._signing

    @property
    def capabilities(self) -> m.Capabilities:
        return self.info().capabilities

    def config_fields(self) -> m.FieldsResponse:
        return self._call("config_fields", m.FieldsResponse)

    def test_config(self, *, config: m.Config) -> m.Envelope:
        return self._call("test_config", m.Envelope, config=config)

    # --- connections ----------------------------------------------------------------------------------------------

    def save_connection(self, *, connection_id: str, config: m.Config) -> m.Envelope:
        return self._call("save_connection", m.Envelope, connection_id=connection_id, config=config)

    def test_connection(self, *, connection_id: str) -> m.Envelope:
        return self._call("test_connection", m.Envelope, connection_id=connection_id)

    def delete_connection(self, *, connection_id: str) -> m.Envelope:
        return self._call("delete_connection", m.Envelope, connection_id=connection_id)

    def actor_types(self, *, connection_id: str) -> m.ActorTypesResponse:
        return self._call("actor_types", m.ActorTypesResponse, connection_id=connection_id)

    def actor_fields(self, *, connection_id: str, actor_type: ActorTypeArg) -> m.FieldsResponse:
        return self._call("actor_fields", m.FieldsResponse, connection_id=connection_id, actor_type=actor_type)

    def searchable_fields(self, *, connection_id: str, actor_type: ActorTypeArg) -> m.SearchableFieldsResponse:
        return self._call(
            "searchable_fields", m.SearchableFieldsResponse, connection_id=connection_id, actor_type=actor_type
        )

    def list_items(
        self, *, connection_id: str, list_name: str, keys: Sequence[str] | None = None
    ) -> m.ListItemsResponse:
        return self._call(
            "list_items",
            m.ListItemsResponse,
            connection_id=connection_id,
            list_name=list_name,
            keys=None if keys is None else list(keys),
        )

    # --- actors ---------------------------------------------------------------------------------------------------

    def get_actors(
        self, *, connection_id: str, actor_type: ActorTypeArg, erp_keys: Sequence[str], field_keys: Sequence[str]
    ) -> m.GetActorsResponse:
        """Read actors by key in batches of the connector's ``get_batch_size``; keys it lacks come in ``not_found``."""
        pages = [
            self._call(
                "get_actors",
                m.GetActorsResponse,
                connection_id=connection_id,
                actor_type=actor_type,
                erp_keys=batch,
                field_keys=list(field_keys),
            )
            for batch in wire.batches(erp_keys, self.capabilities.get_batch_size)
        ]
        return m.GetActorsResponse(
            **wire.merged_envelope(pages),
            actors=[actor for page in pages for actor in page.actors],
            not_found=[key for page in pages for key in page.not_found],
        )

    def search_actors(
        self, *, connection_id: str, actor_type: ActorTypeArg, text: str, field_keys: Sequence[str], limit: int = 50
    ) -> m.ActorsResponse:
        return self._call(
            "search_actors",
            m.ActorsResponse,
            connection_id=connection_id,
            actor_type=actor_type,
            text=text,
            field_keys=list(field_keys),
            limit=limit,
        )

    def search_by_parent(
        self,
        *,
        connection_id: str,
        actor_type: ActorTypeArg,
        parent_type: ActorTypeArg,
        parent_key: str,
        field_keys: Sequence[str],
        text: str = "",
        limit: int = 50,
    ) -> m.ActorsResponse:
        return self._call(
            "search_by_parent",
            m.ActorsResponse,
            connection_id=connection_id,
            actor_type=actor_type,
            parent_type=parent_type,
            parent_key=parent_key,
            field_keys=list(field_keys),
            text=text,
            limit=limit,
        )

    def search_advanced(
        self,
        *,
        connection_id: str,
        actor_type: ActorTypeArg,
        restrictions: Sequence[m.Restriction | Mapping[str, Any]],
        field_keys: Sequence[str],
        limit: int = 50,
    ) -> m.ActorsResponse:
        return self._call(
            "search_advanced",
            m.ActorsResponse,
            connection_id=connection_id,
            actor_type=actor_type,
            restrictions=list(restrictions),
            field_keys=list(field_keys),
            limit=limit,
        )

    def changes(
        self,
        *,
        connection_id: str,
        actor_type: ActorTypeArg,
        since: str | None,
        field_keys: Sequence[str],
        cursor: str | None = None,
        limit: int | None = None,
    ) -> m.ChangesResponse:
        """One page of actors changed at or after ``since``; ``limit`` defaults to the connector's page size."""
        return self._call(
            "changes",
            m.ChangesResponse,
            connection_id=connection_id,
            actor_type=actor_type,
            since=since,
            field_keys=list(field_keys),
            cursor=cursor,
            limit=limit or self.capabilities.max_page_size,
        )

    def iter_changes(
        self,
        *,
        connection_id: str,
        actor_type: ActorTypeArg,
        since: str | None,
        field_keys: Sequence[str],
        limit: int | None = None,
    ) -> Iterator[m.ChangesResponse]:
        """Every page of ``changes``, following ``next_cursor``; the last page carries ``next_since``."""
        cursor: str | None = None
        seen: set[str] = set()
        while True:
            page = self.changes(
                connection_id=connection_id,
                actor_type=actor_type,
                since=since,
                field_keys=field_keys,
                cursor=cursor,
                limit=limit,
            )
            yield page
            if page.next_cursor is None:
                return
            if page.next_cursor in seen:
                raise ConnectorError(f"connector returned cursor {page.next_cursor!r} twice: its paging loops")
            seen.add(page.next_cursor)
            cursor = page.next_cursor

    def create_actor(self, *, connection_id: str, actor: m.Actor, idempotency_key: str) -> m.ActorResponse:
        """Create ``actor``; calling again with the same ``idempotency_key`` returns the same actor, never a second."""
        return self._call(
            "create_actor", m.ActorResponse, connection_id=connection_id, actor=actor, idempotency_key=idempotency_key
        )

    def save_actors(self, *, connection_id: str, actors: Sequence[m.Actor]) -> m.SaveActorsResponse:
        """Save in batches of the connector's ``save_batch_size``; error indexes refer to positions in ``actors``."""
        batch_size = self.capabilities.save_batch_size
        pages = [
            self._call("save_actors", m.SaveActorsResponse, connection_id=connection_id, actors=batch)
            for batch in wire.batches(actors, batch_size)
        ]
        errors = [
            wire.reindexed(error, offset=number * batch_size, batch_length=len(batch))
            for number, (page, batch) in enumerate(zip(pages, wire.batches(actors, batch_size), strict=True))
            for error in page.errors
        ]
        return m.SaveActorsResponse(
            **wire.merged_envelope(pages), actors=[actor for page in pages for actor in page.actors], errors=errors
        )

    def call(self, operation: str, response_type: type[ResponseT], **members: Any) -> ResponseT:
        """Any operation by name, e.g. the documents operations (``protocol/document_calls.py`` types them)."""
        return self._call(operation, response_type, **members)

    def watch(
        self,
        *,
        connection_id: str,
        actor_types: Sequence[ActorTypeArg],
        since: str | None,
        wait_seconds: float = MAX_WAIT_SECONDS,
        limit: int = DEFAULT_LIMIT,
    ) -> WatchResponse:
        """One long poll, through the guard and sent once: the caller backs off and asks again."""
        self.info()
        members = {"actor_types": list(actor_types), "since": since, "wait_seconds": wait_seconds, "limit": limit}
        request = wire.request("watch", connection_id=connection_id, **members)
        body, timeout = request.model_dump_json().encode(), client_timeout(cast(WatchRequest, request))
        document = self.guard("watch", lambda: self._send("watch", body, timeout=timeout), interactive=False)
        return wire.validated("watch", document, WatchResponse)

    # --- the exchange ---------------------------------------------------------------------------------------------

    def _call(self, operation: str, response_type: type[ResponseT], **members: Any) -> ResponseT:
        return wire.validated(operation, self.document(operation, **members), response_type)

    def document(self, operation: str, **members: Any) -> dict[str, Any]:
        """An operation's answer as its JSON document, the way every call gets it (the request built and validated,
        signed, sent and retried through the guard, the envelope read into its typed error, the connection resent
        once if the connector forgot it) but not yet read as the operation's response model: the caller does that
        with ``wire.validated`` where the document is used (an import's pages are fetched in a process of their
        own)."""
        info = self.info()
        request = wire.request(operation, **members, **language.request_member(info.capabilities.languages))
        body = request.model_dump_json().encode()
        try:
            return self._send_with_retries(operation, body)
        except UnknownConnectionError:
            connection_id = members.get("connection_id")
            if self._on_unknown_connection is None or connection_id is None or operation == "save_connection":
                raise
            logger.info("connector forgot connection %s; sending it again", connection_id)
            self._on_unknown_connection(connection_id)
            return self._send_with_retries(operation, body)

    def spec(self) -> ClientSpec | None:
        """What builds this client again in another process (address, secret, timeouts, retries, the ``info`` read),
        without its guard or its answer to a forgotten connection; None with a transport of its own (tests)."""
        if self._transport is not None:
            return None
        return ClientSpec(
            str(self._http.base_url),
            self._secret,
            self._timeout,
            self._max_retries,
            self._backoff,
            self.info(),
        )

    def _exchange(self, operation: str, request: m.Request, response_type: type[ResponseT]) -> ResponseT:
        document = self._send_with_retries(operation, request.model_dump_json().encode())
        return wire.validated(operation, document, response_type)

    def _send_with_retries(self, operation: str, body: bytes) -> dict[str, Any]:
        """The operation through the guard, as a whole: its retries are one call to the guard, so a circuit breaker
        counts operations that failed after their retries, not attempts."""
        ends = pacing.deadline()
        return self.guard(operation, lambda: self._retried(operation, body, ends), interactive=bool(ends))

    def _retried(self, operation: str, body: bytes, deadline: float | None) -> dict[str, Any]:
        attempt, waited = 0, 0.0
        while True:
            try:
                return self._send(operation, body, deadline)
            except (TransientError, RateLimitError) as error:
                delay = self._delay_before_retry(error, attempt)
                late = deadline is not None and time.monotonic() + delay >= deadline
                if attempt >= self._max_retries or waited + delay > self._backoff.budget or late:
                    raise
                attempt, waited = attempt + 1, waited + delay
                logger.warning("%s failed (%s: %s); retry %d in %.2fs", operation, error.code, error, attempt, delay)
                time.sleep(delay)

    def _delay_before_retry(self, error: ErpsyncError, attempt: int) -> float:
        """The connector's Retry-After when it gave one, else exponential backoff."""
        if isinstance(error, RateLimitError) and error.retry_after is not None:
            return error.retry_after
        return self._backoff.delay(attempt)

    def _send(
        self, operation: str, body: bytes, deadline: float | None = None, *, timeout: float | None = None
    ) -> dict[str, Any]:
        """One signed POST, within ``deadline`` (a ``time.monotonic()`` value) when given, or ``timeout`` seconds;
        the answer's JSON when ``ok``, else the typed error."""
        self._limiter.wait()
        timeout = timeout or (self._timeout if deadline is None else min(self._timeout, deadline - time.monotonic()))
        if timeout <= 0:
            raise TransientError(f"the connector did not answer {operation} in time")
        headers = {"Content-Type": "application/json", **self._signed(operation, body)}
        try:
            response = self._http.post(f"/v1/{operation}", content=body, headers=headers, timeout=timeout)
        except httpx.TimeoutException:
            raise TransientError(f"the connector did not answer {operation} within {timeout:g} seconds") from None
        except httpx.TransportError as error:
            raise TransientError(f"could not reach the connector: {error}") from None
        return wire.answer(operation, response)

    def _signed(self, operation: str, body: bytes) -> dict[str, str]:
        """Fresh signature headers (a new nonce on every attempt, retries included)."""
        path = f"/v1/{operation}"
        if self._signing == V2:
            return signed_headers_v2(self._secret, body, path=path)
        if self._signing == V1:
            return signed_headers(self._secret, body)
        # Versions unknown: only the first ``info`` gets here, because every other call asks ``info`` first.
        return dual_signed_headers(self._secret, body, path=path)


@dataclass(frozen=True)
class ClientSpec:
    """A ``ConnectorClient`` as plain data (``ConnectorClient.spec``): ``build`` makes it again, in another process.
    Carries the connector's secret: it goes to a child process through a pipe, never to a log or a command line."""

    base_url: str
    secret: str = field(repr=False)
    timeout: float
    max_retries: int
    backoff: Backoff
    info: m.InfoResponse

    def build(self) -> ConnectorClient:
        """The client, with the connector's ``info`` as read already (so the same signing and rate limit, and no
        ``info`` call of its own)."""
        client = ConnectorClient(
            self.base_url,
            self.secret,
            timeout=self.timeout,
            max_retries=self.max_retries,
            backoff=self.backoff,
            signing=self.info.capabilities.signing,
        )
        client._adopt(self.info)
        return client

    @property
    def longest_call_seconds(self) -> float:
        """How long one call of the built client may take at most, its retries and their waits included."""
        return self.timeout * (self.max_retries + 1) + self.backoff.budget


def declared_signing(info_json: Mapping[str, Any]) -> tuple[str, ...]:
    """The signing versions in a stored ``info`` answer (``capabilities.signing``); () when it names none."""
    capabilities = info_json.get("capabilities")
    declared = capabilities.get("signing") if isinstance(capabilities, Mapping) else None
    if not isinstance(declared, list):
        return ()
    return tuple(version for version in declared if isinstance(version, str))
