"""Calibration by grade and discriminatory power as a model validator reports them.

The tests follow the ECB's *Instructions for reporting the validation results of internal models, IRB
Pillar I models for credit risk* (February 2019, section 2.5 on PD): per grade the Jeffreys test of PD
under-estimation, and the change of the AUC since development with its standard error. Beside them sit
the exact binomial test, Hosmer & Lemeshow's goodness-of-fit test and DeLong's (1988) confidence interval
of the AUC, the figures an SR 11-7 style validation report also carries.

Every function is pure: arrays in, a frame or a JSON-ready dict out. Bad input is a caller's bug (the
arrays come from one frame), so it raises ``ValueError`` as :mod:`risk.models.metrics` (through
scikit-learn) and numpy do, not a data-contract error.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
from typing import Any

import numpy as np
import polars as pl
from scipy import stats

GRADE_SCHEMA = {
    "grade": pl.String,
    "n": pl.Int64,
    "defaults": pl.Int64,
    "observed_rate": pl.Float64,
    "predicted_rate": pl.Float64,
    "binomial_p": pl.Float64,
    "two_sided_binomial_p": pl.Float64,
    "jeffreys_p": pl.Float64,
    "traffic_light": pl.String,
}


class TrafficLight(StrEnum):
    """A grade's calibration verdict from its Jeffreys p-value, in increasing severity."""

    GREEN = "green"
    AMBER = "amber"
    RED = "red"


SEVERITY = (TrafficLight.GREEN, TrafficLight.AMBER, TrafficLight.RED)


def _as_arrays(y: Any, p: Any, *others: tuple[str, Any]) -> tuple[np.ndarray, ...]:
    """``y`` as 0/1 integers and ``p`` as floats in [0, 1], after checking lengths and values."""
    y_arr, p_arr = np.asarray(y), np.asarray(p, dtype=float)
    lengths = {"y": len(y_arr), "p": len(p_arr)} | {name: len(np.asarray(a)) for name, a in others}
    if len(set(lengths.values())) > 1:
        msg = f"inputs must have one length each, got {lengths}"
        raise ValueError(msg)
    bad_y = ~np.isin(y_arr, (0, 1))
    if bad_y.any():
        msg = f"y must hold only 0 and 1, got {sorted(set(y_arr[bad_y].tolist()))[:5]}"
        raise ValueError(msg)
    bad_p = ~((p_arr >= 0) & (p_arr <= 1))  # also catches NaN
    if bad_p.any():
        msg = f"p must be probabilities in [0, 1], got {p_arr[bad_p][:5].tolist()}"
        raise ValueError(msg)
    return (y_arr.astype(int), p_arr, *(np.asarray(a) for _, a in others))


def _light(jeffreys_p: float, *, amber: float, red: float) -> TrafficLight:
    if jeffreys_p < red:
        return TrafficLight.RED
    return TrafficLight.AMBER if jeffreys_p < amber else TrafficLight.GREEN


def grade_tests(n: int, defaults: int, pd: float, *, amber: float, red: float) -> dict[str, Any]:
    """The calibration tests of one grade with ``n`` obligors, ``defaults`` defaults and mean PD ``pd``.

    - ``binomial_p``: P(X >= defaults) for X ~ Binomial(n, pd), the exact one-sided test of PD
      under-estimation (too many defaults for the PD).
    - ``two_sided_binomial_p``: scipy's exact two-sided binomial test, which also flags a PD too high.
    - ``jeffreys_p``: the ECB's Jeffreys test. Under the Jeffreys prior Beta(1/2, 1/2) the default rate's
      posterior is Beta(D + 1/2, N - D + 1/2); the p-value is that Beta's cdf at the PD, P(rate <= PD),
      the *lower* tail. H0 is "the PD is not below the true rate", so a small p-value says the grade's PD
      under-estimates its default rate; a grade with fewer defaults than predicted has a p-value near 1.
    - ``traffic_light``: red below ``red``, amber below ``amber``, else green, on ``jeffreys_p``.

    An empty grade gives nulls: there is nothing to test. A grade whose mean PD is exactly 0 has a
    Jeffreys p of 0 (red) even without defaults, as the ECB formula gives: a PD of 0 is never defensible.
    """
    if n == 0:
        return {"n": 0, "defaults": 0} | {k: None for k in list(GRADE_SCHEMA)[3:]}
    jeffreys = float(stats.beta.cdf(pd, defaults + 0.5, n - defaults + 0.5))
    return {
        "n": n,
        "defaults": defaults,
        "observed_rate": defaults / n,
        "predicted_rate": pd,
        "binomial_p": float(stats.binom.sf(defaults - 1, n, pd)),
        "two_sided_binomial_p": float(stats.binomtest(defaults, n, pd).pvalue),
        "jeffreys_p": jeffreys,
        "traffic_light": _light(jeffreys, amber=amber, red=red).value,
    }


