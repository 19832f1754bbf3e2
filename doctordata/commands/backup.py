"""`doctordata backup [list|verify|prune]`, `doctordata restore`, `doctordata verify`."""

from __future__ import annotations

import json
from typing import Any

import click

from doctordata.commands import human_bytes, open_lakehouse

TO_HELP = "Tier name from doctordata.toml, or a directory / s3:// URL."


def _to(ctx: click.Context, value: str | None) -> str:
    """A subcommand's --to, else the group's (`backup --to s3 list` == `backup list --to s3`)."""
    if value is not None:
        return value
    parent = ctx.parent.params if ctx.parent is not None else {}
    return str(parent.get("to") or "nas")


ENDPOINT_HELP = (
    "S3 endpoint of an s3:// target (default: the endpoint of the configured S3 tier in "
    "the same bucket, else AWS). Example: --endpoint http://127.0.0.1:8333"
)


def _endpoint(ctx: click.Context, value: str | None) -> str | None:
    """A subcommand's --endpoint, else the group's (either place works)."""
    if value is not None:
        return value
    parent = ctx.parent.params if ctx.parent is not None else {}
    found = parent.get("endpoint")
    return str(found) if found else None


def _progress(no_progress: bool) -> bool | None:
    return False if no_progress else None  # None: bars only when stderr is a terminal


@click.group(invoke_without_command=True)
@click.option("--to", default="nas", show_default=True, help=TO_HELP)
@click.option("--endpoint", default=None, help=ENDPOINT_HELP)
@click.option("--workers", default=4, show_default=True, help="Files copied in parallel.")
@click.option("--no-progress", is_flag=True, help="No progress bar.")
@click.option(
    "--create",
    is_flag=True,
    help="Create the --to directory if it does not exist (refused otherwise: an unmounted "
    "NAS or a typo must not get a backup on the local disk). Example: "
    "doctordata backup --to /mnt/usb/lake-backups --create",
)
@click.pass_context
def backup(
    ctx: click.Context,
    to: str,
    endpoint: str | None,
    workers: int,
    no_progress: bool,
    create: bool,
) -> None:
    """Back up catalog, metadata and data files to a tier (incremental).

    \b
      doctordata backup --to nas          run a backup
      doctordata backup --to /mnt/usb/lake-backups --create
      doctordata backup list              backups on the tier
      doctordata backup verify [ID]       re-read and checksum a backup (default: latest)
      doctordata backup prune --keep-last 7
      doctordata backup --to s3://bucket/backups --endpoint http://127.0.0.1:8333
      doctordata backup list --to s3://bucket/backups --endpoint http://127.0.0.1:8333
    """
    if ctx.invoked_subcommand is not None:
        return
    lh = open_lakehouse(ctx)
    report = lh.backup(
        to, progress=_progress(no_progress), workers=workers, endpoint=endpoint, create=create
    )
    click.echo(str(report))
    if report.missing:
        ctx.exit(1)


@backup.command("list")
@click.option("--to", default=None, help=TO_HELP)
@click.option("--endpoint", default=None, help=ENDPOINT_HELP)
@click.option("--all", "show_all", is_flag=True, help="Also show partial (interrupted) backups.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def list_cmd(
    ctx: click.Context, to: str | None, endpoint: str | None, show_all: bool, as_json: bool
) -> None:
    """List backups on a tier, oldest first.

    \b
      doctordata backup list --to nas
      doctordata backup list --to s3://bucket/backups --endpoint http://127.0.0.1:8333 --json
    """
    from dataclasses import asdict

    from doctordata.backup.backup import list_backups

    lh = open_lakehouse(ctx)
    target = _to(ctx, to)
    infos = list_backups(
        lh,
        target,
        include_incomplete=show_all,
        endpoint=_endpoint(ctx, endpoint),
    )
    if as_json:
        click.echo(json.dumps([asdict(i) for i in infos], indent=1))
        return
    if not infos:
        click.echo(f"no backups on {target!r}; make one with `doctordata backup --to {target}`")
        return
    from doctordata.backup.targets import is_lakes
    from doctordata.storage.offline import current_lake_id

    lake = current_lake_id(lh.root)
    for i in infos:
        state = "" if i.complete else "  (INCOMPLETE: interrupted, not restorable)"
        # The lake that made it ("-": made before lake ids were recorded); "*" marks this
        # lake's backups, the ones prune and `restore latest` look at by default.
        mine = "*" if i.complete and is_lakes(i, lake, str(lh.root)) else " "
        click.echo(
            f"{i.id}  {i.created_at or '-':25}  lake {i.lake_id or '-':32}{mine} "
            f"{i.tables:3} tables  {i.files:6} files  {human_bytes(i.bytes):>10}{state}"
        )


