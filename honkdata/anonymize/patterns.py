"""Machine-shaped PII: emails, phones, cards, IPs, URLs, handles and street addresses.

Each finder takes one (candidate) query and yields (type, start, end) spans of the original text.
The regexes are deliberately strict about boundaries and are followed by a validator (Luhn,
`ipaddress`, `phonenumbers`) wherever one exists, because music queries are full of numbers that
are not personal: years ("1999"), times ("7.30"), titles ("867-5309", "22 acacia avenue").
"""

import ipaddress
import re
from collections.abc import Iterator

import phonenumbers
from phonenumbers import PhoneNumberMatcher, ValidationResult

Span = tuple[str, int, int]

_TLDS = "com|net|org|edu|gov|io|co|uk|us|ca|au|nz|ie|in|de|fr|es|it|nl|me|fm|tv|app|dev|info|biz|ly|gl|gg|xyz"
_SPOKEN_TLDS = "com|net|org|edu|gov|io|co|uk|us|ca|au|nz|ie|in|de|me|info"
_STREET = (
    "street|st|avenue|ave|road|rd|lane|ln|drive|dr|boulevard|blvd|court|ct|place|pl|parade|pde|terrace|tce"
    "|crescent|cres|close|highway|hwy|square|sq|circle|cir|parkway|pkwy|gardens|grove|mews|way"
)
# Bare domains of public music services name a service, not a person ("play on spotify.com").
SERVICE_DOMAINS = frozenset(
    ("last.fm", "spotify.com", "youtube.com", "soundcloud.com", "bandcamp.com", "pandora.com", "deezer.com",
     "tidal.com", "music.apple.com", "apple.com", "music.youtube.com", "iheart.com", "iheartradio.com",
     "shazam.com", "genius.com", "audiomack.com", "mixcloud.com", "napster.com", "qobuz.com")
)  # fmt: skip

# RE2 prefilter: a row that matches none of these cannot hold machine-shaped PII.
PREFILTER = "|".join(
    (
        "@",
        r"\d[\d ().-]{5,}\d",  # seven or more digits with separators: phones, cards
        r"\d\.\d{1,3}\.\d|[0-9a-f]{0,4}:[0-9a-f]{0,4}:",  # IPv4, IPv6
        rf"://|www\.|[a-z0-9]\.(?:{_TLDS})\b",  # links and domains
        rf"\bdot (?:{_SPOKEN_TLDS})\b",  # spoken emails
        rf"\d+[a-z]? (?:\S+ ){{1,4}}(?:{_STREET})\b",  # street addresses
    )
)

_EMAIL = re.compile(r"[\w.+-]*\w@[\w-]+(?:\.[\w-]+)*\.[a-z]{2,}\b", re.I)
_DOT = r"(?: dot |\.| \(dot\) | \[dot\] )"
_SPOKEN_EMAIL = re.compile(
    rf"\b\w+(?:(?: dot | underscore | dash |[._-])\w+)*(?: at | \(at\) | \[at\] |@)[\w-]+(?:{_DOT}[\w-]+)*"
    rf"{_DOT}(?:{_SPOKEN_TLDS})\b",
    re.I,
)
_URL = re.compile(rf"\b(?:https?://|www\.)\S+|\b(?:[a-z0-9-]+\.)+(?:{_TLDS})\b(?:/\S*)?", re.I)
_HANDLE = re.compile(r"(?<![\w.@])@\w(?:[\w.]*\w)?", re.I)
_CARD = re.compile(r"(?<![\d.])\d{4}(?:[ -]?\d{2,4}){2,4}(?:[ -]?\d{1,3})?(?![\d])")
_IPV4 = re.compile(r"(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?![\d]|\.\d)")
_IPV6 = re.compile(r"(?<![\w:])(?:[0-9a-f]{0,4}:){2,7}[0-9a-f]{0,4}(?![\w:])", re.I)
_ADDRESS = re.compile(
    # A house number may carry a letter (12b), but not an "s": "90s indie pl..." is a decade.
    rf"\b(?:(?:apt|apartment|unit|flat|suite) \w+,? )?\d{{1,5}}[a-rt-z]?(?:[-/]\d{{1,5}})?,? "
    rf"(?P<name>(?:[^\W\d_][\w'.-]* ){{1,3}})(?:{_STREET})\b\.?",
    re.I,
)
# Words that are never part of a street name, so "top 40 hits on the road" is not an address.
_NOT_STREET_WORDS = (
    "a an the on in at to of by for from with and or my your our this that songs song hits music tracks "
    "albums best top greatest new old play playlist radio mix minutes hours years times"
)
_NOT_STREET = frozenset(_NOT_STREET_WORDS.split())
_YEARS = re.compile(r"(?:19|20)\d\d ?[-/–] ?(?:19|20)\d\d")  # "greatest hits 1994-2009"
_TRAILING = ".,;:!?)]}'\""


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, d in enumerate(reversed(digits)):
        x = int(d) * (2 if i % 2 else 1)
        total += x - 9 if x > 9 else x
    return total % 10 == 0


