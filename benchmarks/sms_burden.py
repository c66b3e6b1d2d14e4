"""How many replies a patient answering by text must send at each timepoint.

Usage: ``.venv/bin/python benchmarks/sms_burden.py [protocol ...]`` (default: every
shipped protocol).

For each timepoint of each protocol: the replies needed (one per text question; the
warning signs are one numbered list), the longest question in SMS segments, and what is
not asked by text. Target: at most 6 replies at timepoints without RAND-36 (RAND-36 is
never asked by text). Exits 1 when a timepoint is over the budget.
"""

import sys

from notifications import segment_info
from pro_app.followup.conversation import question_text
from pro_app.followup.instruments import sms_questions
from surveys import get_instrument, load_protocol
from surveys.protocol import SHIPPED_DIR

BUDGET = 6


def not_texted(instrument_ids: list[str]) -> list[str]:
    """Questionnaires (or their items) a texted patient is not asked."""
    left = []
    for instrument_id in instrument_ids:
        items = get_instrument(instrument_id).items
        missing = [item.id for item in items if not item.sms_text]
        if len(missing) == len(items):
            left.append(instrument_id)
        elif missing:
            left.append(f"{instrument_id} ({', '.join(missing)})")
    return left


def main(names: list[str]) -> int:
    over = 0
    print(f"{'protocol':<10} {'timepoint':<10} {'replies':>7} {'segments':>8}  not by text")
    for name in names:
        for timepoint in load_protocol(name).timepoints:
            questions = sms_questions(timepoint.instruments)
            longest = max(
                (
                    segment_info(question_text(q, n, len(questions))).segments
                    for n, q in enumerate(questions, 1)
                ),
                default=0,
            )
            replies = len(questions)
            limit = "" if "rand36" in timepoint.instruments else BUDGET
            flag = " OVER BUDGET" if limit and replies > limit else ""
            over += bool(flag)
            left = ", ".join(not_texted(timepoint.instruments)) or "-"
            print(f"{name:<10} {timepoint.id:<10} {replies:>7} {longest:>8}  {left}{flag}")
    print(f"budget: at most {BUDGET} replies at timepoints without RAND-36")
    return 1 if over else 0


if __name__ == "__main__":
    shipped = sorted(path.stem for path in SHIPPED_DIR.glob("*.yaml"))
    sys.exit(main(sys.argv[1:] or shipped))
