"""A deterministic HackerNews dataset with the real API's shape and quirks.

The content of item ``i`` depends only on ``(seed, i)`` and on the items before it, so two
datasets built with the same seed are identical, and :meth:`HNDataset.grow` continues the
same sequence. Quirks reproduced from hacker-news.firebaseio.com/v0:

- some ids have no item: the API answers ``null``;
- deleted items carry only ``id``, ``type``, ``time`` and ``deleted``;
- dead items carry ``dead: true`` next to their content;
- keys are omitted when empty (no ``kids``, ``url`` or ``text``);
- ``text`` is HTML with entities (``&#x27;``, ``&quot;``, ``&amp;``) and unicode;
- all five types: story (incl. Ask/Show HN), comment, job, poll and its pollopts.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

# 2026-11-01T00:00:00Z; ids are ~4 minutes apart so a few thousand items span several days.
START_TIME = 1_793_491_200
SECONDS_PER_ID = 240

LIST_NAMES = ("topstories", "newstories", "beststories", "askstories", "showstories", "jobstories")
LIST_LIMITS = {"topstories": 500, "newstories": 500, "beststories": 500}
OTHER_LIST_LIMIT = 200

_WORDS = (
    "lakehouse",
    "iceberg",
    "duckdb",
    "parquet",
    "rust",
    "python",
    "latency",
    "cache",
    "compiler",
    "kernel",
    "startup",
    "database",
    "index",
    "naïve",
    "café",
    "Ünïcode",
    "日本語",
    "Ωμέγα",
    "🚀",
    "résumé",
    "Zürich",
    "façade",
    "москва",
    "—",
    "…",
)
# Fragments of HN's HTML: entities, paragraphs, links, code, italics.
_HTML_BITS = (
    "It&#x27;s",
    "&quot;quoted&quot;",
    "a &amp; b",
    "x &gt; y",
    "y &lt; z",
    "<p>",
    "<i>really</i>",
    '<a href="https:&#x2F;&#x2F;example.com&#x2F;a?b=1&amp;c=2" rel="nofollow">link</a>',
    "<pre><code>  print(&quot;hi&quot;)\n</code></pre>",
)
_USERS = tuple(
    f"{name}{n}" for name in ("pg", "dang", "tptacek", "patio", "jl", "sama") for n in range(1, 9)
)


@dataclass
class Growth:
    """What :meth:`HNDataset.grow` changed."""

    new_ids: list[int] = field(default_factory=list)
    changed_ids: list[int] = field(default_factory=list)


class HNDataset:
    """Generated HN items ``1..maxitem``; thread-safe; ``grow`` adds items and changes scores.

    Example::

        ds = HNDataset(items=1000, seed=7)
        ds.item(1)          # {'by': ..., 'id': 1, 'type': 'story', ...} or None
        ds.grow(new_items=100, changed=20)
    """

    def __init__(self, items: int, seed: int = 0, *, null_rate: float = 0.01) -> None:
        if items < 1:
            raise ValueError(f"items = {items}: the dataset needs at least 1 item")
        self.seed = seed
        self.null_rate = null_rate
        self._lock = threading.RLock()
        self._items: list[dict[str, Any] | None] = [None]  # index 0 unused: ids start at 1
        self._overrides: dict[int, Any] = {}
        self._pollopts_left = 0
        self._current_poll: int | None = None
        self._generation = 0
        self._updated: list[int] = []
        self._updated_profiles: list[str] = []
        self._add(items)

    # -- reading ----------------------------------------------------------------------
    @property
    def maxitem(self) -> int:
        with self._lock:
            return len(self._items) - 1

    def item(self, item_id: int) -> Any:
        """The JSON value the API returns for ``item/<id>.json`` (a dict, or None)."""
        with self._lock:
            if item_id in self._overrides:
                return self._overrides[item_id]
            if 1 <= item_id < len(self._items):
                found = self._items[item_id]
                return dict(found) if found is not None else None
            return None

    def ids(self) -> list[int]:
        """Ids that have an item (what a complete load must contain), overrides included."""
        with self._lock:
            present = {i for i, it in enumerate(self._items) if it is not None}
            for item_id, value in self._overrides.items():
                if value is None:
                    present.discard(item_id)
                elif 1 <= item_id < len(self._items):
                    present.add(item_id)
            return sorted(present)

    def null_ids(self) -> list[int]:
        """Ids in ``1..maxitem`` the API answers with ``null``."""
        with self._lock:
            present = set(self.ids())
            return [i for i in range(1, len(self._items)) if i not in present]

    def lists(self) -> dict[str, list[int]]:
        """Story id lists as served by topstories.json & co."""
        with self._lock:
            stories = [it for it in self._items if it and not it.get("deleted")]
            live = [it for it in stories if it["type"] == "story" and not it.get("dead")]
            newest = sorted(live, key=lambda it: -it["id"])
            out = {
                "newstories": [it["id"] for it in newest],
                "beststories": [it["id"] for it in sorted(live, key=lambda it: -it["score"])],
                # Rank by points with a gravity on age, as HN does (roughly).
                "topstories": [
                    it["id"]
                    for it in sorted(
                        live,
                        key=lambda it: (
                            -(it["score"] / (1 + (len(self._items) - it["id"]) / 100) ** 1.8)
                        ),
                    )
                ],
                "askstories": [it["id"] for it in newest if "url" not in it],
                "showstories": [
                    it["id"] for it in newest if str(it.get("title", "")).startswith("Show HN")
                ],
                "jobstories": [
                    it["id"]
                    for it in sorted(stories, key=lambda it: -it["id"])
                    if it["type"] == "job"
                ],
            }
            return {k: v[: LIST_LIMITS.get(k, OTHER_LIST_LIMIT)] for k, v in out.items()}

    def updates(self) -> dict[str, list[Any]]:
        """``updates.json``: items and profiles changed by the latest :meth:`grow`."""
        with self._lock:
            return {"items": list(self._updated), "profiles": list(self._updated_profiles)}

    def user(self, name: str) -> dict[str, Any] | None:
        """``user/<id>.json`` (None for unknown users)."""
        with self._lock:
            if name not in _USERS:
                return None
            submitted = [it["id"] for it in self._items if it and it.get("by") == name]
            rng = random.Random(f"{self.seed}:user:{name}")
            user: dict[str, Any] = {
                "id": name,
                "created": START_TIME - rng.randint(86400, 10 * 365 * 86400),
                "karma": rng.randint(1, 50_000),
                "submitted": sorted(submitted, reverse=True),
            }
            if rng.random() < 0.5:
                user["about"] = "I write &quot;software&quot; &amp; café reviews. 日本語"
            return user

    # -- changing ---------------------------------------------------------------------
    def grow(self, new_items: int = 0, changed: int = 0) -> Growth:
        """Add ``new_items`` items and change the score of ``changed`` existing stories.

        Items whose kids/descendants change because of new comments count as changed too.
        ``updates.json`` afterwards lists every changed (not new) item.
        """
        with self._lock:
            self._generation += 1
            before = self.maxitem
            touched = self._add(new_items)
            rng = random.Random(f"{self.seed}:grow:{self._generation}")
            candidates = [
                it
                for it in self._items[1 : before + 1]
                if it and not it.get("deleted") and "score" in it
            ]
            for it in rng.sample(candidates, min(changed, len(candidates))):
                it["score"] += rng.randint(1, 50)
                touched.add(it["id"])
            changed_ids = sorted(i for i in touched if i <= before)
            self._updated = changed_ids
            self._updated_profiles = sorted(
                {
                    str(self._items[i]["by"])  # type: ignore[index]
                    for i in changed_ids
                    if self._items[i] and "by" in self._items[i]  # type: ignore[operator]
                }
            )
            return Growth(list(range(before + 1, self.maxitem + 1)), changed_ids)

    def override(self, item_id: int, value: Any) -> None:
        """Serve ``value`` (any JSON value, e.g. a schema-violating item) for ``item_id``."""
        with self._lock:
            self._overrides[item_id] = value

    def clear_override(self, item_id: int) -> None:
        with self._lock:
            self._overrides.pop(item_id, None)

    # -- generation -------------------------------------------------------------------
    def _add(self, count: int) -> set[int]:
        touched: set[int] = set()
        for _ in range(count):
            item_id = len(self._items)
            item = self._make(item_id, touched)
            self._items.append(item)
        return touched

    def _make(self, item_id: int, touched: set[int]) -> dict[str, Any] | None:
        rng = random.Random(f"{self.seed}:item:{item_id}")
        when = START_TIME + item_id * SECONDS_PER_ID + rng.randrange(SECONDS_PER_ID)
        if self._pollopts_left > 0 and self._current_poll is not None:
            return self._pollopt(item_id, when, rng, touched)
        if rng.random() < self.null_rate:
            return None
        roll = rng.random()
        if roll < 0.22:
            item = self._story(item_id, when, rng)
        elif roll < 0.235:
            item = self._job(item_id, when, rng)
        elif roll < 0.245:
            item = self._poll(item_id, when, rng)
        else:
            item = self._comment(item_id, when, rng, touched)
        if item["type"] != "poll" and rng.random() < 0.02:
            return {"id": item_id, "type": item["type"], "time": when, "deleted": True}
        if rng.random() < 0.02:
            item["dead"] = True
        return item

    def _text(self, rng: random.Random, words: int) -> str:
        parts = [rng.choice(_WORDS) for _ in range(words)]
        for _ in range(rng.randint(0, 3)):
            parts.insert(rng.randrange(len(parts) + 1), rng.choice(_HTML_BITS))
        return " ".join(parts)

    def _title(self, rng: random.Random, prefix: str = "") -> str:
        return prefix + " ".join(rng.choice(_WORDS) for _ in range(rng.randint(3, 9))).capitalize()

    def _story(self, item_id: int, when: int, rng: random.Random) -> dict[str, Any]:
        kind = rng.random()
        item: dict[str, Any] = {
            "by": rng.choice(_USERS),
            "descendants": 0,
            "id": item_id,
            "score": int(rng.paretovariate(1.2)) + rng.randint(0, 5),
            "time": when,
            "type": "story",
        }
        if kind < 0.15:
            item["title"] = self._title(rng, "Ask HN: ")
            item["text"] = self._text(rng, rng.randint(5, 40))
        else:
            item["title"] = self._title(rng, "Show HN: " if kind < 0.25 else "")
            item["url"] = f"https://example.com/{item_id}/{rng.choice(_WORDS)}"
        return item

    def _job(self, item_id: int, when: int, rng: random.Random) -> dict[str, Any]:
        item: dict[str, Any] = {
            "by": rng.choice(_USERS),
            "id": item_id,
            "score": 1,
            "time": when,
            "title": self._title(rng, "Startup (YC W26) is hiring: "),
            "type": "job",
        }
        if rng.random() < 0.5:
            item["url"] = f"https://jobs.example.com/{item_id}"
        else:
            item["text"] = self._text(rng, rng.randint(10, 30))
        return item

    def _poll(self, item_id: int, when: int, rng: random.Random) -> dict[str, Any]:
        self._pollopts_left = rng.randint(2, 4)
        self._current_poll = item_id
        return {
            "by": rng.choice(_USERS),
            "descendants": 0,
            "id": item_id,
            "parts": [],
            "score": rng.randint(1, 300),
            "text": self._text(rng, 8),
            "time": when,
            "title": self._title(rng, "Poll: "),
            "type": "poll",
        }

    def _pollopt(
        self, item_id: int, when: int, rng: random.Random, touched: set[int]
    ) -> dict[str, Any]:
        poll_id = self._current_poll
        assert poll_id is not None
        self._pollopts_left -= 1
        poll = self._items[poll_id]
        assert poll is not None
        poll["parts"].append(item_id)
        touched.add(poll_id)
        return {
            "by": poll["by"],
            "id": item_id,
            "poll": poll_id,
            "score": rng.randint(0, 200),
            "text": self._title(rng),
            "time": when,
            "type": "pollopt",
        }

    def _comment(
        self, item_id: int, when: int, rng: random.Random, touched: set[int]
    ) -> dict[str, Any]:
        parent_id = self._pick_parent(item_id, rng)
        item: dict[str, Any] = {
            "by": rng.choice(_USERS),
            "id": item_id,
            "text": self._text(rng, rng.randint(3, 60)),
            "time": when,
            "type": "comment",
        }
        if parent_id is None:
            # No story yet to reply to: the very first items become a story instead.
            return self._story(item_id, when, rng)
        item["parent"] = parent_id
        parent = self._items[parent_id]
        assert parent is not None
        parent.setdefault("kids", []).insert(0, item_id)  # newest first, as on the site
        touched.add(parent_id)
        for ancestor in self._ancestors(parent_id):
            if "descendants" in ancestor:
                ancestor["descendants"] += 1
                touched.add(ancestor["id"])
        return item

    def _pick_parent(self, item_id: int, rng: random.Random) -> int | None:
        low = max(1, item_id - 300)
        for _ in range(4):
            candidate = self._items[rng.randint(low, item_id - 1)] if item_id > 1 else None
            if (
                candidate
                and not candidate.get("deleted")
                and candidate["type"] in ("story", "comment", "poll")
            ):
                return int(candidate["id"])
        for candidate in reversed(self._items[low:item_id]):
            if candidate and not candidate.get("deleted") and candidate["type"] == "story":
                return int(candidate["id"])
        return None

    def _ancestors(self, item_id: int) -> Iterable[dict[str, Any]]:
        current = self._items[item_id]
        while current is not None:
            yield current
            parent = current.get("parent")
            current = self._items[parent] if parent else None
