"""People's names in personal contexts: "call jenny", "my name is mark", "it's jenny's birthday".

Proper nouns in music queries are mostly artists and titles, so a name is only ever taken from a
personal context, never from its looks (voice queries are lower case anyway). The context decides,
not the catalog: "call taylor swift" is a person, "play taylor swift" an artist. Only the weak
contexts (also playlist and song shapes: "this is america", "the playlist drake made") defer to the
allow-list. Introductions that song titles share word for word ("i'm yours", "this is me", "i'm
still standing") take a name only when it is a given name (`resources/given_names.txt`, from the US
census, and the rarer `given_names_ssa.txt`, from US birth records: "i'm ladislav"; accents aside) or
typed with a capital in an otherwise lower-case query ("this is Ralf", "i'm Abellona"), or when a comma
and a request follow it ("i'm olivier, play my mix"). "this is X" alone takes only a census name: a
"This Is" playlist is named after an artist ("this is mozart").

A context yields up to four words next to its trigger (five after a strong one: "jaydee y. van der
rest"); the name is the run of those words that are not common words (pronouns, verbs, music words,
kin terms), so "call me maybe" and "text mom" yield nothing and "text jenny i'm on my way" yields
"jenny". After a strong trigger, common words that are names there join the run: capitalized beside a
capitalized name in a lower-case query ("remind Elizabeth Best about it"), and in lower case a noun
that is a frequent US census surname after a given name ("earle best") or a census given name before
a surname (`resources/surnames.txt`: "alexa hoffman"). Where the rule's own words put a name ("i'm X",
"it's X here", "the mix X made", "my sister X"), a census given name that is a common word is a name
when typed as one ("i'm Buddy"); compounds ("Veli-Pekka", "anne-lotte") and surname particles
("Willemine ten Pas") are names too.
"""

import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

# A word with inner apostrophes or hyphens ("o'brien"), but not a possessive 's ("jenny's"); or an
# initial ("marie j. hamanova").
# Zero-width and byte-order marks count as letters, so that one inside a name neither splits nor hides it.
_L = r"(?:[^\W\d_]|[\u200b-\u200d\u2060\ufeff])"
_W = rf"(?:[^\W\d_]\.|{_L}+(?:['’-](?!s\b){_L}+)*)"
_NAME = rf"(?P<name>{_W}(?: {_W}){{0,3}})"  # "anthony van den oord"
# A lookahead: words trimmed off one name stay free for the next trigger; what follows a strong
# trigger may be five words long ("jaydee y. van der rest"), since the name run decides.
_NEXT = rf"(?=(?P<name>{_W}(?: {_W}){{0,4}}))"
# Where a command starts: the query start, punctuation, or a filler, conjunction or "want to".
_START = (
    r"(?:^|[,.;:!?]\s*|\b(?:and|then|also|please|pls|plz|now|just|ok|okay|so|yeah|um|uh|hi|hey|hello"
    r"|can you|could you|would you|will you|go ahead and|siri|alexa|google"
    r"|(?:want|need|have|forget|remember|going|try|wanna|gotta) to)\s+)"
)
_CONTACT = (
    r"call|ring|phone|text|txt|message|msg|e-?mail|dm|facetime|whatsapp|skype|ping|dial|remind|invite"
    r"|tell|ask|send|video call"
)
_RELATION = (
    r"friend|buddy|pal|mate|bestie|bff|sister|brother|sis|bro|wife|husband|girlfriend|boyfriend|gf|bf"
    r"|partner|fiancee?|son|daughter|kid|cousin|aunt|auntie|uncle|niece|nephew|grandma|grandpa|nan|nana"
    r"|granny|mom|mum|dad|mother|father|boss|coworker|co-worker|colleague|neighbou?r|roommate|flatmate"
    r"|teacher|classmate"
)
_REQUEST = (
    r"here|speaking|calling|again|play|put|queue|shuffle|skip|add|start|can|could|would|will|please|pls|i|i'm|im"
    r"|my|and|just|hey|hi|from"
)
_OBJECT = r"(?:this|that|these|those|it|the|my|our|a|an|some) "
_OCCASION = (
    r"birthday|bday|b-day|party|wedding|anniversary|funeral|graduation|shower|retirement|leaving do"
    r"|house|place|flat|room|car|number|phone|email|address|mom|mum|dad|wife|husband|sister|brother"
)


