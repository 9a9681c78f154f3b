"""Applicants and underwriting: who applies, when, asking for what, and who is approved (进件与审批)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl

from risk.config import SimulateParams
from risk.contract import Channel, Decision, Education, EmploymentType, Product
from risk.simulate.risk_model import EPOCH, fraud_logit, onset_logit

DAY_S = 86_400
PENDING_DAYS = 7  # pending applications arrived in the last week before as_of

PRODUCTS = (Product.CASH_LOAN, Product.CONSUMER_INSTALMENT, Product.MICRO_BUSINESS)
PRODUCT_SHARE = (0.5, 0.35, 0.15)
TERMS = {  # requested term (months) and its probabilities by product
    Product.CASH_LOAN: ((3, 6, 9, 12), (0.2, 0.35, 0.2, 0.25)),
    Product.CONSUMER_INSTALMENT: ((3, 6, 9, 12, 24), (0.15, 0.3, 0.15, 0.3, 0.1)),
    Product.MICRO_BUSINESS: ((6, 12, 24), (0.2, 0.45, 0.35)),
}
MEDIAN_AMOUNT = {Product.CASH_LOAN: 4000.0, Product.CONSUMER_INSTALMENT: 6000.0, Product.MICRO_BUSINESS: 20000.0}
CHANNELS = (Channel.APP_ORGANIC, Channel.PARTNER_REFERRAL, Channel.ONLINE_ADS, Channel.OFFLINE_AGENT)
CHANNEL_SHARE = (0.35, 0.25, 0.3, 0.1)
EMPLOYMENT = (
    EmploymentType.WHITE_COLLAR,
    EmploymentType.BLUE_COLLAR,
    EmploymentType.SELF_EMPLOYED,
    EmploymentType.FREELANCE,
)
EMPLOYMENT_SHARE = (0.4, 0.3, 0.15, 0.15)
EDUCATION = tuple(Education)
EDUCATION_SHARE = (0.12, 0.3, 0.3, 0.23, 0.05)
EDUCATION_INCOME = np.array([0.8, 0.9, 1.0, 1.2, 1.5])
TIER_SHARE = (0.12, 0.2, 0.28, 0.25, 0.15)
TIER_INCOME = np.array([1.5, 1.25, 1.0, 0.9, 0.8])


def _days(d: dt.date) -> int:
    return (d - EPOCH).days


def _pick(rng: np.random.Generator, options: tuple, share: tuple, n: int) -> np.ndarray:
    return np.asarray([o.value if hasattr(o, "value") else o for o in options])[
        rng.choice(len(options), size=n, p=np.asarray(share) / np.sum(share))
    ]


def application_days(rng: np.random.Generator, params: SimulateParams, as_of: dt.date, n: int) -> np.ndarray:
    """Application days (days since 1970) over monthly vintages whose volume grows over time."""
    months = np.arange(np.datetime64(params.start, "M"), np.datetime64(as_of, "M") + 1)
    weight = params.volume_growth ** np.linspace(0.0, 1.0, len(months))
    month = months[rng.choice(len(months), size=n, p=weight / weight.sum())]
    first = month.astype("datetime64[D]").astype(np.int64)
    length = (month + 1).astype("datetime64[D]").astype(np.int64) - first
    day = first + (rng.random(n) * length).astype(np.int64)
    # booked loans need a day to be disbursed; the last week also holds the pending queue
    return np.clip(day, _days(params.start), _days(as_of) - 2)


def link_borrowers(rng: np.random.Generator, day: np.ndarray, repeat_share: float) -> np.ndarray:
    """For applications sorted by day, the index of each borrower's first application (复贷 links).

    A repeat application points at an earlier one a few months back; following the pointers to
    their root gives the borrower.
    """
    n = len(day)
    target = day - np.round(rng.exponential(150.0, n))
    # any one of the applications made on the target day, not always the first of them: otherwise the
    # first application of a busy day (or of the whole history) collects thousands of "repeat" borrowers
    lo = np.searchsorted(day, target, side="left")
    hi = np.searchsorted(day, target, side="right")
    earlier = np.minimum(lo + np.floor(rng.random(n) * np.maximum(hi - lo, 1)).astype(np.int64), np.arange(n) - 1)
    in_history = target >= day[0] if n else np.zeros(0, dtype=bool)
    repeat = (rng.random(n) < repeat_share) & (earlier >= 0) & in_history
    root = np.where(repeat, earlier, np.arange(n))
    while True:  # pointer jumping: a few rounds reach every chain's root
        jumped = root[root]
        if np.array_equal(jumped, root):
            return root
        root = jumped


def applicant_attributes(rng: np.random.Generator, day: np.ndarray, root: np.ndarray) -> dict[str, np.ndarray]:
    """Attributes of each application; a repeat borrower keeps the traits of their first application."""
    n = len(day)
    years_since = (day - day[root]) / 365.25
    education_ix = rng.choice(len(EDUCATION), size=n, p=EDUCATION_SHARE)[root]
    tier = (rng.choice(5, size=n, p=TIER_SHARE) + 1)[root]
    age = np.clip(np.round(rng.normal(31.0, 7.5, n)), 18, 65)[root] + np.floor(years_since)
    income = (6500.0 * np.exp(rng.normal(0.0, 0.55, n)) * EDUCATION_INCOME[education_ix] * TIER_INCOME[tier - 1])[
        root
    ] * np.exp(rng.normal(0.0, 0.08, n))
    income = np.maximum(np.round(income, -2), 1500.0)
    employment_years = np.minimum(rng.gamma(1.5, 2.5, n), np.maximum(age - 16, 0))  # redrawn: jobs change
    history = (np.maximum(age - 18, 0) * 12 * rng.uniform(0.1, 0.9, n)[root] + years_since * 12).astype(np.int64)
    repeat = root != np.arange(n)
    product = _pick(rng, PRODUCTS, PRODUCT_SHARE, n)
    channel = np.where(
        repeat & (rng.random(n) < 0.6), Channel.APP_ORGANIC.value, _pick(rng, CHANNELS, CHANNEL_SHARE, n)
    )
    term = np.zeros(n, dtype=np.int64)
    amount = np.zeros(n)
    for p in PRODUCTS:
        mask = product == p.value
        terms, share = TERMS[p]
        term[mask] = rng.choice(terms, size=mask.sum(), p=share)
        amount[mask] = MEDIAN_AMOUNT[p] * np.exp(rng.normal(0.0, 0.6, mask.sum()))
    amount = np.clip(np.round(amount * (income / 6500.0) ** 0.3, -2), 500.0, 200_000.0)
    has_debt = rng.random(n) < 0.7
    debt = np.where(has_debt, np.round(income * 4.0 * np.exp(rng.normal(0.0, 0.9, n)), -2), 0.0)
    identity_ok = rng.random(n) < np.where(channel == Channel.ONLINE_ADS.value, 0.86, 0.95)
    income_ok = rng.random(n) < np.where(
        (product == Product.MICRO_BUSINESS.value) | (channel == Channel.OFFLINE_AGENT.value), 0.7, 0.4
    )
    return {
        "requested_amount": amount,
        "requested_term": term,
        "product": product,
        "channel": channel,
        "age": age.astype(np.int64),
        "monthly_income": income,
        "employment_type": _pick(rng, EMPLOYMENT, EMPLOYMENT_SHARE, n)[root],
        "employment_years": np.round(employment_years, 1),
        "city_tier": tier.astype(np.int64),
        "education": np.asarray([e.value for e in EDUCATION])[education_ix],
        "credit_history_months": history,
        "existing_debt": debt,
        "credit_inquiries_6m": rng.poisson(rng.gamma(2.0, 1.0, n)).astype(np.int64),
        "identity_verified": identity_ok | (repeat & identity_ok[root]),
        "income_verified": income_ok,
    }


def _borrower_history(root: np.ndarray, day: np.ndarray, approved: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Loans each borrower took before an application, and whether one was taken in the last 120 days."""
    frame = pl.DataFrame({"root": root, "day": day, "ok": approved}).with_columns(
        prior=(pl.col("ok").cast(pl.Int64).cum_sum() - pl.col("ok").cast(pl.Int64)).over("root"),
        last_ok=pl.when(pl.col("ok")).then(pl.col("day")).shift(1).forward_fill().over("root"),
    )
    stacked = (frame["day"] - frame["last_ok"]).fill_null(10_000).to_numpy() <= 120
    return frame["prior"].to_numpy(), stacked


