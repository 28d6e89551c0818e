"""Who reported it: the outlet of an entry and the credits its text gives.

Credits are found by a fixed set of sentence patterns ("reported by X", "X reported", "according to X",
"(X) -" datelines, "[Source attribution: X]", "citing X" and their German, French and Russian forms).
Each pattern is a plain regular expression with bounded repetition and no nested quantifiers, so a
search costs time linear in the text. A name after a bare verb ("according to", "citing", "told")
counts only when it is a known outlet or looks like one: "according to Kallas" names a person, not a
source. Wording that says plainly that the name is an outlet ("reported by", "the news agency X",
a dateline) credits any name.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from enum import Enum

from bot.model import Credit, Entry
from bot.stories.agencies import AGENCIES, canonical_outlet, known, looks_like_outlet
from bot.stories.terms import fold


class Role(Enum):
    """Whether a name in a sentence is the outlet that reported, or the one that outlet cites."""

    REPORTS = "reports"
    CITED = "cited"


class Need(Enum):
    """How much the wording alone proves that the name is an outlet."""

    OUTLET = "outlet"  # the name must be known or look like an outlet
    ANY = "any"  # the sentence says so: any capitalised name


@dataclass(frozen=True, slots=True)
class _Pattern:
    regex: re.Pattern[str]
    role: Role
    need: Need
    name_first: bool  # the name stands before the trigger words, so trim it from the left
    dateline: bool  # a dateline or byline: names who distributed the text


@dataclass(frozen=True, slots=True)
class Mention:
    """One credit phrase found in a sentence, before two-hop credits are paired up."""

    source: str
    role: Role
    start: int
    dateline: bool = False


_UPPER = "A-ZÀ-ÖØ-ÞА-ЯЁІЇЄ"
_CAPWORD = rf"[{_UPPER}][\w&'’.-]*"
_JOIN = r"(?:\s(?:of|de|des|du|la|al|el|for|and|&|für|am)(?=\s))?"
_CAPNAME = rf"{_CAPWORD}(?:{_JOIN}\s{_CAPWORD}){{0,4}}"


def _known_alternation() -> str:
    """Every table spelling; short acronyms match only as written ("AP", "dpa"), longer ones in any case."""
    spellings = {s for a in AGENCIES for s in (a.name, *a.aliases)}
    parts = []
    for spelling in sorted(spellings, key=len, reverse=True):
        escaped = re.escape(spelling).replace(r"\ ", r"\s")
        parts.append(escaped if len(spelling) <= 3 else f"(?i:{escaped})")
    return "|".join(parts)


_NAME = rf"(?:(?i:the)\s)?(?P<name>(?:{_known_alternation()})(?![\w-])|{_CAPNAME})"
_NOUN = (
    r"(?i:(?:state(?:-run|-owned)?\s+)?(?:news\s+agency|news\s+outlet|news\s+site|news\s+portal|newspaper|"
    r"daily|broadcaster|outlet|agency|channel|magazine|tabloid|weekly|wire\s+service|website|"
    r"nachrichtenagentur|agentur|zeitung|sender|magazin|agence(?:\s+de\s+presse)?|quotidien|journal|"
    r"chaîne|hebdomadaire|агентство|газета|издание|телеканал))"
)
_REPORT = r"(?:(?:a|the)\s+(?:report|story|article|dispatch)\s+(?:by|in|from|on)\s+)"
_PRE = rf"(?:the\s+)?(?:(?:[\w-]+\s+){{0,2}}?{_NOUN}\s+)?"
_ARTICLE_FR = r"(?:l['’]|le\s+|la\s+|les\s+)?"
_ARTICLE_DE = r"(?:(?:die|der|das|den|dem|des)\s+)?"


def _p(template: str, role: Role, need: Need, name_first: bool = False, dateline: bool = False) -> _Pattern:
    text = template.format(N=_NAME, NOUN=_NOUN, REPORT=_REPORT, PRE=_PRE, FR=_ARTICLE_FR, DE=_ARTICLE_DE)
    return _Pattern(re.compile(text), role, need, name_first, dateline)


_REPORTED_AFTER = (
    r"(?i:(?:first\s+|has\s+|had\s+|also\s+|earlier\s+|later\s+)?(?:reported|reports|reporting|wrote|writes|"
    r"said\s+in\s+a\s+report|quoted|cited|broke\s+the\s+news|understands|has\s+learn(?:ed|t)|was\s+(?:the\s+)?first\s+to\s+report|"
    r"berichtet(?:e|en)?|meldet(?:e|en)?|schreibt|schrieb|rapporte|a\s+rapporté|сообщает|сообщил[аио]?|"
    r"переда[её]т|пишет))"
)

PATTERNS: tuple[_Pattern, ...] = (
    _p(r"(?i:reported\s+by|first\s+reported\s+by)\s+{PRE}{N}", Role.REPORTS, Need.ANY),
    _p(
        r"(?i:published\s+by|carried\s+by|quoted\s+by|cited\s+by|broadcast\s+by|citée?\s+par|cité\s+par)\s+"
        r"{FR}{PRE}{N}",
        Role.REPORTS,
        Need.OUTLET,
    ),
    _p(
        r"(?:(?i:the)\s+)?(?:{NOUN}\s+)?{N}(?:\s+{NOUN})?(?:,\s[^,]{{1,40}},)?\s+" + _REPORTED_AFTER,
        Role.REPORTS,
        Need.OUTLET,
        True,
    ),
    _p(r",\s+{N}\s+(?i:reported|reports)\s*[.;]", Role.REPORTS, Need.ANY, True),
    _p(r"(?:(?i:the)\s+)?{NOUN}\s+{N}\s+(?i:said|says|added|noted)", Role.REPORTS, Need.ANY, True),
    _p(r"{N},\s+(?i:citing|quoting)\s", Role.REPORTS, Need.OUTLET, True),
    _p(r"(?i:according\s+to)\s+{REPORT}?{PRE}{N}", Role.REPORTS, Need.OUTLET),
    _p(
        r"(?i:told|confirmed\s+to|statement\s+to|in\s+an\s+interview\s+with|speaking\s+to|writing\s+in)\s+{PRE}{N}",
        Role.REPORTS,
        Need.OUTLET,
    ),
    _p(r"(?i:source(?:\s+attribution)?|quelle|источник|fuente)\s*:\s*{N}", Role.REPORTS, Need.ANY),
    _p(r"\({N}\)\s*[-–—]", Role.REPORTS, Need.ANY, dateline=True),
    _p(r"\({N}\)", Role.REPORTS, Need.OUTLET, dateline=True),
    _p(r"(?m:^)\s*(?i:by)\s+{N}", Role.REPORTS, Need.OUTLET, dateline=True),
    _p(r"(?:\((?i:c)\)|©)\s*{N}", Role.REPORTS, Need.OUTLET, dateline=True),
    _p(r"(?i:citing|quoting|which\s+cited|sourced\s+from)\s+{REPORT}?{PRE}{N}", Role.CITED, Need.OUTLET),
    _p(
        r"(?i:berichtet(?:e|en)?|meldet(?:e|en)?|schreibt|schrieb|zitiert(?:e)?)\s+{DE}{PRE}{N}",
        Role.REPORTS,
        Need.OUTLET,
    ),
    _p(r"(?i:laut|nach\s+Angaben)\s+{DE}{PRE}{N}", Role.REPORTS, Need.OUTLET),
    _p(r"{DE}{PRE}{N}\s+(?i:zufolge)", Role.REPORTS, Need.OUTLET, True),
    _p(r"(?i:unter\s+Berufung\s+auf)\s+{DE}{PRE}{N}", Role.CITED, Need.OUTLET),
    _p(
        r"(?i:selon|d['’]après|rapporte|rapportait|a\s+rapporté|indique|a\s+indiqué|a\s+annoncé|écrit|a\s+écrit)"
        r"\s+{FR}{PRE}{N}",
        Role.REPORTS,
        Need.OUTLET,
    ),
    _p(r"(?i:citant)\s+{FR}{PRE}{N}", Role.CITED, Need.OUTLET),
    _p(
        r"(?i:сообщает|сообщают|сообщило|сообщила|сообщил|передает|передаёт|пишет|пишут|по\s+данным|"
        r"по\s+сообщению|рассказал[аи]?|заявил[аи]?)\s+{PRE}{N}",
        Role.REPORTS,
        Need.OUTLET,
    ),
    _p(r"(?i:со\s+ссылкой\s+на)\s+{PRE}{N}", Role.CITED, Need.OUTLET),
)

_OUTLET_NOUN_NEAR = re.compile(rf"{_NOUN}\b")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[\"“«„(\[A-ZА-ЯЁ])|\n+")
# Capitalised words that open sentences or give dates: never part of an outlet's name.
_FILLER = frozenset(
    fold(w)
    for w in """On In At As But And Also Meanwhile Earlier Later Yesterday Last This That Separately However
    Moreover Then Now Citing According Monday Tuesday Wednesday Thursday Friday Saturday Sunday January
    February March April May June July August September October November December Russian Ukrainian
    Estonian German French British American Chinese Turkish Indian Japanese State Wie Laut Selon Как
    По""".split()
)
_EVIDENCE_CHARS = 300


def sentences(text: str) -> Iterator[tuple[int, str]]:
    """Split text into (offset, sentence); crude on abbreviations, which rarely split a credit."""
    start = 0
    for boundary in _SENTENCE_END.finditer(text):
        if boundary.start() > start:
            yield start, text[start : boundary.start()]
        start = boundary.end()
    if start < len(text):
        yield start, text[start:]


def _trim(raw: str, name_first: bool) -> tuple[str, ...]:
    """The outlets inside a captured name: known spellings if there, else the name less filler words.

    "Reuters and AFP" gives both agencies; "On Tuesday Reuters" gives Reuters.
    """
    parts = re.split(r"\s(?:and|&)\s", raw)
    if len(parts) > 1 and all(known(part) for part in parts):
        return tuple(known(part) or part for part in parts)
    words = raw.rstrip(".,;:").split()
    spans = [words[i:] for i in range(len(words))] if name_first else [words[:j] for j in range(len(words), 0, -1)]
    for span in spans:
        found = known(" ".join(span))
        if found:
            return (found,)
    while words and fold(words[0]).removesuffix("'s") in _FILLER:
        words = words[1:]
    while words and fold(words[-1]) in _FILLER:
        words = words[:-1]
    name = " ".join(words).removesuffix("'s").removesuffix("’s").rstrip("'’")
    return (name,) if name else ()


def _says_outlet(sentence: str, match: re.Match[str]) -> bool:
    """True when the words around the name call it an outlet ("the news agency X", "X newspaper")."""
    if _OUTLET_NOUN_NEAR.search(match.group(0)) or re.search(
        r"(?i:report|story|article)\s+(?:by|in|from)", match.group(0)
    ):
        return True
    after = sentence[match.end("name") : match.end("name") + 30]
    return _OUTLET_NOUN_NEAR.match(after.lstrip()) is not None


def mentions(sentence: str) -> list[Mention]:
    """Every credit phrase in one sentence, in order of position, one per distinct name and place."""
    found: dict[tuple[str, int], Mention] = {}
    for pattern in PATTERNS:
        for match in pattern.regex.finditer(sentence):
            for offset, source in enumerate(_trim(match.group("name"), pattern.name_first)):
                if pattern.need is Need.OUTLET and not (
                    known(source) or looks_like_outlet(source) or _says_outlet(sentence, match)
                ):
                    continue
                key = (source, match.start("name") + offset)
                if key not in found or pattern.role is Role.CITED:
                    found[key] = Mention(source, pattern.role, key[1], pattern.dateline)
    unique: dict[str, Mention] = {}
    for mention in sorted(found.values(), key=lambda m: m.start):
        if mention.source not in unique or mention.role is Role.CITED:
            unique[mention.source] = mention
    return sorted(unique.values(), key=lambda m: m.start)


def _pair(found: Sequence[Mention], evidence: str) -> list[Credit]:
    """Turn one sentence's mentions into credits; "X reports citing Y" becomes Credit(Y, via=X)."""
    credits: list[Credit] = []
    reporter: Mention | None = None
    for mention in found:
        if mention.role is Role.REPORTS:
            if reporter is not None:
                credits.append(Credit(reporter.source, evidence, dateline=reporter.dateline))
            reporter = mention
        else:
            credits.append(Credit(mention.source, evidence, via=reporter.source if reporter else None))
            reporter = None
    if reporter is not None:
        credits.append(Credit(reporter.source, evidence, dateline=reporter.dateline))
    return credits


def find_credits(text: str) -> tuple[Credit, ...]:
    """The explicit credits in a text, first occurrence first, each (source, via) once."""
    credits: dict[tuple[str, str | None], Credit] = {}
    for _, sentence in sentences(text):
        evidence = " ".join(sentence.split())[:_EVIDENCE_CHARS]
        for credit in _pair(mentions(sentence), evidence):
            credits.setdefault((credit.source, credit.via), credit)
    return tuple(credits.values())


def entry_outlet(entry: Entry) -> str:
    """The entry's outlet under its table name when known ("menafn.com" -> "MENAFN"), else as the feed gave it."""
    return canonical_outlet(entry.outlet, entry.url)


def entry_credits(entry: Entry) -> tuple[Credit, ...]:
    """The credits in an entry's title and body."""
    return find_credits(f"{entry.title}\n{entry.body}")
