"""The two tests behind 'vs last night / vs baseline': pinned against scipy, and honest about
autocorrelation (a blocked test keeps its false-alarm rate where a per-second one does not)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.stats as st

from warehouse.analytics.samples import (
    autocorrelation_time,
    between_nights,
    block_means,
    mann_whitney,
    student_t_sf2,
    usable,
    within_run,
)


@pytest.mark.parametrize("df", [1, 2, 3, 4, 5, 8, 13, 30, 101, 150])
def test_student_t_tail_matches_scipy(df):
    for t in (0.0, 0.3, 1.0, 2.2, 4.0, 9.0, 40.0):
        assert student_t_sf2(t, df) == pytest.approx(2 * st.t.sf(t, df), rel=1e-7, abs=1e-12)
    assert student_t_sf2(-2.0, df) == student_t_sf2(2.0, df)


def test_mann_whitney_matches_scipy_exact_and_asymptotic():
    rng = np.random.default_rng(5)
    for n1, n2, shift in ((4, 4, 0.0), (5, 9, 1.0), (12, 20, 0.6), (25, 30, 0.2)):
        a, b = rng.normal(shift, 1, n1), rng.normal(0, 1, n2)
        assert mann_whitney(a, b) == pytest.approx(st.mannwhitneyu(a, b, method="exact").pvalue, rel=1e-9)
    a, b = np.round(rng.normal(0.4, 1, 40)), np.round(rng.normal(0, 1, 50))  # ties: the normal approximation
    assert mann_whitney(a, b) == pytest.approx(
        st.mannwhitneyu(a, b, method="asymptotic").pvalue, rel=1e-9)
    assert mann_whitney(np.array([1.0, 1.0, 1.0, 1.0]), np.array([1.0, 1.0, 1.0, 1.0])) == 1.0


def ar1(rng, n, rho, sigma=0.1):
    x = np.empty(n)
    x[0] = rng.normal(0, sigma / math.sqrt(1 - rho ** 2))
    e = rng.normal(0, sigma, n)
    for i in range(1, n):
        x[i] = rho * x[i - 1] + e[i]
    return x


def test_the_autocorrelation_time_of_an_ar1_series_is_close_to_theory():
    rng = np.random.default_rng(3)
    rho = 0.7
    assert autocorrelation_time([ar1(rng, 1000, rho)]) == pytest.approx((1 + rho) / (1 - rho), rel=0.25)  # 5.67
    # short runs: the bias-corrected lag-1 estimate keeps τ from collapsing to 1
    assert np.mean([autocorrelation_time([ar1(rng, 20, rho)]) for _ in range(200)]) > 2.5
    assert autocorrelation_time([rng.normal(size=120) for _ in range(10)]) < 1.5


@pytest.mark.parametrize(("n", "rho", "most"), [(60, 0.3, 0.025), (60, 0.8, 0.07), (300, 0.9, 0.07)])
def test_blocks_keep_the_false_alarm_rate_where_counting_every_second_does_not(n, rho, most):
    rng = np.random.default_rng(11)
    alarms_blocked = alarms_naive = 0
    trials = 400
    for _ in range(trials):
        a, b = np.exp(ar1(rng, n, rho)), np.exp(ar1(rng, n, rho))  # two runs of the same service
        if within_run(a, b).p_value < 0.01:
            alarms_blocked += 1
        if mann_whitney(np.log(a), np.log(b)) < 0.01:
            alarms_naive += 1
    assert alarms_blocked / trials < most     # α = 1 %: near it, at worst a few times it
    if rho >= 0.8:
        assert alarms_naive / trials > 0.2    # every second as a sample: far too sure of itself


def test_a_real_shift_is_found_despite_autocorrelation():
    rng = np.random.default_rng(12)
    found = sum(within_run(np.exp(ar1(rng, 60, 0.6) + math.log(1.3)), np.exp(ar1(rng, 60, 0.6))).p_value < 0.01
                for _ in range(50))
    assert found >= 45
    test = within_run(np.exp(ar1(rng, 60, 0.6) + math.log(3)), np.exp(ar1(rng, 60, 0.6)))
    assert math.expm1(test.shift) == pytest.approx(2.0, rel=0.25) and test.block >= 2


def test_too_few_seconds_abstain_and_partial_seconds_are_not_samples():
    assert within_run(np.ones(3) * 2, np.ones(40)).p_value is None
    requests = np.array([3, 50, 48, 52, 51, 1])
    values = np.array([9.0, 1.0, 1.1, 1.0, np.nan, 30.0])
    assert usable(requests, values).tolist() == [False, True, True, True, False, False]
    assert block_means(np.arange(10.0), 4).tolist() == [1.5, 5.5, 8.5]   # the last 2 are half a block
    assert block_means(np.arange(9.0), 4).tolist() == [1.5, 5.5]


def test_two_nights_that_agree_do_not_make_a_third_look_wildly_different():
    # the prior spread (15 %) worth six nights keeps a +20 % third night from significance…
    close = between_nights(math.log(1.2), [0.0, 0.004], previous=0.004, prior_spread=0.15, prior_nights=6)
    assert close.p_reference > 0.05 and close.df == 7 and close.spread > 0.1
    # …while thirty tight nights make it significant, and a 3× night is significant either way
    tight = between_nights(math.log(1.2), list(np.random.default_rng(1).normal(0, 0.02, 30)), previous=0.0,
                           prior_spread=0.15, prior_nights=6)
    assert tight.p_reference < 1e-3 and tight.df == 35 and tight.spread < 0.05
    big = between_nights(math.log(3), [0.0, 0.05], previous=0.05, prior_spread=0.15, prior_nights=6)
    assert big.p_previous < 0.01 and big.p_reference < 0.01


def test_a_generous_prior_does_not_outweigh_a_month_of_tight_nights():
    nights = list(np.random.default_rng(2).normal(0, 0.02, 30))
    out = between_nights(math.log(1.5), nights, previous=nights[-1], prior_spread=0.5, prior_nights=6)
    assert out.spread < 0.06 and out.p_reference < 1e-6


def test_one_earlier_night_leaves_the_prior_alone_to_judge():
    out = between_nights(math.log(3), [0.0], previous=0.0, prior_spread=0.15, prior_nights=6)
    assert out.spread == pytest.approx(0.15) and out.df == 6
    assert out.p_previous == pytest.approx(student_t_sf2(math.log(3) / (0.15 * math.sqrt(2)), 6))
    assert between_nights(math.log(3), [0.0], previous=0.0, prior_spread=0.5, prior_nights=6).p_previous > 0.05
