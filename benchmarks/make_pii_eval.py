"""Writes the labeled PII evaluation set `benchmarks/data/pii_eval.jsonl` (reproducible: fixed seed).

    python benchmarks/make_pii_eval.py [--out benchmarks/data/pii_eval.jsonl] [--seed 7]

Rows are {"text", "locale", "kind": "pii"|"clean", "pii": [{"type", "value"}], "artists": [...],
"allow_listed": [...], "titles": [...], "titles_allow_listed": [...]}: planted values are the exact
substrings that must be gone after scrubbing; artists (and titles) the exact substrings that must
survive, and `allow_listed` says whether each is in the catalog the benchmark uses (the seed's
artist, track, album and playlist values), so that preservation is measured both with the
allow-list and with the context rules alone.

The templates and name lists here are written for this set, independently of the synthetic log's
planted-PII templates (`resources/synth_fake_pii.json`), so that the measure is not circular.
Artists come from the seed (real public names) and from a hand list of well-known artists,
most of which are not in the seed.
"""

import argparse
import json
import random
import re
from pathlib import Path

SEED_FILE = Path(__file__).resolve().parents[1] / "honkdata" / "resources" / "synth_seed.json"
PER_TYPE, CLEAN = 220, 1600
CATALOG_KINDS = ("artist", "track", "album", "playlist")  # the benchmark's allow-list
TITLE_SHAPES = re.compile(
    r"\d|@|\.com\b|\b(?:call|text|this is|my name|send|share|friend|birthday)\b|'s\b", re.I
)

