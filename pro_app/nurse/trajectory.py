"""A patient's recovery as plotly figures: plain dicts, built server-side, no template.

Every figure shares the x axis "days since the procedure" (day 0 marked). Behind the
patient's line sits the expected course: the cohort's median and interquartile band at
each timepoint. Alerts, missed surveys and safety events are marked on the pain figure.
No Flask and no database here: the caller gathers the points.
"""

from dataclasses import dataclass
from datetime import date

from surveys.scoring.response import thresholds

from ..followup.key_outcomes import KEY_OUTCOMES, score_at
from ..local_time import local_date

PATIENT_COLOURS = {"worst": "#b2182b", "average": "#2166ac", "now": "#4d9221"}
COHORT_COLOUR = "rgba(120, 120, 120, 0.22)"
COHORT_LINE = "#707070"
MARKER_STYLE = {
    "alert": {"symbol": "triangle-up", "color": "#d6604d", "name": "Alerts"},
    "missed": {"symbol": "x-thin-open", "color": "#4d4d4d", "name": "Missed surveys"},
    "safety": {"symbol": "diamond", "color": "#762a83", "name": "Safety events"},
}
PAIN_LABELS = {"worst": "Worst pain", "average": "Average pain", "now": "Pain now"}


@dataclass(frozen=True)
class Point:
    """One timepoint's current scores, placed on the patient's time axis."""

    timepoint: str
    label: str
    day: int
    when: date
    scores: dict


@dataclass(frozen=True)
class Marker:
    """Something that happened on a day: an alert, a missed survey or a safety event."""

    kind: str  # alert, missed or safety
    day: int
    when: date
    text: str


@dataclass(frozen=True)
class CohortBand:
    """The cohort's median and quartiles of one measure at one timepoint."""

    timepoint: str
    day: int
    q1: float
    median: float
    q3: float
    n: int


def key_outcome(scores: dict, column: str):
    """One key outcome (a ``KEY_OUTCOMES`` column) from a timepoint's scores by instrument."""
    source, path = KEY_OUTCOMES[column]
    return score_at(scores.get(source) or {}, path)


def worst_pain(scores: dict) -> float | None:
    return key_outcome(scores, "pain_worst")


def omed_mg(scores: dict) -> float | None:
    return key_outcome(scores, "omed_mg_per_day")


def omed_needs_review(scores: dict) -> bool:
    return bool(key_outcome(scores, "omed_needs_review"))


def quality_of_life(scores: dict) -> float | None:
    return key_outcome(scores, "quality_of_life")


def _hover(label: str, unit: str = "") -> str:
    return f"{label}: %{{y:g}}{unit}<br>Day %{{x}} (%{{customdata}})<extra></extra>"


def _series(points: list[Point], value, name: str, colour: str, unit: str = "") -> dict | None:
    shown = [(p, v) for p in points if (v := value(p.scores)) is not None]
    if not shown:
        return None
    return {
        "type": "scatter",
        "mode": "lines+markers",
        "name": name,
        "x": [p.day for p, _ in shown],
        "y": [v for _, v in shown],
        "customdata": [f"{local_date(p.when)}, {p.label}" for p, _ in shown],
        "hovertemplate": _hover(name, unit),
        "line": {"color": colour, "width": 2},
        "marker": {"size": 7, "color": colour},
    }


def _cohort_traces(bands: list[CohortBand], label: str) -> list[dict]:
    """The interquartile band (upper edge, then lower edge filled up to it) and the median."""
    if not bands:
        return []
    x = [band.day for band in bands]
    hover = [f"{b.timepoint}: n={b.n}, IQR {b.q1:g}-{b.q3:g}" for b in bands]
    return [
        {
            "type": "scatter",
            "mode": "lines",
            "name": f"{label}: upper quartile",
            "x": x,
            "y": [band.q3 for band in bands],
            "line": {"width": 0, "color": COHORT_COLOUR},
            "hoverinfo": "skip",
            "showlegend": False,
        },
        {
            "type": "scatter",
            "mode": "lines",
            "name": f"{label}: interquartile range",
            "x": x,
            "y": [band.q1 for band in bands],
            "fill": "tonexty",
            "fillcolor": COHORT_COLOUR,
            "line": {"width": 0, "color": COHORT_COLOUR},
            "hoverinfo": "skip",
        },
        {
            "type": "scatter",
            "mode": "lines",
            "name": f"{label}: median",
            "x": x,
            "y": [band.median for band in bands],
            "customdata": hover,
            "hovertemplate": f"{label} median: %{{y:g}}<br>%{{customdata}}<extra></extra>",
            "line": {"color": COHORT_LINE, "width": 1.5, "dash": "dot"},
        },
    ]


def _marker_traces(markers: list[Marker], y: float) -> list[dict]:
    traces = []
    for kind, style in MARKER_STYLE.items():
        chosen = [m for m in markers if m.kind == kind]
        if not chosen:
            continue
        traces.append(
            {
                "type": "scatter",
                "mode": "markers",
                "name": style["name"],
                "x": [m.day for m in chosen],
                "y": [y] * len(chosen),
                "customdata": [f"{local_date(m.when)}: {m.text}" for m in chosen],
                "hovertemplate": "Day %{x}<br>%{customdata}<extra></extra>",
                "marker": {"symbol": style["symbol"], "size": 11, "color": style["color"]},
                "cliponaxis": False,
            }
        )
    return traces


