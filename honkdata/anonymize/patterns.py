"""Machine-shaped PII: emails, phones, cards, IPs, URLs, handles and postal addresses.

Each finder takes one (candidate) query and yields (type, start, end) spans of the original text.
The regexes are deliberately strict about boundaries and are followed by a validator (Luhn,
`ipaddress`, `phonenumbers`) wherever one exists, because music queries are full of numbers that
are not personal: years ("1999"), times ("7.30"), titles ("867-5309", "22 acacia avenue").

Addresses are built from the US Postal Service's own word lists (Publication 28: every street suffix
in every spelling it lists, the secondary unit designators, the state codes; `resources/usps_*.tsv`):
a house number and a street ("12 harbor path", "400 route 9") is the anchor, which then grows over a
unit ("apt 4b", "#12") and a city/state/ZIP or UK postcode tail. A street without a house number
("penny lane", "route 66") is an address only with a ZIP or postcode after it; a number that counts
("play 2 al green songs") or a street type that is an everyday word ("20 random tracks") needs such
evidence too. After an address cue ("my address is", "ship it to") the clause is the address when it
holds a house number, whatever the country's format. Likewise a digit run after a phone cue ("my
number is") is a phone even where the library finds its length wrong for the row's region.
"""

import functools
import ipaddress
import re
from collections.abc import Iterable, Iterator
from pathlib import Path

import phonenumbers
from phonenumbers import PhoneMetadata, PhoneNumberMatcher, ValidationResult

from honkdata.anonymize.names import STOP

Span = tuple[str, int, int]

RESOURCES = Path(__file__).resolve().parents[1] / "resources"
_TLDS = "com|net|org|edu|gov|io|co|uk|us|ca|au|nz|ie|in|de|fr|es|it|nl|me|fm|tv|app|dev|info|biz|ly|gl|gg|xyz"
_SPOKEN_TLDS = "com|net|org|edu|gov|io|co|uk|us|ca|au|nz|ie|in|de|me|info"
# Bare domains of public music services name a service, not a person ("play on spotify.com").
SERVICE_DOMAINS = frozenset(
    ("last.fm", "spotify.com", "youtube.com", "soundcloud.com", "bandcamp.com", "pandora.com", "deezer.com",
     "tidal.com", "music.apple.com", "apple.com", "music.youtube.com", "iheart.com", "iheartradio.com",
     "shazam.com", "genius.com", "audiomack.com", "mixcloud.com", "napster.com", "qobuz.com")
)  # fmt: skip


def _table(name: str) -> list[list[str]]:
    """The rows of a shipped TSV in lower case, without its comment line and header."""
    lines = (RESOURCES / name).read_text(encoding="utf-8").lower().splitlines()
    return [line.split("\t") for line in lines if line and not line.startswith("#")][1:]


def _alternation(words: Iterable[str]) -> str:
    """A regex alternation, longest first: "streets" must be tried before "street"."""
    return "|".join(re.escape(w) for w in sorted(set(words), key=lambda w: (-len(w), w)))


# Every spelling USPS Pub 28 C1 lists for its ~200 primary street suffixes, and the British and
# Australian types it lacks.
STREET_TYPES = frozenset(
    form for primary, common, standard in _table("usps_street_suffixes.tsv")
    for form in (primary, standard, *common.split(","))
) | {"close", "parade", "pde", "tce"}  # fmt: skip
# Suffixes that are everyday or music words ("play 20 random tracks", "1 love is all"): a street with
# one of these is an address only with more evidence around it (a unit, a tail, "ship it to").
_WEAK_TYPES = "is un via track tracks trak trk trks club station sta run rest row key light lights"
WEAK_TYPES = frozenset(_WEAK_TYPES.split())
_UNITS = _table("usps_secondary_units.tsv")
# Designators that take a number ("apt 4b", "flat 2": British) and those that stand alone ("rear").
_RANGED_UNITS = [form for designator, abbreviation, ranged in _UNITS if ranged == "yes"
                 for form in (designator, abbreviation)] + ["flat"]  # fmt: skip