@backup.command("verify")
@click.argument("backup_id", required=False)
@click.option("--to", default=None, help=TO_HELP)
@click.option("--endpoint", default=None, help=ENDPOINT_HELP)
@click.option("--no-progress", is_flag=True, help="No progress bar.")
@click.pass_context
def verify_backup_cmd(
    ctx: click.Context,
    backup_id: str | None,
    to: str | None,
    endpoint: str | None,
    no_progress: bool,
) -> None:
    """Re-read and checksum every file of a backup (BACKUP_ID, path or URL; default latest).

    \b
      doctordata backup verify                      the latest backup on nas
      doctordata backup verify --to s3://bucket/backups --endpoint http://127.0.0.1:8333
      doctordata backup verify s3://bucket/backups/backups/<id>
    """
    from doctordata.backup.backup import verify_backup

    # A backup URL needs no lakehouse, but its config (when there is one) knows the
    # endpoint of the S3 tier in that bucket.
    lh = (
        open_lakehouse(ctx)
        if _has_lakehouse(ctx) or not backup_id or "/" not in backup_id
        else None
    )
    report = verify_backup(
        lh,
        backup_id,
        to=_to(ctx, to),
        progress=_progress(no_progress),
        endpoint=_endpoint(ctx, endpoint),
    )
    click.echo(str(report))
    if not report.ok:
        ctx.exit(1)


@backup.command("prune")
@click.option("--to", default=None, help=TO_HELP)
@click.option("--endpoint", default=None, help=ENDPOINT_HELP)
@click.option("--keep-last", type=int, default=None, help="Keep the newest N backups.")
@click.option("--older-than", default=None, help="Only delete backups older than this (30d).")
@click.option("--dry-run", is_flag=True, help="Show what would be deleted.")
@click.option(
    "--all-lakes",
    is_flag=True,
    help="Also prune backups other lakes (e.g. a relocated copy) made to this target, each "
    "lake keeping its newest --keep-last. Default: only this lake's backups are judged.",
)
@click.pass_context
def prune_cmd(
    ctx: click.Context,
    to: str | None,
    endpoint: str | None,
    keep_last: int | None,
    older_than: str | None,
    dry_run: bool,
    all_lakes: bool,
) -> None:
    """Delete old backups and the stored files only they needed.

    Only this lake's backups are judged; backups of other lakes on the same target are
    kept (and listed) unless --all-lakes.

    \b
      doctordata backup prune --keep-last 7
      doctordata backup prune --to s3://bucket/backups --endpoint http://127.0.0.1:8333 \\
          --older-than 30d --dry-run
    """
    from doctordata.backup.backup import prune

    lh = open_lakehouse(ctx)
    report = prune(
        lh,
        _to(ctx, to),
        keep_last=keep_last,
        older_than=older_than,
        dry_run=dry_run,
        endpoint=_endpoint(ctx, endpoint),
        all_lakes=all_lakes,
    )
    click.echo(str(report))


def _has_lakehouse(ctx: click.Context) -> bool:
    """True when the group's root has a doctordata.toml (opening it creates nothing)."""
    import os

    from doctordata.config import CONFIG_FILE, find_root

    return (find_root((ctx.find_root().obj or {}).get("root"), os.environ) / CONFIG_FILE).is_file()


