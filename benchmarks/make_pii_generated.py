"""Writes two PII evaluation sets whose values come from generators with their own data (seeded).

    python benchmarks/make_pii_generated.py [--seed 3] [--scale 1] [--out-dir benchmarks/data]

- `pii_presidio_eval.jsonl`: presidio-evaluator's data generator (`PresidioSentenceFaker`: Faker, its
  own providers and its FakeNameGenerator.com person records, from many countries) fills two kinds of
  sentence: the music-query contexts below, written in its template syntax, and its own sentence
  templates (every template of its `templates.txt` that holds a type we scrub).
- `pii_mimesis_eval.jsonl`: mimesis (locales en, en-gb, en-au, en-ca) fills the same music contexts.

The labels follow the contexts, so that no name is both: a name in a personal context (call, text,
send to, my name is, i'm, ship to) is PII; a name in a play/queue context is an artist and must
survive. Clean rows put the generators' names in play contexts (`make_pii_eval.CLEAN_TEMPLATES`).
Rows are those of `make_pii_eval.py`, plus `start` (offset of each planted value), `source`
("music" or "generator": its own templates) and `template`. A row made from a FakeNameGenerator
record gets that person's country as locale ("en-GL"), as a phone of that country would have.

Seed 1 is the development draw the rules were tuned on (also at `--scale 4`, for more misses); seed 2
was reported before and read; the shipped files are seed 3, drawn after the rules were final and
scored once (see README, "Measured"). `--scale` is for development draws only.
"""

import argparse
import json
import os
import random
import re
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path

from make_pii_eval import CATALOG_KINDS, CLEAN_TEMPLATES, SEED_FILE

os.environ.setdefault("TQDM_DISABLE", "1")  # the generator's progress bars

PER_TYPE, CLEAN, OWN_TEMPLATES = 250, 1200, 1000
# Our keys and the types they plant; "artist" and "track" are music, not PII.
KEY_TYPES = {
    "person": "PERSON", "first": "PERSON", "phone": "PHONE", "email": "EMAIL", "address": "ADDRESS",
    "card": "CARD", "ip": "IP", "url": "URL", "handle": "HANDLE",
}  # fmt: skip
MUSIC_TEMPLATES = {
    "PERSON": (
        "call {person}", "text {person} that i'm on my way", "call {person} and play {artist}",
        "play {artist} then text {person}", "send this playlist to {person}",
        "share my road trip mix with {person}",
        "my name is {person}", "hi my name is {person}, play some jazz", "this is {first}", "i'm {first}",
        "hi, i'm {first}, play my morning mix", "it's {first} here", "play the mix {first} made for me",
        "happy birthday {person}", "make a playlist for {person}'s birthday",
        "remind {person} about the concert", "email {person} the link to this song",
        "dedicate this song to {person}", "let {person} know i'm late",
        "message my sister {first} happy new year",
    ),
    "EMAIL": (
        "email me at {email}", "send the playlist to {email}", "share this mix with {email}",
        "{email} is my email",
        "play some {artist} and email the link to {email}", "sign me up with {email}",
        "my email is {email}, play {track}", "invite {email} to my blend",
    ),
    "PHONE": (
        "play some {artist} and text it to {phone}", "call {phone}", "my number is {phone}",
        "text the link to {phone}", "reach me at {phone}", "send this song to {phone}",
        "call me back on {phone} after {track}", "whatsapp {phone} this playlist",
    ),
    "ADDRESS": (
        "ship the vinyl to {address}", "deliver the record to {address}", "my address is {address}",
        "send the tour merch to {address}", "the party is at {address}, play something upbeat",
        "set my home address to {address}", "play {artist} at {address}",
        "mail my concert tickets to {address}",
    ),
    "CARD": (
        "pay for premium with {card}", "my card number is {card}", "use card {card} for the family plan",
        "charge {card} for the concert tickets", "buy the {artist} album with {card}",
    ),
    "IP": (
        "cast to the speaker at {ip}", "connect to {ip} and play {artist}", "my ip is {ip}",
        "why is {ip} blocked from streaming", "stream {track} to {ip}",
    ),
    "URL": (
        "play {url}", "add {url} to my queue", "my mixtape is at {url}", "open {url} and play {artist}",
        "what song is this {url}",
    ),
    "HANDLE": (
        "follow {handle} on insta", "dm {handle} this song", "tag {handle} in my playlist",
        "share this with {handle}", "play the playlist by {handle}",
    ),
}  # fmt: skip
# A clean row's keys: make_pii_eval's {a}, {a2}, {t}.
CLEAN_KEYS = {"a": "artist", "a2": "artist", "t": "track"}


