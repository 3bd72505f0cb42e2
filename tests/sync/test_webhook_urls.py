"""Where an alert webhook may point: in production https only, and no host that resolves into the hub's own network
(loopback, private, link-local, unspecified) unless ``ERPSYNC_WEBHOOK_ALLOWED_HOSTS`` lists it; checked when the
recipient is saved and again before each post (DNS can change). Development accepts local receivers."""

from __future__ import annotations

from collections.abc import Iterable

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import func, select

from erpsync.crypto import Cipher
from erpsync.errors import ErrorCode, ValidationError
from erpsync.settings import Settings
from erpsync.storage.db import Database
from erpsync.storage.tables import AlertDelivery, AlertRecipient, ErpConnection, ErpLink, SyncConnector, utcnow
from erpsync.sync import alerts, links
from erpsync.sync.alert_channels import DeliveryError, post_webhook
from erpsync.sync.alert_settings import AlertSettingsInput, Channel, RecipientInput, add_recipient, save_settings
from erpsync.sync.webhook_urls import WebhookPolicy
from erpsync.web.i18n import Translator
from erpsync.web.service_messages import ServiceText

PUBLIC = "93.184.215.14"
INTERNAL = "the webhook host '{}' is an internal address"


def resolving_to(*addresses: str) -> WebhookPolicy:
    """Production rules with a DNS that answers ``addresses`` for every name (what a name resolves to at a time)."""

    def resolver(_host: str, _port: int) -> Iterable[str]:
        return addresses

    return WebhookPolicy(strict=True, resolver=resolver)


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/hook",
        "https://10.1.2.3/hook",
        "https://192.168.0.10:8443/hook",
        "https://169.254.169.254/latest/meta-data",
        "https://0.0.0.0/hook",
        "https://[::1]/hook",
        "https://[::ffff:127.0.0.1]/hook",
        "https://[fe80::1]/hook",
        "https://localhost/hook",  # resolved for real
    ],
)
def test_production_refuses_hosts_inside_the_hubs_network(url: str) -> None:
    with pytest.raises(ValidationError, match="is an internal address"):
        WebhookPolicy(strict=True).check(url)


def test_production_wants_https_and_resolves_names_every_time() -> None:
    policy = WebhookPolicy(strict=True)
    with pytest.raises(ValidationError, match="must use https"):
        policy.check(f"http://{PUBLIC}/hook")
    policy.check(f"https://{PUBLIC}/hook")
    resolving_to(PUBLIC).check("https://hooks.example.com/x")
    with pytest.raises(ValidationError, match=INTERNAL.format("hooks.example.com")):
        resolving_to(PUBLIC, "10.0.0.7").check("https://hooks.example.com/x")  # one internal address is enough
    with pytest.raises(ValidationError, match="could not be resolved"):
        WebhookPolicy(strict=True).check("https://no-such-host.invalid/x")


def test_a_listed_host_is_allowed_and_development_accepts_local_receivers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ERPSYNC_WEBHOOK_ALLOWED_HOSTS", " Alerts.Internal , localhost")
    settings = Settings(env="prod", secret_key="k" * 40)
    policy = WebhookPolicy.from_settings(settings)
    assert policy.allowed_hosts == {"alerts.internal", "localhost"}
    policy.check("https://LOCALHOST:9443/hook")
    with pytest.raises(ValidationError, match="must use https"):
        policy.check("http://localhost/hook")  # listed hosts still need https
    WebhookPolicy.from_settings(Settings(env="dev")).check("http://127.0.0.1:8080/hook")


def _connection(database: Database) -> int:
    with database.session() as session:
        connector = SyncConnector(name="c", url="http://127.0.0.1:1", secret_encrypted="x")
        session.add(connector)
        session.flush()
        connection = ErpConnection(uuid="u-1", name="Nordic Trading", connector_id=connector.id)
        session.add(connection)
        session.flush()
        return connection.id


def test_a_refused_url_is_not_saved(database: Database) -> None:
    connection_id = _connection(database)
    with database.sessions() as session:
        for url in ("http://hooks.example.com/x", "https://hooks.example.com/x"):
            recipient = RecipientInput(channel=Channel.WEBHOOK, target=url)
            with pytest.raises(ValidationError):
                add_recipient(session, connection_id, recipient, user=None, webhooks=resolving_to("127.0.0.1"))
        assert session.scalar(select(func.count()).select_from(AlertRecipient)) == 0
        recipient = RecipientInput(channel=Channel.WEBHOOK, target="https://hooks.example.com/x")
        add_recipient(session, connection_id, recipient, user=None, webhooks=resolving_to(PUBLIC))
        assert session.scalar(select(func.count()).select_from(AlertRecipient)) == 1


def test_a_host_that_resolves_inside_by_send_time_gets_nothing(database: Database) -> None:
    cipher = Cipher(Fernet.generate_key())
    connection_id = _connection(database)
    with database.sessions() as session:
        save_settings(session, cipher, AlertSettingsInput(webhook_secret="s3cret-for-webhooks"), user=None)
        recipient = RecipientInput(channel=Channel.WEBHOOK, target="https://hooks.example.com/x")
        add_recipient(session, connection_id, recipient, user=None, webhooks=resolving_to(PUBLIC))
    with database.session() as session:  # a record failing: a new cause to tell
        link = ErpLink(
            connection_id=connection_id,
            entity_type="company",
            entity_id=1,
            actor_type="customer",
            erp_key="C1",
            agreed_json={},
            state="ok",
            attempts=0,
        )
        session.add(link)
        session.flush()
        links.mark_failed(link, ErrorCode.VALIDATION, "the VAT number is invalid", now=utcnow())
    told = alerts.notify(database, cipher, connection_id, webhooks=resolving_to("192.168.1.20"))
    assert (told.deliveries, told.failed) == (1, 1)
    with database.read_session() as session:
        delivery = session.scalars(select(AlertDelivery)).one()
    assert delivery.error is not None
    assert INTERNAL.format("hooks.example.com") in delivery.error
    with pytest.raises(DeliveryError, match="must use https"):
        post_webhook("http://hooks.example.com/x", "secret", {}, timeout=1, policy=resolving_to(PUBLIC))


def test_the_refusals_read_in_danish() -> None:
    said = ServiceText(Translator("da"))
    with pytest.raises(ValidationError) as refused:
        WebhookPolicy(strict=True).check("https://10.0.0.1/x")
    assert said(refused.value.user_message).startswith("Webhook-værten 10.0.0.1 er en intern adresse")
    assert said("the webhook URL must use https") == "Webhook-URL'en skal bruge https."
