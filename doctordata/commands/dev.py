"""`doctordata dev ...`: developer tools (a local HN API, a local ClickHouse endpoint)."""

from __future__ import annotations

import signal
import threading
from types import FrameType

import click

from doctordata.commands.ingest import hn_api


@click.group()
def dev() -> None:
    """Developer tools."""


dev.add_command(hn_api)


@dev.command("clickhouse")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8123,
    show_default=True,
    help="Port (0 = any free port).",
)
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Loopback address to bind (127.0.0.1, localhost or ::1; nothing else).",
)
@click.option(
    "--path",
    "data_path",
    type=click.Path(file_okay=False),
    default=None,
    help="chDB data directory (default: <root>/dev-clickhouse).",
)
@click.pass_context
def clickhouse(ctx: click.Context, port: int, host: str, data_path: str | None) -> None:
    """Serve ClickHouse's HTTP interface from chDB on loopback (Ctrl-C stops).

    For trying dbt-clickhouse on one box: set engines.clickhouse to the printed URL and
    run `doctordata dbt build --target clickhouse --publish hackernews.items`. No users,
    no access control: it refuses any host but loopback.
    """
    from doctordata.config import find_root
    from doctordata.engines.http_endpoint import LOOPBACK_HOSTS, serve
    from doctordata.errors import InvalidArgumentError

    if host not in LOOPBACK_HOSTS:
        raise click.BadParameter(
            f"{host!r} is not a loopback address: this endpoint has no authentication; "
            f"use one of {', '.join(sorted(LOOPBACK_HOSTS))} (for other machines, run a "
            "real ClickHouse server)",
            param_hint="--host",
        )
    if data_path is None:
        import os

        root = (ctx.find_root().obj or {}).get("root")
        data_path = str(find_root(root, os.environ) / "dev-clickhouse")
    try:
        server, service = serve(data_path, port=port, host=host)
    except OSError as exc:
        raise click.ClickException(
            f"cannot listen on {host}:{port}: {exc.strerror}; pick another --port (0 = any)"
        ) from None
    except InvalidArgumentError as exc:
        raise click.BadParameter(str(exc), param_hint="--host") from None
    bound = server.server_address[1]
    shown = f"[{host}]" if ":" in host else host
    click.echo(
        f"ClickHouse HTTP (chDB {service.version}) at http://default:@{shown}:{bound} "
        f"with data in {service.path}; Ctrl-C to stop",
    )
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        stop.wait()
    finally:
        server.shutdown()
        service.close()