def x_range(points: list[Point], markers: list[Marker]) -> list[int]:
    """One x range for every figure of a patient, so their days line up."""
    days = [p.day for p in points] + [m.day for m in markers]
    return [min(days + [0]) - 3, max(days + [28]) + 7]


def _layout(title: str, y_title: str, y_range: list[float] | None, days: list[int]) -> dict:
    """Shared layout: ``days`` is the x range from :func:`x_range`."""
    layout = {
        "title": {"text": title, "x": 0, "font": {"size": 15}},
        "height": 340,
        "margin": {"l": 48, "r": 12, "t": 36, "b": 90},
        "hovermode": "closest",
        "font": {"family": "system-ui, sans-serif", "size": 12, "color": "#222"},
        "legend": {"orientation": "h", "y": -0.3, "yanchor": "top"},
        "xaxis": {
            "title": {"text": "Days since the procedure"},
            "range": days,
            "zeroline": False,
            "showgrid": True,
            "gridcolor": "#eee",
        },
        "yaxis": {"title": {"text": y_title}, "showgrid": True, "gridcolor": "#eee"},
        "shapes": [_day_zero()],
        "annotations": [
            {
                "x": 0,
                "y": 1,
                "xref": "x",
                "yref": "paper",
                "text": "Procedure",
                "showarrow": False,
                "xanchor": "left",
                "yanchor": "bottom",
                "font": {"size": 11},
            }
        ],
    }
    if y_range is not None:
        layout["yaxis"]["range"] = y_range
    return layout


def _day_zero() -> dict:
    return {
        "type": "line",
        "x0": 0,
        "x1": 0,
        "xref": "x",
        "y0": 0,
        "y1": 1,
        "yref": "paper",
        "line": {"color": "#333", "width": 1, "dash": "dash"},
    }


def pain_figure(
    points: list[Point],
    cohort: list[CohortBand],
    markers: list[Marker],
    *,
    cohort_label: str,
    baseline_worst: float | None,
) -> dict:
    """Worst, average and current pain (0-10) with the band of unimportant change."""
    data = _cohort_traces(cohort, cohort_label)
    for key in ("worst", "average", "now"):
        series = _series(
            points,
            lambda s, key=key: (s.get("pain_nrs") or {}).get(key),
            PAIN_LABELS[key],
            PATIENT_COLOURS[key],
        )
        if series:
            data.append(series)
    data += _marker_traces(markers, 10.6)
    layout = _layout(
        "Pain (0 = none, 10 = worst imaginable)", "Pain score", [-0.3, 11], x_range(points, markers)
    )
    if baseline_worst is not None:
        points_band = thresholds()["important_improvement_points"]
        layout["shapes"].append(
            {
                "type": "rect",
                "xref": "paper",
                "x0": 0,
                "x1": 1,
                "yref": "y",
                "y0": max(baseline_worst - points_band, 0),
                "y1": min(baseline_worst + points_band, 10),
                "fillcolor": "rgba(178, 24, 43, 0.07)",
                "line": {"width": 0},
                "layer": "below",
            }
        )
        layout["shapes"].append(
            {
                "type": "line",
                "xref": "paper",
                "x0": 0,
                "x1": 1,
                "yref": "y",
                "y0": baseline_worst,
                "y1": baseline_worst,
                "line": {"color": PATIENT_COLOURS["worst"], "width": 1, "dash": "dot"},
            }
        )
        layout["annotations"].append(
            {
                "xref": "paper",
                "x": 1,
                "yref": "y",
                "y": min(baseline_worst + points_band, 10),
                "text": f"Baseline worst {baseline_worst:g}: change under {points_band:g} "
                "points is not clinically important",
                "showarrow": False,
                "xanchor": "right",
                "yanchor": "bottom",
                "font": {"size": 10, "color": "#6b1020"},
            }
        )
    return {"data": data, "layout": layout}


def omed_figure(
    points: list[Point], cohort: list[CohortBand], *, cohort_label: str, days: list[int]
) -> dict:
    """Oral morphine equivalent mg/day; values that need a pharmacist's review are hollow."""
    data = _cohort_traces(cohort, cohort_label)
    series = _series(points, omed_mg, "Oral morphine equivalent", "#8c510a", " mg/day")
    if series:
        shown = [p for p in points if omed_mg(p.scores) is not None]
        series["marker"]["symbol"] = [
            "circle-open" if omed_needs_review(p.scores) else "circle" for p in shown
        ]
        series["customdata"] = [
            f"{local_date(p.when)}, {p.label}"
            + (
                " — needs review, not all medicines converted"
                if omed_needs_review(p.scores)
                else ""
            )
            for p in shown
        ]
        data.append(series)
    layout = _layout("Opioids (oral morphine equivalent, mg/day)", "mg/day", None, days)
    layout["yaxis"]["rangemode"] = "tozero"
    return {"data": data, "layout": layout}


def qol_figure(
    points: list[Point], cohort: list[CohortBand], *, cohort_label: str, days: list[int]
) -> dict:
    """Overall quality of life (0 = worst, 10 = best)."""
    data = _cohort_traces(cohort, cohort_label)
    series = _series(points, quality_of_life, "Quality of life", "#35978f")
    if series:
        data.append(series)
    layout = _layout("Quality of life (0 = worst, 10 = best)", "Score", [-0.3, 10.3], days)
    return {"data": data, "layout": layout}
