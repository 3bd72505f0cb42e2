"""The language a request is answered in (docs/protocol.md, *Language*): a connector that declares
``capabilities.languages`` takes an optional ``language`` member (a BCP 47 tag such as ``da`` or ``en-GB``) in every
request and answers labels, descriptions, list item names and messages in it where it can; any other tag falls back
to its own default language without error.

The hub's client sends the language of the block it is called in (``speaking``), the SDK sets the same variable
while a connector answers a request, so both sides read it with ``current()``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Annotated

from pydantic import Field

LANGUAGE_PATTERN = r"^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8}){0,7}$"
LanguageTag = Annotated[str, Field(min_length=2, max_length=35, pattern=LANGUAGE_PATTERN)]
"""A BCP 47 language tag: ``da``, ``en-GB``, ``nb-NO``."""

MAX_LANGUAGES = 32
"""The most languages a connector declares (and the hub keeps metadata for)."""

_current: ContextVar[str | None] = ContextVar("erpsync_protocol_language", default=None)


@contextmanager
def speaking(language: str | None) -> Iterator[None]:
    """Within the block, requests are sent (hub) or answered (connector) in ``language``; None: the default."""
    token = _current.set(language)
    try:
        yield
    finally:
        _current.reset(token)


def current() -> str | None:
    """The language of the block (``speaking``), or None for the connector's default."""
    return _current.get()


def best_match(asked: str | None, offered: Sequence[str]) -> str | None:
    """The offered tag that fits ``asked`` best: the same tag (ignoring case), else the same primary language
    (``da-DK`` asks for ``da``, ``en`` takes ``en-GB``); None when nothing fits."""
    if not asked:
        return None
    wanted = asked.lower()
    by_tag = {tag.lower(): tag for tag in offered}
    if wanted in by_tag:
        return by_tag[wanted]
    primary = wanted.split("-")[0]
    for tag in offered:
        if tag.lower().split("-")[0] == primary:
            return tag
    return None


def request_member(declared: Sequence[str]) -> dict[str, str]:
    """The ``language`` member for a request to a connector that declared ``declared``: the block's language, only
    when the connector declares any (one that declares none refuses the member as unknown)."""
    language = current()
    return {"language": language} if language and declared else {}
