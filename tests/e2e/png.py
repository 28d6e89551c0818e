"""A strict PNG check for the fake Bot API's sendPhoto: the upload must be a whole, valid PNG, as Telegram's
image processing requires (it refuses a corrupt image with IMAGE_PROCESS_FAILED and odd sizes with
PHOTO_INVALID_DIMENSIONS)."""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

SIGNATURE = b"\x89PNG\r\n\x1a\n"
MAX_PHOTO = 10 * 1024 * 1024
_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}
_DEPTHS = {0: {1, 2, 4, 8, 16}, 2: {8, 16}, 3: {1, 2, 4, 8}, 4: {8, 16}, 6: {8, 16}}


class BadImage(Exception):
    """What Telegram answers: its description, without the "Bad Request: " prefix."""


@dataclass(frozen=True)
class Png:
    width: int
    height: int


def check_png(data: bytes) -> Png:
    """The PNG's size, or BadImage: signature, every chunk's length and CRC, IHDR first with valid fields,
    PLTE where the colour type needs it, IDAT chunks in one run whose inflated data is exactly the rows of the
    image (each with a valid filter byte), IEND last with nothing after it."""
    if len(data) > MAX_PHOTO:
        raise BadImage("file is too big")
    if not data.startswith(SIGNATURE):
        raise BadImage("IMAGE_PROCESS_FAILED")
    chunks: list[tuple[bytes, bytes]] = []
    position = len(SIGNATURE)
    while True:
        if position + 8 > len(data):
            raise BadImage("IMAGE_PROCESS_FAILED")
        length, kind = struct.unpack(">I4s", data[position : position + 8])
        body = data[position + 8 : position + 8 + length]
        crc = data[position + 8 + length : position + 12 + length]
        if len(body) != length or len(crc) != 4 or zlib.crc32(kind + body) != struct.unpack(">I", crc)[0]:
            raise BadImage("IMAGE_PROCESS_FAILED")
        chunks.append((kind, body))
        position += 12 + length
        if kind == b"IEND":
            break
    if position != len(data) or chunks[0][0] != b"IHDR" or len(chunks[0][1]) != 13:
        raise BadImage("IMAGE_PROCESS_FAILED")
    width, height, depth, colour, compression, filtering, interlace = struct.unpack(">IIBBBBB", chunks[0][1])
    if colour not in _CHANNELS or depth not in _DEPTHS[colour] or compression or filtering or interlace not in (0, 1):
        raise BadImage("IMAGE_PROCESS_FAILED")
    kinds = [kind for kind, _ in chunks]
    if colour == 3 and b"PLTE" not in kinds:
        raise BadImage("IMAGE_PROCESS_FAILED")
    idat = [index for index, kind in enumerate(kinds) if kind == b"IDAT"]
    if not idat or idat != list(range(idat[0], idat[-1] + 1)):
        raise BadImage("IMAGE_PROCESS_FAILED")
    try:
        pixels = zlib.decompress(b"".join(chunks[index][1] for index in idat))
    except zlib.error:
        raise BadImage("IMAGE_PROCESS_FAILED") from None
    if interlace == 0:
        row = 1 + (width * _CHANNELS[colour] * depth + 7) // 8
        if len(pixels) != height * row or any(pixels[r * row] > 4 for r in range(height)):
            raise BadImage("IMAGE_PROCESS_FAILED")
    if not 0 < width <= 10000 or not 0 < height <= 10000 or width + height > 10000:
        raise BadImage("PHOTO_INVALID_DIMENSIONS")
    if max(width, height) / min(width, height) > 20:
        raise BadImage("PHOTO_INVALID_DIMENSIONS")
    return Png(width, height)
