"""Byte-level repair: every line becomes text, and we count the lines we had to repair."""


def decode_line(raw: bytes) -> tuple[str, bool]:
    """Decode one line of bytes; returns (text, repaired).

    Real exports are rarely clean UTF-8. Two failures dominate: emoji written as UTF-8-encoded
    surrogate pairs (CESU-8, as in the Snips 2017 files) and stray cp1252/latin-1 bytes. Both are
    repaired here, per line, so one bad line never costs the rest of the file.
    """
    try:
        return raw.decode("utf-8"), False
    except UnicodeDecodeError:
        pass
    try:
        # Re-pair the surrogates through UTF-16; fails if a lone surrogate remains.
        text = raw.decode("utf-8", "surrogatepass")
        return text.encode("utf-16", "surrogatepass").decode("utf-16"), True
    except UnicodeError:
        pass
    try:
        return raw.decode("cp1252"), True
    except UnicodeDecodeError:
        return raw.decode("latin-1"), True


def decode_text(data: bytes) -> tuple[str, int]:
    """Decode a whole document line by line; returns (text, number of repaired lines)."""
    try:
        return data.decode("utf-8"), 0
    except UnicodeDecodeError:
        pass
    lines, repaired = [], 0
    for raw in data.split(b"\n"):
        text, fixed = decode_line(raw)
        lines.append(text)
        repaired += fixed
    return "\n".join(lines), repaired