def applications(rng: np.random.Generator, params: SimulateParams, as_of: dt.date) -> dict[str, np.ndarray]:
    """Every application, sorted by time, with its decision and the true risk logits behind it.

    The lender approves the lowest ``approval_rate`` share of its own (noisy) risk score; pending
    applications came in during the last week and are not decided yet.
    """
    n_decided = int(round(params.n_loans / params.approval_rate))
    n_pending = params.pending_applications
    day = np.concatenate(
        [
            application_days(rng, params, as_of, n_decided),
            _days(as_of) - rng.integers(0, PENDING_DAYS, n_pending),
        ]
    )
    pending = np.arange(len(day)) >= n_decided
    order = np.argsort(day, kind="stable")
    day, pending = day[order], pending[order]
    root = link_borrowers(rng, day, params.repeat_borrower_share)
    a = applicant_attributes(rng, day, root)
    # the lender's scorecard sees the applicant's own risk, but neither the product × channel level
    # nor the borrower's history with us
    a["prior_loans"] = np.zeros(len(day), dtype=np.int64)
    a["stacked"] = np.zeros(len(day), dtype=bool)
    underwriting = onset_logit(a, segment=False) + 0.5 * fraud_logit(a, segment=False) + rng.normal(0.0, 1.0, len(day))
    cutoff = np.quantile(underwriting[~pending], params.approval_rate)
    approved = (underwriting <= cutoff) & ~pending
    a["prior_loans"], a["stacked"] = _borrower_history(root, day, approved)
    a["decision"] = np.where(
        pending, Decision.PENDING.value, np.where(approved, Decision.APPROVED.value, Decision.DECLINED.value)
    )
    seconds = rng.integers(7 * 3600, DAY_S, len(day))
    a["applied_at_s"] = day * DAY_S + seconds
    a["applied_day"] = day
    a["root"] = root
    a["underwriting"] = underwriting
    a["onset_logit"] = onset_logit(a)
    a["fraud_logit"] = fraud_logit(a)
    return a