def _catalog() -> tuple[set[str], list[str]]:
    values = json.loads(SEED_FILE.read_text(encoding="utf-8"))["values"]
    return {v.lower() for kind in CATALOG_KINDS for v in values[kind]}, values["track"]


def _row(text: str, locale: str | None, planted: list[tuple[str, str, int]], artists: list[str],
         catalog: set[str], source: str, template: str) -> dict:  # fmt: skip
    return {
        "kind": "pii" if planted else "clean", "source": source, "template": template, "text": text,
        "locale": locale, "pii": [{"type": t, "value": v, "start": s} for t, v, s in planted],
        "artists": artists, "allow_listed": [a.lower() in catalog for a in artists],
        "titles": [], "titles_allow_listed": [],
    }  # fmt: skip


def _collapse(text: str, spans: list[tuple[str, int, int]]) -> tuple[str, list[tuple[str, int, int]]]:
    """Whitespace runs (the generator's templates have line breaks) as one space, as `honkdata.normalize`
    does before scrubbing; spans moved along."""
    out: list[str] = []
    where = []  # where each old offset lands in the new text
    for c in text:
        where.append(len(out))
        if not c.isspace():
            out.append(c)
        elif out and out[-1] != " ":
            out.append(" ")
    where.append(len(out))
    new = "".join(out).rstrip()
    return new, [(t, where[s], min(where[e], len(new))) for t, s, e in spans]


# presidio-evaluator -------------------------------------------------------------------------------
# Its template tokens: ours map onto our types, every other one is scored as nothing.
PRESIDIO_TYPES = {
    **dict.fromkeys(("person", "name", "first_name", "last_name", "name_female", "name_male",
                     "first_name_male", "first_name_female", "first_name_nonbinary", "last_name_male",
                     "last_name_female"), "PERSON"),
    **dict.fromkeys(("address", "street_name", "building_number", "secondary_address", "postcode"),
                    "ADDRESS"),
    "phone_number": "PHONE", "email": "EMAIL", "credit_card_number": "CARD", "ip_address": "IP", "url": "URL",
    "user_name": "HANDLE", "artist": "ARTIST", "track": "TRACK",
}  # fmt: skip
PRESIDIO_KEYS = {
    "person": "{{person}}", "first": "{{first_name}}", "phone": "{{phone_number}}", "email": "{{email}}",
    "address": "{{address}}", "card": "{{credit_card_number}}", "ip": "{{ip_address}}", "url": "{{url}}",
    "handle": "@{{user_name}}", "artist": "{{artist}}", "track": "{{track}}",
}  # fmt: skip
_TOKEN = re.compile(r"\{\{(\w+)\}\}")
RECORD_FIELDS = ("person", "first_name", "last_name", "phone_number", "email", "street_name", "user_name")


def _fixed_clock() -> type:
    """A Faker provider whose dates do not run up to today, so that a seed gives the same set on any day."""
    from faker.providers import BaseProvider

    class FixedClock(BaseProvider):
        def date_time(self) -> datetime:
            return self.generator.date_time_between(datetime(1970, 1, 1), datetime(2024, 1, 1))

        def date_of_birth(self) -> date:
            return self.generator.date_between(date(1940, 1, 1), date(2006, 1, 1))

        def year(self) -> str:
            return str(self.generator.random_int(1970, 2023))

        def day_of_week(self) -> str:  # Faker's own reads its own clock, not the one above
            return self.date_time().strftime("%A")

    return FixedClock