@dataclass(frozen=True)
class Rule:
    regex: re.Pattern[str]
    trigger: str  # RE2, case-insensitive: true of every text the regex matches, run over whole columns
    leftward: bool  # the name precedes the trigger ("jenny's birthday")
    strong: bool  # False: an allow-listed music name in this context is kept
    given_name: bool  # the name must start with a given name (`_given_name`): "i'm jenny", not "i'm yours"
    common_name: bool  # ... and a common one: "this is mark", not the playlist "this is mozart"
    # Where the rule's own words put the name: "closed" (the name is all of what lies between them:
    # "i'm X", "it's X here", "the mix X made"), "named" (the slot's first word: "my sister X") or ""
    # (anywhere in a run of names: "call X"). A given name that is also a common word is taken only
    # from the first two (`_lone_name`).
    slot: Literal["", "named", "closed"]


def _rule(
    pattern: str,
    trigger: str,
    leftward: bool = False,
    strong: bool = True,
    given_name: bool = False,
    common_name: bool = False,
    slot: Literal["", "named", "closed"] = "",
) -> Rule:
    return Rule(
        re.compile(pattern, re.I), trigger, leftward, strong, given_name or common_name, common_name, slot
    )


_GIVE = r"(?:call|ring|buzz|bell|text|shout)"
_INTRODUCE = r"(?:my name is|my name's|the name's|name's|i am called|i'm called)"
_SENDS = rf"(?:send|share|forward|dedicate|recommend) {_OBJECT}"
_SHARED = r"(?:shared|sent|gave|showed|recommended|made|played) (?:(?:with|for|to) )?me\b"
_I_AM = r"(?:i'm|i’m|im|i am|it's|it’s|its|it is|this is)"
_GREETING = r"\b(?:hi|hey|hello|hiya|yo)[,!]? "
# The end of an introduction: the end of the query, punctuation, or the request that follows it.
_INTRO_END = rf"(?= ?[,.;:!?]|$| (?:{_REQUEST})\b)"
_MIX = r"(?:mix|mixtape|playlist|song|songs|track|tracks|album|list|tape|tune|tunes|set)"
_MADE = r"(?:made|sent|shared|recommended|picked|chose|curated|compiled|put together)"
RULES = (
    _rule(rf"{_START}(?:{_CONTACT}) {_NEXT}", rf"\b(?:{_CONTACT}) "),
    _rule(rf"{_START}give {_NAME} a {_GIVE}\b", rf"\bgive (?:\S+ ){{1,4}}a {_GIVE}\b", slot="closed"),
    _rule(rf"{_START}let {_NAME} know\b", r"\blet (?:\S+ ){1,4}know\b", slot="closed"),
    _rule(rf"{_START}{_INTRODUCE} {_NEXT}", rf"\b{_INTRODUCE} "),
    # "this is johnny cash" alone is a playlist; "this is mark, play my mix" an introduction.
    _rule(rf"{_START}this is {_NAME},? (?:{_REQUEST})\b", r"\bthis is ", strong=False, slot="closed"),
    # "i'm olivier, play my mix": the comma and the request make it an introduction, not "i'm alive".
    _rule(
        rf"{_START}{_I_AM} {_NAME} ?, (?:{_REQUEST})\b", rf"\b{_I_AM} [^,]+, ", strong=False, slot="closed"
    ),
    _rule(
        rf"{_START}{_I_AM} {_NAME} (?:here|speaking|calling)\b",
        r" (?:here|speaking|calling)\b",
        given_name=True,  # "it's alex here", not "it's dark in here"
        slot="closed",
    ),
    _rule(
        rf"{_GREETING}{_I_AM} {_NAME}{_INTRO_END}",
        rf"{_GREETING}{_I_AM} ",
        strong=False,
        given_name=True,
        slot="closed",
    ),
    # "i'm jenny", "this is mark": given names (or a capitalized name in lower-case text) only; "this
    # is" takes one word ("this is johnny cash" is a playlist).
    _rule(
        rf"{_START}(?:i'm|i’m|im|i am) {_NAME}{_INTRO_END}",
        r"\bi(?:'|’| a)?m ",
        strong=False,
        given_name=True,
        slot="closed",
    ),
    # A "This Is" playlist is named after an artist: only a common given name makes it an introduction.
    _rule(
        rf"{_START}this is (?P<name>{_W})[.!?]*$",
        r"\bthis is \S+$",
        strong=False,
        common_name=True,
        slot="closed",
    ),
    _rule(
        rf"\b(?:the|that|this) {_MIX} {_NAME} {_MADE}\b",
        rf"\b{_MIX} (?:\S+ ){{1,4}}{_MADE}\b",
        strong=False,
        slot="closed",
    ),
    _rule(
        rf"\b(?:for|to|with|from|and|{_CONTACT}) (?:my|our) (?:best )?(?:{_RELATION}) {_NEXT}",
        rf"\b(?:my|our) (?:best )?(?:{_RELATION}) ",
        slot="named",
    ),
    # "send this song to X", but not the title "give me heaven to ...": the object is a thing.
    _rule(rf"\b{_SENDS}(?:\S+ ){{0,3}}?(?:to|with) {_NEXT}", rf"\b{_SENDS}(?:\S+ ){{0,3}}(?:to|with) "),
    _rule(rf"\bhappy birthday (?:to |dear )?{_NEXT}", r"\bhappy birthday "),
    _rule(rf"\b{_NAME}['’]s (?:{_OCCASION})\b", rf"['’]s (?:{_OCCASION})\b", leftward=True),
    _rule(rf"\b{_NAME} {_SHARED}", rf"\b{_SHARED}", leftward=True),
)
# Cheap RE2 prefilter over the whole column: a row without any trigger holds no name rule match.
PREFILTER = "|".join(rule.trigger for rule in RULES)


