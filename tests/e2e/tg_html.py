"""Telegram's HTML parse mode, as strictly as the Bot API applies it, for the fake server.

Parsing yields the plain text a user sees and its entities (offsets in UTF-16 code units, as Telegram
counts them), or a `ParseError` whose message mirrors Telegram's "can't parse entities" wording.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

ENTITY_OF_TAG = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}
_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)((?:\s+[a-zA-Z-]+(?:\s*=\s*(?:\"[^\"]*\"|'[^']*'|[^\s>\"']+))?)*)\s*>")
_ATTR = re.compile(r"([a-zA-Z-]+)(?:\s*=\s*(?:\"([^\"]*)\"|'([^']*)'|([^\s>\"']+)))?")
_ENTITY = re.compile(r"&(?:(lt|gt|amp|quot)|#(\d{1,7})|#[xX]([0-9a-fA-F]{1,6}));")
_LINK = re.compile(r"^(https?://|tg://|mailto:)\S+$")


class ParseError(ValueError):
    """Telegram would answer 400 "Bad Request: can't parse entities: <message>"."""


@dataclass
class Parsed:
    text: str
    entities: list[dict[str, object]] = field(default_factory=list)


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _attributes(raw: str, tag: str, offset: int) -> dict[str, str]:
    attrs = {}
    for match in _ATTR.finditer(raw):
        value = next((v for v in match.group(2, 3, 4) if v is not None), "")
        attrs[match.group(1).lower()] = unescape(value, offset)
    allowed = {
        "a": {"href"},
        "span": {"class"},
        "code": {"class"},
        "pre": {"language"},
        "blockquote": {"expandable"},
        "tg-emoji": {"emoji-id"},
    }.get(tag, set())
    for name in attrs:
        if name not in allowed:
            raise ParseError(f'Unsupported attribute "{name}" in tag "{tag}" at byte offset {offset}')
    if tag == "span" and attrs.get("class") != "tg-spoiler":
        raise ParseError(f'Tag "span" must have class "tg-spoiler" at byte offset {offset}')
    if tag == "a" and not _LINK.match(attrs.get("href", "")):
        raise ParseError(f"Wrong HTTP URL specified at byte offset {offset}")
    return attrs


def unescape(text: str, offset: int) -> str:
    """Resolve the four named entities and numeric ones; any other `&` is an error, as for Telegram."""
    out = []
    position = 0
    while (amp := text.find("&", position)) >= 0:
        out.append(text[position:amp])
        match = _ENTITY.match(text, amp)
        if not match:
            raise ParseError(f"Character entity expected at byte offset {offset + amp}")
        named, decimal, hexadecimal = match.groups()
        code = int(decimal) if decimal else int(hexadecimal, 16) if hexadecimal else None
        if code is not None and not 0 < code <= 0x10FFFF:
            raise ParseError(f"Invalid character entity at byte offset {offset + amp}")
        out.append(_NAMED[named] if named else chr(code or 0))
        position = match.end()
    out.append(text[position:])
    return "".join(out)


def parse(html: str) -> Parsed:
    """Telegram's HTML parse: allowed tags only, properly nested, entities escaped."""
    text: list[str] = []
    length = 0
    entities: list[dict[str, object]] = []
    stack: list[tuple[str, int, dict[str, str]]] = []
    position = 0
    while position < len(html):
        lt = html.find("<", position)
        chunk = html[position : lt if lt >= 0 else len(html)]
        plain = unescape(chunk, position)
        text.append(plain)
        length += utf16_len(plain)
        if lt < 0:
            break
        match = _TAG.match(html, lt)
        if not match:
            raise ParseError(f"Unclosed start tag at byte offset {lt}")
        closing, tag, raw_attrs = match.group(1) == "/", match.group(2).lower(), match.group(3)
        if tag not in ENTITY_OF_TAG:
            kind = "end" if closing else "start"
            raise ParseError(f'Unsupported {kind} tag "{tag}" at byte offset {lt}')
        if closing:
            if not stack:
                raise ParseError(f"Unexpected end tag at byte offset {lt}")
            if stack[-1][0] != tag:
                expected = stack[-1][0]
                raise ParseError(f'Unmatched end tag at byte offset {lt}, expected "</{expected}>", found "</{tag}>"')
            open_tag, start, attrs = stack.pop()
            entity: dict[str, object] = {"type": ENTITY_OF_TAG[open_tag], "offset": start, "length": length - start}
            if open_tag == "a":
                entity["url"] = attrs["href"]
            if open_tag == "pre" and attrs.get("language"):
                entity["language"] = attrs["language"]
            if length > start:
                entities.append(entity)
        else:
            if stack and stack[-1][0] in ("pre", "code") and not (stack[-1][0] == "pre" and tag == "code"):
                raise ParseError(f'Can\'t use tag "{tag}" inside "{stack[-1][0]}" at byte offset {lt}')
            stack.append((tag, length, _attributes(raw_attrs, tag, lt)))
        position = match.end()
    if stack:
        raise ParseError(f'Can\'t find end tag corresponding to start tag "{stack[-1][0]}"')
    entities.sort(key=lambda e: (e["offset"], -int(str(e["length"]))))
    return Parsed("".join(text), entities)
