"""Text that every database column can hold: no NUL, no other control characters."""

import re

# C0 controls except tab, line feed and carriage return, and DEL. PostgreSQL refuses NUL
# in text; the others have no use in any field and only confuse what shows them.
CONTROL_CHARACTERS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def has_control_characters(text: str) -> bool:
    return CONTROL_CHARACTERS.search(text) is not None


def without_control_characters(text: str) -> str:
    return CONTROL_CHARACTERS.sub("", text)