class Presidio:
    def __init__(self, seed: int, tracks: list[str]) -> None:
        from faker.providers import DynamicProvider
        from presidio_evaluator.data_generator import PresidioSentenceFaker, presidio_templates_file_path
        from presidio_evaluator.data_generator.faker_extensions import HospitalProvider
        from presidio_evaluator.data_generator.faker_extensions.datasets import load_fake_person_df
        from presidio_evaluator.data_generator.presidio_sentence_faker import (
            presidio_additional_entity_providers,
        )

        self._faker_class = PresidioSentenceFaker
        self.seed = seed
        lines = presidio_templates_file_path.read_text(encoding="utf-8").splitlines()
        self.own = [t.strip().replace("\\n", "\n") for t in lines]  # its line breaks are written "\\n"
        self.own = [t for t in self.own if any(k in PRESIDIO_TYPES for k in _TOKEN.findall(t))]
        tokens = {k for t in self.own for k in _TOKEN.findall(t)}
        self.mapping = {k: PRESIDIO_TYPES.get(k, "OTHER") for k in tokens | set(PRESIDIO_TYPES)}
        # HospitalProvider fetches a list from WikiData: not needed, and there is no network.
        self.providers = [p for p in presidio_additional_entity_providers if p is not HospitalProvider]
        self.extra = [DynamicProvider(provider_name="track", elements=tracks), _fixed_clock()]
        # Its records leave some fields empty, which its own code would print as "nan": an empty field
        # lets its Faker providers fill the value instead.
        random.seed(seed)  # its records draw middle initials from the global generator as they load
        self.people = people = load_fake_person_df().fillna("")
        # Which country a record value belongs to, for the row's locale.
        countries = people["country_code"]
        self.country = {
            str(v): c for col in RECORD_FIELDS for v, c in zip(people[col], countries, strict=True)
        }

    def sentences(
        self, templates: list[str], n: int, salt: int
    ) -> list[tuple[str, list[tuple[str, int, int]], str]]:
        """n sentences: (text, its (type, start, end) spans, template)."""
        faker = self._faker_class(
            locale="en_US", lower_case_ratio=0.35, sentence_templates=templates,
            entity_providers=self.providers, entity_type_mapping=dict(self.mapping),
            provider_aliases=[("name", "person"), ("name", "artist")],
            base_records=self.people, random_seed=self.seed * 1000 + salt,
        )  # fmt: skip
        for provider in self.extra:
            faker.add_provider(provider)
        out = []
        for sample in faker.generate_new_fake_sentences(n):
            spans = [(s.entity_type, s.start_position, s.end_position) for s in sample.spans]
            out.append((sample.full_text, spans, templates[sample.template_id]))
        return out

    def locale(self, text: str, spans: list[tuple[str, int, int]]) -> str:
        countries = [self.country[text[s:e]] for _, s, e in spans if text[s:e] in self.country]
        return f"en-{countries[0]}" if countries else "en-US"


def _presidio_rows(
    p: Presidio, templates: list[str], n: int, salt: int, source: str, catalog: set[str]
) -> list:
    rows = []
    for raw, raw_spans, template in p.sentences(templates, n, salt):
        text, spans = _collapse(raw, raw_spans)
        planted, artists = _planted(text, spans)
        rows.append(_row(text, p.locale(raw, raw_spans), planted, artists, catalog, source, template))
    return rows


def _planted(text: str, spans: list[tuple[str, int, int]]) -> tuple[list[tuple[str, str, int]], list[str]]:
    """Planted (type, value, start) and artists; adjacent address parts ("{{building_number}}
    {{street_name}}") are one address, and a handle keeps its "@"."""
    planted: list[list] = []
    for t, s, e in sorted(spans, key=lambda sp: sp[1]):
        if t == "HANDLE" and s > 0 and text[s - 1] == "@":
            s -= 1
        if (
            t == "ADDRESS"
            and planted
            and planted[-1][0] == "ADDRESS"
            and not text[planted[-1][2] : s].strip(", ")
        ):
            planted[-1][2] = e
        elif t in KEY_TYPES.values():
            planted.append([t, s, e])
    artists = [text[s:e] for t, s, e in spans if t == "ARTIST"]
    return [(t, text[s:e], s) for t, s, e in planted if text[s:e].strip()], artists


def presidio_set(seed: int, scale: int = 1) -> list[dict]:
    catalog, tracks = _catalog()
    p = Presidio(seed, tracks)
    rows = []
    for i, templates in enumerate(MUSIC_TEMPLATES.values()):
        rows += _presidio_rows(p, [_fill(t, {}) for t in templates], PER_TYPE * scale, i, "music", catalog)
    rows += _presidio_rows(p, p.own, OWN_TEMPLATES * scale, 98, "generator", catalog)
    clean = [_fill(t, CLEAN_KEYS) for t in CLEAN_TEMPLATES]
    rows += _presidio_rows(p, clean, CLEAN * scale, 99, "music", catalog)
    return rows


