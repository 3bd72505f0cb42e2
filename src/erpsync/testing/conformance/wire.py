"""Raw HTTP to a connector under test: signed calls, deliberately bad calls, and a log of every answer.

The kit does not use the hub's typed client on purpose: it must send requests a well-behaved client never sends
(unsigned, wrongly signed, stale, malformed) and see exactly what came back.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import httpx

from erpsync.protocol.signing import signed_headers

DEFAULT_TIMEOUT_SECONDS = 15.0


@dataclass(frozen=True)
class Answer:
    """What the connector answered to one request."""

    operation: str
    status: int
    body: bytes
    document: dict[str, Any] | None  # the JSON object of the body, None when the body is not one

    @property
    def ok(self) -> bool:
        return self.document is not None and self.document.get("ok") is True

    @property
    def error_code(self) -> str:
        return str(self.document.get("error_code", "")) if self.document is not None else ""

    def describe(self) -> str:
        """A short account of the answer for evidence: status, ok, code and message, or the start of the body."""
        if self.document is None:
            return f"HTTP {self.status}, body not a JSON object: {self.body[:200]!r}"
        doc = self.document
        return (
            f"HTTP {self.status}, ok={doc.get('ok')!r}, error_code={doc.get('error_code')!r}, "
            f"user_message={str(doc.get('user_message', ''))[:200]!r}"
        )


@dataclass
class Wire:
    """Talks HTTP to one connector; ``log`` keeps every answer to a signed, well-formed request."""

    base_url: str
    secret: str
    timeout: float = DEFAULT_TIMEOUT_SECONDS
    log: list[Answer] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._http = httpx.Client(base_url=self.base_url.rstrip("/"), timeout=self.timeout)

    def close(self) -> None:
        self._http.close()

    def call(self, operation: str, payload: dict[str, Any] | None = None) -> Answer:
        """A correctly signed request with a JSON body."""
        body = json.dumps(payload or {}).encode()
        answer = self.send(operation, body, headers=signed_headers(self.secret, body))
        self.log.append(answer)
        return answer

    def send(self, operation: str, body: bytes, *, headers: dict[str, str]) -> Answer:
        """Any body with any headers, as given."""
        response = self._http.post(
            f"/v1/{operation}", content=body, headers={"Content-Type": "application/json", **headers}
        )
        return Answer(operation, response.status_code, response.content, _json_object(response.content))


def _json_object(body: bytes) -> dict[str, Any] | None:
    try:
        document = json.loads(body)
    except ValueError:
        return None
    return document if isinstance(document, dict) else None
