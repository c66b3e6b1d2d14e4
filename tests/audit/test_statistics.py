"""Worked examples for the audit page's descriptive statistics."""

import random
import statistics

import pytest

from pro_app.audit.statistics import (
    ChangeSummary,
    Summary,
    mean_ci95,
    mean_sd,
    median,
    median_ci95,
    quartiles,
    share,
    summarise,
    summarise_change,
    t_quantile_975,
)

SAMPLE = [2, 4, 4, 4, 5, 5, 7, 9]


# median


def test_median_of_empty_input_is_none():
    assert median([]) is None
    assert median([None, None]) is None


def test_median_of_a_single_value():
    assert median([7]) == 7.0


def test_median_odd_and_even_counts_unsorted():
    assert median([3, 1, 2]) == 2
    assert median([4, 1, 3, 2]) == 2.5
    assert median([0.5, 10.0]) == 5.25


def test_median_ignores_none():
    assert median([None, 5, None, 1]) == 3.0


# quartiles


def test_quartiles_even_count_interpolates():
    assert quartiles([8, 7, 6, 5, 4, 3, 2, 1]) == pytest.approx((2.75, 6.25))


def test_quartiles_odd_count_hits_order_statistics():
    assert quartiles([1, 2, 3, 4, 5]) == pytest.approx((2.0, 4.0))
    assert quartiles(range(1, 10)) == pytest.approx((3.0, 7.0))


def test_quartiles_of_two_values():
    # positions 0.25 and 0.75 between 10 and 20
    assert quartiles([20, 10]) == pytest.approx((12.5, 17.5))


def test_quartiles_single_value_and_empty():
    assert quartiles([4.5]) == (4.5, 4.5)
    assert quartiles([]) is None
    assert quartiles([None]) is None


def test_quartiles_ignore_none():
    assert quartiles([None, 1, 2, None, 3, 4, 5, 6, 7, 8]) == pytest.approx((2.75, 6.25))


def test_quartiles_agree_with_inclusive_method_of_statistics_module():
    rng = random.Random(20240501)
    for n in (2, 3, 7, 10, 31, 100):
        data = [rng.uniform(-50, 50) for _ in range(n)]
        q1, _, q3 = statistics.quantiles(data, n=4, method="inclusive")
        assert quartiles(data) == pytest.approx((q1, q3))


# mean and SD


def test_mean_sd_worked_example():
    # squared deviations from 5: 9 1 1 1 0 0 4 16 = 32; 32 / 7 = 4.5714
    mean, sd = mean_sd(SAMPLE)
    assert mean == pytest.approx(5.0)
    assert sd == pytest.approx(2.13809, abs=1e-5)


def test_mean_sd_single_value_has_no_sd():
    assert mean_sd([3]) == (3.0, None)


def test_mean_sd_empty_and_none_filtering():
    assert mean_sd([]) is None
    assert mean_sd([None]) is None
    assert mean_sd([None, 1, None, 3]) == pytest.approx((2.0, 1.41421), abs=1e-5)


# Student t


@pytest.mark.parametrize(
    ("df", "expected"),
    [(1, 12.706), (2, 4.303), (7, 2.365), (10, 2.228), (29, 2.045), (30, 2.042)],
)
def test_t_quantile_table(df, expected):
    assert t_quantile_975(df) == expected


@pytest.mark.parametrize(("df", "expected"), [(40, 2.021), (60, 2.000), (120, 1.980)])
def test_t_quantile_cornish_fisher(df, expected):
    assert round(t_quantile_975(df), 3) == expected


def test_t_quantile_joins_table_and_tends_to_normal():
    assert t_quantile_975(30) > t_quantile_975(31) > t_quantile_975(40) > t_quantile_975(1000)
    assert t_quantile_975(31) == pytest.approx(2.040, abs=1e-3)
    assert t_quantile_975(100_000) == pytest.approx(1.95998, abs=1e-4)


def test_t_quantile_rejects_zero_degrees_of_freedom():
    with pytest.raises(ValueError):
        t_quantile_975(0)


# mean CI


def test_mean_ci95_worked_example():
    # sd 2.13809, se = sd / sqrt(8) = 0.75593, t(7) = 2.365 -> half width 1.78778
    assert mean_ci95(SAMPLE) == pytest.approx((5.0, 3.21222, 6.78778), abs=1e-5)


def test_mean_ci95_two_values():
    # mean 2, sd sqrt(2), se 1, t(1) = 12.706
    assert mean_ci95([1, 3]) == pytest.approx((2.0, -10.706, 14.706))


def test_mean_ci95_needs_two_values():
    assert mean_ci95([]) is None
    assert mean_ci95([4]) is None
    assert mean_ci95([None, 4, None]) is None


def test_mean_ci95_ignores_none():
    assert mean_ci95([None, 1, None, 3]) == pytest.approx((2.0, -10.706, 14.706))


