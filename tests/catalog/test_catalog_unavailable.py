"""A catalog server that is down or drops us: CatalogUnavailableError naming the host."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

import doctordata as dd
from doctordata.errors import CatalogUnavailableError
from tests.catalog.data import items


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port  # closed again: nothing listens there


def test_postgres_down_at_open_names_the_host_not_the_password(tmp_path: Path) -> None:
    port = _closed_port()
    url = f"postgresql+psycopg2://me:s3cret-pw-9@127.0.0.1:{port}/lake"
    lh = dd.connect(tmp_path / "lake", catalog={"uri": url})
    with pytest.raises(CatalogUnavailableError) as err:
        lh.tables()
    text = str(err.value)
    assert f"127.0.0.1:{port}" in text and "not reachable" in text
    assert "Start the database server" in text
    assert "s3cret-pw-9" not in text


@pytest.mark.postgres
def test_postgres_dropping_our_connections_mid_session(
    postgres_server: object, postgres_catalog_url: str, tmp_path: Path
) -> None:
    with dd.connect(tmp_path / "lake", catalog={"uri": postgres_catalog_url}) as lh:
        lh.create_table("raw.t", items(range(5)))
        admin = postgres_server.connect()  # type: ignore[attr-defined]
        dbname = postgres_catalog_url.rsplit("/", 1)[1]
        with admin.cursor() as cur:  # what a server restart does to open connections
            cur.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = %s AND pid <> pg_backend_pid()",
                (dbname,),
            )
        admin.close()
        with pytest.raises(CatalogUnavailableError) as err:
            lh.append("raw.t", items(range(5, 10)))
        password = postgres_server.password  # type: ignore[attr-defined]
        assert "127.0.0.1" in str(err.value) and password not in str(err.value)
        # The dropped connection is discarded: the next call reconnects and works.
        lh.append("raw.t", items(range(5, 10)))
        assert lh.read("raw.t").num_rows == 10
