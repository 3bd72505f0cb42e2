"""Alerts and the audit log from the command line: ``erpsync alerts show|set`` (the SMTP server and the webhook
signing secret, ``sync.alert_settings``), ``alerts recipients|add|remove`` (who gets which alerts of a connection),
``alerts deliveries`` and ``alerts check`` (tell what is new now, as the worker does after each run), and
``erpsync audit`` (the audit log filtered by who, what and when)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import typer

from erpsync import audit
from erpsync.cli import common, output
from erpsync.cli.common import app
from erpsync.errors import ValidationError
from erpsync.sync import alert_settings, alerts
from erpsync.sync.alert_settings import AlertSettingsInput, Channel, RecipientInput, SmtpSecurity

alerts_app = typer.Typer(help="Alerts of new causes of failures and their recovery, by mail or webhook.")
app.add_typer(alerts_app, name="alerts", no_args_is_help=True)

CONNECTION = typer.Argument(help="the connection's name")


def _secret_file(path: Path | None) -> str | None:
    """A secret read from a file (never from the command line, where other users of the machine can read it)."""
    if path is None:
        return None
    try:
        return path.read_text().strip()
    except OSError as exc:
        raise ValidationError(f"cannot read {path}: {exc}") from exc


def _show_settings(view: alert_settings.AlertSettingsView, as_json: bool) -> None:
    if as_json:
        output.print_json(view)
    else:
        output.print_fields("alert settings", view.model_dump(mode="json"))


@alerts_app.command("show")
def alerts_show(as_json: bool = output.JSON_OPTION) -> None:
    """The SMTP server and webhook signing (the password and the secret only as whether they are set)."""
    with common.cli_errors(), common.hub_and_clients() as (database, _clients), database.read_session() as session:
        view = alert_settings.read_settings(session)
    _show_settings(view, as_json)


@alerts_app.command("set")
def alerts_set(  # noqa: PLR0913 - one option per setting
    smtp_host: str | None = typer.Option(None, help="the SMTP server's host"),
    smtp_port: int | None = typer.Option(None, help="its port"),
    smtp_security: SmtpSecurity | None = typer.Option(None, help="none, starttls or tls"),
    smtp_user: str | None = typer.Option(None, help="the user to sign in as (empty: no sign-in)"),
    smtp_password_file: Path | None = typer.Option(None, help="a file holding the SMTP password (empty: remove it)"),
    from_address: str | None = typer.Option(None, "--from", help="the sender address of the mails"),
    webhook_secret_file: Path | None = typer.Option(None, help="a file holding the webhook signing secret"),
    timeout: int | None = typer.Option(None, help="seconds a mail or webhook may take"),
    as_json: bool = output.JSON_OPTION,
) -> None:
    """Change the alert settings; what is not given stays as it is."""
    with common.cli_errors(), common.hub_and_clients() as (database, clients), database.sessions() as session:
        now = alert_settings.read_settings(session)
        changes = AlertSettingsInput(
            smtp_host=now.smtp_host if smtp_host is None else smtp_host,
            smtp_port=now.smtp_port if smtp_port is None else smtp_port,
            smtp_security=now.smtp_security if smtp_security is None else smtp_security,
            smtp_user=now.smtp_user if smtp_user is None else smtp_user,
            smtp_password=_secret_file(smtp_password_file),
            from_address=now.from_address if from_address is None else from_address,
            webhook_secret=_secret_file(webhook_secret_file),
            timeout_seconds=now.timeout_seconds if timeout is None else timeout,
        )
        view = alert_settings.save_settings(session, clients.cipher, changes, user=None)
    _show_settings(view, as_json)


@alerts_app.command("recipients")
def alerts_recipients(name: str = CONNECTION, as_json: bool = output.JSON_OPTION) -> None:
    """Who is told about the connection's problems."""
    with common.cli_errors(), common.hub_and_clients() as (database, _clients), database.read_session() as session:
        found = alert_settings.list_recipients(session, common.connection_named(session, name).id, user=None)
    if as_json:
        output.print_json(found)
        return
    rows = ((r.id, r.channel.value, r.target, r.on_alert, r.on_recovery) for r in found)
    output.print_table(f"alert recipients of {name}", ("id", "channel", "target", "alerts", "recoveries"), rows)


