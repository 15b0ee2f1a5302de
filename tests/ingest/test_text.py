"""Byte repair: CESU-8 and stray cp1252 bytes become the right text, other encodings are refused."""

import pytest

from honkdata.ingest.text import Decoded, decode_line, decode_text


def test_utf8_is_untouched() -> None:
    assert decode_line("play Beyoncé 🎵".encode()) == Decoded("play Beyoncé 🎵")


def test_cesu8_surrogate_pairs_become_the_emoji() -> None:
    cesu = "🍕".encode("utf-16-be")
    high, low = (int.from_bytes(cesu[i : i + 2], "big") for i in (0, 2))
    raw = b"pizza " + chr(high).encode("utf-8", "surrogatepass") + chr(low).encode("utf-8", "surrogatepass")
    assert decode_line(raw) == Decoded("pizza 🍕", repaired=True)


@pytest.mark.parametrize(
    ("raw", "text"),
    [
        (b"caf\xe9 del mar", "café del mar"),
        (b"don\x92t stop me now", "don’t stop me now"),
        (b"M\xf6tley Cr\xfce \x96 live", "Mötley Crüe – live"),
        # Valid UTF-8 beside one cp1252 byte: a one-codec decode would turn "é" into "Ã©".
        ("café and caf".encode() + b"\xe9", "café and café"),
        ("周杰伦 caf".encode() + b"\xe9", "周杰伦 café"),
    ],
)
def test_stray_cp1252_bytes_are_repaired_without_mojibake(raw: bytes, text: str) -> None:
    assert decode_line(raw) == Decoded(text, repaired=True)


@pytest.mark.parametrize(
    ("text", "encoding"),
    [
        ("プレイリスト", "shift_jis"),
        ("播放周杰伦的歌", "gbk"),
        ("음악 재생", "euc-kr"),
        ("включи музыку", "cp1251"),
        ("включи музыку", "koi8-r"),
    ],
)
def test_other_legacy_encodings_are_unreadable_not_mojibake(text: str, encoding: str) -> None:
    decoded = decode_line(f"play {text}".encode(encoding))
    assert not decoded.readable and not decoded.repaired
    assert decoded.text.startswith("play ") and "\ufffd" in decoded.text


def test_random_bytes_are_unreadable() -> None:
    assert not decode_line(bytes(range(128, 256))).readable


def test_decode_text_reports_repaired_and_unreadable_lines() -> None:
    data = b"\xef\xbb\xbfplay abba\ncaf\xe9\n" + "プレイ".encode("shift_jis") + b"\n"
    decoded = decode_text(data)
    assert decoded.text.split("\n")[:2] == ["play abba", "café"]
    assert (decoded.repaired, decoded.unreadable) == ([1], [2])
    assert decode_text(b"\xef\xbb\xbfplay abba\n") == ("play abba\n", [], [])
