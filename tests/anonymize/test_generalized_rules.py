"""Rules generalized from the misses on the development draw (seed 1) of the generated PII sets: each
case is written here in the shape of a miss, never copied from a set, and fails on the rules before."""

import pytest

from honkdata.anonymize import names
from honkdata.anonymize.pii import AllowList, scrub_pii


def one(text: str, locale: str | None = None) -> str:
    return scrub_pii([text], [locale])[0]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # The house number after the street, after any cue that announces a place.
        ("send the merch to Rua das Flores 12, Porto, play it", "send the merch to <ADDRESS>, play it"),
        ("the party is at Obere Lindenstraße 8, see you", "the party is at <ADDRESS>, see you"),
        ("play some jazz at Kongevej 31 Apt. 4 ODENSE Denmark", "play some jazz at <ADDRESS>"),
        ("bring the records to ul. Długa 5 Suite 3", "bring the records to <ADDRESS>"),
        # An intersection, and two names joined by "and", are one address.
        ("meet me at the corner of Via Roma 7 and Elm Street", "meet me at <ADDRESS>"),
        ("mail the tickets to Anna and Havnegade 14", "mail the tickets to <ADDRESS>"),
        # A region code in capitals neither ends the clause nor is trimmed as a word ("IN", "OR", "SO").
        ("ship the vinyl to Bergvegen 3 Apt. 2 VOSS, IN Norway 5700", "ship the vinyl to <ADDRESS>"),
        ("deliver the record to Kirkegata 9 Suite 1 LARVIK OR", "deliver the record to <ADDRESS>"),
        ("ship the vinyl to Calle Mayor 4 Suite 2 Soria , SO 42001", "ship the vinyl to <ADDRESS>"),
        # "new" and "old" start street names beside a house number.
        ("the party is at 48 Old Mill Lane, play something", "the party is at <ADDRESS>, play something"),
        # A comma before a town that is also a word ("mobile", "little rock") stays inside.
        ("deliver to 9 pine street, little rock, ar 72201", "deliver to <ADDRESS>"),
        ("the party is at 5 oak way, mobile, ca-yt y1a 2b3, play it", "the party is at <ADDRESS>, play it"),
    ],
)  # fmt: skip
def test_addresses_after_a_cue_in_any_format(text, expected):
    assert one(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "play jazz at 7 pm",
        "set the volume at 50 percent",
        "find a table at the blue note in 2 years",
        "add digital love at montreux to the road 66 2016 playlist",
        "add take it back to 35 soul classics 1970 to 1975 playlist",
        "add young at heart to beth's sos 48 2016",
        "our little corner of the world music from the 17 soundtrack",
        "book a table at a food truck in brookwood on october fifteenth, 2020",
        "play calle 13",
    ],
)
def test_a_weak_cue_before_a_time_a_count_or_a_title_is_no_address(text):
    assert one(text) == text


def test_digits_sent_to_are_a_phone_and_buying_is_a_card_context():
    assert one("send this song to 21 284 762 9910", "en-PT") == "send this song to <PHONE>"
    # A 12-digit Maestro number (Luhn-valid) only where the query speaks of paying: buying is paying.
    assert one("buy the new album with 501800000009") == "buy the new album with <CARD>"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("i'm Abellona", "i'm <PERSON>"),  # a lower-case "i'm" shows how the rest is typed
        ("i'm ladislav", "i'm <PERSON>"),  # a rarer given name, from the SSA list
        ("i'm débora", "i'm <PERSON>"),  # accents aside: "debora"
        ("hi it's mette", "hi it's <PERSON>"),
        ("it's khalid here", "it's <PERSON> here"),
    ],
)
def test_casual_introductions_with_rarer_names(text, expected):
    assert one(text) == expected


@pytest.mark.parametrize(
    "text", ["I'm Yours", "this is mozart", "This Is Verdi", "i'm kinda tired", "i'm yours"]
)
def test_titles_and_this_is_playlists_stay(text):
    assert one(text) == text


def test_the_rarer_names_exclude_dictionary_words_and_one_word_artists():
    assert {"ladislav", "mette", "khalid", "debora"} <= names.GIVEN_NAMES
    assert not {"hope", "heaven", "blue", "yours", "kinda"} & (names.GIVEN_NAMES - names.COMMON_NAMES)
    assert "ladislav" not in names.COMMON_NAMES  # "this is ladislav" alone is a playlist shape