_BARE_UNITS = [form for designator, abbreviation, ranged in _UNITS if ranged == "no"
               for form in (designator, abbreviation)]  # fmt: skip
_STATES = _table("usps_states.tsv")
# Australian states and Canadian provinces, which addresses of those countries end with.
_OTHER_REGIONS = (
    "new south wales|nsw|victoria|vic|queensland|qld|south australia|sa|western australia|wa|tasmania|tas"
    "|northern territory|nt|australian capital territory|act|alberta|ab|british columbia|bc|manitoba|mb"
    "|new brunswick|nb|newfoundland and labrador|nl|nova scotia|ns|nunavut|nu|ontario|on"
    "|prince edward island|pe|quebec|qc|saskatchewan|sk|yukon|yt"
)
# Region codes that are also English words: in lower case they need a comma or a postcode beside them.
_WORDLIKE_STATE_CODES = "al as co de hi id in la ma me mo oh ok or pa on act"
_WORDLIKE_STATES = frozenset(_WORDLIKE_STATE_CODES.split())

_WORD = r"[^\W\d_][\w'.-]*"
_NUMBER = r"\d{1,6}[a-rt-z]?(?:[-/]\d{1,5}[a-z]?)?"  # "12", "12b", "12-14"; not "90s", a decade
_NAME_WORD = rf"(?:{_WORD}|\d{{1,3}}(?:st|nd|rd|th|[a-z]))"  # "pennsylvania", "42nd", "51a"
_DIRECTION = r"(?:north|south|east|west|northeast|northwest|southeast|southwest|ne|nw|se|sw|[nsew])\.?"
_STREET_TYPES = _alternation(STREET_TYPES)
_STREET = rf"(?P<name>(?:{_NAME_WORD}\s){{1,3}})(?P<type>{_STREET_TYPES})\b\.?"
_ROUTE = (
    r"(?P<route>(?:(?:us|u\.s\.|state|county|farm to market|old)\s)?"
    r"(?:route|rte|highway|hwy|interstate|road|rd|i|us|sr|cr|fm)[- ]?\d{1,4}[a-z]?)\b"
)
_UNIT_ID = r"(?:\d[\w-]{0,5}|[a-z](?:-?\d{1,4})?)\b"
_RANGED_UNIT = rf"(?:{_alternation(_RANGED_UNITS)})\.?\s?#?\s?{_UNIT_ID}|#\s?\d[\w-]{{0,5}}\b"
_STATE = _alternation([name for name, _ in _STATES] + [code for _, code in _STATES]) + "|" + _OTHER_REGIONS
_ZIP = r"\d{5}(?:-\d{4})?"
# The standard UK postcode pattern ("sw1a 2aa", "ph2 5hl"), not an ordinal ("b1 2nd"); after a street
# and town, any postcode shape will do.
_UK_POSTCODE = (
    r"(?:gir ?0aa|(?:[a-z]\d{1,2}|[a-z][a-hj-y]\d{1,2}|[a-z]\d[a-z]|[a-z][a-hj-y]\d[a-z]?) ?"
    r"(?!1st|2nd|3rd|\dth)\d[a-z]{2})"
)
_ANY_POSTCODE = r"[a-z]{1,2}\d[a-z\d]? ?(?!1st|2nd|3rd|\dth)\d[a-z]{2}|[a-z]\d[a-z] ?\d[a-z]\d"  # UK, Canada
_STOP = _alternation(STOP)
# Common words are not a town ("…, then play"), but "new" and "old" start many ("new orleans").
_NOT_PLACE = _alternation(STOP - {"new", "old"})
_PLACE_WORD = rf"(?!(?:{_NOT_PLACE})\b){_WORD}"  # "springfield", not "then" or "me"
_PLACE = rf"{_PLACE_WORD}(?:\s{_PLACE_WORD}){{0,2}}"

