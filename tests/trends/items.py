"""Feed items for the volume tests: each one its own story about a harbour (the test rule matches "harbour"),
made of invented words, so no two join one story and every one counts."""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from tests.feedserver import Item

RULE = """id: harbour
title: Harbour $ traffic
query: harbour
"""
"""One topic; the `$` in its title must reach a chart as text, never as mathtext."""


def write_rules(folder: Path) -> Path:
    rules = folder / "rules"
    rules.mkdir(parents=True, exist_ok=True)
    (rules / "harbour.yaml").write_text(RULE)
    return rules


def _word(rng: random.Random) -> str:
    return "".join(rng.choice("bdfgklmnprstvz") + rng.choice("aeiou") for _ in range(rng.randint(3, 4)))


def harbour_items(prefix: str, times: Sequence[datetime], seed: int = 1) -> list[Item]:
    """One item per time, each a story of its own."""
    rng = random.Random(f"{prefix}:{seed}")
    items = []
    for number, published in enumerate(times):
        words = [_word(rng) for _ in range(14)]
        title = f"Harbour {words[0].title()} {words[1]} {words[2]} {words[3]}"
        body = f"The harbour of {words[4].title()} reported {' '.join(words[5:])}."
        items.append(Item(f"{prefix}-{number}", title, f"https://{prefix}.example/{number}", body, published))
    return items