# Second round, from the misses of new development draws (seeds 5 and 6, four times the size): names
# that are common words, after a strong personal context ("call", "remind", "my name is", "send to").
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # A capitalized noun beside a capitalized name, in a query typed in lower case.
        ("remind Ursula Day about the gig", "remind <PERSON> about the gig"),
        ("text Marco Good that the show moved", "text <PERSON> that the show moved"),
        ("call Song Whitaker and play some blues", "call <PERSON> and play some blues"),
        # A capitalized function word that is a census given name, before a capitalized surname.
        ("send this mix to My Bergstrom", "send this mix to <PERSON>"),
        # In lower case: a frequent surname after a given name, a given name before a surname.
        ("my name is wendell best", "my name is <PERSON>"),
        ("call honey fitzgerald", "call <PERSON>"),
        ("text alexa brennan i'm outside", "text <PERSON> i'm outside"),
        # Five words of a name after a strong context.
        ("call Pieter J. van der Berg now", "call <PERSON> now"),
        # A space before the comma that ends an introduction.
        ("hey i'm Ottoline , play my chill mix", "hey i'm <PERSON> , play my chill mix"),
        # A zero-width mark inside a name neither splits nor hides it.
        ("tell Marta \u200bNovakova the show is on", "tell <PERSON> the show is on"),
    ],
)  # fmt: skip
def test_names_that_are_common_words_after_a_strong_context(text, expected):
    assert one(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("text jenny love you", "text <PERSON> love you"),  # "love you" is no surname
        ("call Jenny and play Good Day by Nappy Roots", "call <PERSON> and play Good Day by Nappy Roots"),
    ],
)
def test_common_words_after_a_name_that_are_no_surname_stay(text, expected):
    assert one(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "find the album Just Call Me Lonesome",  # a title in title case: "Me" is no name
        "play Call Me Maybe",
        "text Mom Happy Birthday",  # capitalized common words with no name beside them
        "text mom happy birthday",
        "i'm looking for the hit song, just for fun",  # five words before the comma are no introduction
        "play Best Day Of My Life by American Authors",
        "play Love Story by Taylor Swift",
        "call me maybe",
    ],
)
def test_titles_and_common_words_without_a_name_stay(text):
    assert one(text) == text


# Third round, from the misses of new development draws (seeds 7 and 8, four times the size, and seeds
# 1, 2, 5, 6): compound names, function words that are given names, surname particles, and a given
# name that is a common word where the rule's own words put a name.
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # A compound typed as a name, whatever its parts ("Tarmo" and "Ilkka" are in no list) ...
        ("i'm Tarmo-Ilkka", "i'm <PERSON>"),
        ("this is Reijo-Ilkka", "this is <PERSON>"),
        # ... or of two different given names in lower case.
        ("it's anna-karin here", "it's <PERSON> here"),
    ],
)
def test_compound_given_names(text, expected):
    assert one(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # A capitalized function word that the SSA counts as a given name, before a capitalized surname.
        ("call Can Yilmaz tonight", "call <PERSON> tonight"),
        ("remind Even Haugen about the show", "remind <PERSON> about the show"),
        # A surname particle that is also a common word, before a capitalized name.
        ("call Marieke ten Brink now", "call <PERSON> now"),
        ("text Maria do Carmo that i'm late", "text <PERSON> that i'm late"),
    ],
)
def test_function_words_inside_a_name_after_a_strong_context(text, expected):
    assert one(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # A census given name that is a common word, typed as a name where the rule puts one ...
        ("i'm Honey", "i'm <PERSON>"),
        ("hey i'm Nana, play my chill mix", "hey i'm <PERSON>, play my chill mix"),
        ("play the playlist Song made for me", "play the playlist <PERSON> made for me"),
        ("this is Buddy", "this is <PERSON>"),
        ("tell my cousin Buddy the show is on", "tell my cousin <PERSON> the show is on"),
        # ... and in lower case where a strong context closes the slot.
        ("it's honey speaking", "it's <PERSON> speaking"),
        ("let buddy know i'm late", "let <PERSON> know i'm late"),
    ],
)
def test_a_given_name_that_is_a_common_word_where_the_rule_puts_a_name(text, expected):
    assert one(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("text jenny do it now", "text <PERSON> do it now"),  # "do" before a lower-case word is a verb
        ("text Can I come over", "text Can I come over"),  # no capitalized name beside it
        ("send this song to All Time Low", "send this song to All Time Low"),
        ("text my mom Merry Christmas", "text my mom Merry Christmas"),  # a greeting after a kin term
        ("text my mom merry christmas", "text my mom merry christmas"),
    ],
)
def test_function_words_and_greetings_that_are_no_name_stay(text, expected):
    assert one(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "i'm so-so",  # a compound of common words
        "this is A-ha",  # one letter is no part of a name
        "This Is Hip-Hop",  # title case: capitals say nothing
        "This Is Love",
        "this is love",  # in lower case only a strong, closed slot takes a common word
        "i'm in love",
        "i'm so in love",
        "play the mix you made for me",
    ],
)
def test_titles_with_compounds_and_common_words_stay(text):
    assert one(text) == text


def test_an_allow_listed_artist_in_a_weak_context_stays():
    assert scrub_pii(["this is Love"], allow=AllowList(["Love"])) == ["this is Love"]