@alerts_app.command("add")
def alerts_add(
    name: str = CONNECTION,
    target: str = typer.Argument(help="a mail address, or with --webhook a URL"),
    webhook: bool = typer.Option(False, "--webhook", help="the target is a webhook URL"),
    on_alert: bool = typer.Option(True, "--alerts/--no-alerts", help="told about new causes"),
    on_recovery: bool = typer.Option(True, "--recoveries/--no-recoveries", help="told when a cause is gone"),
) -> None:
    """Tell a mail address or a webhook about the connection's new causes, recoveries or both."""
    recipient = RecipientInput(
        channel=Channel.WEBHOOK if webhook else Channel.EMAIL, target=target, on_alert=on_alert, on_recovery=on_recovery
    )
    with common.cli_errors(), common.hub_and_clients() as (database, _clients), database.sessions() as session:
        added = alert_settings.add_recipient(session, common.connection_named(session, name).id, recipient, user=None)
    typer.echo(f"recipient {added.id} added: {added.channel.value} {added.target}")


@alerts_app.command("remove")
def alerts_remove(name: str = CONNECTION, recipient_id: int = typer.Argument(help="the recipient's id")) -> None:
    with common.cli_errors(), common.hub_and_clients() as (database, _clients), database.sessions() as session:
        alert_settings.remove_recipient(session, common.connection_named(session, name).id, recipient_id, user=None)
    typer.echo(f"recipient {recipient_id} removed")


@alerts_app.command("deliveries")
def alerts_deliveries(name: str = CONNECTION, as_json: bool = output.JSON_OPTION) -> None:
    """The latest alerts and recovery notices sent for the connection, and whether each arrived."""
    with common.cli_errors(), common.hub_and_clients() as (database, _clients), database.read_session() as session:
        found = alerts.recent_deliveries(session, common.connection_named(session, name).id, user=None)
    if as_json:
        output.print_json(found)
        return
    rows = ((d.at, d.kind, d.channel, d.target, "ok" if d.ok else d.error) for d in found)
    output.print_table(f"alerts sent for {name}", ("at", "kind", "channel", "to", "result"), rows)


@alerts_app.command("check")
def alerts_check() -> None:
    """Tell every connection's recipients about new causes and recoveries now (the worker does it after each run)."""
    with common.cli_errors(), common.hub_and_clients() as (database, clients):
        notified = alerts.notify_all(database, clients.cipher)
    for told in notified:
        if told.alerted or told.recovered:
            typer.echo(
                f"connection {told.connection_id}: {len(told.alerted)} new cause(s), {len(told.recovered)} "
                f"recovered, {told.deliveries - told.failed} of {told.deliveries} notice(s) delivered"
            )


# --- the audit log ----------------------------------------------------------------------------------------------------


@app.command("audit")
def audit_log(  # noqa: PLR0913 - the log's filters, each an option
    who: str | None = typer.Option(None, help="a login, or 'system' (the command line, the hub)"),
    action: str | None = typer.Option(None, help="create, update, delete, restore, purge, retry_group, ..."),
    target_type: str | None = typer.Option(None, "--what", help="connection, connector, user, alert_settings, ..."),
    target_id: str | None = typer.Option(None, "--id", help="the object's id"),
    since: dt.datetime | None = typer.Option(None, help="from (inclusive), e.g. 2026-01-31 or 2026-01-31T08:00Z"),
    until: dt.datetime | None = typer.Option(None, help="to (exclusive)"),
    page: int = typer.Option(1, min=1),
    per_page: int = typer.Option(audit.PER_PAGE, min=1, max=audit.MAX_PER_PAGE),
    as_json: bool = output.JSON_OPTION,
) -> None:
    """The audit log, newest first: who changed what and when (secrets redacted)."""
    with common.cli_errors():
        audit_filter = audit.AuditFilter(
            who=who,
            action=action,
            target_type=target_type,
            target_id=target_id,
            since=_utc(since),
            until=_utc(until),
            page=page,
            per_page=per_page,
        )
        with common.hub_and_clients() as (database, _clients), database.read_session() as session:
            found = audit.search(session, audit_filter)
    if as_json:
        output.print_json(found)
        return
    rows = ((e.at, e.who, e.action, e.target_type, e.target_id, e.detail) for e in found.entries)
    title = f"audit log, page {found.page} ({found.total} entries)"
    output.print_table(title, ("at", "who", "action", "what", "id", "detail"), rows)


def _utc(moment: dt.datetime | None) -> dt.datetime | None:
    """A moment given without a time zone is read as UTC."""
    return moment if moment is None or moment.tzinfo else moment.replace(tzinfo=dt.UTC)