# Words that are never (part of) a person's name in these contexts: function words and verbs ...
_FUNCTION_WORDS = """
    i me my mine myself you your yours he him his she her hers it its we us our they them their this that
    these those there here who whom whose what which when where why how all any some every each both
    someone somebody anyone anybody everyone everybody nobody people guys folks y'all yall
    a an the to of in on at by for from with about into onto over under up down out off back away around
    through after before again and or but so if then than as not no yes yeah yep nope also too very
    just only really even still now later today tonight tomorrow yesterday soon asap quick quickly right
    is am are was were be been being do does did done have has had having can could would should shall
    must might get got go going gone come came let let's make made say said tell told know knew want
    wanna need like loved hate see look take give gave send sent share shared show showed bring
    play playing played put add start stop skip pause resume repeat shuffle turn set find search hear
    listen sing dance call calling called ring text texting message email dial phone ping remind invite
    ask thank thanks please pls plz hi hey hello ok okay um uh oh yo sorry gonna wanna gotta outta
    im ill id ive dont cant wont youre its thats whats lets i'm i'll i'd i've don't can't won't you're
    it's that's what's
"""
# ... and the nouns and adjectives of music queries, some of which are also surnames or given names
# (`_SURNAME_WORDS`, `_GIVEN_WORDS`: "chris love", "earle best", "alexa hoffman").
_CONTENT_WORDS = """
    song songs track tracks music tune tunes album albums playlist playlists mix mixtape radio station
    artist band singer rapper dj hits hit single record records version remix cover lyrics video videos
    podcast episode audiobook genre jazz rock pop rap country classical something anything nothing
    everything one two three four five six seven eight nine ten first last next new old best top good
    great happy birthday merry christmas party wedding love
    mom mum mommy mummy mama mother dad daddy papa father grandma grandpa granny nana nan grandmother
    grandfather sister brother sis bro wife husband hubby wifey son daughter kids kid baby babe honey
    aunt auntie uncle cousin niece nephew friend friends buddy pal mate bestie boss boyfriend girlfriend
    bf gf partner fiance fiancee neighbor neighbour roommate teacher doctor dentist family team
    home work office mobile cell landline house number voicemail police emergency
    alexa siri google cortana assistant spotify
    way morning night evening afternoon weekend day week time minute minutes hour hours
"""
STOP = frozenset(_FUNCTION_WORDS.split()) | frozenset(_CONTENT_WORDS.split())
_RESOURCES = Path(__file__).resolve().parents[1] / "resources"
# Names in the census lists that are everyday words of music queries ("i'm a star", "this is america").
_WORD_NAMES = """
    america star sun man queen lady spring summer autumn winter season sunday glory long irish sunny merry
    gay king angel christian del van na un mi nu
"""


def _name_list(name: str) -> frozenset[str]:
    lines = (_RESOURCES / name).read_text(encoding="utf-8").splitlines()
    return frozenset(line for line in lines if line and not line.startswith("#"))