_FIRST = (
    "jenny mark amelia rohan keisha dmitri marisol tobias ingrid kwame lucia declan priyanka mateo "
    "hannah sean leila bjorn thandiwe colm yusuf beatriz henrik nadia gareth imogen kofi rosa "
    "malik esther callum anika rafael tamsin jorge wiremu saoirse hamish zara ruth will june rose "
    "grace max jack maya eli nora felix lena ahmed chloe ben kate"
)
FIRST = _FIRST.split()
_LAST = (
    "okonkwo fitzgerald lindqvist haddad moreau kowalski brennan nakamura delacroix oyelaran "
    "castellanos whitfield mbeki sorensen mcallister vasquez petrov abernathy chaudhry gallagher "
    "tremblay oconnell ferreira hughes"
)
LAST = _LAST.split()
# Well-known artists (public facts) with person-shaped names; most are not in the seed catalog.
_HAND_ARTISTS = (
    "john legend|billie eilish|taylor swift|frank ocean|amy winehouse|ed sheeran|harry styles|lana del rey|"
    "bruno mars|ariana grande|kendrick lamar|dua lipa|olivia rodrigo|noah kahan|phoebe bridgers|norah jones|"
    "etta james|nina simone|stevie wonder|bob dylan|elton john|dolly parton|johnny cash|miles davis|"
    "sam smith|lewis capaldi|mac miller|post malone|miley cyrus|sabrina carpenter|zach bryan|"
    "morgan wallen|kacey musgraves|leon bridges|jon batiste|chet baker|bill evans|joni mitchell|"
    "paul simon|billy joel|david bowie|whitney houston|mariah carey|janet jackson|tina turner|"
    "willie nelson|ella fitzgerald|john coltrane|tom odell|george ezra|ellie goulding|rita ora|"
    "tate mcrae|conan gray|jack harlow|tyler childers|chris stapleton|luke combs|lizzo|adele|"
    "jenny lewis|mark ronson|grace jones|rose royce|will young|june carter|max richter|jack white"
)
HAND_ARTISTS = _HAND_ARTISTS.split("|")
CLEAN_TEMPLATES = (
    "play {a}", "{a} radio", "songs like {a}", "put on some {a}", "play {t} by {a}", "shuffle {a}",
    "who is {a}", "play the new {a} album", "play {a}'s greatest hits", "i love {a}", "more like {a}",
    "play music by {a}", "start a {a} station", "queue up {a}", "listen to {a}", "{a}",
    "what's the latest from {a}", "play {a} and {a2}", "songs by {a} from the 90s", "play {a} on spotify",
    "play {a} by the pool", "play {a} in the kitchen", "play {a} for my workout", "play {a} for my mom",
    "something chill like {a}", "is {a} touring this year", "add {a} to my road trip playlist",
    "who sings {t}", "play {t}", "i want to hear {a} live", "{a} top tracks", "play {a} please",
    "can you play {a}", "play the best of {a}", "turn up the {a}", "what year did {a} release {t}",
    "play {a}, then {a2}", "{a} vs {a2}", "play some {a} for the kids", "next play {a}",
)  # fmt: skip
FIXED_CLEAN = (
    "867-5309", "jenny 867 5309 by tommy tutone", "wake me at 7.30", "call me maybe",
    "play call me by your name", "live at leeds", "play 1999 by prince", "top 40 hits of 2019",
    "play 99 red balloons", "set a timer for 30 minutes", "play 22 by taylor swift", "play 7 rings",
    "play blink-182", "play sum 41", "play the 1975", "play 5 seconds of summer", "play will.i.am",
    "play p!nk", "play panic! at the disco", "play on last.fm", "play on spotify.com",
    "play text me merry christmas", "play this is america", "play my name is jonas by weezer",
    "play ring ring by abba", "go ask alice", "play message in a bottle", "call on me by eric prydz",
    "play tell me why", "call your girlfriend by robyn", "play send me on my way",
    "play 50 cent in da club", "play 2 become 1", "play 1 2 3 4 by feist", "play the 25 best songs of 1985",
    "play songs from 1965 to 1975", "play track 12", "volume 7", "play 3 am by matchbox 20",
    "play i just called to say i love you", "play call me al", "play hotline bling",
    "play songs for my friend", "play this is me from the greatest showman", "play happy birthday",
    "play happy birthday by stevie wonder", "play my brother's keeper",
)  # fmt: skip
PII_TEMPLATES = {
    "EMAIL": (
        "send the playlist to {v}", "{v} is my email", "my email address: {v}",
        "share this mix with {v} please", "email me at {v}", "sign me up with {v}", "invite {v} to my blend",
        "contact {v}", "is {v} linked?", "{v}", "add {v} as a collaborator on road trip",
        "play {a} and email {v} the link",
    ),
    "PHONE": (
        "call {v}", "text {v} the link", "my number is {v}", "{v} call me back", "send this song to {v}",
        "reach me at {v}", "whatsapp {v}", "my mobile: {v}", "ring {v} when this ends", "{v}",
        "play {a} then call {v}", "is {v} on my family plan",
    ),
    "CARD": (
        "pay with {v}", "my card number is {v}", "use card {v} for premium", "{v} exp 09/27",
        "upgrade to the family plan, card {v} cvv 123", "charge {v}", "{v}", "billing: {v}",
    ),
    "IP": (
        "my ip is {v}", "cast to the speaker at {v}", "connect to {v}", "why is {v} blocked",
        "login from {v} was not me", "{v}", "stream {a} to {v}",
    ),
    "URL": (
        "play {v}", "add {v} to my queue", "check out {v}", "{v}", "what song is this {v}", "open {v} please",
        "my mixtape is at {v}", "play {a} from {v}",
    ),
    "HANDLE": (
        "follow {v}", "songs {v} posted", "tag {v} in this", "share with {v} on insta",
        "{v} recommended this", "play the playlist by {v}", "dm {v} this song",
    ),
    "ADDRESS": (
        "deliver to {v}", "my address is {v}", "play music at {v}", "set home to {v}",
        "the party is at {v} tonight", "ship the vinyl to {v}", "{v}", "concerts near {v}",
    ),
    "PERSON": (
        "call {v}", "call {v} please", "can you call {v}", "text {v} i'm running late",
        "message {v} happy new year", "email {v} this playlist", "facetime {v}", "my name is {v}",
        "hi my name is {v}, play some jazz", "this is {v}, play my mix",
        "this is {v} play my workout playlist",
        "play this song for my friend {v}", "make a playlist for my sister {v}", "it's {v}'s birthday",
        "play something for {v}'s birthday party", "songs for {v}'s wedding", "send this to {v}",
        "share this playlist with {v}", "dedicate this song to {v}", "happy birthday {v}",
        "the playlist {v} made for me", "play the songs {v} sent me", "remind {v} about the concert",
        "invite {v} to listen along", "tell {v} i love this song", "ask {v} what this song is",
        "call {v} and play {a}", "play {a} and text {v}", "give {v} a call", "let {v} know i'm running late",
        "ping {v} on slack", "video call {v}", "whatsapp {v} this song", "message my brother {v}",
        "happy birthday to {v}!", "a song for my wife {v}", "{v} sent me this song", "please ring {v}",
        "play the song {v} shared with me yesterday", "ok google text {v} i'm outside", "call {v} on speaker",
    ),
}  # fmt: skip
STREETS = "acacia|juniper|wexford|harrow|birchwood|kingsley|marlowe|ashgrove|sycamore|linden|orchard|holloway"
SUFFIXES = (
    "Street|St|St.|Avenue|Ave|Road|Rd|Lane|Drive|Dr|Boulevard|Blvd|Court|Place|Way|Terrace|Crescent|Close"
)
LOCALES = ("en-US", "en-US", "en-GB", "en-AU", "en-IN", "en-CA", "en-IE", "en-NZ", None)
TLDS = (
    "gmail.com",
    "yahoo.co.uk",
    "fastmail.fm",
    "uni.edu",
    "studio.io",
    "hotmail.com",
    "proton.me",
    "web.de",
)


