"""The `doctordata` command. Subcommands live in doctordata/commands/ and load lazily,
so `doctordata --help` imports neither pyiceberg, duckdb nor any integration."""

from __future__ import annotations

import importlib
import sys
from typing import Any

import click

# name -> "module:attribute" of a click.Command; loaded only when that command runs.
COMMANDS: dict[str, tuple[str, str]] = {
    "init": ("doctordata.commands.basic:init", "Write a commented doctordata.toml."),
    "doctor": ("doctordata.commands.doctor:doctor", "Check installation, catalog, tiers, engines."),
    "tables": ("doctordata.commands.basic:tables", "List tables."),
    "describe": ("doctordata.commands.basic:describe", "Schema, partitions, snapshots, files."),
    "snapshots": ("doctordata.commands.basic:snapshots", "List a table's snapshots."),
    "sql": ("doctordata.commands.sql:sql", "Run SQL on DuckDB or ClickHouse."),
    "tier": ("doctordata.commands.storage:tier", "Move data between tiers by policy."),
    "tiers": ("doctordata.commands.storage:tiers", "Files and bytes per tier."),
    "maintain": ("doctordata.commands.storage:maintain", "Compact, expire, remove orphans."),
    "backup": ("doctordata.commands.backup:backup", "Back up catalog, metadata and data."),
    "relocate": ("doctordata.commands.backup:relocate", "Use a copied or moved lakehouse."),
    "restore": ("doctordata.commands.backup:restore", "Restore a backup into a root."),
    "verify": ("doctordata.commands.backup:verify", "Check every referenced file."),
    "ingest": ("doctordata.commands.ingest:ingest", "Load data with dlt (hackernews)."),
    "dev": ("doctordata.commands.dev:dev", "Developer tools (local HN API, local ClickHouse)."),
    "dbt": ("doctordata.commands.flows:dbt", "Run dbt against the lakehouse."),
    "demo": ("doctordata.commands.flows:demo", "Run the whole pipeline offline."),
    "serve": ("doctordata.commands.flows:serve", "Schedule the daily flow with Prefect."),
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        target, _ = COMMANDS[cmd_name]
        module_name, attr = target.split(":")
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name and exc.name.startswith("doctordata"):
                return _not_yet(cmd_name)
            raise
        command: click.Command = getattr(module, attr)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # Help text comes from COMMANDS so --help needs no subcommand import.
        rows = [(name, COMMANDS[name][1]) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


def _not_yet(name: str) -> click.Command:
    @click.command(name=name, help=COMMANDS[name][1])
    def placeholder() -> None:
        click.echo(f"doctordata {name}: not yet available in this version.", err=True)
        sys.exit(2)

    return placeholder


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="doctordata")
@click.option(
    "--root",
    envvar="DOCTORDATA_ROOT",
    type=click.Path(file_okay=False),
    default=None,
    help="Lakehouse root (default: ./doctordata.toml's, else ./lakehouse).",
)
@click.pass_context
def cli(ctx: click.Context, root: str | None) -> None:
    """doctordata: an Iceberg lakehouse on one small box (DuckDB, ClickHouse, SSD/NAS/S3).

    Ctrl-C (SIGINT) or SIGTERM stops any command cleanly: it says what was committed and
    how to resume, and exits 130 (SIGINT) or 143 (SIGTERM).
    """
    if _PROCESS["main"]:  # a `doctordata` process, not the CLI called inside a program
        from doctordata.commands import signals

        signals.install(root)
    ctx.obj = {"root": root}


DEBUG_ENV = "DOCTORDATA_DEBUG"
# main() sets "main": only then does the CLI own the process's signal handlers.
_PROCESS = {"main": False}


def _one_line(text: str) -> str:
    """An error message as one line, every secret masked (the last wall before a terminal)."""
    from doctordata.secrets import mask_text

    return " ".join(mask_text(str(text)).split())


def main(argv: list[str] | None = None) -> Any:
    if any("\x00" in arg for arg in argv or []):
        click.secho("error: an argument contains a NUL character; remove it", fg="red", err=True)
        sys.exit(2)
    _PROCESS["main"] = True
    try:
        rv = cli.main(args=argv, prog_name="doctordata", standalone_mode=False)
    except BaseException as exc:
        # An interrupt, however a library wrapped it (click's Abort, dlt's step error,
        # our IngestError): what was committed and how to resume; never a traceback.
        from doctordata.commands import signals  # here: the package imports config

        signum = signals.interrupted_by(exc) if not isinstance(exc, SystemExit) else None
        if signum is None:
            _report_error(exc)
            raise
        words = sys.argv[1:] if argv is None else argv
        click.secho(_one_line_each(signals.message(signum, words)), fg="yellow", err=True)
        sys.exit(signals.EXIT_CODES.get(signum, 130))
    if isinstance(rv, int) and rv:
        sys.exit(rv)
    return rv


def _one_line_each(text: str) -> str:
    return "\n".join(_one_line(line) for line in text.splitlines())


def _report_error(error: BaseException) -> None:
    """Exit with one masked line for ``error`` (a bug re-raises under DOCTORDATA_DEBUG)."""
    import os

    from doctordata.errors import DoctorDataError

    try:
        raise error
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        ctx = getattr(exc, "ctx", None)
        hint = f" (see `{ctx.command_path} --help`)" if ctx is not None else ""
        click.secho(f"error: {_one_line(exc.format_message())}{hint}", fg="red", err=True)
        sys.exit(exc.exit_code)
    except DoctorDataError as exc:
        click.secho(f"error: {_one_line(str(exc))}", fg="red", err=True)
        sys.exit(1)
    except Exception as exc:
        # A bug, not a user error: still one masked line (the traceback may show secrets
        # from config values in its frames); DOCTORDATA_DEBUG=1 re-raises it.
        if os.environ.get(DEBUG_ENV):
            raise
        click.secho(
            f"internal error: {type(exc).__name__}: {_one_line(str(exc))} "
            f"(a doctordata bug: please report it; {DEBUG_ENV}=1 shows the traceback)",
            fg="red",
            err=True,
        )
        sys.exit(70)
