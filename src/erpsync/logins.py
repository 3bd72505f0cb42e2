"""Signing in, for the API and the web pages alike: one rate limiter, the client's address, throttling, unlocking.

Public names: ``LoginLimiter`` (``LoginLimiter.from_settings(settings)``), ``client_address``, ``sign_in``,
``issue_token`` (the API's sign-in), ``start_web_session`` and ``end_web_session`` (the web UI's), ``unlock``,
``unlock_user``.

Three guards stand in front of a password check, each answering "try again in N seconds" (``LoginThrottledError``)
whether the login name exists or not:

- per client address, every attempt: ``ERPSYNC_LOGIN_LIMIT`` (default 20 a minute), so one address cannot try many
  names;
- per login name and address, failures only: an exponential delay kept in the database (``accounts``), so one
  address cannot guess one password, and the user signing in from elsewhere is not held up;
- per login name from all addresses together, failures only: ``ERPSYNC_LOGIN_ACCOUNT_LIMIT`` (default 100 an hour),
  a ceiling against guessing from many addresses. Past it only addresses that already failed on that name wait, so
  the user signing in from an address of their own is still let in; it lapses by itself and an administrator's unlock
  clears it.

The limits are counted by the ``limits`` library: in memory per process by default, in Redis (shared by every
process) when ``ERPSYNC_REDIS_URL`` is set. The client's address is the connection's peer, or, when that peer is one
of ``ERPSYNC_TRUSTED_PROXIES``, the last address in ``X-Forwarded-For`` that is not a trusted proxy.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import time
from collections.abc import Iterable

from limits import RateLimitItem, parse
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter
from sqlalchemy.orm import Session

from erpsync import accounts, audit
from erpsync.settings import IpNetwork, Settings
from erpsync.storage.tables import User
from erpsync.storage.unit_of_work import unit_of_work

_NAMESPACE = "erpsync-login"


class LoginLimiter:
    """Counts sign-in attempts per client address and failed sign-ins per login name (moving windows)."""

    def __init__(
        self, *, storage_uri: str = "memory://", per_address: str = "20/minute", per_account: str = "100/hour"
    ) -> None:
        self._limiter = MovingWindowRateLimiter(storage_from_string(storage_uri))
        self.per_address: RateLimitItem = parse(per_address)
        self.per_account: RateLimitItem = parse(per_account)

    @classmethod
    def from_settings(cls, settings: Settings) -> LoginLimiter:
        return cls(
            storage_uri=settings.redis_url or "memory://",
            per_address=settings.login_limit,
            per_account=settings.login_account_limit,
        )

    def admit(self, *, address: str, login: str, failed_before: bool = True) -> float:
        """Count one attempt from ``address``: 0 when it may go on, else the seconds to wait.

        ``failed_before``: this address failed on this login lately; only then does the per-login ceiling apply."""
        if not self._limiter.hit(self.per_address, _NAMESPACE, "address", address):
            return self._wait(self.per_address, "address", address)
        account = accounts.throttle_key(login)
        if failed_before and not self._limiter.test(self.per_account, _NAMESPACE, "account", account):
            return self._wait(self.per_account, "account", account)
        return 0.0

    def failed(self, *, login: str) -> None:
        self._limiter.hit(self.per_account, _NAMESPACE, "account", accounts.throttle_key(login))

    def clear_account(self, login: str) -> None:
        self._limiter.clear(self.per_account, _NAMESPACE, "account", accounts.throttle_key(login))

    def _wait(self, limit: RateLimitItem, kind: str, key: str) -> float:
        reset_at = self._limiter.get_window_stats(limit, _NAMESPACE, kind, key).reset_time
        return max(1.0, reset_at - time.time())


def _trusted(address: str, networks: tuple[IpNetwork, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)


def client_address(peer: str | None, forwarded_for: Iterable[str], trusted: tuple[IpNetwork, ...]) -> str:
    """Who is asking: ``peer``, unless it is a trusted proxy; then the nearest untrusted hop of ``X-Forwarded-For``.

    The header is read right to left, since only the hops our own proxies appended can be believed; anything before
    the first untrusted hop could have been written by the client itself.
    """
    address = peer or "unknown"
    if not _trusted(address, trusted):
        return address
    hops = [hop.strip() for header in forwarded_for for hop in header.split(",")]
    for hop in reversed(hops):
        try:
            address = str(ipaddress.ip_address(hop))
        except ValueError:
            break  # garbage: keep the last hop that was a real address
        if not _trusted(address, trusted):
            break
    return address


def sign_in(session: Session, limiter: LoginLimiter, *, login: str, password: str, address: str) -> User:
    """The user with this login and password; raises ``LoginThrottledError`` or ``LoginFailedError``.

    Failures are written in the caller's transaction: the caller commits even when this raises (``issue_token`` and
    ``start_web_session`` do)."""
    failed_before = accounts.failed_before(session, login, address=address)
    wait = limiter.admit(address=address, login=login, failed_before=failed_before)
    if wait:
        raise accounts.LoginThrottledError(dt.timedelta(seconds=wait))
    try:
        return accounts.authenticate(session, login, password, address=address)
    except accounts.LoginFailedError:
        limiter.failed(login=login)
        raise


def _signed_in(session: Session, limiter: LoginLimiter, *, login: str, password: str, address: str) -> User:
    try:
        return sign_in(session, limiter, login=login, password=password, address=address)
    except accounts.LoginFailedError:
        session.commit()  # keep the failure count, which is what makes the throttling work
        raise


def issue_token(session: Session, limiter: LoginLimiter, *, login: str, password: str, address: str) -> str:
    """Sign in for the API: a new bearer token; raises like ``sign_in``, with the failure kept. One unit of work."""
    with unit_of_work(session):
        user = _signed_in(session, limiter, login=login, password=password, address=address)
        return accounts.issue_token(session, user)


def start_web_session(session: Session, limiter: LoginLimiter, *, login: str, password: str, address: str) -> str:
    """Sign in for the web UI: the id of a new web session; raises like ``sign_in``, with the failure kept."""
    with unit_of_work(session):
        user = _signed_in(session, limiter, login=login, password=password, address=address)
        return accounts.start_web_session(session, user)


def end_web_session(session: Session, session_id: str) -> None:
    """Sign out of the web UI: the web session ends server-side, not only in the browser."""
    with unit_of_work(session):
        accounts.end_web_session(session, session_id)


def unlock(session: Session, limiter: LoginLimiter, user: User, *, by: int | None, via: str = "api") -> int:
    """Lift every throttle on ``user``'s login (an administrator's act, audited: ``by`` is the administrator, None on
    the command line); the number of addresses that were held. In the caller's transaction (``unlock_user`` owns
    one)."""
    limiter.clear_account(user.login)
    held = accounts.unlock(session, user)
    detail = {"login": user.login, "addresses": held, "via": via}
    audit.record(session, user_id=by, action="unlock", target_type="user", target_id=user.id, detail=detail)
    return held


def unlock_user(session: Session, limiter: LoginLimiter, user_id: int, *, by: int | None, via: str = "api") -> int:
    """``unlock`` as one unit of work: the user looked up by id, the throttles lifted, the act audited."""
    with unit_of_work(session):
        return unlock(session, limiter, accounts.get_user(session, user_id), by=by, via=via)
