"""The ``watch`` operation of protocol v1 (docs/protocol.md, *watch*): a long poll in which the hub asks "tell me when
anything of these actor types changed after this position" and the connector answers at the first change, with the
changed keys as hints, or after a bounded wait with nothing.

A connector declares it with ``capabilities.watch``. Hints only make a sync earlier: the hub reads the hinted actors
through ``get_actors`` and merges them as always, so a watch never changes what is synced.
"""

from __future__ import annotations

from pydantic import Field

from erpsync.protocol import models as m

MAX_WAIT_SECONDS = 25.0
"""The longest a connector holds a watch open; it answers within ``min(wait_seconds, MAX_WAIT_SECONDS)``."""
GRACE_SECONDS = 10.0
"""How much longer than the wait the hub's client waits for the answer before it counts the watch as hung."""
DEFAULT_LIMIT = 100


class WatchRequest(m.ConnectionRequest):
    actor_types: list[m.ActorType] = Field(min_length=1, max_length=len(m.ActorType))
    since: str | None = Field(
        default=None,
        max_length=1000,
        description="opaque position: the next_since of the previous answer; None: changes from now on",
    )
    wait_seconds: float = Field(
        default=MAX_WAIT_SECONDS,
        ge=0,
        le=600,
        description=f"the hub's wait; the connector answers within min(wait_seconds, {MAX_WAIT_SECONDS:g})",
    )
    limit: int = Field(default=DEFAULT_LIMIT, ge=1, le=m.MAX_KEYS, description="most keys in the answer, all types")


class WatchResponse(m.Envelope):
    changed: dict[m.ActorType, list[m.Key]] = Field(
        default_factory=dict, description="keys of actors changed (or deleted) after since, per actor type: hints"
    )
    more: bool = Field(default=False, description="true: more actors changed than the answer names")
    next_since: str | None = Field(
        default=None, max_length=1000, description="the position to pass as since on the next watch"
    )

    def hint_count(self) -> int:
        return sum(len(keys) for keys in self.changed.values())


def capped_wait(request: WatchRequest) -> float:
    """How long a connector may hold ``request`` open."""
    return min(request.wait_seconds, MAX_WAIT_SECONDS)


def client_timeout(request: WatchRequest) -> float:
    """The HTTP timeout of the hub's client for ``request``: past the longest wait the connector may take."""
    return capped_wait(request) + GRACE_SECONDS


m.OPERATIONS["watch"] = (WatchRequest, WatchResponse)