def _fill(template: str, aliases: dict[str, str]) -> str:
    """One of our templates in the generator's syntax: "call {person}" -> "call {{person}}"."""
    return re.sub(r"\{(\w+)\}", lambda m: PRESIDIO_KEYS[aliases.get(m[1], m[1])], template)


# mimesis ------------------------------------------------------------------------------------------
MIMESIS_LOCALES = {"en": "en-US", "en-gb": "en-GB", "en-au": "en-AU", "en-ca": "en-CA"}


def _mimesis_values(locale: str, seed: int, tracks: list[str]) -> dict[str, Callable[[], str]]:
    from mimesis import Address, Internet, Payment, Person
    from mimesis.locales import Locale

    loc = Locale(locale)
    person, address = Person(loc, seed=seed), Address(loc, seed=seed)
    internet, payment = Internet(seed=seed), Payment(seed=seed)
    r = random.Random(seed)

    def full_address() -> str:
        street, city = address.address(), address.city()
        if locale == "en-gb":
            return r.choice((street, f"{street}, {city}", f"{street}, {city} {address.postal_code()}"))
        state = address.state(abbr=r.random() < 0.7)
        return r.choice((street, f"{street}, {city}", f"{street}, {city}, {state} {address.postal_code()}",
                         f"{street} {city} {state} {address.postal_code()}"))  # fmt: skip

    return {
        "person": person.full_name, "first": person.first_name, "artist": person.full_name,
        "phone": person.phone_number, "email": person.email, "address": full_address,
        "card": payment.credit_card_number, "ip": lambda: r.choice((internet.ip_v4, internet.ip_v6))(),
        "url": lambda: r.choice((internet.url, internet.uri))(), "handle": lambda: "@" + person.username(),
        "track": lambda: r.choice(tracks),
    }  # fmt: skip


def _render(r: random.Random, template: str, values: dict[str, Callable[[], str]]) -> tuple[str, list]:
    """The text and its (key, start, end) spans; voice-like lower case for a third of the rows."""
    lower = r.random() < 0.35
    parts, spans, rest = [], [], template
    while "{" in rest:
        head, rest = rest.split("{", 1)
        key, rest = rest.split("}", 1)
        value = values[key]()
        head, value = (head.lower(), value.lower()) if lower else (head, value)
        parts.append(head)
        start = sum(map(len, parts))
        parts.append(value)
        spans.append((key, start, start + len(value)))
    parts.append(rest)
    return "".join(parts), spans


def mimesis_set(seed: int, scale: int = 1) -> list[dict]:
    catalog, tracks = _catalog()
    r = random.Random(seed)
    generators = {loc: _mimesis_values(loc, seed * 100 + i, tracks) for i, loc in enumerate(MIMESIS_LOCALES)}
    rows = []
    for template in _mimesis_templates(scale):
        loc = r.choice(list(MIMESIS_LOCALES))
        text, spans = _render(r, template, generators[loc])
        typed = [(KEY_TYPES.get(k, k.upper()), s, e) for k, s, e in spans]
        planted, artists = _planted(text, typed)
        rows.append(_row(text, MIMESIS_LOCALES[loc], planted, artists, catalog, "music", template))
    return rows


def _mimesis_templates(scale: int) -> list[str]:
    """PER_TYPE templates of each type in turn, then CLEAN clean ones (times `scale`)."""
    out = [ts[i % len(ts)] for ts in MUSIC_TEMPLATES.values() for i in range(PER_TYPE * scale)]
    clean = [re.sub(r"\{(\w+)\}", lambda m: "{" + CLEAN_KEYS[m[1]] + "}", t) for t in CLEAN_TEMPLATES]
    return out + [clean[i % len(clean)] for i in range(CLEAN * scale)]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seed", type=int, default=3)
    # A development draw can be larger, for more misses to learn from; the reported draw is not.
    parser.add_argument("--scale", type=int, default=1, help="rows per type and clean rows times this")
    parser.add_argument("--out-dir", type=Path, default=Path(__file__).parent / "data")
    args = parser.parse_args()
    args.out_dir.mkdir(parents=True, exist_ok=True)
    for name, make in (("pii_presidio_eval.jsonl", presidio_set), ("pii_mimesis_eval.jsonl", mimesis_set)):
        rows = make(args.seed, args.scale)
        with (args.out_dir / name).open("w", encoding="utf-8") as f:
            f.writelines(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
        print(f"{len(rows)} rows -> {args.out_dir / name}")


if __name__ == "__main__":
    main()
