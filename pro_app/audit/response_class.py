"""The pain response counted at one completed follow-up timepoint: one rule for the audit
page (``outcomes``) and the patient-level exports.

The consensus rules (``surveys.evaluate_pain_response``) on worst pain and OMED against
the completed baseline; where the OMED comparison fails only because no medicines list
was given (and no medicine needs review), the change in pain medicine stands in for it
(``proxy``), and the category says it came from that proxy.
"""

from dataclasses import dataclass
from functools import lru_cache
from typing import Protocol

from surveys import NotEvaluable, PainResponse, evaluate_pain_response

from .proxy import proxy_pain_response

FROM_OMED = "OMED"
FROM_PROXY = "medicine change (proxy)"


class PainFigures(Protocol):
    """What a timepoint's classification reads (``InstanceFacts`` and ``KeyFigures``)."""

    worst: float | None
    omed: float | None
    omed_needs_review: bool | None
    medicine_change: str | None

    @property
    def omed_provenance(self) -> tuple[str, str] | None: ...


@dataclass(frozen=True, slots=True)
class ResponseClass:
    """A consensus category (and whether the proxy gave it), or the reason there is none."""

    category: PainResponse | None
    not_evaluable: NotEvaluable | None = None
    from_proxy: bool = False

    def describe(self) -> str:
        """The category, or "not evaluable: " and the reason, as the audit words them."""
        if self.category is not None:
            return self.category.value
        return f"not evaluable: {self.not_evaluable.describe()}"

    @property
    def basis(self) -> str | None:
        """What the category was judged from (the audit's "from ..." columns)."""
        if self.category is None:
            return None
        return FROM_PROXY if self.from_proxy else FROM_OMED


def classify_response(figures: PainFigures, baseline: PainFigures | None) -> ResponseClass:
    """The pain response at a completed follow-up timepoint; ``baseline`` is the patient's
    completed baseline (None if it was not completed: then there is no baseline)."""
    return _classify(_key(baseline), _key(figures))


def _key(figures: PainFigures | None) -> tuple | None:
    if figures is None:
        return None
    usable_omed = None if figures.omed_needs_review else figures.omed
    return (
        figures.worst,
        usable_omed,
        bool(figures.omed_needs_review),
        figures.omed_provenance,
        figures.medicine_change,
    )


@lru_cache(maxsize=8192)  # the figures repeat across patients
def _classify(base: tuple | None, at: tuple) -> ResponseClass:
    worst, omed, needs_review, provenance, medicine_change = at
    base_worst, base_omed, base_review, base_provenance = base[:4] if base else (None,) * 4
    same_table = None in (provenance, base_provenance) or provenance == base_provenance
    evaluation = evaluate_pain_response(base_worst, base_omed, worst, omed, same_table=same_table)
    if evaluation.not_evaluable == NotEvaluable.NO_OMED and not (needs_review or base_review):
        category = proxy_pain_response(base_worst, worst, medicine_change)
        if category is not None:
            return ResponseClass(category, from_proxy=True)
    return ResponseClass(evaluation.category, evaluation.not_evaluable)