def _configured_tiers(ctx: click.Context) -> dict[str, Any]:
    """The tiers of the group root's doctordata.toml ({} without one), read from the
    config alone: the catalog is not opened (it may be the damage being repaired)."""
    if not _has_lakehouse(ctx):
        return {}
    from doctordata.config import load_settings
    from doctordata.storage.tier import tiers_from_settings

    return dict(tiers_from_settings(load_settings((ctx.find_root().obj or {}).get("root"))))


def _find_in(
    ctx: click.Context, location: str, backup_id: str, endpoint: str | None, lake_id: str | None
) -> tuple[str, str | None]:
    """(URL of backup ``backup_id`` or 'latest' in the backup directory/URL ``location``,
    its endpoint): an s3:// location in a configured tier's bucket uses that tier's."""
    import os

    from doctordata.backup.targets import (
        adhoc_tier,
        latest_backup,
        load_manifest,
        target_for_tier,
    )
    from doctordata.config import find_root
    from doctordata.storage.offline import current_lake_id

    tier = adhoc_tier(location, endpoint, configured=_configured_tiers(ctx))
    target = target_for_tier(tier, durable=False)
    if backup_id == "latest":
        # The lake is often gone here (its catalog lost); its id may survive in the root.
        root = find_root((ctx.find_root().obj or {}).get("root"), os.environ)
        lake = lake_id or current_lake_id(root)
        backup_id = latest_backup(target, lake, None, f"--from {location}")
    manifest = load_manifest(target, backup_id)
    return f"{target.url}/{manifest.id}", tier.endpoint


def _tier_map(values: tuple[str, ...]) -> dict[str, str]:
    out: dict[str, str] = {}
    for value in values:
        name, sep, url = value.partition("=")
        if not sep or not name or not url:
            raise click.BadParameter(
                f"{value!r}: use NAME=URL, e.g. nas=file:///mnt/nas2/lake", param_hint="--tier"
            )
        out[name] = url
    return out


@click.command()
@click.argument("backup_ref")
@click.argument("root", type=click.Path(file_okay=False))
@click.option("--force", is_flag=True, help="Restore into a non-empty ROOT.")
@click.option(
    "--replace-lake",
    is_flag=True,
    help="With --force: replace a lake that is not the backup's (another lake id). Its "
    "files the backup does not reference are moved to a quarantine folder.",
)
@click.option(
    "--tier",
    "tiers",
    multiple=True,
    help="Put a tier elsewhere: NAME=URL (repeatable). Default: all below ROOT.",
)
@click.option("--in-place", is_flag=True, help="Put every file back at its original location.")
@click.option(
    "--from",
    "from_",
    default="nas",
    show_default=True,
    help="Where BACKUP_REF is when it is an id or 'latest': a tier name, or the backup "
    "directory / s3:// URL given to `backup --to` (then no lakehouse is needed). "
    "Example: --from /mnt/usb/lake-backups",
)
@click.option("--endpoint", default=None, help=ENDPOINT_HELP)
@click.option(
    "--lake-id",
    default=None,
    help="With 'latest': the newest backup of this lake (see `backup list`), when the "
    "target holds backups of several lakes. Default: the lake at --root.",
)
@click.option(
    "--catalog-uri",
    default=None,
    help="Catalog for the restored tables (e.g. postgresql+psycopg2://u@host/db). "
    "Default: a new SQLite catalog in ROOT.",
)
@click.option("--no-progress", is_flag=True, help="No progress bar.")
@click.pass_context
def restore(
    ctx: click.Context,
    backup_ref: str,
    root: str,
    force: bool,
    replace_lake: bool,
    tiers: tuple[str, ...],
    in_place: bool,
    from_: str,
    endpoint: str | None,
    lake_id: str | None,
    catalog_uri: str | None,
    no_progress: bool,
) -> None:
    """Restore BACKUP_REF (a backup directory path/URL, an id, or 'latest') into ROOT.

    \b
      doctordata restore latest /srv/lake2 --from nas
      doctordata restore <id> /srv/lake2 --from /mnt/usb/lake-backups
      doctordata restore /mnt/nas/lake/backups/<id> /srv/lake2
      doctordata restore s3://bucket/backups/backups/<id> /srv/lake2 \\
          --endpoint http://127.0.0.1:8333
    """
    from doctordata.backup.backup import open_backup
    from doctordata.backup.restore import ORIGINAL
    from doctordata.backup.restore import restore as run_restore

    if "/" not in backup_ref and ("/" in from_ or "://" in from_):
        # An explicit directory/URL needs no lakehouse: restoring is how a root whose
        # catalog is lost gets repaired, and a new machine has no doctordata.toml yet.
        backup_ref, endpoint = _find_in(ctx, from_, backup_ref, endpoint, lake_id)
    elif "/" not in backup_ref:
        lh = open_lakehouse(ctx)
        target, manifest = open_backup(
            backup_ref, lh=lh, to=from_, endpoint=endpoint, lake_id=lake_id
        )
        backup_ref = f"{target.url}/{manifest.id}"
        if endpoint is None and from_ in lh.tiers:
            endpoint = lh.tiers[from_].endpoint
    elif endpoint is None and backup_ref.startswith(("s3://", "s3a://")):
        from doctordata.backup.targets import s3_tier_for

        like = s3_tier_for(backup_ref, _configured_tiers(ctx))
        endpoint = like.endpoint if like is not None else None
    mapping: Any = ORIGINAL if in_place else _tier_map(tiers)
    report = run_restore(
        backup_ref,
        root,
        force=force,
        replace_lake=replace_lake,
        tiers=mapping,
        endpoint=endpoint,
        catalog_uri=catalog_uri,
        progress=_progress(no_progress),
    )
    click.echo(str(report))