def _luhn(payload: str) -> str:
    doubled = [int(d) * (2 - i % 2) for i, d in enumerate(reversed(payload))]
    return payload + str(-sum(x // 10 + x % 10 for x in doubled) % 10)


def _digits(r: random.Random, n: int) -> str:
    return "".join(r.choice("0123456789") for _ in range(n))


def _person(r: random.Random) -> str:
    if r.random() < 0.08:  # a person named like an artist: the context decides
        return r.choice(("taylor swift", "john legend", "billie eilish", "frank ocean"))
    first = r.choice(FIRST)
    return f"{first} {r.choice(LAST)}" if r.random() < 0.5 else first


def _phone(r: random.Random, locale: str | None) -> str:
    country = (locale or "en-US")[-2:]
    if r.random() < 0.15:  # someone else's number, in international form
        country = r.choice(("US", "GB", "AU", "IN"))
        intl = True
    else:
        intl = r.random() < 0.3
    if country in ("US", "CA"):
        a, b, c = f"{r.randint(201, 989)}", f"{r.randint(200, 999)}", _digits(r, 4)
        if intl:
            return r.choice((f"+1 {a} {b} {c}", f"+1-{a}-{b}-{c}", f"+1 ({a}) {b}-{c}"))
        return r.choice((f"({a}) {b}-{c}", f"{a}-{b}-{c}", f"{a}.{b}.{c}", f"{a}{b}{c}", f"1-{a}-{b}-{c}"))
    if country == "GB":
        mob, land = f"7{_digits(r, 3)} {_digits(r, 6)}", f"20 {_digits(r, 4)} {_digits(r, 4)}"
        v = r.choice((mob, land))
        return f"+44 {v}" if intl else f"0{v}"
    if country in ("AU", "NZ"):
        v = (
            f"4{_digits(r, 2)} {_digits(r, 3)} {_digits(r, 3)}"
            if country == "AU"
            else f"21 {_digits(r, 3)} {_digits(r, 4)}"
        )
        return f"+{61 if country == 'AU' else 64} {v}" if intl else f"0{v}"
    if country == "IN":
        v = f"9{_digits(r, 4)} {_digits(r, 5)}"
        return f"+91 {v}" if intl else v
    return f"+353 87 {_digits(r, 3)} {_digits(r, 4)}" if intl else f"087 {_digits(r, 3)} {_digits(r, 4)}"


def _value(kind: str, r: random.Random, locale: str | None) -> str:
    first, last = r.choice(FIRST), r.choice(LAST)
    if kind == "EMAIL":
        user = r.choice(
            (f"{first}.{last}", f"{first}{last}{r.randint(1, 99)}", f"{first[0]}_{last}", f"{first}+music")
        )
        if r.random() < 0.2:  # spoken by a voice user
            domain = r.choice(("gmail dot com", "yahoo dot co dot uk", "outlook dot com"))
            return f"{user.replace('.', ' dot ').replace('_', ' underscore ')} at {domain}"
        return f"{user}@{r.choice(TLDS)}"
    if kind == "PHONE":
        return _phone(r, locale)
    if kind == "CARD":
        prefix, length = r.choice((("4", 16), ("51", 16), ("55", 16), ("6011", 16), ("37", 15)))
        digits = _luhn(prefix + _digits(r, length - len(prefix) - 1))
        if length == 15:
            return r.choice((digits, f"{digits[:4]} {digits[4:10]} {digits[10:]}"))
        sep = r.choice(("", " ", "-"))
        return sep.join(digits[i : i + 4] for i in range(0, 16, 4))
    if kind == "IP":
        if r.random() < 0.6:
            return ".".join(str(r.randint(1, 254)) for _ in range(4))
        groups = [f"{r.randint(0, 0xFFFF):x}" for _ in range(8)]
        return ":".join(groups) if r.random() < 0.5 else f"2001:db8::{groups[0]}:{groups[1]}"
    if kind == "URL":
        slug = f"{first}{last}"
        return r.choice((
            f"https://open.spotify.com/playlist/{_digits(r, 6)}{slug}",
            f"http://{slug}.net/posts/{r.randint(1, 99)}", f"www.{slug}.com",
            f"soundcloud.com/{slug}/demo-{r.randint(1, 9)}", f"https://youtu.be/{slug[:6]}{_digits(r, 5)}",
            f"https://www.instagram.com/{slug}/", f"{slug}.bandcamp.com", f"{slug}.co.uk/mixes",
        ))  # fmt: skip
    if kind == "HANDLE":
        return "@" + r.choice(
            (f"{first}_{last}", f"dj{first}{r.randint(1, 99)}", f"{first}.{last}", f"{first.title()}Beats")
        )
    if kind == "ADDRESS":
        street = (
            f"{r.randint(1, 9999)} {r.choice(STREETS.split('|')).title()} {r.choice(SUFFIXES.split('|'))}"
        )
        return r.choice((street, f"Apt {r.randint(1, 40)}, {street}", f"{street}, Springfield"))
    return _person(r)


def _cased(r: random.Random, parts: list[str]) -> tuple[list[str], bool]:
    """Casing and punctuation as people type or speak; the parts (literal, value, ...) keep their borders."""
    style = r.choices(("voice", "as_is", "sentence", "upper", "title"), (0.35, 0.3, 0.2, 0.05, 0.1))[0]
    if style == "voice":  # speech recognizers give lower case without commas
        return [p.lower() if i % 2 else p.lower().replace(",", "") for i, p in enumerate(parts)], True
    if style == "upper":
        parts = [p.upper() for p in parts]
    elif style == "title":
        parts = [p.title() for p in parts]
    elif style == "sentence":
        i = next((i for i, p in enumerate(parts) if p), 0)
        parts[i] = parts[i][:1].upper() + parts[i][1:]
    return parts, False


def _render(r: random.Random, template: str, fills: dict[str, str]) -> tuple[str, dict[str, str]]:
    """The text and each slot's final substring."""
    pieces, keys, rest = [], [], template
    while "{" in rest:
        head, rest = rest.split("{", 1)
        key, rest = rest.split("}", 1)
        pieces += [head, fills[key]]
        keys.append(key)
    pieces.append(rest)
    pieces, voice = _cased(r, pieces)
    text = "".join(pieces)
    if not voice:
        text += r.choice(("", "", "", ".", "?", "!"))
    return text, {k: pieces[2 * i + 1] for i, k in enumerate(keys)}


def build(seed: int) -> list[dict]:
    r = random.Random(seed)
    values = json.loads(SEED_FILE.read_text(encoding="utf-8"))["values"]
    catalog = {v.lower() for kind in CATALOG_KINDS for v in values[kind]}
    artists = sorted({a for a in values["artist"] if len(a.split()) >= 2}) + HAND_ARTISTS
    tracks = values["track"]
    rows = []

    def artist() -> str:
        return r.choice(HAND_ARTISTS) if r.random() < 0.5 else r.choice(artists)

    for kind, templates in PII_TEMPLATES.items():
        for i in range(PER_TYPE):
            locale = r.choice(LOCALES)
            template = templates[i % len(templates)]
            fills = {"v": _value(kind, r, locale), "a": artist()}
            text, final = _render(r, template, fills)
            row_artists = [final["a"]] if "{a}" in template else []
            pii = [{"type": kind, "value": final["v"]}]
            rows.append(_row("pii", text, locale, pii, row_artists, catalog))
    for i in range(CLEAN):
        template = CLEAN_TEMPLATES[i % len(CLEAN_TEMPLATES)]
        fills = {"a": artist(), "a2": artist(), "t": r.choice(tracks)}
        text, final = _render(r, template, fills)
        names = [final[k] for k in ("a", "a2") if "{" + k + "}" in template]
        rows.append(_row("clean", text, r.choice(LOCALES), [], names, catalog))
    rows += [_row("clean", text, "en-US", [], [], catalog) for text in FIXED_CLEAN]
    # Seed titles shaped like personal data ("157 riverside avenue", "this is johnny cash"): the
    # allow-list's job. Chosen by an independent test (a digit or a personal word), not the scrubber.
    for kind in ("track", "album", "playlist"):
        for title in values[kind]:
            if TITLE_SHAPES.search(title):
                text, final = _render(r, r.choice(("play {t}", "{t}", "put on {t}")), {"t": title})
                row = _row("clean", text, r.choice(LOCALES), [], [], catalog)
                rows.append({**row, "titles": [final["t"]], "titles_allow_listed": [True]})
    return rows


def _row(kind: str, text: str, locale: str | None, pii: list, artists: list[str], catalog: set[str]) -> dict:
    listed = [a.lower() in catalog for a in artists]
    return {
        "kind": kind, "text": text, "locale": locale, "pii": pii, "artists": artists, "allow_listed": listed,
        "titles": [], "titles_allow_listed": [],
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "data" / "pii_eval.jsonl")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rows = build(args.seed)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with args.out.open("w", encoding="utf-8") as f:
        f.writelines(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
    print(f"{len(rows)} rows -> {args.out}")


if __name__ == "__main__":
    main()