# The US census's common given names, and the rarer ones of the Social Security Administration's
# baby-name counts (people from every country are born in the US: "ladislav", "mette", "khalid").
COMMON_NAMES = _name_list("given_names.txt") - frozenset(_WORD_NAMES.split())
GIVEN_NAMES = COMMON_NAMES | (_name_list("given_names_ssa.txt") - frozenset(_WORD_NAMES.split()))
# Letters that Unicode does not decompose into a base letter and an accent.
_FOLD = str.maketrans(
    {"ø": "o", "æ": "ae", "œ": "oe", "þ": "th", "ð": "d", "ß": "ss", "ł": "l", "đ": "d", "ı": "i"}
)
_I = frozenset(("i", "i'm", "i’m", "im"))  # always capitalized, so no sign of a proper noun
# The US census's surnames, most common first ("smith", ..., "lundberg", ...).
_SURNAME_RANKS = (_RESOURCES / "surnames.txt").read_text(encoding="utf-8").split("\n")
SURNAMES = frozenset(line for line in _SURNAME_RANKS if line and not line.startswith("#"))
_CONTENT = frozenset(_CONTENT_WORDS.split())
# Nouns and adjectives that are also among the census's 5,000 most common surnames ("best", "good",
# "day", "love"): after a given name in a strong context, they end the name ("earle best").
_SURNAME_WORDS = _CONTENT & frozenset(_SURNAME_RANKS[1:5001])
# Nouns that are also census given names ("alexa", "love", "honey"): in a strong context, before a
# surname that is no common word, they start the name ("call alexa hoffman").
_NAME_WORDS = STOP & _name_list("given_names.txt")  # also "my", "so", "ping": as capitals only
_GIVEN_WORDS = _CONTENT & _NAME_WORDS
# Function words that the Social Security Administration's baby-name counts give to at least 100
# children (1880-2017; the census lists lack them): "Said", "Even". Like `_NAME_WORDS`, as capitals
# only. (The STOP words of those counts, from the copy `given_names_ssa.txt` was made from, less the
# census names and `_CONTENT`: nouns such as "baby" or "jazz" are in `_CONTENT` already.)
_SSA_WORDS = "add any can even said skip tell tomorrow wanna"
_SSA_WORD_NAMES = frozenset(_SSA_WORDS.split())
_CAPITAL_NAME_WORDS = _NAME_WORDS | _SSA_WORD_NAMES
# Surname particles that are also common words ("Willemine ten Pas", "Maria do Carmo"); the others
# ("van", "der", "de") are name words already.
_PARTICLE_WORDS = "van von der den de del della di da das dos do du la le ten ter te zu af"
_PARTICLES = STOP & frozenset(_PARTICLE_WORDS.split())
# "love you" is no surname.
_ITS_OBJECT = frozenset(("you", "u", "ya", "me", "him", "her", "them", "us", "it"))


def _words(text: str, start: int, end: int) -> list[tuple[int, int]]:
    return [(start + m.start(), start + m.end()) for m in re.finditer(r"\S+", text[start:end])]


def _is_name_word(word: str) -> bool:
    return len(word) >= 2 and word.lower() not in STOP


def _is_initial(word: str, after: str) -> bool:
    """A middle initial before the rest of a name ("elisabeth e lange", "marie j. hamanova"); "I" and
    "A" only as capitals before a capitalized name ("Abderrahman I Kempers", not "jenny i love")."""
    if len(word.rstrip(".")) != 1 or not word[0].isalpha() or not _is_name_word(after):
        return False
    return word.lower() not in STOP or (word.isupper() and after[0].isupper())


def _is_particle(word: str, after: str) -> bool:
    """A surname particle in lower case before a capitalized name ("Willemine ten Pas")."""
    return word in _PARTICLES and _titled(after) and _is_name_word(after)


def _titled(word: str) -> bool:
    """Typed with a capital, as a name is ("Best", "O'Neil"), and not "I" or "I'm"."""
    return len(word) >= 2 and word[0].isupper() and word[1:].lower() == word[1:] and word.lower() not in _I


