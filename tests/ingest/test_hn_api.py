"""The local HackerNews API: real HTTP on loopback, the real API's shape and quirks."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections import Counter
from typing import Any

import pytest

from doctordata.ingest.hn_api import Faults
from doctordata.ingest.hn_data import HNDataset

pytestmark = pytest.mark.ingest


def get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as resp:
        return json.loads(resp.read().decode("utf-8"))


def test_same_seed_same_data_other_seed_other_data() -> None:
    a, b, c = HNDataset(300, seed=1), HNDataset(300, seed=1), HNDataset(300, seed=2)
    assert [a.item(i) for i in range(1, 301)] == [b.item(i) for i in range(1, 301)]
    assert [a.item(i) for i in range(1, 301)] != [c.item(i) for i in range(1, 301)]
    a.grow(50, 10)
    b.grow(50, 10)
    assert [a.item(i) for i in range(1, 351)] == [b.item(i) for i in range(1, 351)]


def test_serves_the_api_shape_and_quirks(hn_server: Any) -> None:
    server = hn_server(items=1500, seed=3)
    assert server.url.startswith("http://127.0.0.1:") and server.url.endswith("/v0/")
    assert get(server.url + "maxitem.json") == 1500
    items = {i: get(f"{server.url}item/{i}.json") for i in range(1, 1501)}
    types = Counter(it["type"] for it in items.values() if it)
    assert set(types) == {"story", "comment", "job", "poll", "pollopt"}
    assert any(it is None for it in items.values()), "some ids must be null"
    deleted = [it for it in items.values() if it and it.get("deleted")]
    assert deleted and all(set(it) == {"id", "type", "time", "deleted"} for it in deleted)
    assert any(it and it.get("dead") is True for it in items.values())
    texts = " ".join(it.get("text", "") for it in items.values() if it)
    for quirk in ("&#x27;", "&quot;", "&amp;", "<p>", "日本語", "🚀"):
        assert quirk in texts
    stories = [it for it in items.values() if it and it["type"] == "story" and "deleted" not in it]
    assert any("url" not in it for it in stories) and any("kids" not in it for it in stories)
    comments = [it for it in items.values() if it and it["type"] == "comment" and "parent" in it]
    for comment in comments[:50]:
        assert comment["id"] in items[comment["parent"]]["kids"]
    poll = next(it for it in items.values() if it and it["type"] == "poll")
    assert all(items[p]["poll"] == poll["id"] for p in poll["parts"])
    assert get(server.url + "item/999999.json") is None  # beyond maxitem: null, like Firebase


def test_lists_updates_and_users(hn_server: Any) -> None:
    server = hn_server(items=600, seed=5)
    for name in (
        "topstories",
        "newstories",
        "beststories",
        "askstories",
        "showstories",
        "jobstories",
    ):
        ids = get(f"{server.url}{name}.json")
        assert isinstance(ids, list) and ids and all(isinstance(i, int) for i in ids)
    assert get(server.url + "updates.json") == {"items": [], "profiles": []}
    growth = server.grow(new_items=40, changed=10)
    assert get(server.url + "maxitem.json") == 640
    assert growth.new_ids == list(range(601, 641))
    updates = get(server.url + "updates.json")
    assert updates["items"] == growth.changed_ids and len(growth.changed_ids) >= 10
    assert updates["profiles"]
    user = get(f"{server.url}user/{updates['profiles'][0]}.json")
    assert user["id"] == updates["profiles"][0] and user["submitted"]
    assert get(server.url + "user/nobody.json") is None
    with pytest.raises(urllib.error.HTTPError) as err:
        get(server.url.replace("/v0/", "/v1/") + "maxitem.json")
    assert err.value.code == 404


def test_fault_injection_errors_and_truncation(hn_server: Any) -> None:
    server = hn_server(items=50, faults=Faults(error_rate=0.3, truncate_rate=0.3, seed=1))
    statuses: Counter[str] = Counter()
    for i in range(1, 101):
        try:
            body = urllib.request.urlopen(f"{server.url}item/{(i % 50) + 1}.json", timeout=5).read()
            json.loads(body)
            statuses["ok"] += 1
        except urllib.error.HTTPError as exc:
            statuses[str(exc.code)] += 1
        except (ValueError, OSError, Exception) as exc:  # incomplete read or cut-off JSON
            statuses[type(exc).__name__] += 1
    assert statuses["ok"] >= 10
    assert server.injected["error"] > 5 and server.injected["truncate"] > 5
    assert sum(v for k, v in statuses.items() if k != "ok") == sum(server.injected.values())


def test_fault_rates_are_validated() -> None:
    with pytest.raises(ValueError, match=r"error_rate = 1\.5"):
        Faults(error_rate=1.5)
    with pytest.raises(ValueError, match="must not exceed 1"):
        Faults(error_rate=0.6, truncate_rate=0.6)
    with pytest.raises(ValueError, match="at least 1 item"):
        HNDataset(0)
