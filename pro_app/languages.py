"""The languages patients can be asked in, and how staff see them named.

A language is offered only where its catalogue exists under ``pro_app/translations``:
a patient enrolled in any other would silently be asked in English. Names come from the
Unicode CLDR through Babel ("Welsh (Cymraeg)"), never from a hand-written table.
"""

from babel import Locale

LANGUAGES = ("en",)  # codes with a catalogue under pro_app/translations


def language_name(code: str) -> str:
    """The language's English name, with its own name where that differs."""
    try:
        locale = Locale.parse(code)
    except (ValueError, TypeError):
        return code
    english = locale.get_display_name("en") or code
    own = locale.get_display_name(locale) or english
    return english if own.casefold() == english.casefold() else f"{english} ({own})"


def language_choices() -> list[tuple[str, str]]:
    """(code, name) for every language offered at enrolment."""
    return [(code, language_name(code)) for code in LANGUAGES]


def language_code(value: str) -> str | None:
    """The offered language's code from its code or English name (any case), else None."""
    wanted = value.strip().casefold()
    for code, name in language_choices():
        if wanted in (code.casefold(), name.casefold(), name.split(" (")[0].casefold()):
            return code
    return None
