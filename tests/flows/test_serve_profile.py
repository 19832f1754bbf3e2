"""`doctordata serve` sees a PREFECT_API_URL that is set only in a Prefect profile.

`prefect config set PREFECT_API_URL=...` writes it into the active profile of
``~/.prefect/profiles.toml``, not into the environment; serve must use that server (and
refuse when it does not answer), not silently start a server of its own.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from doctordata.errors import SchedulerError
from doctordata.orchestrate.server import configured_api, free_port
from tests.flows.test_serve import serve_env


def _profiles(path: Path, active: str | None, **profiles: str) -> Path:
    lines = [f'active = "{active}"', ""] if active else []
    for name, url in profiles.items():
        lines += [f"[profiles.{name}]", f'PREFECT_API_URL = "{url}"', ""]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines))
    return path


def test_the_environment_wins_over_the_profile(tmp_path: Path) -> None:
    home = tmp_path / "home"
    _profiles(home / "profiles.toml", "mine", mine="http://127.0.0.1:1/api")
    env = {"PREFECT_HOME": str(home), "PREFECT_API_URL": "http://127.0.0.1:2/api"}
    found = configured_api(env)
    assert found is not None and (found.url, found.source) == (
        "http://127.0.0.1:2/api",
        "PREFECT_API_URL",
    )


def test_the_active_profile_of_the_profiles_file(tmp_path: Path) -> None:
    path = _profiles(
        tmp_path / "home" / "profiles.toml",
        "mine",
        mine="http://127.0.0.1:1/api",
        other="http://127.0.0.1:2/api",
    )
    found = configured_api({"PREFECT_HOME": str(tmp_path / "home")})
    assert found is not None and found.url == "http://127.0.0.1:1/api"
    assert found.profiles == path.resolve() and "profile 'mine'" in found.source
    # PREFECT_PROFILE picks another profile, PREFECT_PROFILES_PATH another file.
    env = {"PREFECT_HOME": str(tmp_path / "home"), "PREFECT_PROFILE": "other"}
    assert (configured_api(env) or pytest.fail()).url == "http://127.0.0.1:2/api"
    elsewhere = _profiles(tmp_path / "x.toml", "p", p="http://127.0.0.1:3/api")
    env = {"PREFECT_HOME": str(tmp_path / "home"), "PREFECT_PROFILES_PATH": str(elsewhere)}
    assert (configured_api(env) or pytest.fail()).url == "http://127.0.0.1:3/api"


def test_no_url_anywhere(tmp_path: Path) -> None:
    assert configured_api({"PREFECT_HOME": str(tmp_path / "none")}) is None
    _profiles(tmp_path / "home" / "profiles.toml", "local")  # active profile not defined
    assert configured_api({"PREFECT_HOME": str(tmp_path / "home")}) is None


def test_a_broken_profiles_file_is_named(tmp_path: Path) -> None:
    (tmp_path / "profiles.toml").write_text("active = [unclosed\n")
    with pytest.raises(SchedulerError, match=r"profiles\.toml cannot be read"):
        configured_api({"PREFECT_HOME": str(tmp_path)})


@pytest.mark.prefect
@pytest.mark.slow
def test_serve_uses_the_profile_url_and_refuses_it_unreachable(
    tmp_path: Path, child_env: dict[str, str]
) -> None:
    """With the old code serve ignored the profile, started its own server and blocked:
    the timeout below would expire instead of an exit naming the profile's URL."""
    url = f"http://127.0.0.1:{free_port()}/api"
    # `prefect config set` with no PREFECT_HOME: ~/.prefect/profiles.toml.
    home = tmp_path / "user"
    _profiles(home / ".prefect" / "profiles.toml", "mine", mine=url)
    env = {**serve_env(child_env), "HOME": str(home)}
    env.pop("DOCTORDATA_DEBUG")
    root = tmp_path / "lake"
    result = subprocess.run(
        [sys.executable, "-m", "doctordata", "--root", str(root), "serve"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1, result.stderr[-2000:]
    assert f"PREFECT_API_URL={url} is not reachable" in result.stderr
    assert "Prefect profile 'mine'" in result.stderr
    assert not (root / ".prefect" / "server.db").exists()  # no server of its own