def _name_run(text: str, words: list[tuple[int, int]], strong: bool = False) -> list[tuple[int, int]]:
    """The leading words that make a name: name words, and initials between two of them. In a strong
    context also common words that are names there: capitalized, beside a capitalized name, in a query
    typed in lower case ("remind Elizabeth Best about it"; a function word only if it is a census given
    name, first: "My Lundberg"); or in lower case, a noun that is a frequent surname after a given name
    ("earle best") or a given name before a surname ("alexa hoffman")."""
    kept: list[tuple[int, int]] = []
    by_capital: list[bool] = []  # kept only for its capital
    titled = strong and any(w.islower() for w in re.findall(r"[^\W\d_]{2,}", text))
    for i, (s, e) in enumerate(words):
        word, after = text[s:e], text[slice(*words[i + 1])] if i + 1 < len(words) else ""
        lower, capital = word.lower(), False
        if _is_name_word(word) or (kept and (_is_initial(word, after) or _is_particle(word, after))):
            pass
        elif titled and _titled(word) and (lower in _CONTENT or (not kept and lower in _CAPITAL_NAME_WORDS)):
            capital = True
        elif (
            strong
            and not kept
            and lower in _GIVEN_WORDS
            and _is_name_word(after)
            and after.lower() in SURNAMES
        ):
            pass
        elif (
            strong
            and len(kept) == 1
            and lower in _SURNAME_WORDS
            and _fold(text[slice(*kept[0])]) in GIVEN_NAMES
            and after.lower() not in _ITS_OBJECT  # "text jenny love you"
        ):
            kept.append((s, e))
            by_capital.append(False)
            break
        else:
            break
        kept.append((s, e))
        by_capital.append(capital)
    if any(by_capital) and not any(
        not c and _titled(text[s:e]) and _is_name_word(text[s:e])
        for (s, e), c in zip(kept, by_capital, strict=True)
    ):
        kept = kept[: by_capital.index(True)]  # no capitalized name beside them: "text Mom Happy Birthday"
    return kept


def _fold(word: str) -> str:
    """Lower case without accents, as the name lists are written: "Débora" -> "debora"."""
    decomposed = unicodedata.normalize("NFKD", word.lower().translate(_FOLD))
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _given_name(text: str, start: int, end: int, names: frozenset[str] = GIVEN_NAMES) -> bool:
    """A given name of `names` (accents aside), or a compound of different ones that are no common
    words ("anne-lotte", not "so-so" or "tom-tom"), or a word typed as a name (`_typed_as_name`)."""
    word = _fold(text[start:end])
    parts = word.split("-")
    if word in names or (
        len(set(parts)) == len(parts) > 1 and all(p in names and p not in STOP for p in parts)
    ):
        return True
    return _typed_as_name(text, start, end)


def _typed_as_name(text: str, start: int, end: int) -> bool:
    """Capitalized, the rest of each part of a compound in lower case ("Veli-Pekka", "Marie-pier"), in a
    query that is otherwise lower case, as people type a name ("this is Ralf")."""
    rest = re.findall(r"[^\W\d_][\w'’]+", f"{text[:start]} {text[end:]}")
    # "I'm" says nothing of how the rest is typed, but "i'm" does: "i'm Abellona".
    others = [w for w in rest if w.lower() not in _I or w.islower()]
    word = text[start:end]
    capitals = word[:1].isupper() and all(p[1:].islower() for p in word.split("-"))
    return capitals and any(w.islower() for w in others)


def _lone_name(text: str, words: list[tuple[int, int]], rule: Rule) -> list[tuple[int, int]]:
    """A census given name that is also a common word ("buddy", "love", "see"), alone where the rule's
    own words put a name (`Rule.slot`): typed as a name ("i'm Buddy", "the mix See made for me",
    "message my sister Song happy new year"), or a noun in lower case where the slot is closed and
    the context strong ("it's alexa here"). After a kin term the next word must not be capitalized
    too: "text my mom Merry Christmas" is a greeting."""
    if not rule.slot or not words or (rule.slot == "closed" and len(words) > 1):
        return []
    s, e = words[0]
    word = text[s:e]
    if word.lower() not in _NAME_WORDS or (len(words) > 1 and text[words[1][0]].isupper()):
        return []
    if _typed_as_name(text, s, e) or (
        rule.slot == "closed" and rule.strong and word.islower() and word in _GIVEN_WORDS
    ):
        return [(s, e)]
    return []


def find_persons(text: str, rules: Iterable[Rule] = RULES) -> Iterator[tuple[int, int, bool]]:
    """(start, end, strong) of each name in a personal context; `rules` limits the rules tried to
    those whose trigger the text holds."""
    for rule in rules:
        for m in rule.regex.finditer(text):
            words = _words(text, m.start("name"), m.end("name"))
            if rule.leftward:
                words.reverse()
            kept = _name_run(text, words, rule.strong) or _lone_name(text, words, rule)
            names = COMMON_NAMES if rule.common_name else GIVEN_NAMES
            if kept and (not rule.given_name or _given_name(text, *kept[0], names)):
                yield min(s for s, _ in kept), max(e for _, e in kept), rule.strong