_NUMBERED = re.compile(
    rf"(?<![\w.-])(?P<number>{_NUMBER}),?\s(?:{_STREET}(?:\s{_DIRECTION}(?!\w))?|{_ROUTE})", re.I
)  # not "top-20 jil y creek"
_NAMED = re.compile(rf"\b(?:{_STREET}|{_ROUTE})", re.I)  # a street without a house number
_PO_BOX = re.compile(r"\b(?:p\.? ?o\.? ?box|post office box)\s?#?\s?\d{1,6}\b", re.I)
# Armed forces addresses (Pub 28, 237): "psc 1234, box 5678, apo ae 09204", "uss nimitz fpo ap 96698".
_MILITARY = re.compile(
    rf"\b(?:(?:psc|cmr|unit)\s\d{{1,5}},?\s(?:box\s\d{{1,5}},?\s)?|(?:uss|usns|usnv|uscgc)\s(?:{_WORD}\s){{1,3}})"
    rf"(?:apo|fpo|dpo)\s(?:aa|ae|ap)\b(?:\s{_ZIP})?",
    re.I,
)
_UNIT_BEFORE = re.compile(rf"\b(?:{_RANGED_UNIT}),?\s$", re.I)  # "flat 2, " before "10 downing street"
_RANGED_AFTER = re.compile(rf"\s(?:{_RANGED_UNIT})", re.I)
_UNIT_AFTER = re.compile(rf",?\s(?:{_RANGED_UNIT}|(?:{_alternation(_BARE_UNITS)})\b\.?)", re.I)
_TAIL = re.compile(
    rf"\s?,?\s(?:(?P<place>{_PLACE}(?:\s?,\s?{_PLACE})?)\s?(?P<comma>,)?\s)??"
    rf"(?:(?P<state>{_STATE})\b(?:,?\s(?P<zip>{_ZIP}|\d{{4}}))?|(?P<code>{_ZIP}|{_ANY_POSTCODE}))(?![\w-])",
    re.I,
)
# A town alone after a comma, up to the end of the clause: "…, springfield tonight", "…, santa clarita, play".
_TOWN = re.compile(rf",\s?{_PLACE}(?=\s?(?:[.!?;,]|$)|\s(?:{_STOP})\b)", re.I)
_POSTCODE = re.compile(rf"\b{_UK_POSTCODE}\b", re.I)
_POSTAL_CODE = re.compile(rf"\b(?:{_ZIP}|{_ANY_POSTCODE})\b", re.I)
# A number right after these words counts or ranks ("play 2 al green songs", "top 40 ..."), and one
# like a year is a year ("some 1994 elkie brooks"), more often than it numbers a house.
_COUNT_CUE = re.compile(
    r"\b(?:play|top|some|best|the|my|your|first|last|next|only|all|greatest|over|about|around|under|of)\W*$",
    re.I,
)
_YEAR = re.compile(r"(?:19|20)\d\d")
# A word before the house number that makes a doubtful street an address ("ship it to 12 …").
_ADDRESS_BEFORE = re.compile(
    r"\b(?:to|at|on|address(?: is)?|deliver|ship|mail|post|live|lives|living|located|visit|moved)\W*$", re.I
)
# Where an address is announced ("my address is", "ship it to", "lives at"), the rest of the clause is
# the address when it holds a house number, whatever its country's format ("rua augusta 50, lisboa").
_ADDRESS_CONTEXT = re.compile(
    r"(?<![<\w])address(?:\s(?:is|to|with))?\s?:?\s|\b(?:ship|deliver|mail|post)\b(?:\s[\w'-]+){0,4}?\s(?:to|at)\s"
    # Not "live at": "live at leeds" is an album.
    r"|\b(?:(?:i|we|they|you)\s(?:live|lived)|lives|living|located|based)\s(?:at|on)\s",
    re.I,
)
# Cues that announce a place less surely: "the party is at …", "send the merch to …", "the corner of …"
# also come before a time, a level or a title ("at 7 pm", "take me back to dear old blighty",
# "our little corner of the world"), so their clause must look more like an address (`_announced`).
_WEAK_CONTEXT = re.compile(
    r"(?<![<\w])at\s|\b(?:send|bring|take|drive)\b(?:\s[\w'-]+){0,4}?\s(?:to|at)\s|\bcorner\sof\s", re.I
)
# What a number after a weak cue counts, instead of a house ("at 7 pm", "in 2 years", "at 120 bpm").
_COUNTED = (
    "pm am p.m. a.m. o'clock oclock percent % bpm db volume min mins minute minutes sec secs second seconds "
    "hour hours hrs day days week weeks month months year years times x k kbps fps degrees"
)
_NOT_AFTER_NUMBER = frozenset(_COUNTED.split())
# Music words: a clause after a weak cue that holds one is a title or a request, not an address.
_MUSIC = (
    "playlist playlists soundtrack song songs album albums music mix mixtape remix tracks radio station "
    "episode podcast artist band hits classics anthems jams tunes covers oldies favorites favourites "
    "essentials collection edition vol"
)
_MUSIC_WORDS = frozenset(_MUSIC.split())
# Words that start a new request after an address ("…, play something upbeat", "… and text mom").
_REQUEST_WORDS = (
    "play put add queue shuffle skip start stop pause resume repeat turn set find search call text message "
    "email send share show tell ask remind invite thanks thank thx cheers please pls ok okay i i'm im we you "
    "it it's its this that and then also so now tonight today tomorrow asap"
)
_REQUEST = _alternation(_REQUEST_WORDS.split())
# The clause ends at a sentence mark, at a comma before a request ("…, mobile, al 36602, play it"), or
# where a conjunction starts a new one ("… and play drake", "… for this card"); "and" between two
# names stays inside ("the corner of X and Y"), and so does a region code in capitals ("…, IN Norway").
_CLAUSE = re.compile(
    rf"[^!?;]+?(?=\s?[!?;]|\.?\s*$|,\s(?!(?-i:[A-Z]{{2}})\b)(?:{_REQUEST})\b"
    rf"|\s(?:and|&)\s(?:{_STOP})\b|\s(?!(?-i:[A-Z]{{2}})\b)(?:to|then|for|with|because|but|so|if|when|please)\b)",
    re.I,
)
# "new" and "old" start many street and town names ("1623 old cres").
_COMMON = STOP - {"new", "old"}
_TOKEN = re.compile(r"[^\s,]+")
_HOUSE_NUMBER = re.compile(r"(?<![\w.:/])\d{1,6}[a-rt-z]?\.?(?![\w:/])", re.I)  # not "00s"
# Words that are never part of a street name, so "top 40 hits on the road" is not an address.
_NOT_STREET_WORDS = (
    "a an the on in at to of by for from with and or my your our this that songs song hits music tracks "
    "albums best top greatest new old play playlist radio mix minutes hours years times"
)
_NOT_STREET = frozenset(_NOT_STREET_WORDS.split())