def grade_calibration(y: Any, p: Any, grades: Any, *, order: Sequence[str], amber: float, red: float) -> pl.DataFrame:
    """One row per grade of ``order``: counts, observed and predicted default rates, tests and a light.

    The predicted rate is the grade's mean PD (not the grade's nominal PD), so the test asks whether the
    PDs the model gave these obligors were high enough. See :func:`grade_tests` for the columns and the
    tail of each test. Grades of ``order`` with no rows are reported with ``n = 0`` and null tests; a
    grade outside ``order`` raises, because dropping its rows would hide them from the validator.

    Examples
    --------
    One default out of one obligor at PD 0.2 is already amber (Jeffreys p = 0.04); grade C is empty:

    >>> y, p, grades = [0, 1, 0], [0.1, 0.2, 0.1], ["A", "B", "A"]
    >>> t = grade_calibration(y, p, grades, order=["A", "B", "C"], amber=0.05, red=0.01)
    >>> t.select("grade", "n", "defaults", "traffic_light").rows()
    [('A', 2, 0, 'green'), ('B', 1, 1, 'amber'), ('C', 0, 0, None)]
    """
    if not 0 < red < amber < 1:
        msg = f"thresholds must satisfy 0 < red < amber < 1, got red={red}, amber={amber}"
        raise ValueError(msg)
    y_arr, p_arr, g_arr = _as_arrays(y, p, ("grades", grades))
    unknown = sorted(set(g_arr.tolist()) - set(order), key=str)
    if unknown:
        msg = f"grades {unknown[:5]} are not in order {list(order)}"
        raise ValueError(msg)
    rows = []
    for grade in order:
        in_grade = g_arr == grade
        n = int(in_grade.sum())
        pd = float(p_arr[in_grade].mean()) if n else float("nan")
        tests = grade_tests(n, int(y_arr[in_grade].sum()), pd, amber=amber, red=red)
        rows.append({"grade": grade} | tests)
    return pl.DataFrame(rows, schema=GRADE_SCHEMA, orient="row")


def hosmer_lemeshow(y: Any, p: Any, *, groups: int = 10, independent: bool = False) -> dict[str, float | int]:
    """Hosmer & Lemeshow's goodness-of-fit test over ``groups`` equal-size groups of predicted PD.

    The rows are sorted by PD with a stable sort (ties keep their input order, so the grouping is
    deterministic) and split into groups whose sizes differ by at most one. The statistic
    sum_g (O_g - E_g)^2 / (E_g (1 - E_g / n_g)) is compared with chi-square on ``groups - 2`` degrees of
    freedom, as Hosmer & Lemeshow (1980) derived for the sample the model was fitted on. PDs that were
    not fitted on this sample (a test or out-of-time window, ``independent=True``) lose no degrees of
    freedom, so the statistic is compared with chi-square on ``groups``: with ``groups - 2`` a perfectly
    calibrated test sample would be rejected at 5% about 11% of the time (10 groups). A small p-value says the
    PDs do not match the observed rates somewhere along the score range (in either direction).
    """
    y_arr, p_arr = _as_arrays(y, p)
    if groups < 3 or len(y_arr) < groups:
        msg = f"hosmer_lemeshow needs 3 or more groups and a row per group, got {groups} groups, {len(y_arr)} rows"
        raise ValueError(msg)
    order = np.argsort(p_arr, kind="stable")
    chunks = np.array_split(order, groups)
    n_g = np.array([len(c) for c in chunks], dtype=float)
    observed = np.array([y_arr[c].sum() for c in chunks], dtype=float)
    expected = np.array([p_arr[c].sum() for c in chunks])
    mean_pd = np.clip(expected / n_g, 1e-12, 1 - 1e-12)  # a default in a group predicted at 0 counts hugely
    statistic = float(np.sum((observed - expected) ** 2 / (n_g * mean_pd * (1 - mean_pd))))
    dof = groups if independent else groups - 2
    return {"statistic": statistic, "dof": dof, "p_value": float(stats.chi2.sf(statistic, dof)), "groups": groups}


def _delong(positives: np.ndarray, negatives: np.ndarray) -> tuple[float, float]:
    """AUC and its DeLong variance from midranks, O(n log n) (Sun & Xu 2014's fast form of DeLong 1988).

    The structural components V10 (each default's share of non-defaults scored below it, ties 1/2) and
    V01 (each non-default's share of defaults scored above it) come from midranks within the pooled,
    the default and the non-default scores; var(AUC) = var(V10) / m + var(V01) / n.
    """
    m, n = len(positives), len(negatives)
    pooled = stats.rankdata(np.concatenate([positives, negatives]))
    v10 = (pooled[:m] - stats.rankdata(positives)) / n
    v01 = 1 - (pooled[m:] - stats.rankdata(negatives)) / m
    auc = float(v10.mean())
    return auc, float(np.var(v10, ddof=1) / m + np.var(v01, ddof=1) / n)


