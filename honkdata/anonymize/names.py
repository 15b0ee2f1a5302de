"""People's names in personal contexts: "call jenny", "my name is mark", "it's jenny's birthday".

Proper nouns in music queries are mostly artists and titles, so a name is only ever taken from a
personal context, never from its looks (voice queries are lower case anyway). The context decides,
not the catalog: "call taylor swift" is a person, "play taylor swift" an artist. Only the weak
context "this is X" (also a playlist and song shape: "this is america") defers to the allow-list.

A context yields up to three words next to its trigger; the name is the run of those words that
are not common words (pronouns, verbs, music words, kin terms), so "call me maybe" and
"text mom" yield nothing and "text jenny i'm on my way" yields "jenny".
"""

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

# A word with inner apostrophes or hyphens ("o'brien"), but not a possessive 's ("jenny's").
_W = r"[^\W\d_]+(?:['’-](?!s\b)[^\W\d_]+)*"
_NAME = rf"(?P<name>{_W}(?: {_W}){{0,2}})"
_NEXT = rf"(?={_NAME})"  # a lookahead: words trimmed off one name stay free for the next trigger
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


def _rule(pattern: str, trigger: str, leftward: bool = False, strong: bool = True) -> Rule:
    return Rule(re.compile(pattern, re.I), trigger, leftward, strong)


_GIVE = r"(?:call|ring|buzz|bell|text|shout)"
_INTRODUCE = r"(?:my name is|my name's|the name's|name's|i am called|i'm called)"
_SENDS = rf"(?:send|share|forward|dedicate|recommend) {_OBJECT}"
_SHARED = r"(?:shared|sent|gave|showed|recommended|made|played) (?:(?:with|for|to) )?me\b"
RULES = (
    _rule(rf"{_START}(?:{_CONTACT}) {_NEXT}", rf"\b(?:{_CONTACT}) "),
    _rule(rf"{_START}give {_NAME} a {_GIVE}\b", rf"\bgive (?:\S+ ){{1,3}}a {_GIVE}\b"),
    _rule(rf"{_START}let {_NAME} know\b", r"\blet (?:\S+ ){1,3}know\b"),
    _rule(rf"{_START}{_INTRODUCE} {_NEXT}", rf"\b{_INTRODUCE} "),
    # "this is johnny cash" alone is a playlist; "this is mark, play my mix" an introduction.
    _rule(rf"{_START}this is {_NAME},? (?:{_REQUEST})\b", r"\bthis is ", strong=False),
    _rule(
        rf"\b(?:for|to|with|from|and|{_CONTACT}) (?:my|our) (?:best )?(?:{_RELATION}) {_NEXT}",
        rf"\b(?:my|our) (?:best )?(?:{_RELATION}) ",
    ),
    # "send this song to X", but not the title "give me heaven to ...": the object is a thing.
    _rule(rf"\b{_SENDS}(?:\S+ ){{0,3}}?(?:to|with) {_NEXT}", rf"\b{_SENDS}(?:\S+ ){{0,3}}(?:to|with) "),
    _rule(rf"\bhappy birthday (?:to |dear )?{_NEXT}", r"\bhappy birthday "),
    _rule(rf"\b{_NAME}['’]s (?:{_OCCASION})\b", rf"['’]s (?:{_OCCASION})\b", leftward=True),
    _rule(rf"\b{_NAME} {_SHARED}", rf"\b{_SHARED}", leftward=True),
)
# Cheap RE2 prefilter over the whole column: a row without any trigger holds no name rule match.
PREFILTER = "|".join(rule.trigger for rule in RULES)


# Words that are never (part of) a person's name in these contexts.
_STOP_WORDS = """
    i me my mine myself you your yours he him his she her hers it its we us our they them their this that
    these those there here who whom whose what which when where why how all any some every each both
    someone somebody anyone anybody everyone everybody nobody people guys folks y'all yall
    a an the to of in on at by for from with about into onto over under up down out off back away around
    through after before again and or but so if then than as not no yes yeah yep nope also too very
    just only really even still now later today tonight tomorrow yesterday soon asap quick quickly right
    is am are was were be been being do does did done have has had having can could would should shall
    must might get got go going gone come came let let's make made say said tell told know knew want
    wanna need like love loved hate see look take give gave send sent share shared show showed bring
    play playing played put add start stop skip pause resume repeat shuffle turn set find search hear
    listen sing dance call calling called ring text texting message email dial phone ping remind invite
    ask thank thanks please pls plz hi hey hello ok okay um uh oh yo sorry
    im ill id ive dont cant wont youre its thats whats lets i'm i'll i'd i've don't can't won't you're
    it's that's what's
    song songs track tracks music tune tunes album albums playlist playlists mix mixtape radio station
    artist band singer rapper dj hits hit single record records version remix cover lyrics video videos
    podcast episode audiobook genre jazz rock pop rap country classical something anything nothing
    everything one two three four five six seven eight nine ten first last next new old best top good
    great happy birthday merry christmas party wedding
    mom mum mommy mummy mama mother dad daddy papa father grandma grandpa granny nana nan grandmother
    grandfather sister brother sis bro wife husband hubby wifey son daughter kids kid baby babe honey
    aunt auntie uncle cousin niece nephew friend friends buddy pal mate bestie boss boyfriend girlfriend
    bf gf partner fiance fiancee neighbor neighbour roommate teacher doctor dentist family team
    home work office mobile cell landline house number voicemail police emergency
    alexa siri google cortana assistant spotify
    way morning night evening afternoon weekend day week time minute minutes hour hours
"""
STOP = frozenset(_STOP_WORDS.split())


def _words(text: str, start: int, end: int) -> list[tuple[int, int]]:
    return [(start + m.start(), start + m.end()) for m in re.finditer(r"\S+", text[start:end])]


def _is_name_word(word: str) -> bool:
    return len(word) >= 2 and word.lower() not in STOP


def find_persons(text: str, rules: Iterable[Rule] = RULES) -> Iterator[tuple[int, int, bool]]:
    """(start, end, strong) of each name in a personal context; `rules` limits the rules tried to
    those whose trigger the text holds."""
    for rule in rules:
        for m in rule.regex.finditer(text):
            words = _words(text, m.start("name"), m.end("name"))
            if rule.leftward:
                words.reverse()
            kept = []
            for s, e in words:
                if not _is_name_word(text[s:e]):
                    break
                kept.append((s, e))
            if kept:
                yield min(s for s, _ in kept), max(e for _, e in kept), rule.strong