# RE2 prefilters, run over whole columns: a row that matches none of these cannot hold
# machine-shaped PII, and one that misses ADDRESS_PREFILTER holds no address `find_addresses` finds.
ADDRESS_PREFILTER = "|".join(
    (
        rf"\d[a-z]?,? (?:\S+ ){{0,3}}(?:{_STREET_TYPES}|route|rte|hwy|interstate|i|us|sr|cr|fm)\b",
        r"[a-z],? \d{5}\b|\b[a-z]{1,2}\d[a-z\d]? ?\d[a-z]{2}\b|\b[a-z]\d[a-z] ?\d[a-z]\d\b|\bgir ?0aa\b",
        r"\bbox\b|\b[adf]po a[aep]\b",  # PO boxes, armed forces
        r"\b(?:address|ship|deliver|mail|post|send|bring|take|drive|lives?|living|lived|located|based|corner"
        r"|at)\b.*\d",  # address cues
    )
)
PREFILTER = "|".join(
    (
        "@",
        r"\d[\d ().-]{4,}\d",  # six or more digits with separators: phones, cards
        r"\d\.\d{1,3}\.\d|[0-9a-f]{0,4}:[0-9a-f]{0,4}:",  # IPv4, IPv6
        rf"://|www\.|[a-z0-9]\.(?:{_TLDS})\b",  # links and domains
        rf"\bdot (?:{_SPOKEN_TLDS})\b",  # spoken emails
        ADDRESS_PREFILTER,
    )
)

