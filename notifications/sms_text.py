"""SMS encoding and segment counting (GSM 03.38 GSM-7 versus UCS-2).

A text that fits GSM-7 costs 7 bits a character: 160 characters in one segment,
153 a segment once it has to be split. One character outside GSM-7 turns the whole
text into UCS-2: 70 characters, or 67 a segment when split. Characters of the GSM-7
extension table (such as `€` and `[`) take two places.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Encoding = Literal["GSM-7", "UCS-2"]

GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")

_LIMITS: dict[Encoding, tuple[int, int]] = {"GSM-7": (160, 153), "UCS-2": (70, 67)}

# Look-alikes that would force UCS-2, mapped to GSM-7 text ("" drops the character).
SMART_REPLACEMENTS: dict[str, str] = {
    "\u2018": "'",  # left single quotation mark
    "\u2019": "'",  # right single quotation mark, apostrophe
    "\u201a": "'",  # single low-9 quotation mark
    "\u201b": "'",  # single high-reversed-9 quotation mark
    "\u2032": "'",  # prime
    "\u00b4": "'",  # acute accent
    "\u201c": '"',  # left double quotation mark
    "\u201d": '"',  # right double quotation mark
    "\u201e": '"',  # double low-9 quotation mark
    "\u2033": '"',  # double prime
    "\u00ab": '"',  # left guillemet
    "\u00bb": '"',  # right guillemet
    "\u2010": "-",  # hyphen
    "\u2011": "-",  # non-breaking hyphen
    "\u2012": "-",  # figure dash
    "\u2013": "-",  # en dash
    "\u2014": "-",  # em dash
    "\u2212": "-",  # minus sign
    "\u2026": "...",  # horizontal ellipsis
    "\u2022": "-",  # bullet
    "\u00a0": " ",  # no-break space
    "\u2002": " ",  # en space
    "\u2003": " ",  # em space
    "\u2009": " ",  # thin space
    "\u202f": " ",  # narrow no-break space
    "\t": " ",  # tab
    "\u00ad": "",  # soft hyphen
    "\u200b": "",  # zero-width space
    "\u200d": "",  # zero-width joiner
    "\u2060": "",  # word joiner
    "\ufeff": "",  # byte order mark
}
_SMART_TABLE = str.maketrans(SMART_REPLACEMENTS)


@dataclass(frozen=True)
class SegmentInfo:
    """How a text travels: its encoding, its length as the network counts it, its segments.

    `characters` counts GSM-7 septets (extension characters count 2) or UCS-2 code
    units (characters beyond the Basic Multilingual Plane, such as emoji, count 2).
    """

    encoding: Encoding
    characters: int
    segments: int


def is_gsm7(text: str) -> bool:
    """True if every character is in the GSM-7 basic or extension table."""
    return all(ch in GSM7_BASIC or ch in GSM7_EXTENSION for ch in text)


def _units(text: str, encoding: Encoding) -> list[int]:
    """The size of each character in the encoding's units (septets or UTF-16 code units)."""
    if encoding == "GSM-7":
        return [2 if ch in GSM7_EXTENSION else 1 for ch in text]
    return [2 if ord(ch) > 0xFFFF else 1 for ch in text]


def _count_segments(units: list[int], single: int, per_part: int) -> int:
    """Segments needed; a character is never split across two segments."""
    total = sum(units)
    if total == 0:
        return 0
    if total <= single:
        return 1
    segments, used = 1, 0
    for size in units:
        if used + size > per_part:
            segments, used = segments + 1, 0
        used += size
    return segments


def segment_info(text: str) -> SegmentInfo:
    """Encoding, length and number of segments of `text` (an empty text has 0 segments)."""
    encoding: Encoding = "GSM-7" if is_gsm7(text) else "UCS-2"
    units = _units(text, encoding)
    single, per_part = _LIMITS[encoding]
    return SegmentInfo(encoding, sum(units), _count_segments(units, single, per_part))


def gsm7_friendly(text: str) -> str:
    """Swap typographic quotes, dashes, ellipses and odd spaces for GSM-7 equivalents.

    Other characters are left alone: a name with a character outside GSM-7 still
    sends, only as UCS-2.
    """
    return text.translate(_SMART_TABLE)
