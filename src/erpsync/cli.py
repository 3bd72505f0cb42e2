"""The ``erpsync`` command line (Typer)."""

from __future__ import annotations

import typer

from erpsync.settings import get_settings

app = typer.Typer(help="erpsync: keeps a CRM and ERP systems in sync.", no_args_is_help=True)
connector_app = typer.Typer(help="Run a built-in sync connector.", no_args_is_help=True)
app.add_typer(connector_app, name="connector")


@connector_app.command("serve")
def connector_serve(
    name: str = typer.Argument(help="built-in connector: sample or tryton"),
    host: str = typer.Option("127.0.0.1", help="address to listen on"),
    port: int = typer.Option(8765, help="port to listen on"),
) -> None:
    """Serve a built-in connector over HTTP; its shared secret comes from ERPSYNC_CONNECTOR_SECRET."""
    import uvicorn

    from erpsync.connectors import build_connector
    from erpsync.sdk.app import create_app

    settings = get_settings()
    if not settings.connector_secret:
        raise typer.BadParameter("set ERPSYNC_CONNECTOR_SECRET to the shared secret the hub will sign with")
    connector = build_connector(name, settings)
    uvicorn.run(create_app(connector, secret=settings.connector_secret), host=host, port=port, log_level="info")
