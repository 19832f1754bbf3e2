"""`doctordata init | tables | describe | snapshots`."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import click

from doctordata.catalog.reader import Unsupported
from doctordata.commands import human_bytes, open_lakehouse, open_reader

TEMPLATE = """\
# doctordata.toml: settings of one lakehouse. Every key is optional; defaults shown.
# Environment variables override it: DOCTORDATA__SECTION__KEY (e.g. DOCTORDATA__ENGINES__DEFAULT).
# Secrets never go here: S3 keys come from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, and a
# Postgres password is best given as DOCTORDATA__CATALOG__URI.

# Relative paths are relative to the directory of this file (the root), so the lakehouse
# can be moved or copied as one directory.

[catalog]
# SQLite file by default; Postgres for shared use: "postgresql+psycopg2://user@host/db"
uri = "sqlite:///catalog.db"

# Tiers in order: the first is the hot tier, where new data is written.
[tiers.ssd]
url = "warehouse"

# [tiers.nas]
# url = "file:///mnt/nas/lake"

# [tiers.s3]
# url = "s3://lake/prefix"
# endpoint = "http://127.0.0.1:8333"

# Policies move old data between tiers; the first match wins.
# [[policies]]
# table = "hackernews.*"        # glob over "namespace.table"
# column = "time"               # partition source column; omit for file age
# older_than = "90d"
# to = "nas"

[engines]
default = "duckdb"              # duckdb | clickhouse | auto
# clickhouse = "chdb:///path/to/clickhouse"  # default <root>/clickhouse; or "http://user@host:8123/db"
# duckdb_threads = 2
# query_timeout = 300            # seconds per query; 0 = none
# duckdb_memory_limit = "25%"   # a size ("4GB") or a share of RAM
# clickhouse_memory_limit = "25%"

[ingest]
# hackernews_base_url = "https://hacker-news.firebaseio.com/v0/"
# workers = 8

