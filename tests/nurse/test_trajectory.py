"""The patient's figures: the right series, in order, with the right values."""

from datetime import date

import plotly.graph_objects as go

from pro_app.nurse.trajectory import (
    CohortBand,
    Marker,
    Point,
    omed_figure,
    pain_figure,
    qol_figure,
    x_range,
)


def point(timepoint: str, day: int, worst, average=None, omed=None, review=False, qol=None):
    scores = {"pain_nrs": {"worst": worst, "average": average, "now": None}}
    if omed is not None:
        scores["analgesic_use"] = {"omed": {"omed_mg_per_day": omed, "needs_review": review}}
    if qol is not None:
        scores["qol_overall"] = {"overall": qol}
    return Point(
        timepoint,
        timepoint,
        day,
        date(2027, 1, 11 + day) if day >= 0 else date(2027, 1, 10),
        scores,
    )


POINTS = [
    point("baseline", -1, 8, 6, omed=60, qol=3),
    point("day1", 1, 6, 5, omed=30, review=True, qol=4),
    point("week1", 7, 3, None, omed=0, qol=6),
]
COHORT = [CohortBand("baseline", 0, 6, 7, 8, 40), CohortBand("week1", 7, 2, 4, 5, 33)]
MARKERS = [
    Marker("alert", 1, date(2027, 1, 12), "Red flag at day1: new weakness"),
    Marker("missed", 14, date(2027, 1, 25), "week2 not answered"),
    Marker("safety", 3, date(2027, 1, 14), "Cement leakage, grade 1"),
]


def pain():
    return pain_figure(
        POINTS, COHORT, MARKERS, cohort_label="This site's patients", baseline_worst=8
    )


def test_pain_figure_draws_the_cohort_behind_the_patients_lines():
    names = [trace["name"] for trace in pain()["data"]]
    assert names == [
        "This site's patients: upper quartile",
        "This site's patients: interquartile range",
        "This site's patients: median",
        "Worst pain",
        "Average pain",
        "Alerts",
        "Missed surveys",
        "Safety events",
    ]  # "Pain now" has no values, so no trace


def test_pain_series_hold_the_scores_in_time_order():
    data = {trace["name"]: trace for trace in pain()["data"]}
    assert data["Worst pain"]["x"] == [-1, 1, 7]
    assert data["Worst pain"]["y"] == [8, 6, 3]
    assert data["Average pain"]["x"] == [-1, 1]  # week 1 average unanswered
    assert data["Worst pain"]["customdata"][2] == "18 Jan 2027, week1"
    assert data["This site's patients: median"]["y"] == [7, 4]
    assert data["This site's patients: interquartile range"]["y"] == [6, 2]
    assert data["This site's patients: interquartile range"]["fill"] == "tonexty"
    assert data["This site's patients: upper quartile"]["y"] == [8, 5]
    assert data["Safety events"]["x"] == [3]
    assert "Cement leakage" in data["Safety events"]["customdata"][0]


def test_baseline_and_the_band_of_unimportant_change_are_drawn():
    shapes = pain()["layout"]["shapes"]
    day_zero, band, baseline = shapes
    assert (day_zero["x0"], day_zero["x1"]) == (0, 0)
    assert (band["y0"], band["y1"]) == (6, 10)
    assert baseline["y0"] == baseline["y1"] == 8
    no_baseline = pain_figure(POINTS, [], [], cohort_label="x", baseline_worst=None)
    assert len(no_baseline["layout"]["shapes"]) == 1


def test_omed_marks_values_that_need_review_and_figures_share_the_time_axis():
    days = x_range(POINTS, MARKERS)
    figure = omed_figure(POINTS, [], cohort_label="All sites' patients", days=days)
    (series,) = figure["data"]
    assert series["y"] == [60, 30, 0]
    assert series["marker"]["symbol"] == ["circle", "circle-open", "circle"]
    assert "needs review" in series["customdata"][1]
    assert figure["layout"]["xaxis"]["range"] == pain()["layout"]["xaxis"]["range"] == days
    assert days == [-4, 35]


def test_figures_are_plain_valid_plotly_without_the_default_template():
    for figure in (
        pain(),
        omed_figure(POINTS, COHORT, cohort_label="c", days=[0, 30]),
        qol_figure(POINTS, COHORT, cohort_label="c", days=[0, 30]),
    ):
        assert "template" not in figure["layout"]
        go.Figure(figure)  # raises on any property plotly does not know
    qol = qol_figure(POINTS, [], cohort_label="c", days=[0, 30])
    assert qol["data"][0]["y"] == [3, 4, 6]
