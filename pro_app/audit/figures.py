"""Cohort plots for the audit page: plain plotly dicts, no template, one x per timepoint.

Honest about n: each timepoint's label says how many patients it rests on, and a point
from fewer than the sites' minimum count (``min_count``, the exports' small-cell rule) is
not drawn, its label saying so. Axes have round ticks and room for their labels.
"""

import math

from .outcomes import AuditReport, TimepointOutcome

BAND = "rgba(33, 102, 172, 0.18)"
LINE = "#2166ac"
NICE_STEPS = (1, 2, 2.5, 5, 10)


def nice_axis(highest: float | None, ticks: int = 5) -> tuple[float, float]:
    """A round tick step (1, 2, 2.5 or 5 times a power of ten) and the axis top it reaches,
    for an axis from 0 that must show ``highest`` (with a little room above it, so a
    marker is not cut at the edge) in about ``ticks`` intervals."""
    if not highest or highest <= 0:
        return 2, 10
    rough = highest / ticks
    power = 10 ** math.floor(math.log10(rough))
    step = next(m * power for m in NICE_STEPS if m * power >= rough)
    return step, step * math.ceil(highest * 1.04 / step)


def _layout(title: str, y_title: str, labels: list[str], y_range, dtick) -> dict:
    return {
        "title": {"text": title, "x": 0.01, "xanchor": "left", "font": {"size": 15}},
        "height": 380,
        "margin": {"l": 56, "r": 16, "t": 72, "b": 16},
        "font": {"family": "system-ui, sans-serif", "size": 12, "color": "#222"},
        "legend": {"orientation": "h", "x": 0, "y": 1.0, "yanchor": "bottom"},
        "xaxis": {
            "type": "category",
            "categoryorder": "array",
            "categoryarray": labels,
            "automargin": True,
        },
        "yaxis": {
            "title": {"text": y_title},
            "gridcolor": "#eee",
            "range": y_range,
            "tick0": 0,
            "dtick": dtick,
            "automargin": True,
            "zeroline": False,
        },
    }


class _Points:
    """The timepoints one figure shows, each with the n it rests on; a point is hidden,
    as the exports suppress a cell, when its n is under ``min_count``."""

    def __init__(self, outcomes: list[TimepointOutcome], n_of, min_count: int):
        self.outcomes = [o for o in outcomes if n_of(o)]
        self.n = [n_of(o) for o in self.outcomes]
        self.min_count = min_count
        self.hidden = [self.small(n) for n in self.n]

    def small(self, n: int) -> bool:
        return 0 < n < self.min_count

    @property
    def labels(self) -> list[str]:
        """The x labels: timepoint and day, and n underneath ("too few" when hidden)."""
        return [
            f"{o.timepoint} (day {o.day})<br>n={n}" + (" (too few)" if hidden else "")
            for o, n, hidden in zip(self.outcomes, self.n, self.hidden, strict=True)
        ]

    def values(self, value_of, n_of=None) -> list:
        """Each point's value, or None (a gap) where it is hidden; a series with its own
        n (``n_of``: the OMED's) is hidden by that n alone."""
        return [
            None if (self.small(n_of(o)) if n_of else hidden) else value_of(o)
            for o, hidden in zip(self.outcomes, self.hidden, strict=True)
        ]


