"""Cohort plots for the audit page: plain plotly dicts, no template, one x per timepoint."""

from .outcomes import AuditReport, TimepointOutcome

BAND = "rgba(33, 102, 172, 0.18)"
LINE = "#2166ac"


def _layout(title: str, y_title: str, labels: list[str], y_range=None) -> dict:
    layout = {
        "title": {"text": title, "x": 0, "font": {"size": 15}},
        "height": 340,
        "margin": {"l": 48, "r": 12, "t": 36, "b": 90},
        "font": {"family": "system-ui, sans-serif", "size": 12, "color": "#222"},
        "legend": {"orientation": "h", "y": -0.3, "yanchor": "top"},
        "xaxis": {"type": "category", "categoryorder": "array", "categoryarray": labels},
        "yaxis": {"title": {"text": y_title}, "gridcolor": "#eee"},
    }
    if y_range:
        layout["yaxis"]["range"] = y_range
    return layout


def _labels(points: list[TimepointOutcome]) -> list[str]:
    return [f"{o.timepoint} (day {o.day})" for o in points]


def pain_by_timepoint(report: AuditReport) -> dict:
    """Median worst pain with its interquartile band."""
    shown = [o for o in report.timepoints if o.worst and o.worst.n]
    labels = _labels(shown)
    return {
        "data": [
            {
                "type": "scatter",
                "mode": "lines",
                "name": "Upper quartile",
                "x": labels,
                "y": [o.worst.q3 for o in shown],
                "line": {"width": 0},
                "hoverinfo": "skip",
                "showlegend": False,
            },
            {
                "type": "scatter",
                "mode": "lines",
                "name": "Interquartile range",
                "x": labels,
                "y": [o.worst.q1 for o in shown],
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
                "y": [o.worst.median for o in shown],
                "customdata": [f"n={o.worst.n}, IQR {o.worst.q1:g}-{o.worst.q3:g}" for o in shown],
                "hovertemplate": "%{x}: median %{y:g}<br>%{customdata}<extra></extra>",
                "line": {"color": LINE, "width": 2},
            },
        ],
        "layout": _layout("Worst pain by timepoint", "Pain (0-10)", labels, [0, 10]),
    }


def opioids_by_timepoint(report: AuditReport) -> dict:
    """Share taking any opioid (bars) and median OMED (line, right axis)."""
    shown = [o for o in report.timepoints if o.opioid_answered]
    labels = _labels(shown)
    layout = _layout("Opioid use by timepoint", "Taking any opioid (%)", labels, [0, 100])
    layout["margin"]["r"] = 60  # room for the right axis
    layout["yaxis2"] = {
        "title": {"text": "Median OMED (mg/day)"},
        "overlaying": "y",
        "side": "right",
        "rangemode": "tozero",
    }
    return {
        "data": [
            {
                "type": "bar",
                "name": "Taking any opioid (%)",
                "x": labels,
                "y": [round(100 * o.any_opioid / o.opioid_answered, 1) for o in shown],
                "marker": {"color": "rgba(140, 81, 10, 0.45)"},
            },
            {
                "type": "scatter",
                "mode": "lines+markers",
                "name": "Median OMED (mg/day)",
                "x": labels,
                "y": [o.omed.median if o.omed else None for o in shown],
                "yaxis": "y2",
                "line": {"color": "#8c510a", "width": 2},
            },
        ],
        "layout": layout,
    }


def response_by_timepoint(report: AuditReport) -> dict:
    """Response rate (answered of due) at each timepoint."""
    shown = [o for o in report.timepoints if o.due]
    labels = _labels(shown)
    return {
        "data": [
            {
                "type": "bar",
                "name": "Response rate (%)",
                "x": labels,
                "y": [round(100 * o.answered / o.due, 1) for o in shown],
                "customdata": [f"{o.answered} of {o.due}" for o in shown],
                "hovertemplate": "%{x}: %{y}%<br>%{customdata}<extra></extra>",
                "marker": {"color": "#35978f"},
            }
        ],
        "layout": _layout("Response rate by timepoint", "Answered (%)", labels, [0, 100]),
    }


def cohort_figures(report: AuditReport) -> dict[str, dict]:
    return {
        "pain": pain_by_timepoint(report),
        "opioids": opioids_by_timepoint(report),
        "response": response_by_timepoint(report),
    }
