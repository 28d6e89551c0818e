"""What the story index keeps of an entry, computed once when the entry is filed.

An entry is read once, off the ingest lock, into `Observed`: the sublinear counts of what tells its event
apart (stemmed title and lead terms, the names in the lead, the gazetteer entities it mentions) and what
copy detection needs (a hash of the whole body and the hashes of the lead's word shingles). The story
index weighs the counts by how rare each feature is at filing time (weights.py) into `StoryFeatures`, a
short unit vector that never changes afterwards, so story centroids can be kept as running sums. The
features are stored beside the entry: restoring the index at start-up reads them back instead of
re-reading 200,000 texts.
"""

from __future__ import annotations

import hashlib
import math
import struct
import sys
import zlib
from array import array
from collections import Counter
from collections.abc import Callable, Collection
from dataclasses import dataclass, field

from bot.model import Entry
from bot.stories.language import entry_language
from bot.stories.places import countries_in, with_places
from bot.stories.terms import terms, words, written_names

FORMAT_VERSION = 5
"""Format 5: name keys with every vowel read as "a" (terms.name_key), places under their English name's
(places.py). Formats 1 to 4 hold the name keys of earlier versions; `current` tells them apart, and
restoring the window reads those entries again (story_window.py)."""
_HEADER = struct.Struct("<BHHHq2s")
_HEADER_V1 = struct.Struct("<BHHHq")
"""Format 1 (stored before the language was kept) is read as of no known language."""
_SEPARATOR = "\x00"


@dataclass(frozen=True, slots=True)
class FeatureConfig:
    """Which parts of an entry make its features, and how much each kind of feature weighs."""

    lead_words: int = 80
    title_repeat: int = 2
    name_weight: float = 1.5
    country_weight: float = 1.0
    """A country the entry names only where a capital does not mark a name (its headline, a sentence's first
    word: places.countries_in) weighs as a word; the story index gives it a name's weight where the meaning
    signal is on (index.py), since across languages it is often the only name two reports share."""
    entity_weight: float = 0.6
    max_features: int = 48
    shingle_size: int = 4
    copy_lead_words: int = 100


@dataclass(frozen=True, slots=True)
class StoryFeatures:
    """An entry as the story index sees it.

    `terms` are features, most distinctive first: stems, "@" name keys and "#" entity ids; `weights` is
    their unit-length vector in that order. `lead` holds the sorted 32-bit hashes of the word shingles of
    the body's first words and `digest` a hash of the whole normalised body (0 when it has no shingle):
    together they find copies. `vector` is the meaning model's embedding (unit length) when the index
    embedded the entry (index.py); `language` the entry's two-letter language code ("" when unknown).
    """

    terms: tuple[str, ...]
    weights: array[float]
    lead: array[int]
    digest: int
    vector: array[float] | None = None
    language: str = ""

    def weight_map(self) -> dict[str, float]:
        return dict(zip(self.terms, self.weights, strict=True))

    def to_bytes(self) -> bytes:
        """A compact binary form for the store (about 0.5-1 kB)."""
        vector = self.vector if self.vector is not None else array("f")
        code = self.language.encode("ascii", "replace")[:2]
        header = _HEADER.pack(FORMAT_VERSION, len(self.terms), len(self.lead), len(vector), self.digest, code)
        names_part = _SEPARATOR.join(self.terms).encode()
        return b"".join((header, self.weights.tobytes(), self.lead.tobytes(), vector.tobytes(), names_part))

    @staticmethod
    def current(data: bytes | None) -> bool:
        """Whether stored features are of this format (their name keys are today's); None is not."""
        return data is not None and data[:1] == bytes((FORMAT_VERSION,))

    @classmethod
    def from_bytes(cls, data: bytes) -> StoryFeatures:
        version = data[0] if data else 0
        if version == 1:
            (_, n_terms, n_lead, n_vector, digest), code = _HEADER_V1.unpack_from(data), b""
            offset = _HEADER_V1.size
        elif 2 <= version <= FORMAT_VERSION:
            _, n_terms, n_lead, n_vector, digest, code = _HEADER.unpack_from(data)
            offset = _HEADER.size
        else:
            raise ValueError(f"story features of format {version}, expected {FORMAT_VERSION}")
        weights, lead, vector = array("f"), array("I"), array("f")
        for part, count in ((weights, n_terms), (lead, n_lead), (vector, n_vector)):
            size = count * part.itemsize
            part.frombytes(data[offset : offset + size])
            offset += size
        text = data[offset:].decode()
        found = tuple(map(sys.intern, text.split(_SEPARATOR))) if n_terms else ()
        if len(found) != n_terms:
            raise ValueError("story features are damaged: term count does not match")
        language = code.rstrip(b"\x00").decode("ascii", "replace")
        return cls(found, weights, lead, digest, vector if n_vector else None, language)