_EMAIL = re.compile(r"[\w.+-]*\w@[\w-]+(?:\.[\w-]+)*\.[a-z]{2,}\b", re.I)
_DOT = r"(?: dot |\.| \(dot\) | \[dot\] )"
_SPOKEN_EMAIL = re.compile(
    rf"\b\w+(?:(?: dot | underscore | dash | plus |[._+-])\w+)*(?: at | \(at\) | \[at\] |@)"
    rf"[\w-]+(?:{_DOT}[\w-]+)*{_DOT}(?:{_SPOKEN_TLDS})\b",
    re.I,
)
_URL = re.compile(rf"\b(?:https?://|www\.)\S+|\b(?:[a-z0-9-]+\.)+(?:{_TLDS})\b(?:/\S*)?", re.I)
_HANDLE = re.compile(r"(?<![\w.@])@\w(?:[\w.]*\w)?", re.I)
_CARD = re.compile(r"(?<![\d.])\d{4}(?:[ -]?\d{2,4}){2,4}(?:[ -]?\d{1,3})?(?![\d])")
_IPV4 = re.compile(r"(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?![\d]|\.\d)")
_IPV6 = re.compile(r"(?<![\w:])(?:[0-9a-f]{0,4}:){2,7}[0-9a-f]{0,4}(?![\w:])", re.I)
# International exit codes ("00 44 ...", "011 44 ...", "001-555-..."): the phone library reads them
# only for regions that dial them, so they are also read as a "+" everywhere.
_EXIT_CODES = (
    re.compile(r"(?<![\d+])(?:00|011)(?=[ .-]?[1-9])"),
    re.compile(r"(?<![\d+])001(?=[ .-]?[2-9])"),
)
# Where a number is announced as a phone ("my number is", "text the link to"), a run of digits as
# long as the region's numbers (up to 15) is one even when the phone library rejects it for the region.
# A cue is a word, not a placeholder: "<PHONE> office 0770…" is announced by nothing.
_PHONE_CUE = re.compile(
    r"(?<![<\w])(?:call|ring|dial|text|txt|sms|whatsapp|phone|number|mobile|cell|tel|fax|reach me|send)\b"
    r"[\s:,.-]*(?:[a-z']+[\s:,-]+){0,3}$",  # up to three plain words between: no digits, no placeholder
    re.I,
)
_DIGIT_RUN = re.compile(
    r"(?<![\w+.])\+?\(?\d[\d ().-]{5,}\d(?:\s?(?:x|ext\.?|extension)\s?\d{1,5})?(?![\w.])", re.I
)
_CARD_CUE = re.compile(
    r"\b(?:card|visa|mastercard|maestro|amex|credit|debit|cc|pay|charge|buy|purchase|payment|checkout|billing)\b",
    re.I,
)
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
    # Maestro numbers can have 12 digits: that short, only where the query speaks of paying.
    shortest = 12 if _CARD_CUE.search(text) else 13
    for m in _CARD.finditer(text):
        # The longest run of whole digit groups that passes Luhn: "4111 1111 1111 1111 12" has a card.
        groups = list(re.finditer(r"\d+", m.group()))
        for last in range(len(groups) - 1, -1, -1):
            digits = "".join(g.group() for g in groups[: last + 1])
            if shortest <= len(digits) <= 19 and luhn_ok(digits):
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
    An extension ("x305", "ext. 12") is part of the match.
    """
    spans = list(_phone_spans(text, region))
    for exit_code in _EXIT_CODES:
        if exit_code.search(text):  # the same offsets: "00" becomes "+ ", "011" "+  "
            plus = exit_code.sub(lambda m: "+".ljust(len(m.group())), text)
            spans += _phone_spans(plus, region)
    spans += _announced_numbers(text, region, spans)
    for start, end in _union(spans):
        yield "PHONE", start, end


def _announced_numbers(text: str, region: str, found: list[tuple[int, int]]) -> Iterator[tuple[int, int]]:
    """Digit runs after a phone cue that the library did not take."""
    for m in _DIGIT_RUN.finditer(text):
        long_enough = phone_digits(region) <= sum(c.isdigit() for c in m.group()) <= 15
        free = all(m.end() <= s or e <= m.start() for s, e in found)
        if long_enough and free and not _YEARS.fullmatch(m.group()) and _PHONE_CUE.search(text, 0, m.start()):
            yield m.start(), m.end()


def _phone_spans(text: str, region: str) -> Iterator[tuple[int, int]]:
    shortest = phone_digits(region)
    for m in PhoneNumberMatcher(text, region, leniency=phonenumbers.Leniency.POSSIBLE):
        if phonenumbers.is_possible_number_with_reason(m.number) != ValidationResult.IS_POSSIBLE:
            continue
        if sum(c.isdigit() for c in m.raw_string) < shortest or _YEARS.fullmatch(m.raw_string):
            continue
        yield m.start, m.end


@functools.lru_cache(maxsize=256)
def phone_digits(region: str) -> int:
    """Digits a number must have: 8, or fewer where the region's own numbers are shorter (Iceland's
    seven, Greenland's six); never under six, so that "play 1999" stays a year."""
    metadata = PhoneMetadata.metadata_for_region(region)
    if metadata is None:
        return 8
    lengths = [*metadata.fixed_line.possible_length, *metadata.mobile.possible_length]
    return min(8, max(6, min(lengths, default=8)))