# median CI


def test_median_ci95_small_n_exact():
    # n = 10: j = 2 covers 1 - 2 * (1 + 10) / 1024 = 0.9785; j = 3 only 0.8906
    values = [7, 3, 10, 1, 5, 9, 2, 8, 6, 4]
    assert median_ci95(values) == (5.5, 2.0, 9.0)


def test_median_ci95_six_values_is_smallest_with_an_interval():
    # n = 6: j = 1 covers 1 - 2 / 64 = 0.96875
    assert median_ci95([6, 1, 5, 2, 4, 3]) == (3.5, 1.0, 6.0)


def test_median_ci95_below_six_values_has_no_interval():
    # n = 5: j = 1 covers only 1 - 2 / 32 = 0.9375
    assert median_ci95([5, 1, 4, 2, 3]) == (3.0, None, None)
    assert median_ci95([2.5]) == (2.5, None, None)


def test_median_ci95_empty():
    assert median_ci95([]) is None
    assert median_ci95([None]) is None


def test_median_ci95_ignores_none():
    assert median_ci95([None, 6, 1, None, 5, 2, 4, 3]) == (3.5, 1.0, 6.0)


@pytest.mark.parametrize(
    ("n", "low_rank", "high_rank"),
    # published ranks for the 95% distribution-free interval of the median
    [(8, 1, 8), (9, 2, 8), (12, 3, 10), (20, 6, 15), (30, 10, 21), (100, 40, 61)],
)
def test_median_ci95_ranks(n, low_rank, high_rank):
    values = [10.0 * k for k in range(n, 0, -1)]
    _, low, high = median_ci95(values)
    assert (low, high) == (10.0 * low_rank, 10.0 * high_rank)


def test_median_ci95_exact_and_approximation_agree_at_the_boundary():
    # exact at n = 1000: ranks 469 and 532; n = 1001 uses floor(500.5 - 0.98 * 31.639) = 469
    assert median_ci95(range(1, 1001)) == (500.5, 469.0, 532.0)
    assert median_ci95(range(1, 1002)) == (501.0, 469.0, 533.0)


def test_median_ci95_large_n_normal_approximation():
    # n = 2000: j = floor(1000 - 0.98 * 44.721) = 956, upper rank 2000 - 956 + 1 = 1045
    rng = random.Random(7)
    data = [rng.gauss(0.0, 3.0) for _ in range(2000)]
    centre, low, high = median_ci95(data)
    ordered = sorted(data)
    assert centre == pytest.approx(statistics.median(data))
    assert low in data and high in data
    assert low < centre < high
    assert (low, high) == (ordered[955], ordered[1044])


def test_median_ci95_large_n_on_known_values():
    data = [k / 2 for k in range(1999, -1, -1)]
    assert median_ci95(data) == (499.75, 477.5, 522.0)


# share


def test_share():
    assert share(3, 4) == 0.75
    assert share(0, 5) == 0.0


def test_share_with_zero_denominator():
    assert share(0, 0) is None
    assert share(3, 0) is None


# summaries


def test_summarise_worked_example():
    assert summarise([None, *SAMPLE]) == Summary(
        n=8,
        median=4.5,
        q1=pytest.approx(4.0),
        q3=pytest.approx(5.5),
        mean=pytest.approx(5.0),
        sd=pytest.approx(2.13809, abs=1e-5),
    )


def test_summarise_empty_and_single():
    assert summarise([None]) == Summary(n=0, median=None, q1=None, q3=None, mean=None, sd=None)
    assert summarise([4]) == Summary(n=1, median=4.0, q1=4.0, q3=4.0, mean=4.0, sd=None)


def test_summarise_change_worked_example():
    change = summarise_change([*SAMPLE, None])
    assert change.n == 8
    assert (change.median, change.median_low, change.median_high) == (4.5, 2.0, 9.0)
    assert change.mean == pytest.approx(5.0)
    assert change.mean_low == pytest.approx(3.21222, abs=1e-5)
    assert change.mean_high == pytest.approx(6.78778, abs=1e-5)


def test_summarise_change_small_samples():
    assert summarise_change([]) == ChangeSummary(
        n=0,
        median=None,
        median_low=None,
        median_high=None,
        mean=None,
        mean_low=None,
        mean_high=None,
    )
    assert summarise_change([-2]) == ChangeSummary(
        n=1,
        median=-2.0,
        median_low=None,
        median_high=None,
        mean=-2.0,
        mean_low=None,
        mean_high=None,
    )
    few = summarise_change([-3, -1, 0, 2])
    assert (few.median, few.median_low, few.median_high) == (-0.5, None, None)
    assert few.mean == pytest.approx(-0.5)
    assert few.mean_low is not None and few.mean_low < few.mean < few.mean_high


def test_summaries_are_frozen():
    summary = summarise([1, 2])
    with pytest.raises(AttributeError):
        summary.n = 3
