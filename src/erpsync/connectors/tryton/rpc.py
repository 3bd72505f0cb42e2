"""A small JSON-RPC client for Tryton: login, session auth, typed values, and Tryton's errors as erpsync errors."""

from __future__ import annotations

import base64
import datetime as dt
import threading
from decimal import Decimal
from types import TracebackType
from typing import Any

import httpx

from erpsync.connectors.tryton.texts import TEXTS
from erpsync.errors import AuthError, ConflictError, ConnectorError, ErpsyncError, TransientError, ValidationError

Context = dict[str, Any]
Domain = list[Any]


class NotTrytonError(ValidationError):
    """The URL answers, but not as a Tryton server."""


class UnknownDatabaseError(ValidationError):
    """The Tryton server has no database of that name."""


class UnauthorizedError(AuthError):
    """HTTP 401: a wrong password at login, or a session Tryton no longer knows (expired, logged out, restarted)."""


def encode(value: Any) -> Any:
    """A Python value as Tryton's JSON: dates, datetimes and decimals become ``{"__class__": ...}`` objects."""
    if isinstance(value, dt.datetime):
        parts = ("year", "month", "day", "hour", "minute", "second", "microsecond")
        return {"__class__": "datetime", **{part: getattr(value, part) for part in parts}}
    if isinstance(value, dt.date):
        return {"__class__": "date", "year": value.year, "month": value.month, "day": value.day}
    if isinstance(value, Decimal):
        return {"__class__": "Decimal", "decimal": str(value)}
    if isinstance(value, dict):
        return {key: encode(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [encode(item) for item in value]
    return value


def decode(value: Any) -> Any:
    """Tryton's JSON as Python values (the inverse of ``encode``; datetimes are naive UTC)."""
    if isinstance(value, list):
        return [decode(item) for item in value]
    if not isinstance(value, dict):
        return value
    decoder = _DECODERS.get(value.get("__class__", ""))
    if decoder is not None:
        return decoder(value)
    return {key: decode(item) for key, item in value.items()}


def _decode_datetime(value: dict[str, Any]) -> dt.datetime:
    year, month, day = value["year"], value["month"], value["day"]
    time = (value.get(part, 0) for part in ("hour", "minute", "second", "microsecond"))
    return dt.datetime(year, month, day, *time)


_DECODERS: dict[str, Any] = {
    "datetime": _decode_datetime,
    "date": lambda value: dt.date(value["year"], value["month"], value["day"]),
    "time": lambda value: dt.time(value["hour"], value["minute"], value["second"], value.get("microsecond", 0)),
    "timedelta": lambda value: dt.timedelta(seconds=value["seconds"]),
    "Decimal": lambda value: Decimal(value["decimal"]),
    "bytes": lambda value: base64.b64decode(value["base64"]),
}


class TrytonRpc:
    """One user's session on one Tryton database, shared by threads; a session Tryton forgot is renewed once.

    Renewing is safe for every call, creates included: Tryton answers 401 before it runs the method.
    """

    def __init__(self, url: str, database: str, *, timeout: float = 30.0) -> None:
        self.url = url.rstrip("/")
        self.database = database
        self.user_id = 0
        self.context: Context = {}
        self._http = httpx.Client(timeout=timeout)
        self._credentials: tuple[str, str] | None = None
        self._login_lock = threading.Lock()

    def __enter__(self) -> TrytonRpc:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    @staticmethod
    def server_version(url: str, *, timeout: float = 5.0) -> str:
        """Tryton's version, or ``NotTrytonError``/``TransientError``; proves the URL is a Tryton server."""
        with httpx.Client(timeout=timeout) as http:
            try:
                version = _post(http, f"{url.rstrip('/')}/rpc/", "common.server.version", [])
            except (AuthError, ConnectorError) as error:  # a Tryton server answers this call to anyone
                raise NotTrytonError(str(error), tech_message=error.tech_message) from error
        if not isinstance(version, str):
            raise NotTrytonError(
                TEXTS.text("the URL does not answer as a Tryton server"), tech_message=f"version {version!r}"
            )
        return version

    def login(self, user: str, password: str) -> None:
        """Open a session; the user's preferences (company, language) become the default context."""
        with self._login_lock:
            self._login(user, password)

    def _login(self, user: str, password: str) -> None:
        try:
            answer = self._send("common.db.login", [user, {"password": password}, "en"])
        except NotTrytonError as error:
            raise UnknownDatabaseError(
                TEXTS.text("Tryton has no database named {database}", database=repr(self.database)),
                tech_message=error.tech_message,
            ) from error
        if not isinstance(answer, list) or len(answer) < 2:
            raise AuthError(
                TEXTS.text("Tryton refused the user name or password"), tech_message=f"login answered {answer!r}"
            )
        self.user_id, session = int(answer[0]), str(answer[1])
        token = base64.b64encode(f"{user}:{self.user_id}:{session}".encode()).decode()
        self._http.headers["Authorization"] = f"Session {token}"
        self._credentials = (user, password)
        self.context = self._send("model.res.user.get_preferences", [True, {}])

    def call(self, method: str, params: list[Any]) -> Any:
        authorization = self._http.headers.get("Authorization")
        try:
            return self._send(method, params)
        except UnauthorizedError:
            if self._credentials is None:
                raise
        self._renew(authorization)
        return self._send(method, params)

    def _renew(self, refused: str | None) -> None:
        """Log in again, unless another thread already replaced the session Tryton refused."""
        with self._login_lock:
            if self._credentials is not None and self._http.headers.get("Authorization") == refused:
                self._login(*self._credentials)

    def _send(self, method: str, params: list[Any]) -> Any:
        return decode(_post(self._http, f"{self.url}/{self.database}/rpc/", method, encode(params)))

    def model(self, model: str, method: str, *args: Any, context: Context | None = None) -> Any:
        """Call ``model.<model>.<method>`` with the session's context, updated by ``context``."""
        return self.call(f"model.{model}.{method}", [*args, {**self.context, **(context or {})}])

    def create(self, model: str, values: list[dict[str, Any]], *, context: Context | None = None) -> list[int]:
        ids: list[int] = self.model(model, "create", values, context=context)
        return ids

    def write(self, model: str, ids: list[int], values: dict[str, Any], *, context: Context | None = None) -> None:
        self.model(model, "write", ids, values, context=context)

    def read(
        self, model: str, ids: list[int], fields: list[str], *, context: Context | None = None
    ) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = self.model(model, "read", ids, fields, context=context)
        return rows

    def search(
        self,
        model: str,
        domain: Domain,
        *,
        limit: int | None = None,
        order: list[list[str]] | None = None,
        context: Context | None = None,
    ) -> list[int]:
        ids: list[int] = self.model(model, "search", domain, 0, limit, order, context=context)
        return ids

    def search_read(
        self,
        model: str,
        domain: Domain,
        fields: list[str],
        *,
        limit: int | None = None,
        order: list[list[str]] | None = None,
        context: Context | None = None,
    ) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = self.model(model, "search_read", domain, 0, limit, order, fields, context=context)
        return rows


def _post(http: httpx.Client, url: str, method: str, params: Any) -> Any:
    try:
        response = http.post(url, json={"id": 1, "method": method, "params": params})
    except httpx.TransportError as error:
        raise TransientError(TEXTS.text("cannot reach the Tryton server"), tech_message=f"{url}: {error!r}") from error
    return _answer(response, method)


def _answer(response: httpx.Response, method: str) -> Any:
    status = response.status_code
    if status == 401:
        raise UnauthorizedError(
            TEXTS.text("Tryton refused the user name or password"), tech_message=f"{method}: HTTP 401"
        )
    if status == 403:
        raise ConnectorError(TEXTS.text("Tryton refused the call"), tech_message=f"{method}: HTTP 403")
    if status in (429, 502, 503, 504):
        raise TransientError(
            TEXTS.text("the Tryton server is busy or restarting"), tech_message=f"{method}: HTTP {status}"
        )
    try:
        body = response.json()
    except ValueError:
        body = None
    if status != 200 or not isinstance(body, dict) or not ({"result", "error"} & body.keys()):
        raise NotTrytonError(
            TEXTS.text("the URL does not answer as a Tryton server"),
            tech_message=f"{method}: HTTP {status} {response.text[:200]!r}",
        )
    if body.get("error") is not None:
        raise tryton_error(body["error"], method)
    return body.get("result")


def tryton_error(error: Any, method: str) -> ErpsyncError:
    """The erpsync error for Tryton's ``error`` member: ``[kind, [message, description, ...]]`` or a string."""
    kind, args = (error[0], error[1]) if isinstance(error, list) and len(error) == 2 else (str(error), [])
    message = str(args[0]) if isinstance(args, list) and args else str(kind)
    tech = f"{method}: {kind}: {args!r}"[:2000]
    if kind in ("UserError", "UserWarning", "DomainValidationError", "RequiredValidationError"):
        return ValidationError(message, tech_message=tech)
    if kind == "ConcurrencyException":
        return ConflictError(TEXTS.text("the record was changed in Tryton since it was read"), tech_message=tech)
    if kind in ("AccessError", "LoginException"):
        return AuthError(TEXTS.text("Tryton refused access: {message}", message=message), tech_message=tech)
    if kind == "RateLimitException":
        return TransientError(TEXTS.text("Tryton is rate limiting logins"), tech_message=tech)
    return ConnectorError(TEXTS.text("Tryton failed to process the request"), tech_message=tech)
