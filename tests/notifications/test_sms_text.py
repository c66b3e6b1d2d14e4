from __future__ import annotations

import pytest

from notifications import SegmentInfo, gsm7_friendly, is_gsm7, segment_info


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", SegmentInfo("GSM-7", 0, 0)),
        ("Hello", SegmentInfo("GSM-7", 5, 1)),
        ("a" * 160, SegmentInfo("GSM-7", 160, 1)),
        ("a" * 161, SegmentInfo("GSM-7", 161, 2)),  # 153 + 8
        ("a" * 306, SegmentInfo("GSM-7", 306, 2)),  # 153 + 153
        ("a" * 307, SegmentInfo("GSM-7", 307, 3)),
        ("€" * 80, SegmentInfo("GSM-7", 160, 1)),  # extension characters take two septets
        ("a" * 159 + "€", SegmentInfo("GSM-7", 161, 2)),
        # An escape pair never straddles two segments: 152 + (2 + 151) + 1.
        ("a" * 152 + "€" + "a" * 152, SegmentInfo("GSM-7", 306, 3)),
        ("Ça coûte 5 €", SegmentInfo("UCS-2", 12, 1)),  # û is not in GSM-7
        ("ç" * 70, SegmentInfo("UCS-2", 70, 1)),
        ("ç" * 71, SegmentInfo("UCS-2", 71, 2)),  # 67 + 4
        ("ç" * 134, SegmentInfo("UCS-2", 134, 2)),
        ("ç" * 135, SegmentInfo("UCS-2", 135, 3)),
        ("😀" * 35, SegmentInfo("UCS-2", 70, 1)),  # an emoji is two UTF-16 units
        # A surrogate pair never straddles two segments: 66 + (2 + 65) + 1.
        ("a" * 66 + "😀" + "a" * 66, SegmentInfo("UCS-2", 134, 3)),
        ("It’s fine", SegmentInfo("UCS-2", 9, 1)),  # one curly apostrophe is enough
    ],
)
def test_segment_info(text: str, expected: SegmentInfo) -> None:
    assert segment_info(text) == expected


def test_whole_gsm7_tables_are_gsm7() -> None:
    assert is_gsm7("@£$¥èéùìòÇØøÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ!\"#¤%&'()*+,-./:;<=>?¡ÄÖÑÜ§¿äöñüà\n\r")
    assert is_gsm7("^{}\\[~]|€")
    assert not is_gsm7("ç")
    assert not is_gsm7("`")


def test_gsm7_friendly_keeps_invitations_in_gsm7() -> None:
    text = "“Hello” – it’s time… ‘soon’\u00a0now\u200b"
    friendly = gsm7_friendly(text)
    assert friendly == "\"Hello\" - it's time... 'soon' now"
    assert is_gsm7(friendly)
    assert gsm7_friendly("Zoë Ñúñez") == "Zoë Ñúñez"  # letters are left alone
