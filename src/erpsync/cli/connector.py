"""Running a built-in sync connector: ``erpsync connector serve|seed``."""

from __future__ import annotations

import typer

from erpsync.cli import common
from erpsync.cli.common import app
from erpsync.settings import get_settings

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
    uvicorn.run(
        create_app(connector, secret=settings.connector_secret), host=host, port=port, log_level="info", log_config=None
    )


@connector_app.command("seed")
def connector_seed(
    name: str = typer.Argument(help="built-in connector with a demo ERP of its own: sample"),
    synthetic: int = typer.Option(0, min=0, help="also insert this many synthetic customers (for benchmarks)"),
    company: str = typer.Option("NORDIC", help="the ERP company that receives the synthetic customers"),
) -> None:
    """Fill the sample ERP in the data folder: demo data on first use, plus synthetic customers if asked."""
    from erpsync.connectors.sample import open_erp
    from erpsync.connectors.sample.seed import generate_synthetic
    from erpsync.protocol.models import ActorType

    if name != "sample":
        raise typer.BadParameter("only the sample connector has a demo ERP to seed")
    erp = open_erp(get_settings())
    with common.cli_errors():
        try:
            if synthetic:
                generate_synthetic(erp, synthetic, company=company)
            counts = ", ".join(f"{erp.count(actor_type)} {actor_type}" for actor_type in ActorType)
        finally:
            erp.close()
    typer.echo(f"sample ERP: {counts}")
