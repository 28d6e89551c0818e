"""Precision and recall of credit finding on the labelled sentences in tests/stories/testdata/credits.yaml.

Run: .venv/bin/python bench/attribution.py [--misses]
The baseline is the naive rule "every known agency name anywhere in the sentence is a credit", measured
in the same run, so the table shows what the sentence patterns add.
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.stories.agencies import AGENCIES
from bot.stories.attribution import find_credits
from bot.stories.quality import Score, set_score

CASES = Path(__file__).resolve().parents[1] / "tests/stories/testdata/credits.yaml"

Credits = frozenset[tuple[str, str | None]]


@dataclass(frozen=True, slots=True)
class Case:
    """One labelled sentence."""

    text: str
    expected: Credits
    lang: str
    split: str


def load_cases(path: Path = CASES) -> list[Case]:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    return [
        Case(item["text"], frozenset((c["source"], c.get("via")) for c in item["credits"]), item.get("lang", "en"),
             item.get("split", "tuned")) for item in raw
    ]


def predicted(text: str) -> Credits:
    return frozenset((c.source, c.via) for c in find_credits(text))


def baseline(text: str) -> Credits:
    """Any table spelling anywhere counts, with no sentence pattern."""
    return frozenset(
        (agency.name, None)
        for agency in AGENCIES
        if any(re.search(rf"(?<!\w){re.escape(s)}(?!\w)", text) for s in (agency.name, *agency.aliases))
    )


def _row(label: str, cases: list[Case]) -> tuple[Score, Score]:
    ours = set_score((predicted(c.text) for c in cases), (c.expected for c in cases))
    naive = set_score((baseline(c.text) for c in cases), (c.expected for c in cases))
    print(f"{label:<12}{len(cases):>6}{ours.precision:>8.3f}{ours.recall:>8.3f}{ours.f1:>8.3f}"
          f"{naive.precision:>10.3f}{naive.recall:>8.3f}{naive.f1:>8.3f}")
    return ours, naive


def speed() -> None:
    """Credits per entry over the real snapshot's items (all of them), newsbot against 0.1's patterns."""
    import time

    from bench.reference.attribution import entry_credits as reference_credits
    from bot.stories.attribution import entry_credits
    from tests.stories.snapshot import SNAPSHOT, load_feeds

    entries = [entry for feed in load_feeds() for entry in feed.entries] if SNAPSHOT.is_dir() else []
    if not entries:
        print(f"speed: skipped, no snapshot under {SNAPSHOT}")
        return
    timed = {}
    for name, credits in (("newsbot", entry_credits), ("0.1", reference_credits)):
        started = time.process_time()
        for entry in entries:
            credits(entry)
        timed[name] = 1000 * (time.process_time() - started) / len(entries)
    print(f"speed over the snapshot's {len(entries)} items: {timed['newsbot']:.2f} ms per entry, 0.1 "
          f"{timed['0.1']:.2f} ms ({timed['0.1'] / timed['newsbot']:.0f}x); target <= 1 ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--misses", action="store_true", help="print the sentences scored wrong")
    parser.add_argument("--speed", action="store_true", help="also time credits over the corpus snapshot")
    args = parser.parse_args()
    cases = load_cases()
    print(f"attribution: {len(cases)} sentences ({sum(c.lang != 'en' for c in cases)} not in English), "
          f"{sum(len(c.expected) for c in cases)} expected credits")
    print(f"{'split':<12}{'cases':>6}{'P':>8}{'R':>8}{'F1':>8}{'base P':>10}{'base R':>8}{'base F1':>8}")
    for split in dict.fromkeys(c.split for c in cases):
        _row(split, [c for c in cases if c.split == split])
    ours, naive = _row("all", cases)
    print(f"F1 ratio vs baseline (any agency name anywhere): {ours.f1 / naive.f1:.2f}x   "
          "targets: P >= 0.95, R >= 0.90")
    if args.speed:
        speed()
    if args.misses:
        for case in cases:
            got = predicted(case.text)
            if got != case.expected:
                print(f"- [{case.split}] {case.text[:90]!r}\n  got {sorted(got, key=str)} "
                      f"want {sorted(case.expected, key=str)}")


if __name__ == "__main__":
    main()