def lead_text(entry: Entry, lead_words: int) -> str:
    """The first words of the body: where a news report says what happened."""
    return " ".join(entry.body.split()[:lead_words])


def _hash64(text: str) -> int:
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "little", signed=True)


def body_digest(text: str) -> int:
    """A hash of the text's words, blind to case, accents, punctuation and spacing."""
    return _hash64(" ".join(words(text)))


def shingle_hashes(tokens: list[str], size: int) -> array[int]:
    """Sorted distinct 32-bit hashes (CRC-32: the same in every process) of the runs of `size` consecutive
    words."""
    found = {zlib.crc32(" ".join(tokens[i : i + size]).encode()) for i in range(len(tokens) - size + 1)}
    return array("I", sorted(found))


@dataclass(frozen=True, slots=True)
class Observed:
    """An entry as read, before weighing: each feature's sublinear count (names and entities already
    times their kind's weight), the entry's language, and what finds its copies."""

    counts: dict[str, float]
    language: str | None
    lead: array[int]
    digest: int
    meaning_text: str = ""
    """What the meaning model reads of the entry, if the index is to embed it where that can change its
    decision (index.py); "" for an entry whose meaning is not wanted."""
    across_text: str = ""
    """What it reads of the entry to compare it with a report in another language: more of the body ("" as
    meaning_text, or when the body adds nothing to it)."""
    written: dict[str, str] = field(default_factory=dict)
    """Each name key of the features with the name as the entry writes it ("kalas": "Kallas")."""


@dataclass(frozen=True, slots=True)
class Names:
    """The names an entry's lead gives (places in any language under their English name's key), and the
    countries it names anywhere, headline included; each by key, as written."""

    named: dict[str, str]
    countries: dict[str, str]


def _counts(
    title: str, lead: str, language: str | None, names: Names, entities: Collection[str], config: FeatureConfig
) -> dict[str, float]:
    counts = Counter(terms(title, language) * config.title_repeat + terms(lead, language))
    found = {term: 1.0 + math.log(n) for term, n in counts.items()}
    for key in names.countries:
        found["@" + key] = config.country_weight
    for key in names.named:
        found["@" + key] = config.name_weight
    for entity in entities:
        found["#" + entity] = config.entity_weight
    return found


def observe(
    entry: Entry,
    entities: Collection[str] = (),
    config: FeatureConfig | None = None,
    meaning_text: str = "",
    across_text: str = "",
) -> Observed:
    """Read one entry (pure, and the costly part: about 0.3 ms for a feed summary), in its language (the
    feed's, else detected)."""
    config = config or FeatureConfig()
    tokens = words(entry.body or entry.title)
    lead = shingle_hashes(tokens[: config.copy_lead_words + config.shingle_size - 1], config.shingle_size)
    language = entry_language(entry)
    lead_words = lead_text(entry, config.lead_words)
    names = Names(
        named=with_places(written_names(lead_words or entry.title), language),
        countries=countries_in(f"{entry.title} {lead_words}", language),
    )
    return Observed(
        counts=_counts(entry.title, lead_words, language, names, entities, config),
        language=language,
        lead=lead,
        digest=_hash64(" ".join(tokens)) if lead else 0,
        meaning_text=meaning_text,
        across_text=across_text,
        written={**names.countries, **names.named},
    )


def weigh(observed: Observed, weight: Callable[[str], float], max_features: int) -> StoryFeatures:
    """The unit vector of the `max_features` heaviest features, each count times `weight(feature)`."""
    weighted = sorted(
        ((feature, count * weight(feature)) for feature, count in observed.counts.items()),
        key=lambda item: (-item[1], item[0]),
    )[:max_features]
    norm = math.sqrt(sum(w * w for _, w in weighted)) or 1.0
    return StoryFeatures(
        terms=tuple(sys.intern(feature) for feature, _ in weighted),  # one copy of each word for the window
        weights=array("f", [w / norm for _, w in weighted]),
        lead=observed.lead,
        digest=observed.digest,
        language=(observed.language or "")[:2],
    )
