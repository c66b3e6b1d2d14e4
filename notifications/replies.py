"""Read an inbound SMS: an opt-out, an opt-in, a call for help, or an answer.

The rules, in order:

1. **Stop** wins whenever the text asks to stop. A stop word (STOP, STOPALL,
   UNSUBSCRIBE, CANCEL, END, QUIT, REVOKE, OPTOUT, "opt out") counts when it is not
   negated ("can't stop", "won't end") and either
   - it is one of the unambiguous words STOPALL, UNSUBSCRIBE, REVOKE, OPTOUT, or
   - everything else in the text is politeness, other stop words or numbers
     ("STOP!!", "Stop. Thank you", "stop please", "I want to stop", "7 STOP"), but no
     "it", "all" or "this" for it to act on ("I just want it to stop", "I want to end it
     all" speak of pain or despair: never an opt-out), or
   - a word about our texts is close by ("please stop texting me", "no texts, stop").
   "No more texts", "don't text me" and "do not contact me" also stop.
   So "10 - can't stop the pain" is the answer 10, while "7. Stop" is an opt-out:
   when a text both answers and asks to stop, stopping wins.
2. **Number**: exactly one whole number (digits or zero..ten in words) within
   `minimum..maximum`; "7/10" and "7 out of 10" count as 7 when the denominator is
   `maximum`. A fraction ("7.5", "7 and a half"), a negative ("-1"), a number out of
   range ("11", "78"), two different numbers ("7 or 8"), digits typed into a word ("1O"
   or "l0" for 10, "gr8", "10mg") or a number that counts something ("2 days ago",
   "4 a day", "taking 2 paracetamol") make the text unreadable. A phone number in the
   text (a signature: "7 / John 07700 900123") is not read as numbers.
3. **Start**: the text is only START, UNSTOP or YES (with politeness).
4. **Help**: HELP or INFO with nothing else but politeness or asking for it ("HELP",
   "I need help", "help me please"). A text that says more ("help my legs have gone
   weak") is unreadable instead: a question waiting for its answer is asked again, and
   a warning sign described in words is not passed over for the help text.
5. Anything else is **unreadable**.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from .sms_text import gsm7_friendly

ReplyKind = Literal["stop", "start", "help", "number", "unreadable"]

STOP_WORDS = frozenset(
    {"stop", "stopall", "unsubscribe", "cancel", "end", "quit", "revoke", "optout"}
)
_UNAMBIGUOUS_STOP_WORDS = frozenset({"stopall", "unsubscribe", "revoke", "optout"})
START_WORDS = frozenset({"start", "unstop", "yes"})
HELP_WORDS = frozenset({"help", "info"})
_ASKING_FOR_HELP = frozenset({"need", "some", "can", "get", "someone", "any", "more"})
NUMBER_WORDS = {
    "zero": 0,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
}

_NEGATIONS = frozenset(
    {
        "not",
        "never",
        "cant",
        "cannot",
        "dont",
        "doesnt",
        "didnt",
        "wont",
        "wouldnt",
        "isnt",
        "shouldnt",
        "couldnt",
    }
)
_TEXTING_WORDS = frozenset(
    {
        "text",
        "texts",
        "texting",
        "message",
        "messages",
        "messaging",
        "msg",
        "msgs",
        "sms",
        "send",
        "sending",
        "contact",
        "contacting",
        "reminder",
        "reminders",
        "survey",
        "surveys",
        "question",
        "questions",
    }
)
_TEXTING_VERBS = frozenset({"text", "message", "msg", "sms", "send", "contact"})
_FILLER = frozenset(
    {
        "please",
        "pls",
        "plz",
        "thank",
        "thanks",
        "thankyou",
        "thx",
        "ty",
        "you",
        "now",
        "me",
        "i",
        "id",
        "im",
        "want",
        "wish",
        "to",
        "would",
        "like",
        "just",
        "ok",
        "okay",
        "sorry",
        "the",
        "all",
        "it",
        "this",
        "that",
        "these",
        "those",
        "them",
        "and",
        "a",
        "already",
        "asap",
        "immediately",
        "kindly",
        "hi",
        "hello",
        "sir",
        "madam",
    }
)

# What may stand beside a plain stop word in a request to stop texting: politeness, but not
# an "it", "all", "this" or "that" for the stop word to act on. "I want it to stop", "make
# this stop", "end it all" and "I want to end it all" speak of pain or despair, not of
# texts: they are never an opt-out (the patient would be told "no more texts" and left
# alone), and a nurse reads them. "Stop these" and "stop them" are about the texts.
_BESIDE_STOP = _FILLER - frozenset({"it", "all", "this", "that"})

YES_WORDS = frozenset({"yes", "y", "yeah", "yea", "yep", "yup", "ya", "aye", "yess", "yes's"})
NO_WORDS = frozenset({"no", "n", "nope", "nah", "nay", "non", "noo", "none", "nothing", "neither"})
# Words that may come with a "none" to a numbered list without changing it ("no thanks",
# "none of these", "no I'm fine"). Any other word makes the reply unreadable, so "no but my
# legs have gone weak" is asked again, never taken for "none".
NONE_COMPANIONS = frozenset(
    {"thanks", "thank", "you", "thankyou", "thx", "ta", "cheers", "please", "x", "xx", "xxx"}
    | {"of", "these", "them", "those", "the", "above", "at", "all", "on", "list", "that"}
    | {"i'm", "im", "i", "am", "fine", "ok", "okay", "new", "so", "far", "yet", "today"}
)
# Letters written with spaces or dots between them ("S T O P", "s.t.o.p"): joined up.
_SPACED_LETTERS = re.compile(r"\b[a-z](?:[\s.\-_*]+[a-z]\b){2,}")

# Anchored at the start of a number and possessive, so a long run of digits is read in
# linear time (an unanchored pattern backtracks quadratically).
_OUT_OF = re.compile(r"(?<![\d.,])(-?\d++(?:[.,]\d++)?)\s*(?:/|\bout of\b|\bof\b)\s*(\d+)")
_NUMBER = re.compile(r"(?<![\d.,])(-?)(\d+)(?:[.,](\d+))?")
_WORD = re.compile(r"[a-z]+(?:'[a-z]+)?")
# Digits typed into a word: a letter that looks like one ("1O", "l0", "I0" for 10), text
# speak ("gr8", "2day", "b4") or a unit ("10mg"). Never read as the digits alone ("l0"
# had been read as 0, "feeling gr8" as 8), nor guessed at: unreadable, asked again.
_GLUED = re.compile(r"\b(?=\w*\d)(?=\w*[a-z])\w+\b")
# A number that counts something ("2 days ago", "taking 2 paracetamol", "4 a day", "10 mg")
# is no score or option: the reply is unreadable, asked again.
_COUNTED = re.compile(
    r"(?<![\d.,])\d+\s*(?:x\s*)?(?:(?:a|an|per|each|every)\s+)?(?:days?|weeks?|wks?|hours?|hrs?"
    r"|minutes?|mins?|months?|years?|yrs?|nights?|times?|tablets?|tabs?|pills?|capsules?"
    r"|doses?|puffs?|patch(?:es)?|mgs?|mls?|mcg|micrograms?|paracetamol|co-?codamol"
    r"|codeine|morphine|oramorph|ibuprofen|tramadol|oxycodone)\b"
)


def _no_score_in(text: str) -> bool:
    """Whether a normalised text holds digits that are no answer: typed into a word or
    counting something (see ``_GLUED`` and ``_COUNTED``)."""
    return bool(_GLUED.search(text) or _COUNTED.search(text))


@dataclass(frozen=True)
class Reply:
    """What an inbound text says; `value` is set only for `number`."""

    kind: ReplyKind
    value: int | None = None


MAX_BODY = 1600  # the longest text a carrier delivers; more is never read
_MAX_DIGITS = 9  # a longer run of digits is no answer on any scale


def parse_reply(body: str, *, minimum: int = 0, maximum: int = 10) -> Reply:
    """Classify an inbound SMS body (see the module's rules)."""
    text = _normalise(body[:MAX_BODY])
    words = [w.replace("'", "") for w in _WORD.findall(text)]
    if _asks_to_stop(words):
        return Reply("stop")
    numbers = _numbers(text, maximum)
    if numbers is not None:
        if len(numbers) == 1 and "half" not in words:  # "7 and a half" is not 7: ask again
            value = numbers.pop()
            if value is not None and minimum <= value <= maximum:
                return Reply("number", value)
        return Reply("unreadable")
    if words and set(words) & START_WORDS and set(words) <= START_WORDS | _FILLER:
        return Reply("start")
    if set(words) & HELP_WORDS and set(words) <= HELP_WORDS | _ASKING_FOR_HELP | _FILLER:
        return Reply("help")
    return Reply("unreadable")


def only_a_keyword(body: str) -> bool:
    """Whether a text is a carrier keyword and nothing more ("HELP", "info!"): no word
    of the sender's own."""
    words = _words_of(body)
    return bool(words) and words <= HELP_WORDS | STOP_WORDS | START_WORDS


# Words that may come with a scale's end said in words ("I have no pain at all, thanks").
_WITH_AN_END = frozenset(
    {"please", "thanks", "thank", "you", "thankyou", "thx", "ta", "cheers", "x", "xx", "xxx"}
    | {"ok", "okay", "at", "all", "i", "have", "im", "got", "today", "now", "really"}
)


# A reply that says there is none of what a scale's "No ..." end counts ("none", "nil").
_NONE_OF_IT = frozenset({"none", "nil", "nothing"})


def parse_scale_end(body: str, low_label: str | None, high_label: str | None) -> str | None:
    """ "low" or "high" when a reply says a scale's end in the words the question gave for
    it ("No pain", "I have no pain at all", "as good as it can be"), or says "none" or
    "nil" to a scale whose low end is "No ..." ("No pain"); else None. Only those words,
    with politeness: "no pain but my legs are weak" is no end of the scale."""
    said = _words_of(body) - _WITH_AN_END
    if not said:
        return None
    for end, label in (("low", low_label), ("high", high_label)):
        if label and said == _words_of(label) - _WITH_AN_END:
            return end
    if low_label and said <= _NONE_OF_IT and _normalise(low_label).split()[:1] == ["no"]:
        return "low"
    return None


def _words_of(text: str) -> set[str]:
    """The distinct words of a text as the rules read them (normalised, no apostrophes)."""
    return {w.replace("'", "") for w in _WORD.findall(_normalise(text[:MAX_BODY]))}


# Words that take back an earlier answer ("sorry, I meant 8", "that should be 6").
_CORRECTING = frozenset(
    {"meant", "mean", "mistake", "mistaken", "wrong", "correction", "correct", "oops"}
    | {"typo", "actually", "instead", "should"}
)


def corrects_an_answer(body: str) -> bool:
    """Whether a reply takes back an answer already given: read as the next question's
    answer, "sorry I meant 8" would put the first question's answer on the second."""
    return not _words_of(body).isdisjoint(_CORRECTING)


def opt_out_type_from_twilio(value: str | None) -> ReplyKind | None:
    """Map Twilio's `OptOutType` webhook field (STOP, START, HELP) to a reply kind."""
    kinds: dict[str, ReplyKind] = {"STOP": "stop", "START": "start", "HELP": "help"}
    return kinds.get((value or "").strip().upper())


def normalise_text(body: str) -> str:
    """Lower-case text with look-alikes folded: Unicode NFKC (full-width "ＳＴＯＰ" becomes
    "stop"), typographic quotes and dashes, accents dropped, and letters spelt out with
    spaces or dots between them joined ("S T O P" becomes "stop")."""
    text = unicodedata.normalize("NFKC", gsm7_friendly(body or ""))
    text = gsm7_friendly(text).casefold()
    text = "".join(
        ch for ch in unicodedata.normalize("NFKD", text) if not unicodedata.combining(ch)
    )
    return _SPACED_LETTERS.sub(lambda m: re.sub(r"[^a-z]", "", m[0]), text)


# A phone number in the text ("7 / John 07700 900123", a signature a phone adds to every
# text; "call me on 0113 496 0123"): national (0...) or international (+...), in groups.
# Left in, its digits made every such reply unreadable. No answer has this shape.
_PHONE_NUMBER = re.compile(
    r"(?<![\d+])(?:\+\d{1,3}\s?(?:\(0\)\s?)?|\(?0)\d{2,4}\)?[\s-]?\d{3,4}[\s-]?\d{3,4}(?!\d)"
)


def _normalise(body: str) -> str:
    text = _PHONE_NUMBER.sub(" ", normalise_text(body))
    text = re.sub(r"\bno[\s-]one\b", "nobody", text)  # "no one has called": not a 1
    text = re.sub(r"\bopt[\s_-]*out\b", "optout", text)
    text = re.sub(r"\bstop[\s_-]*all\b", "stopall", text)
    return re.sub(r"\b(" + "|".join(NUMBER_WORDS) + r")\b", lambda m: str(NUMBER_WORDS[m[1]]), text)


def _asks_to_stop(words: list[str]) -> bool:
    for i, word in enumerate(words):
        if word not in STOP_WORDS or _NEGATIONS & set(words[max(0, i - 2) : i]):
            continue
        others = set(words[:i] + words[i + 1 :])
        if (
            word in _UNAMBIGUOUS_STOP_WORDS
            or others <= _BESIDE_STOP | STOP_WORDS
            or _TEXTING_WORDS & set(words[max(0, i - 3) : i + 4])
        ):
            return True
    padded = [*words, "", ""]
    return any(
        (a == "no" and b in {"more", "further"} and c in _TEXTING_WORDS)
        or (a in {"dont", "never"} and b in _TEXTING_VERBS)
        or (a == "do" and b == "not" and c in _TEXTING_VERBS)
        for a, b, c in zip(padded, padded[1:], padded[2:], strict=False)
    )


def _numbers(text: str, maximum: int) -> set[int | None] | None:
    """The distinct numbers in `text` (None for a fraction or a negative), or None if none."""
    found: set[int | None] = set()

    def whole_of(match: re.Match[str]) -> str:
        if len(match[2]) > _MAX_DIGITS or int(match[2]) != maximum:
            found.add(None)
        return f" {match[1]} "

    if _no_score_in(text):
        found.add(None)
    text = _OUT_OF.sub(whole_of, text)
    for sign, whole, fraction in _NUMBER.findall(text):
        if sign or len(whole) > _MAX_DIGITS or len(fraction) > _MAX_DIGITS or fraction.strip("0"):
            found.add(None)
        else:
            found.add(int(whole))
    return found or None


def parse_choice(body: str, labels: Sequence[str]) -> int | None:
    """The option (1..len(labels)) a reply to a numbered list of options picks, or None.

    By its number ("2", "two"), or by the words of its label ("less", "the same", "same
    as before", "more"). A reply whose number and words pick different options ("more, 4
    a day now"), or that names two, is None, as is one with a negation its label lacks
    ("not more"): asked again, never guessed.
    """
    reply = parse_reply(body, minimum=1, maximum=len(labels))
    number = reply.value if reply.kind == "number" else None
    text = _normalise(body[:MAX_BODY])
    if number is None and _numbers(text, len(labels)) is not None:
        return None  # numbers that are no option's: asked again
    words = _words_of(body)
    named = set()
    for option, label in enumerate(labels, 1):
        content = _words_of(label) - _FILLER
        negations = (_NEGATIONS | {"no", "not"}) - content
        if content and content <= words and not words & negations:
            named.add(option)
    if number is not None:
        return number if named <= {number} else None
    return named.pop() if len(named) == 1 else None


# Words that come with an answer without saying anything more: politeness, sign-offs and
# the words of a score ("about a 7", "it's 7 out of 10 today", "6 or 7 I think").
_WITH_AN_ANSWER = frozenset(
    {"please", "pls", "plz", "thank", "thanks", "thankyou", "thx", "ty", "ta", "cheers"}
    | {"ok", "okay", "x", "xx", "xxx", "hi", "hello", "sorry", "love", "luv", "dear"}
    | {"regards", "kind", "best", "wishes", "about", "around", "roughly", "approx"}
    | {"approximately", "maybe", "perhaps", "say", "id", "its", "is", "was", "a", "an"}
    | {"the", "my", "pain", "score", "level", "out", "of", "or", "and", "to", "between"}
    | {"half", "i", "think", "today", "now", "tonight", "this", "morning", "evening"}
    | {"so", "far", "for", "answer", "reply", "number", "these", "them", "those", "above"}
    | {"you", "u", "kindly", "take", "care", "bless"}
    | {"all", "fine", "im", "am", "yet", "at", "on", "of", "list", "that"}
    # how a score feels, which the score already says ("a bit sore", "7 not too bad")
    | {"bit", "little", "lot", "sore", "achy", "aching", "hurts", "not", "too", "very"}
    | {"quite", "bad", "good", "better", "much", "same", "mild", "sure", "really", "pretty"}
    | {"fairly", "feel", "feeling", "still", "well", "slightly", "as", "usual", "before"}
)
# From this many such words a reply says more than its answer (see ``words_beside``).
SAYS_MORE = 2


def words_beside(body: str, labels: Sequence[str] = ()) -> list[str]:
    """The words of a reply that are not its answer: not numbers, yes or no, the words of
    the options ``labels``, politeness or the words of a score. "8 help my legs are weak"
    gives help, legs, are, weak; "about 7 thanks" and "the same x" give none. A reply with
    ``SAYS_MORE`` of them says something a nurse should read."""
    text = _normalise(_SENT_FROM.sub(" ", body[:MAX_BODY]))  # "Sent from my phone" says nothing
    answer_words = _WITH_AN_ANSWER | YES_WORDS | NO_WORDS
    for label in labels:
        answer_words |= _words_of(label)
    return [
        word
        for word in (w.replace("'", "") for w in _WORD.findall(text))
        if word not in answer_words
    ]


_SENT_FROM = re.compile(
    r"\b(?:sent from my|get outlook for)(?:[^\S\n]+[a-z0-9-]+){1,3}", re.IGNORECASE
)
_NAME_WORD = re.compile(r"[A-Z][a-z']*\.?")


def without_signature(body: str) -> str:
    """A text without what a phone or a habit adds to every text: "Sent from my iPhone",
    and a last line that is a phone number or only a name ("John 07700 900123", "Jean
    Smith"). Words beside an answer are counted without it (``words_beside``), so a
    signature does not have a nurse read every reply."""
    lines = [line for line in _SENT_FROM.sub(" ", body).splitlines() if line.strip()]
    if len(lines) > 1 and _is_signature(lines[-1]):
        lines.pop()
    return "\n".join(lines)


def _is_signature(line: str) -> bool:
    if _PHONE_NUMBER.search(line):
        return True
    words = line.replace(",", " ").split()
    return 0 < len(words) <= 3 and all(_NAME_WORD.fullmatch(word) for word in words)


def parse_yes_no(body: str) -> bool | None:
    """A yes or a no, in any case and with trailing words ("Yes I do", "nope, all fine"),
    or "1" / "0"; None when the text is neither, or both."""
    text = _normalise(body[:MAX_BODY])
    words = _WORD.findall(text)
    numbers = _numbers(text, 1)
    said = {word in YES_WORDS for word in words if word in YES_WORDS | NO_WORDS}
    if numbers is not None:
        if numbers not in ({0}, {1}):
            return None
        said.add(1 in numbers)
    leads = numbers is not None or bool(words and words[0] in YES_WORDS | NO_WORDS)
    return said.pop() if len(said) == 1 and leads else None


def parse_checklist(body: str, count: int) -> frozenset[int] | None:
    """The numbers 1..count of a numbered list that a reply picks ("1 3", "1,3", "1 and 3",
    "3.", "6-8" or "6 to 8" for 6, 7 and 8), the empty set for none ("0", "none", "no",
    "nope", "no thanks"), or None if unreadable (a number outside 0..count, 0 with other
    numbers, a range that runs backwards, no number and no "none" word, or a "none" with
    words that may describe something: "none apart from fever")."""
    text = re.sub(r"[,;:/&+.]", " ", _normalise(body[:MAX_BODY]))
    if _no_score_in(text):
        return None
    text = _RANGE.sub(_spelt_out, text)
    if _RANGE_LEFT.search(text):
        return None  # a range that runs backwards or past the list: asked again
    words = _WORD.findall(text)
    found: set[int] = set()
    for sign, whole, fraction in _NUMBER.findall(text):
        if sign or fraction or len(whole) > _MAX_DIGITS:
            return None
        found.add(int(whole))
    if found:
        if 0 in found:
            return frozenset() if found == {0} and _only_none(words, leading=False) else None
        if set(words) & NO_WORDS:
            return None  # "no 3": a no and a number at once
        if not found <= set(range(1, count + 1)):
            return None
        return frozenset(found)
    if words and words[0] in NO_WORDS and _only_none(words, leading=True):
        return frozenset()
    return None


# "6-8", "6 – 8", "6 to 8": every number from one to the other. Read as two numbers,
# the signs between them would be taken for "no".
_RANGE = re.compile(r"(?<![\d.,-])(\d{1,2})\s*(?:-|to)\s*(\d{1,2})(?![\d.,])")
_RANGE_LEFT = re.compile(r"\d\s*(?:-|to)\s*\d")


def _spelt_out(match: re.Match) -> str:
    low, high = int(match[1]), int(match[2])
    if low >= high:
        return match[0]  # left as a range: refused below
    return " ".join(str(number) for number in range(low, high + 1))


def _only_none(words: list[str], *, leading: bool) -> bool:
    """Whether a reply's words say "none" and nothing more (``leading``: its first word
    is the "none")."""
    rest = words[1:] if leading else words
    return all(word in NO_WORDS or word in NONE_COMPANIONS for word in rest)
