"""Scoring: pure functions, one per rule, and a dispatcher driven by the instrument file."""

from .dispatch import score, score_rule
from .omed import OmedResult, omed
from .response import (
    NotEvaluable,
    PainResponse,
    ResponseEvaluation,
    clinically_important_improvement,
    evaluate_pain_response,
    minimum_baseline_pain,
    pain_response,
)
from .rules import count_flagged, item_value, mean_score, option_score, sum_score

__all__ = [
    "NotEvaluable",
    "OmedResult",
    "PainResponse",
    "ResponseEvaluation",
    "clinically_important_improvement",
    "count_flagged",
    "evaluate_pain_response",
    "item_value",
    "mean_score",
    "minimum_baseline_pain",
    "omed",
    "option_score",
    "pain_response",
    "score",
    "score_rule",
    "sum_score",
]