def pain_by_timepoint(report: AuditReport, min_count: int = 0) -> dict:
    """Median worst pain with its interquartile band."""
    points = _Points(report.timepoints, lambda o: o.worst.n if o.worst else 0, min_count)
    labels = points.labels
    return {
        "data": [
            {
                "type": "scatter",
                "mode": "lines",
                "name": "Upper quartile",
                "x": labels,
                "y": points.values(lambda o: o.worst.q3),
                "line": {"width": 0},
                "hoverinfo": "skip",
                "showlegend": False,
            },
            {
                "type": "scatter",
                "mode": "lines",
                "name": "Interquartile range",
                "x": labels,
                "y": points.values(lambda o: o.worst.q1),
                "fill": "tonexty",
                "fillcolor": BAND,
                "line": {"width": 0},
                "hoverinfo": "skip",
            },
            {
                "type": "scatter",
                "mode": "lines+markers",
                "name": "Median worst pain",
                "x": labels,
                "y": points.values(lambda o: o.worst.median),
                "customdata": points.values(
                    lambda o: f"n={o.worst.n}, IQR {o.worst.q1:g}-{o.worst.q3:g}"
                ),
                "hovertemplate": "%{x}: median %{y:g}<br>%{customdata}<extra></extra>",
                "line": {"color": LINE, "width": 2},
            },
        ],
        "layout": _layout("Worst pain by timepoint", "Pain (0-10)", labels, [-0.25, 10.25], 2),
    }


def _omed_n(outcome: TimepointOutcome) -> int:
    return outcome.omed.n if outcome.omed else 0


def opioids_by_timepoint(report: AuditReport, min_count: int = 0) -> dict:
    """Share taking any opioid (bars) and median OMED (line, right axis); n is the
    patients who answered about opioids, and the OMED needs its own n too."""
    points = _Points(report.timepoints, lambda o: o.opioid_answered, min_count)
    labels = points.labels
    omeds = points.values(lambda o: o.omed.median if o.omed else None, _omed_n)
    step, top = nice_axis(max((v for v in omeds if v is not None), default=None))
    layout = _layout("Opioid use by timepoint", "Taking any opioid (%)", labels, [0, 100], 20)
    layout["margin"]["r"] = 64  # room for the right axis
    layout["yaxis2"] = {
        "title": {"text": "Median OMED (mg/day)"},
        "overlaying": "y",
        "side": "right",
        "range": [0, top],
        "tick0": 0,
        "dtick": step,
        "showgrid": False,
        "zeroline": False,
        "automargin": True,
    }
    return {
        "data": [
            {
                "type": "bar",
                "name": "Taking any opioid (%)",
                "x": labels,
                "y": points.values(lambda o: round(100 * o.any_opioid / o.opioid_answered, 1)),
                "marker": {"color": "rgba(140, 81, 10, 0.45)"},
            },
            {
                "type": "scatter",
                "mode": "lines+markers",
                "name": "Median OMED (mg/day)",
                "x": labels,
                "y": omeds,
                "customdata": [f"OMED n={_omed_n(o)}" for o in points.outcomes],
                "hovertemplate": "%{x}: median %{y:g} mg/day<br>%{customdata}<extra></extra>",
                "yaxis": "y2",
                "line": {"color": "#8c510a", "width": 2},
            },
        ],
        "layout": layout,
    }


def response_by_timepoint(report: AuditReport, min_count: int = 0) -> dict:
    """Response rate (answered of due) at each timepoint; n is the patients due."""
    points = _Points(report.timepoints, lambda o: o.due, min_count)
    labels = points.labels
    return {
        "data": [
            {
                "type": "bar",
                "name": "Response rate (%)",
                "x": labels,
                "y": points.values(lambda o: round(100 * o.answered / o.due, 1)),
                "customdata": points.values(lambda o: f"{o.answered} of {o.due}"),
                "hovertemplate": "%{x}: %{y}%<br>%{customdata}<extra></extra>",
                "marker": {"color": "#35978f"},
            }
        ],
        "layout": _layout("Response rate by timepoint", "Answered (%)", labels, [0, 100], 20),
    }


def cohort_figures(report: AuditReport, min_count: int | None = None) -> dict[str, dict]:
    """The page's figures; points from fewer than ``min_count`` patients (by default the
    report's sites' small-cell threshold) are not drawn."""
    min_count = report.min_count if min_count is None else min_count
    return {
        "pain": pain_by_timepoint(report, min_count),
        "opioids": opioids_by_timepoint(report, min_count),
        "response": response_by_timepoint(report, min_count),
    }
