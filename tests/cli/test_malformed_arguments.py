"""Every CLI command with malformed arguments: a non-zero exit with one clear line, never a
traceback or an internal error, and never a secret from the config or the environment.

Commands are found by walking the click command tree, so a new command is covered.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import click
import pytest

import doctordata as dd
from doctordata.cli import cli, main
from tests.catalog.data import items

SECRET_ENV = "Env-S3cret-Value-4417"
SECRET_FILE = "File-S3cret-Value-5531"
SECRETS = (SECRET_ENV, SECRET_FILE)

# Long-running commands (a server, the whole demo, dbt, ingest over the network): only
# their argument parsing is exercised (an unknown option), never a run.
NOT_RUN = {"dbt", "demo", "dev clickhouse", "dev hn-api", "ingest hackernews", "serve"}
# A valid value for each required argument.
REQUIRED = {
    "table": "ns.t",
    "backup_ref": "no-such-backup",
    "root": "restored",
    "query": "SELECT 1",
}
BAD_TEXT = ["", "ns.t\n", "a/b", "ns.missing", "x\x00y", "-1d", "99999999999999999999"]
BAD_INT = ["-1", "99999999999999999999", "abc"]


def _leaves(
    group: click.Group, ctx: click.Context, path: list[str]
) -> Iterator[tuple[str, click.Command]]:
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        assert command is not None, name
        if isinstance(command, click.Group):
            yield from _leaves(command, ctx, [*path, name])
        else:
            yield " ".join([*path, name]), command


def _commands() -> list[tuple[str, click.Command]]:
    return list(_leaves(cli, click.Context(cli), []))


def _argvs(path: str, command: click.Command) -> Iterator[list[str]]:
    words = path.split()
    base = [
        REQUIRED.get(p.name or "", "x")
        for p in command.params
        if isinstance(p, click.Argument) and (p.required or p.name in REQUIRED)
    ]
    yield [*words, *base, "--no-such-option"]
    if path in NOT_RUN:
        return
    arguments = [p for p in command.params if isinstance(p, click.Argument)]
    for i, param in enumerate(arguments):
        if param.required or param.nargs == 1:
            for bad in BAD_TEXT:
                values = [REQUIRED.get(p.name or "", "x") for p in arguments[:i] if p.required]
                yield [*words, *values, bad]
    for param in command.params:
        if not isinstance(param, click.Option) or param.is_flag:
            continue
        bads = BAD_INT if "integer" in param.type.name or "float" in param.type.name else BAD_TEXT
        for bad in bads:
            yield [*words, *base, param.opts[0], bad]


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "lake"
    root.mkdir()
    (root / "doctordata.toml").write_text(
        '[tiers.ssd]\nurl = "ssd"\n[tiers.nas]\nurl = "nas"\n'
        f'[catalog.properties]\n"s3.secret-access-key" = "{SECRET_FILE}"\n'
    )
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_ENV)
    with dd.connect(root) as lh:
        lh.create_table("ns.t", items(range(3)))
    return root


def test_every_command_refuses_malformed_arguments_cleanly(
    root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    problems: list[str] = []
    runs = 0
    for path, command in _commands():
        for argv in _argvs(path, command):
            runs += 1
            try:
                main(["--root", str(root), *argv])
                code = 0
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else 1
            except Exception as exc:
                problems.append(f"{argv!r}: raised {type(exc).__name__}: {exc}"[:300])
                continue
            out = capsys.readouterr()
            text = out.out + out.err
            if "Traceback" in text or "internal error" in text:
                problems.append(f"{argv!r}: {out.err.strip()[:300]}")
            if any(secret in text for secret in SECRETS):
                problems.append(f"{argv!r}: a secret in the output")
            if code and not out.err.strip():
                problems.append(f"{argv!r}: exit {code} without an error message")
            errors = [line for line in out.err.splitlines() if line.startswith("error:")]
            if len(errors) > 1:
                problems.append(f"{argv!r}: more than one error line")
    assert runs > 150
    assert not problems, f"{len(problems)} problems:\n" + "\n".join(problems)


@pytest.mark.parametrize(
    "argv",
    [
        ["describe", "ns.t\n"],
        ["maintain", "--expire-older-than", "-1d"],
        ["sql", "SELECT * FROM ns.missing"],
        ["doctor"],
    ],
)
def test_real_process_prints_one_line_without_secrets(
    root: Path, argv: list[str], child_env: dict[str, str]
) -> None:
    env = {**child_env, "AWS_SECRET_ACCESS_KEY": SECRET_ENV}
    result = subprocess.run(
        [sys.executable, "-m", "doctordata", "--root", str(root), *argv],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    text = result.stdout + result.stderr
    assert "Traceback" not in text
    assert not any(secret in text for secret in SECRETS)
    if argv != ["doctor"]:
        assert result.returncode != 0
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
