"""Small helpers shared by the staff forms."""

from collections.abc import Iterable

from wtforms.fields.choices import SelectChoice


def options(pairs: Iterable[tuple[str, str]]) -> list[SelectChoice]:
    """Select options from (value, label) pairs."""
    return [SelectChoice(value, label) for value, label in pairs]


CHOOSE = "Choose…"


def required_options(pairs: Iterable[tuple[str, str]]) -> list[SelectChoice]:
    """Select options led by a blank "Choose…", so nothing is chosen until the user picks.

    Pair it with ``InputRequired(message)``: the blank answer is then refused in words.
    """
    return [SelectChoice("", CHOOSE), *options(pairs)]