def find_emails(text: str) -> Iterator[Span]:
    for m in _EMAIL.finditer(text):
        yield "EMAIL", m.start(), m.end()
    for m in _SPOKEN_EMAIL.finditer(text):
        yield "EMAIL", m.start(), m.end()


def find_urls(text: str) -> Iterator[Span]:
    for m in _URL.finditer(text):
        end = m.end()
        while end > m.start() and text[end - 1] in _TRAILING:
            end -= 1
        value = text[m.start() : end].lower()
        if "/" not in value and not value.startswith("www.") and value in SERVICE_DOMAINS:
            continue
        yield "URL", m.start(), end


def find_handles(text: str) -> Iterator[Span]:
    for m in _HANDLE.finditer(text):
        yield "HANDLE", m.start(), m.end()


def find_cards(text: str) -> Iterator[Span]:
    for m in _CARD.finditer(text):
        # The longest run of whole digit groups that passes Luhn: "4111 1111 1111 1111 12" has a card.
        groups = list(re.finditer(r"\d+", m.group()))
        for last in range(len(groups) - 1, -1, -1):
            digits = "".join(g.group() for g in groups[: last + 1])
            if 13 <= len(digits) <= 19 and luhn_ok(digits):
                yield "CARD", m.start(), m.start() + groups[last].end()
                break


def find_ips(text: str) -> Iterator[Span]:
    for regex, parse in ((_IPV4, ipaddress.IPv4Address), (_IPV6, ipaddress.IPv6Address)):
        for m in regex.finditer(text):
            if sum(c.isalnum() for c in m.group()) < 4:
                continue  # "::" and "1:2:" are not addresses worth a placeholder
            try:
                parse(m.group())
            except ValueError:
                continue
            yield "IP", m.start(), m.end()


def find_phones(text: str, region: str) -> Iterator[Span]:
    """National and international numbers for the row's region; local-only numbers are not enough.

    Leniency POSSIBLE (length and shape, not allocation) keeps fictional ranges such as 555-01xx and
    07700 900xxx, which people do type; a local-only match ("867-5309") is a title or a fragment.
    """
    for m in PhoneNumberMatcher(text, region, leniency=phonenumbers.Leniency.POSSIBLE):
        if phonenumbers.is_possible_number_with_reason(m.number) != ValidationResult.IS_POSSIBLE:
            continue
        if sum(c.isdigit() for c in m.raw_string) < 8 or _YEARS.fullmatch(m.raw_string):
            continue
        yield "PHONE", m.start, m.end


def find_addresses(text: str) -> Iterator[Span]:
    for m in _ADDRESS.finditer(text):
        if any(word.lower() in _NOT_STREET for word in m.group("name").split()):
            continue
        yield "ADDRESS", m.start(), m.end()