[schedule]
# daily_cron = "0 3 * * *"
"""


@click.command()
@click.option("--force", is_flag=True, help="Overwrite an existing doctordata.toml.")
@click.pass_context
def init(ctx: click.Context, force: bool) -> None:
    """Write a commented doctordata.toml into the root and create the catalog.

    The file names the catalog and the hot tier by paths relative to the root, so the
    directory can be moved or copied as a whole. Example: doctordata --root /srv/lake init
    """
    from doctordata.config import CONFIG_FILE, find_root, mask_url
    from doctordata.lakehouse import connect

    root = find_root((ctx.find_root().obj or {}).get("root"), os.environ)
    path = Path(root) / CONFIG_FILE
    if path.exists() and not force:
        raise click.ClickException(f"{path} already exists; pass --force to overwrite it")
    root.mkdir(parents=True, exist_ok=True)
    path.write_text(TEMPLATE)
    with connect(root) as lh:
        lh.create_catalog()
        where = mask_url(lh.settings.catalog_uri)
    click.echo(f"wrote {path}; catalog at {where}")


@click.command()
@click.argument("namespace", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def tables(ctx: click.Context, namespace: str | None, as_json: bool) -> None:
    """List tables (optionally of one namespace).

    \b
      doctordata tables
      doctordata tables hackernews --json
    """
    lh = open_lakehouse(ctx)
    reader = open_reader(ctx, lh)
    try:
        if reader is None:
            raise Unsupported("no fast reader")
        names = reader.tables(namespace)
    except Unsupported:
        names = lh.tables(namespace)
    if as_json:
        click.echo(json.dumps(names))
        return
    if not names:
        click.echo("no tables yet")
    for name in names:
        click.echo(name)


def describe_table(lh: Any, name: str) -> dict[str, Any]:
    """Schema, partition spec, snapshots, files and bytes of one table."""
    from doctordata.catalog.partitioning import spec_strings

    table = lh.table(name)
    files = list(table.scan().plan_files())
    snaps = lh.snapshots(name)
    current = table.metadata.current_snapshot()
    return {
        "name": name,
        "location": table.location(),
        "metadata": table.metadata_location,
        "schema": [
            {"id": f.field_id, "name": f.name, "type": str(f.field_type), "required": f.required}
            for f in table.schema().fields
        ],
        "partition_spec": spec_strings(table.spec(), table.schema()),
        "snapshots": len(snaps),
        "current_snapshot": table.metadata.current_snapshot_id,
        "files": len(files),
        "rows": sum(t.file.record_count for t in files),
        "bytes": sum(t.file.file_size_in_bytes for t in files),
        "lineage": _lineage(current.summary.additional_properties if current else {}),
    }


def _lineage(summary: dict[str, str]) -> dict[str, Any]:
    # Snapshot properties written by dbt (transform/writes.py); plain Python, no dbt import.
    from doctordata.catalog.lineage import read_lineage

    return read_lineage(summary)


@click.command()
@click.argument("table")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def describe(ctx: click.Context, table: str, as_json: bool) -> None:
    """Schema, partition spec, snapshots, files and bytes of TABLE (ns.table).

    \b
      doctordata describe hackernews.items
      doctordata describe marts.daily_activity --json    (includes dbt lineage)
    """
    lh = open_lakehouse(ctx)
    reader = open_reader(ctx, lh)
    try:
        if reader is None:
            raise Unsupported("no fast reader")
        info = reader.metadata(table).describe()
    except Unsupported:
        info = describe_table(lh, table)
    if as_json:
        click.echo(json.dumps(info, default=str, indent=2))
        return
    from doctordata.commands.output import render, terminal_width

    width = terminal_width(sys.stdout)
    lines = [f"{info['name']}  {info['location']}"]
    lines += render(
        ["id", "column", "type", "required"],
        [
            [str(c["id"]), c["name"], c["type"], "yes" if c["required"] else ""]
            for c in info["schema"]
        ],
        width=width,
    )
    lines.append(f"partitioned by: {', '.join(info['partition_spec']) or '(unpartitioned)'}")
    lines.append(
        f"snapshots: {info['snapshots']} (current {info['current_snapshot']}); "
        f"files: {info['files']}; rows: {info['rows']}; size: {human_bytes(info['bytes'])}"
    )
    lineage = info.get("lineage")
    if lineage:
        read = ", ".join(f"{t}@{sid}" for t, sid in lineage.get("sources", {}).items())
        as_of = f" as of {lineage['as_of']}" if "as_of" in lineage else ""
        lines.append(
            f"built by dbt invocation {lineage.get('dbt_invocation_id', '?')} "
            f"({lineage.get('mode', '?')}) from {read or 'no sources'}{as_of}"
        )
    click.echo("\n".join(lines))


@click.command()
@click.argument("table")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def snapshots(ctx: click.Context, table: str, as_json: bool) -> None:
    """List the snapshots of TABLE, oldest first (* marks the current one).

    \b
      doctordata snapshots hackernews.items
      doctordata snapshots hackernews.items | awk '{print $1}'    ids, never cut
      doctordata snapshots hackernews.items --json
    """
    lh = open_lakehouse(ctx)
    reader = open_reader(ctx, lh)
    try:
        if reader is None:
            raise Unsupported("no fast reader")
        snaps = reader.metadata(table).snapshots()
    except Unsupported:
        snaps = lh.snapshots(table)
    if as_json:
        click.echo(json.dumps(snaps, default=str, indent=2))
        return
    from doctordata.commands.output import render, terminal_width

    rows = []
    for s in snaps:
        summary = s["summary"]
        rows.append(
            [
                str(s["snapshot_id"]) + (" *" if s["current"] else ""),
                s["timestamp"].strftime("%Y-%m-%d %H:%M:%S"),
                s["operation"],
                str(summary.get("added-records", "")),
                str(summary.get("total-records", "")),
                ", ".join(s["refs"]),
            ]
        )
    headers = ["snapshot id", "time (UTC)", "operation", "added rows", "total rows", "refs"]
    # Piped (not a TTY): plain columns, ids never cut.
    click.echo("\n".join(render(headers, rows, width=terminal_width(sys.stdout))))