def _union(spans: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """Overlapping spans merged into one."""
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start < merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def find_addresses(text: str) -> Iterator[Span]:
    """Street addresses with a house number, PO boxes, military addresses, streets with a postal tail,
    and UK postcodes, each grown over the unit and the city/state/ZIP or postcode that follow; and
    what follows an address cue ("my address is …") when it holds a house number."""
    spans = [span for m in _NUMBERED.finditer(text) if (span := _numbered(text, m))]
    spans += [span for m in _ADDRESS_CONTEXT.finditer(text) if (span := _announced(text, m.end()))]
    spans += [span for m in _WEAK_CONTEXT.finditer(text) if (span := _announced(text, m.end(), weak=True))]
    if _POSTAL_CODE.search(text):  # where a street without a number could have its tail
        spans += [span for m in _NAMED.finditer(text) if (span := _named(text, m))]
    spans += [_grown(text, m.start(), m.end())[:2] for r in (_PO_BOX, _MILITARY) for m in r.finditer(text)]
    spans += [(m.start(), m.end()) for m in _POSTCODE.finditer(text)]
    for start, end in _union(spans):
        yield "ADDRESS", start, end


def _numbered(text: str, match: re.Match[str]) -> tuple[int, int] | None:
    """The span of a house number and street, grown; None where the street is not one. The type is the
    last word that can be one, unless it starts a unit: "12 main st trailer 4" is "12 main st", and
    the unit "trailer 4"."""
    m: re.Match[str] | None = match
    while m is not None and m["type"] is not None and _RANGED_AFTER.match(text, m.start("type") - 1):
        m = _NUMBERED.match(text, m.start(), m.start("type") - 1)
    if m is None or (m["route"] is None and not _street_name_ok(m["name"])):
        return None
    start, end, evidence = _grown(text, m.start(), m.end())
    if unit := _UNIT_BEFORE.search(text, max(0, start - 20), start):
        start, evidence = unit.start(), True
    if _weak(text, m) and not evidence and not _ADDRESS_BEFORE.search(text, 0, start):
        return None
    return start, end


def _weak(text: str, m: re.Match[str]) -> bool:
    """Whether the street needs more evidence: its type is an everyday word, or its number is a count
    or a year."""
    weak_type = m["type"] is not None and m["type"].lower() in WEAK_TYPES
    return weak_type or bool(_YEAR.fullmatch(m["number"]) or _COUNT_CUE.search(text, 0, m.start()))


def _named(text: str, m: re.Match[str]) -> tuple[int, int] | None:
    """A street without a house number ("abbey road", "route 9") is an address only with a ZIP or a
    postcode after it."""
    if m["route"] is None and not _street_name_ok(m["name"]):
        return None
    tail = _TAIL.match(text, m.end())
    postal = tail is not None and (tail["code"] or len(tail["zip"] or "") >= 5)
    return (m.start(), tail.end()) if postal and _tail_ok(tail) else None


def _announced(text: str, start: int, weak: bool = False) -> tuple[int, int] | None:
    """The clause after an address cue, if it is shaped like an address: a house number next to a
    word that is not a common one ("rua augusta 50"; not "7 tonight"), at most 16 words, without the
    common words it ends with ("… harbour parade thanks"). After a weak cue the clause must be shorter
    (12 words), hold two such words and no music word, and its number must be no year and no time or
    level ("at 7 pm")."""
    clause = _CLAUSE.match(text, start)
    if clause is None:
        return None
    spans = [(m.start(), m.end()) for m in _TOKEN.finditer(text, start, clause.end())]
    tokens = [text[s:e].rstrip(".") for s, e in spans]
    words = [t.lower() for t in tokens]

    def typed_as_name(i: int) -> bool:  # "… and Hayden Track", "… RABBALSHEDE OR"
        return tokens[i][:1].isupper() and not text.isupper()

    music = any(w in _MUSIC_WORDS and not typed_as_name(i) for i, w in enumerate(words))
    while words and words[-1] in _COMMON and not typed_as_name(len(words) - 1):
        words.pop()
    named = [w for w in words if w[:1].isalpha() and w not in _COMMON]
    if len(words) > 16 or (weak and (len(named) < 2 or music)):
        return None
    for i, word in enumerate(words):
        counted = words[i + 1 : i + 2] and words[i + 1] in _NOT_AFTER_NUMBER
        if not _HOUSE_NUMBER.fullmatch(word) or (weak and (counted or _YEAR.fullmatch(word))):
            continue
        beside = words[max(0, i - 1) : i] + words[i + 1 : i + 2]
        if any(w[:1].isalpha() and w not in _COMMON for w in beside):
            return start, spans[len(words) - 1][1]
    return None


def _street_name_ok(name: str) -> bool:
    return not any(word.lower() in _NOT_STREET for word in name.split())


def _grown(text: str, start: int, end: int) -> tuple[int, int, bool]:
    """The span grown over a unit and a postal tail after it, and whether it grew."""
    grown = end
    if unit := _UNIT_AFTER.match(text, grown):
        grown = unit.end()
    untailed = grown
    for _ in range(3):  # "…, ontario sd 16725": a region, then a state and ZIP
        tail = _TAIL.match(text, grown)
        if tail is None or not _tail_ok(tail):
            break
        grown = tail.end()
    if grown == untailed and (town := _TOWN.match(text, grown)):
        grown = town.end()
    return start, grown, grown > end


def _tail_ok(tail: re.Match[str]) -> bool:
    """A state code that is also a word ("or", "in", "on") only with a ZIP, or in capitals in a text
    that is not all capitals ("Portland, OR"; not "TOP 100 TRACKS ON SPOTIFY")."""
    state = tail["state"]
    if not state or state.lower() not in _WORDLIKE_STATES or tail["zip"]:
        return True
    return state.isupper() and not tail.string.isupper()
