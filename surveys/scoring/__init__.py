"""Scoring: pure functions, one per rule, and a dispatcher driven by the instrument file."""

from .dispatch import score, score_rule
from .omed import OmedResult, omed
from .response import PainResponse, clinically_important_improvement, pain_response
from .rules import count_flagged, item_value, mean_score, option_score, sum_score

__all__ = [
    "OmedResult",
    "PainResponse",
    "clinically_important_improvement",
    "count_flagged",
    "item_value",
    "mean_score",
    "omed",
    "option_score",
    "pain_response",
    "score",
    "score_rule",
    "sum_score",
]
