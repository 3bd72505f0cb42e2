"""Where an alert webhook may point. In production (``ERPSYNC_ENV=prod``) a webhook URL must be https and its host
must not resolve to a loopback, private, link-local, unspecified (or otherwise reserved) address, so that an
administrator's URL cannot make the hub post into its own network; a host listed in ``ERPSYNC_WEBHOOK_ALLOWED_HOSTS``
is let through as it is. The check runs when a recipient is saved and again before each post, since DNS can change.
In development any http(s) URL is accepted (local test receivers).

Public names: ``WebhookPolicy``.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from erpsync.errors import ValidationError
from erpsync.settings import Settings, get_settings

Resolver = Callable[[str, int], Iterable[str]]
"""The addresses a host name resolves to (for the port)."""

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def resolve(host: str, port: int) -> list[str]:
    """The addresses of ``host``, IPv4 and IPv6 (``OSError`` when it does not resolve)."""
    return [str(info[4][0]) for info in socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)]


def _internal(address: IpAddress) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return _internal(address.ipv4_mapped)
    return (
        address.is_loopback
        or address.is_private
        or address.is_link_local
        or address.is_unspecified
        or address.is_reserved
        or address.is_multicast
    )


@dataclass(frozen=True)
class WebhookPolicy:
    """``strict``: the production rules; ``allowed_hosts``: host names (lower case) exempt from the address rule."""

    strict: bool = False
    allowed_hosts: frozenset[str] = frozenset()
    resolver: Resolver = field(default=resolve, compare=False)

    @classmethod
    def from_settings(cls, settings: Settings) -> WebhookPolicy:
        return cls(strict=settings.env == "prod", allowed_hosts=frozenset(settings.webhook_allowed_host_names))

    @classmethod
    def current(cls) -> WebhookPolicy:
        """The policy of this process's settings (``ERPSYNC_*``)."""
        return cls.from_settings(get_settings())

    def check(self, url: str) -> None:
        """``ValidationError`` when the URL (already a valid http(s) URL with a host) may not be posted to."""
        if not self.strict:
            return
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        if parts.scheme != "https":
            raise ValidationError("the webhook URL must use https")
        if host in self.allowed_hosts:
            return
        try:
            addresses = {ipaddress.ip_address(host)}
        except ValueError:
            addresses = self._resolved(host, parts.port or 443)
        if not addresses or any(_internal(address) for address in addresses):
            raise ValidationError(
                f"the webhook host '{host}' is an internal address (loopback, private, link-local or unspecified): "
                "list it in ERPSYNC_WEBHOOK_ALLOWED_HOSTS to allow it"
            )

    def _resolved(self, host: str, port: int) -> set[IpAddress]:
        try:
            found = self.resolver(host, port)
            return {ipaddress.ip_address(address.split("%", 1)[0]) for address in found}
        except (OSError, UnicodeError, ValueError):
            raise ValidationError(f"the webhook host '{host}' could not be resolved") from None
