"""A burst of alerts for the end-to-end tests: unrelated made-up stories that one rule matches."""

from __future__ import annotations

import random

from bot import clock
from tests.feedserver import Item

BURST_RULE = "id: zephyrine\ntitle: Zephyrine\nquery: zephyrine\n"


def burst_items(count: int, seed: int = 7, prefix: str = "burst") -> list[Item]:
    """`count` stories that share only the word the burst rule looks for, so each is a story of its own."""
    pick = random.Random(seed)
    now = clock.now()

    def word() -> str:
        return "".join(pick.choice("bcdfghklmnprstvz") + pick.choice("aeiou") for _ in range(4))

    items = []
    for n in range(count):
        title = " ".join(word().capitalize() for _ in range(5)) + " zephyrine"
        body = " ".join(word() for _ in range(60)) + " zephyrine " + " ".join(word() for _ in range(30))
        items.append(Item(f"{prefix}-{n}", title, f"https://burst.example/{prefix}/{n}", body, now))
    return items