def auc_with_ci(y: Any, p: Any, *, level: float = 0.95) -> dict[str, float | None]:
    """AUC with its DeLong (1988) standard error and Wald confidence interval at ``level``, clipped to [0, 1].

    The AUC is the Mann-Whitney probability that a default is scored above a non-default (ties count
    1/2), equal to scikit-learn's ``roc_auc_score``. Without at least two defaults and two non-defaults
    the variance is undefined and the interval is null (and the AUC too, without one of each), as
    :func:`risk.models.metrics.safe_auc` does.
    """
    if not 0 < level < 1:
        msg = f"level must lie in (0, 1), got {level}"
        raise ValueError(msg)
    y_arr, p_arr = _as_arrays(y, p)
    positives, negatives = p_arr[y_arr == 1], p_arr[y_arr == 0]
    out: dict[str, float | None] = {"auc": None, "se": None, "low": None, "high": None, "level": level}
    if min(len(positives), len(negatives)) == 0:
        return out
    auc, var = _delong(positives, negatives)
    out["auc"] = auc
    if min(len(positives), len(negatives)) < 2:
        return out
    se = float(np.sqrt(var))
    half = float(stats.norm.ppf(0.5 + level / 2)) * se
    return out | {"se": se, "low": max(0.0, auc - half), "high": min(1.0, auc + half)}


def auc_change(dev_auc: float, test: dict[str, Any]) -> dict[str, Any]:
    """The change of the AUC from development to the test sample (``test`` from :func:`auc_with_ci`).

    ``absolute_change`` is test minus development (negative: the model ranks worse now) and
    ``relative_change`` divides it by the development AUC. As in the ECB instructions' test of
    discriminatory power, the development AUC is taken as fixed and ``statistic`` = (dev - test) / se of
    the test AUC, with the one-sided ``p_value`` = 1 - Phi(statistic): small when the AUC has fallen by more
    than sampling noise explains. ``dev_inside_ci`` says whether the development AUC lies in the test CI.
    """
    if not 0 < dev_auc <= 1:
        msg = f"dev_auc must be an AUC in (0, 1], got {dev_auc}"
        raise ValueError(msg)
    auc, se = test.get("auc"), test.get("se")
    if auc is None:
        keys = ("absolute_change", "relative_change", "statistic", "p_value", "dev_inside_ci")
        return {"dev_auc": dev_auc, "test_auc": None} | dict.fromkeys(keys)
    statistic = (dev_auc - auc) / se if se else None
    return {
        "dev_auc": dev_auc,
        "test_auc": auc,
        "absolute_change": auc - dev_auc,
        "relative_change": (auc - dev_auc) / dev_auc,
        "statistic": statistic,
        "p_value": float(stats.norm.sf(statistic)) if statistic is not None else None,
        "dev_inside_ci": bool(test["low"] <= dev_auc <= test["high"]) if test.get("low") is not None else None,
    }


def worst_light(lights: Sequence[str | None]) -> str | None:
    """The most severe light among ``lights`` (red > amber > green), ignoring nulls; null if none."""
    seen = [SEVERITY.index(TrafficLight(light)) for light in lights if light is not None]
    return SEVERITY[max(seen)].value if seen else None


def calibration_summary(
    y: Any,
    p: Any,
    grades: Any,
    *,
    order: Sequence[str],
    amber: float,
    red: float,
    dev_auc: float | None = None,
    hl_groups: int = 10,
    independent: bool = False,
) -> dict[str, Any]:
    """The validation figures of one sample as JSON-ready dicts, for the evaluate stage and the report.

    Keys: ``grades`` (the rows of :func:`grade_calibration`), ``hosmer_lemeshow``, ``auc`` (with its CI),
    ``auc_change`` (only when ``dev_auc`` is given), ``worst_light`` and ``n_red`` (grades in red).
    Hosmer-Lemeshow is null when the sample has fewer rows than ``hl_groups``; pass ``independent=True``
    for a sample the model was not fitted on (see :func:`hosmer_lemeshow`).
    """
    table = grade_calibration(y, p, grades, order=order, amber=amber, red=red)
    lights = table["traffic_light"].to_list()
    auc = auc_with_ci(y, p)
    hl = hosmer_lemeshow(y, p, groups=hl_groups, independent=independent) if len(np.asarray(y)) >= hl_groups else None
    out: dict[str, Any] = {
        "grades": table.to_dicts(),
        "hosmer_lemeshow": hl,
        "auc": auc,
        "worst_light": worst_light(lights),
        "n_red": lights.count(TrafficLight.RED.value),
    }
    if dev_auc is not None:
        out["auc_change"] = auc_change(dev_auc, auc)
    return out
