"""Raw HTTP to a connector under test: signed calls, deliberately bad calls, and a log of every answer.

The kit does not use the hub's typed client on purpose: it must send requests a well-behaved client never sends
(unsigned, wrongly signed, stale, malformed) and see exactly what came back.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import httpx

from erpsync.protocol.signing import V1, V2, dual_signed_headers, signed_headers, signed_headers_v2

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
    """Talks HTTP to one connector; ``log`` keeps every answer to a signed, well-formed request.

    Signs like the hub: the first ``info`` with both v1 and v2, then v2 if the connector declares it, else v1.
    """

    base_url: str
    secret: str
    timeout: float = DEFAULT_TIMEOUT_SECONDS
    log: list[Answer] = field(default_factory=list)
    signing: str | None = None  # the version in use; None until info answered

    def __post_init__(self) -> None:
        self._http = httpx.Client(base_url=self.base_url.rstrip("/"), timeout=self.timeout)

    def close(self) -> None:
        self._http.close()

    def call(self, operation: str, payload: dict[str, Any] | None = None) -> Answer:
        """A correctly signed request with a JSON body."""
        if self.signing is None and operation != "info":
            self.negotiate()
        body = json.dumps(payload or {}).encode()
        answer = self.send(operation, body, headers=self.signed(operation, body))
        self.log.append(answer)
        if operation == "info" and self.signing is None:
            self.signing = _declared_signing(answer)
        return answer

    def negotiate(self) -> str:
        """The signing version to use, asking ``info`` once."""
        if self.signing is None:
            self.call("info")
        return self.signing or V1

    def signed(
        self,
        operation: str,
        body: bytes,
        *,
        secret: str | None = None,
        now: float | None = None,
        nonce: str | None = None,
    ) -> dict[str, str]:
        """Headers signing ``body`` for ``operation`` in the version in use; ``secret``, ``now``, ``nonce`` to forge."""
        key = self.secret if secret is None else secret
        path = f"/v1/{operation}"
        if self.signing == V2:
            return signed_headers_v2(key, body, path=path, now=now, nonce=nonce)
        if self.signing == V1:
            return signed_headers(key, body, now=now)
        return dual_signed_headers(key, body, path=path, now=now)

    def send(self, operation: str, body: bytes, *, headers: dict[str, str], method: str = "POST") -> Answer:
        """Any body with any headers (and any method), as given."""
        response = self._http.request(
            method, f"/v1/{operation}", content=body, headers={"Content-Type": "application/json", **headers}
        )
        return Answer(operation, response.status_code, response.content, _json_object(response.content))


def _declared_signing(answer: Answer) -> str:
    """V2 when the ``info`` answer declares it, else V1 (also when the answer is unusable: the rules then say why)."""
    capabilities = answer.document.get("capabilities") if answer.ok and answer.document else None
    declared = capabilities.get("signing") if isinstance(capabilities, dict) else None
    return V2 if isinstance(declared, list) and V2 in declared else V1


def _json_object(body: bytes) -> dict[str, Any] | None:
    try:
        document = json.loads(body)
    except ValueError:
        return None
    return document if isinstance(document, dict) else None