@click.command()
@click.option("--table", default=None, help="Check one table (ns.table) only.")
@click.option("--no-orphans", is_flag=True, help="Skip the orphan-file scan.")
@click.option(
    "--orphan-min-age",
    default="1h",
    show_default=True,
    help="Younger unreferenced files are writes in flight, not orphans.",
)
@click.option(
    "--deep",
    is_flag=True,
    help="Also re-read every referenced data file and compare it with its recorded checksum.",
)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def verify(
    ctx: click.Context,
    table: str | None,
    no_orphans: bool,
    orphan_min_age: str,
    deep: bool,
    as_json: bool,
) -> None:
    """Check that every referenced file exists with its size; report orphans and small files.

    With --deep, also re-read every data file and compare its sha256 with the checksum
    recorded when doctordata wrote it. Exits with status 1 if anything is damaged.

    \b
      doctordata verify
      doctordata verify --table hackernews.items --deep
      doctordata verify --no-orphans --json
    """
    from dataclasses import asdict

    from doctordata.backup.integrity import verify as run_verify

    lh = open_lakehouse(ctx)
    report = run_verify(
        lh, table=table, orphans=not no_orphans, orphan_min_age=orphan_min_age, deep=deep
    )
    if as_json:
        data = asdict(report)
        data["ok"] = report.ok
        data["failed_tables"] = report.failed_tables
        click.echo(json.dumps(data, indent=1))
    else:
        click.echo(str(report))
    if not report.ok:
        ctx.exit(1)


@click.command()
@click.option(
    "--root",
    "root",
    default=None,
    help="The copied or moved lakehouse (default: the group's --root or the current one).",
)
@click.option("--dry-run", is_flag=True, help="Say what would be rewritten; change nothing.")
@click.option(
    "--new-id/--keep-id",
    default=None,
    help="Give the lake a new id (default: only if the original still exists, i.e. a copy).",
)
@click.pass_context
def relocate(ctx: click.Context, root: str | None, dry_run: bool, new_id: bool | None) -> None:
    """Make a lakehouse copied (cp -r) or moved (mv) usable in its new place.

    Rewrites the old place's locations in this copy only: catalog rows, metadata.json
    files, manifest lists, manifests, checksums and tier markers. The original is never
    written. Example: cp -r /srv/lake /srv/lake2 && doctordata --root /srv/lake2 relocate
    """
    from doctordata.backup.relocate import relocate as run_relocate

    if root is None:
        root = (ctx.find_root().obj or {}).get("root")
    click.echo(str(run_relocate(root, dry_run=dry_run, new_id=new_id)))
