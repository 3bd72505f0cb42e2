"""The opaque paging cursor of ``changes``: the position (stamp, key) of the last entry a page returned."""

from __future__ import annotations

import base64
import binascii
import json

from erpsync.errors import ValidationError
from erpsync.protocol.models import ActorType


def encode(actor_type: ActorType, since: str, stamp: str, key: int) -> str:
    position = {"type": actor_type.value, "since": since, "stamp": stamp, "key": key}
    return base64.urlsafe_b64encode(json.dumps(position, separators=(",", ":")).encode()).decode()


def decode(cursor: str | None, *, actor_type: ActorType, since: str) -> tuple[str, int] | None:
    """The (stamp, key) to continue after, or ``ValidationError`` when the cursor is not one this request made."""
    if cursor is None:
        return None
    try:
        position = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        stamp, key = position["stamp"], position["key"]
        made_for = (position["type"], position["since"])
    except (binascii.Error, ValueError, KeyError, TypeError):
        raise ValidationError("cursor is not one this connector handed out") from None
    if made_for != (actor_type.value, since) or not isinstance(stamp, str) or not isinstance(key, int):
        raise ValidationError("cursor belongs to another changes request (actor type or since differ)")
    return stamp, key
