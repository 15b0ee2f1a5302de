"""Byte-level repair: every line becomes text, or is marked unreadable when no repair is plausible."""

import re
from typing import NamedTuple

import ftfy  # also registers the "sloppy-windows-1252" codec
from ftfy.badness import is_bad

UNREADABLE = "bytes are not UTF-8 and no repair reads as text"

_BOM = b"\xef\xbb\xbf"  # what Excel and Notepad put before UTF-8 text

# The upper half of cp1252, as ftfy's sloppy codec decodes it (undefined bytes become C1 controls).
_CP1252_HIGH = bytes(range(0x80, 0x100)).decode("sloppy-windows-1252")
# A multi-byte legacy encoding (GBK, Shift-JIS, EUC-KR, cp1251 ...) read one byte at a time gives
# runs of these; Latin-script words put at most two of them side by side ("¡É").
_LEGACY_RUN = re.compile(f"[{re.escape(_CP1252_HIGH)}]{{3,}}")
_C1_CONTROLS = re.compile("[\x80-\x9f]")


class Decoded(NamedTuple):
    text: str
    repaired: bool = False
    readable: bool = True  # False: `text` holds U+FFFD where the bytes could not be read


def strip_bom(data: bytes) -> bytes:
    return data[len(_BOM) :] if data.startswith(_BOM) else data


def _plausible(text: str) -> bool:
    return not (is_bad(text) or _C1_CONTROLS.search(text) or _LEGACY_RUN.search(text))


def decode_line(raw: bytes) -> Decoded:
    """Decode one line of bytes.

    Real exports are rarely clean UTF-8. Two failures dominate: emoji written as UTF-8-encoded
    surrogate pairs (CESU-8, as in the Snips 2017 files) and stray cp1252/latin-1 bytes, often beside
    valid UTF-8 that a one-codec decode would turn into mojibake. Both are repaired here, per line,
    so one bad line never costs the rest of the file. Bytes of another legacy encoding would only
    become mojibake: the line is marked unreadable instead.
    """
    try:
        return Decoded(raw.decode("utf-8"))
    except UnicodeDecodeError:
        pass
    try:
        # Re-pair the surrogates through UTF-16; fails if a lone surrogate remains.
        text = raw.decode("utf-8", "surrogatepass")
        return Decoded(text.encode("utf-16", "surrogatepass").decode("utf-16"), repaired=True)
    except UnicodeError:
        pass
    # ftfy undoes the mojibake that reading the valid UTF-8 parts as cp1252 made.
    text = ftfy.fix_encoding(raw.decode("sloppy-windows-1252"))
    if _plausible(text):
        return Decoded(text, repaired=True)
    return Decoded(raw.decode("utf-8", "replace"), readable=False)


class DecodedText(NamedTuple):
    text: str
    repaired: list[int]  # 0-based indexes of the lines that needed a repair
    unreadable: list[int]  # ... and of those no repair made plausible (U+FFFD in `text`)


def decode_text(data: bytes) -> DecodedText:
    """Decode a whole document line by line."""
    data = strip_bom(data)
    try:
        return DecodedText(data.decode("utf-8"), [], [])
    except UnicodeDecodeError:
        pass
    lines, repaired, unreadable = [], [], []
    for index, raw in enumerate(data.split(b"\n")):
        decoded = decode_line(raw)
        lines.append(decoded.text)
        if decoded.repaired:
            repaired.append(index)
        if not decoded.readable:
            unreadable.append(index)
    return DecodedText("\n".join(lines), repaired, unreadable)
