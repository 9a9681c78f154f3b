"""A plain pandas implementation of the loan-snapshot features: the baseline features_bench.py measures.

It is the groupby-and-merge code a data scientist would write from the definitions in
``docs/features.md`` and ``src/risk/features/build.py``, with no attempt at cleverness: build the
instalment ledger (payments to the oldest instalment first), cross the active loans with the month
ends, merge each (loan, as_of) with every instalment, payment and collection action, and aggregate
with ``groupby``. It covers the repayment, collections, loan-term and calendar families; the
application features are a plain lookup and the borrower features and labels are left out, so the
polars path it is compared with does strictly more work.

Not part of the package: nothing in ``src/`` imports it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

PAID_TOLERANCE = 1.0  # RMB, as risk.delinquency
CONTACT_CHANNELS = ["sms", "phone", "email", "app"]
REACHED = ["reached", "promise_to_pay", "refused", "agreement_signed"]

# the columns this baseline computes, all named as in the feature catalogue
REPAYMENT = [
    "instalment_amount",
    "days_past_due",
    "max_dpd_3m",
    "max_dpd_6m",
    "max_dpd_12m",
    "late_instalments",
    "missed_instalments",
    "arrears_amount",
    "prepaid_amount",
    "days_since_last_payment",
    "paid_to_due_3m",
    "paid_to_due_all",
    "partial_payments",
    "outstanding_principal",
    "months_on_book",
    "remaining_term",
    "term_elapsed_share",
]
COLLECTIONS = [
    "contacts_7d",
    "contacts_30d",
    "reach_rate_90d",
    "promises_90d",
    "broken_promises_90d",
    "refusals_90d",
    "unreachable_90d",
    "max_ladder_step",
    "days_since_last_contact",
]
LOAN = ["annual_rate", "vintage", "as_of_month"]
FEATURES = [*LOAN, *REPAYMENT, *COLLECTIONS]


def _day(s: pd.Series) -> pd.Series:
    """A date or datetime column as datetime64[s] at midnight."""
    return pd.to_datetime(s).dt.normalize().astype("datetime64[s]")


def _days(delta: pd.Series) -> pd.Series:
    return delta.dt.days


def instalment_ledger(loans: pd.DataFrame, schedule: pd.DataFrame, repayments: pd.DataFrame) -> pd.DataFrame:
    """Per instalment: amount due, principal due and the day it became paid (NaT if never)."""
    pay = repayments.assign(paid_on=_day(repayments["paid_at"]))
    daily = pay.groupby(["loan_id", "paid_on"], as_index=False)["amount"].sum()
    daily = daily.sort_values(["loan_id", "paid_on"])
    daily["cum_paid"] = daily.groupby("loan_id")["amount"].cumsum()

    sched = schedule.sort_values(["loan_id", "instalment_no"]).copy()
    sched["due_date"] = _day(sched["due_date"])
    sched["amount_due"] = sched["principal_due"] + sched["interest_due"]
    sched["cum_due"] = sched.groupby("loan_id")["amount_due"].cumsum()
    sched["cum_interest_due"] = sched.groupby("loan_id")["interest_due"].cumsum()
    sched["target"] = sched["cum_due"] - PAID_TOLERANCE

    # the first day the running total paid covers the instalment (and all before it)
    paid = pd.merge_asof(
        sched.sort_values("target")[["loan_id", "instalment_no", "target"]],
        daily.sort_values("cum_paid")[["loan_id", "paid_on", "cum_paid"]],
        left_on="target",
        right_on="cum_paid",
        by="loan_id",
        direction="forward",
    )[["loan_id", "instalment_no", "paid_on"]]

    # settled: all principal plus the interest due so far is paid (early repayment waives later interest)
    interest = sched.sort_values("due_date")[["loan_id", "due_date", "cum_interest_due"]]
    settle = pd.merge_asof(
        daily.sort_values("paid_on"),
        interest,
        left_on="paid_on",
        right_on="due_date",
        by="loan_id",
        direction="backward",
    ).merge(loans[["loan_id", "principal"]], on="loan_id")
    settle = settle[settle["cum_paid"] >= settle["principal"] + settle["cum_interest_due"].fillna(0.0) - PAID_TOLERANCE]
    closed = settle.groupby("loan_id", as_index=False)["paid_on"].min().rename(columns={"paid_on": "closed_on"})

    ledger = sched.merge(paid, on=["loan_id", "instalment_no"], how="left").merge(closed, on="loan_id", how="left")
    ledger["paid_on"] = ledger[["paid_on", "closed_on"]].min(axis=1)
    return ledger[["loan_id", "instalment_no", "due_date", "amount_due", "principal_due", "paid_on", "closed_on"]]


def active_pairs(loans: pd.DataFrame, ledger: pd.DataFrame, as_of_dates: Sequence[dt.date]) -> pd.DataFrame:
    """(loan_id, as_of) for every loan originated and not yet settled at each as_of."""
    closed = ledger.groupby("loan_id", as_index=False)["closed_on"].first()
    base = loans[["loan_id", "originated_on", "annual_rate"]].merge(closed, on="loan_id", how="left")
    base["originated_on"] = _day(base["originated_on"])
    dates = pd.DataFrame({"as_of": pd.to_datetime(list(as_of_dates)).astype("datetime64[s]")})
    pairs = base.merge(dates, how="cross")
    open_then = pairs["closed_on"].isna() | (pairs["closed_on"] > pairs["as_of"])
    keep = (pairs["originated_on"] <= pairs["as_of"]) & open_then
    return pairs.loc[keep, ["loan_id", "as_of", "originated_on", "annual_rate"]].reset_index(drop=True)


def repayment_features(
    pairs: pd.DataFrame, ledger: pd.DataFrame, payments: pd.DataFrame, *, grace_days: int
) -> pd.DataFrame:
    """Repayment behaviour per (loan_id, as_of)."""
    x = pairs[["loan_id", "as_of"]].merge(ledger, on="loan_id")
    a, due, paid_on = x["as_of"], x["due_date"], x["paid_on"]
    grace = pd.Timedelta(days=grace_days)
    paid_by = paid_on.notna() & (paid_on <= a)
    x["dpd"] = np.where((due < a) & ~paid_by, _days(a - due), 0)
    unpaid_until = (paid_on - pd.Timedelta(days=1)).fillna(a).where(lambda s: s < a, a)
    overdue = _days(unpaid_until - due).where(unpaid_until > due)
    for name, days in (("max_dpd_3m", 90), ("max_dpd_6m", 180), ("max_dpd_12m", 365)):
        x[name] = overdue.where(unpaid_until >= a - pd.Timedelta(days=days - 1))
    x["late"] = ((due + grace < a) & (paid_on.isna() | (paid_on > due + grace))).astype(int)
    x["missed"] = ((due + grace < a) & ~paid_by).astype(int)
    # money sums rounded to the fen, as build.py does, so the order of addition cannot matter
    x["due_total"] = x["amount_due"].where(due <= a, 0.0)
    x["due_3m"] = x["amount_due"].where((due <= a) & (due > a - pd.Timedelta(days=90)), 0.0)
    x["open_principal"] = x["principal_due"].where(~paid_by, 0.0)
    x["remaining"] = (due > a).astype(int)
    x["first_amount"] = x["amount_due"].where(x["instalment_no"] == 1)
    g = x.groupby(["loan_id", "as_of"], sort=False)
    inst = g.agg(
        days_past_due=("dpd", "max"),
        max_dpd_3m=("max_dpd_3m", "max"),
        max_dpd_6m=("max_dpd_6m", "max"),
        max_dpd_12m=("max_dpd_12m", "max"),
        late_instalments=("late", "sum"),
        missed_instalments=("missed", "sum"),
        due_total=("due_total", "sum"),
        due_3m=("due_3m", "sum"),
        outstanding_principal=("open_principal", "sum"),
        remaining_term=("remaining", "sum"),
        term=("remaining", "size"),
        instalment_amount=("first_amount", "max"),
    ).reset_index()
    for name in ("max_dpd_3m", "max_dpd_6m", "max_dpd_12m"):
        inst[name] = inst[name].fillna(0).astype("int64")
    money = ["due_total", "due_3m", "outstanding_principal"]
    inst[money] = inst[money].round(2)

    y = pairs[["loan_id", "as_of"]].merge(payments, on="loan_id")
    y = y[y["paid_on"] <= y["as_of"]].merge(inst[["loan_id", "as_of", "instalment_amount"]], on=["loan_id", "as_of"])
    y["paid_3m"] = y["amount"].where(y["paid_on"] > y["as_of"] - pd.Timedelta(days=90), 0.0)
    y["partial"] = (y["amount"] < 0.95 * y["instalment_amount"]).astype(int)
    pay = (
        y.groupby(["loan_id", "as_of"], sort=False)
        .agg(
            paid_total=("amount", "sum"),
            paid_3m=("paid_3m", "sum"),
            last_paid_on=("paid_on", "max"),
            partial_payments=("partial", "sum"),
        )
        .reset_index()
    )

    out = inst.merge(pay, on=["loan_id", "as_of"], how="left")
    out[["paid_total", "paid_3m"]] = out[["paid_total", "paid_3m"]].fillna(0.0).round(2)
    out["partial_payments"] = out["partial_payments"].fillna(0).astype("int64")
    out["arrears_amount"] = (out["due_total"] - out["paid_total"]).clip(lower=0.0)
    out["prepaid_amount"] = (out["paid_total"] - out["due_total"]).clip(lower=0.0)
    out["paid_to_due_3m"] = (out["paid_3m"] / out["due_3m"]).where(out["due_3m"] > 0)
    out["paid_to_due_all"] = (out["paid_total"] / out["due_total"]).where(out["due_total"] > 0)
    out["term_elapsed_share"] = 1.0 - out["remaining_term"] / out["term"]
    return out.drop(columns=["due_total", "due_3m", "paid_total", "paid_3m", "term"])


def collection_features(pairs: pd.DataFrame, actions: pd.DataFrame, step_rank: Mapping[str, int]) -> pd.DataFrame:
    """Collections history per (loan_id, as_of); ``pairs`` carries days_past_due (the ladder step counts the
    current overdue episode only)."""
    act = actions[["loan_id", "action", "channel", "outcome"]].assign(
        action_on=_day(actions["action_at"]),
        step=actions["action"].map(step_rank).fillna(0).astype("int64"),
    )
    x = pairs[["loan_id", "as_of", "days_past_due"]].merge(act, on="loan_id")
    x = x[x["action_on"] <= x["as_of"]]
    a, on = x["as_of"], x["action_on"]
    in_episode = (x["days_past_due"] > 0) & (on >= a - pd.to_timedelta(x["days_past_due"], unit="D"))
    x["episode_step"] = x["step"].where(in_episode)
    contact = x["channel"].isin(CONTACT_CHANNELS)
    last_90 = on > a - pd.Timedelta(days=90)
    x["c7"] = (contact & (on > a - pd.Timedelta(days=7))).astype(int)
    x["c30"] = (contact & (on > a - pd.Timedelta(days=30))).astype(int)
    x["c90"] = (contact & last_90).astype(int)
    x["r90"] = (contact & last_90 & x["outcome"].isin(REACHED)).astype(int)
    for col, outcome in (
        ("p90", "promise_to_pay"),
        ("b90", "broken_promise"),
        ("f90", "refused"),
        ("u90", "unreachable"),
    ):
        x[col] = (last_90 & (x["outcome"] == outcome)).astype(int)
    out = (
        x.groupby(["loan_id", "as_of"], sort=False)
        .agg(
            contacts_7d=("c7", "sum"),
            contacts_30d=("c30", "sum"),
            contacts_90d=("c90", "sum"),
            reached_90d=("r90", "sum"),
            promises_90d=("p90", "sum"),
            broken_promises_90d=("b90", "sum"),
            refusals_90d=("f90", "sum"),
            unreachable_90d=("u90", "sum"),
            max_ladder_step=("episode_step", "max"),
            last_action_on=("action_on", "max"),
        )
        .reset_index()
    )
    out["reach_rate_90d"] = (out["reached_90d"] / out["contacts_90d"]).where(out["contacts_90d"] > 0)
    return out.drop(columns=["contacts_90d", "reached_90d"])


def loan_features(
    tables: Mapping[str, pd.DataFrame], *, as_of_dates: Sequence[dt.date], grace_days: int, step_rank: Mapping[str, int]
) -> pd.DataFrame:
    """Every loan active at each of ``as_of_dates`` with the features in :data:`FEATURES`, sorted by as_of, loan_id."""
    loans = tables["loans"]
    ledger = instalment_ledger(loans, tables["schedule"], tables["repayments"])
    pay = tables["repayments"].assign(paid_on=_day(tables["repayments"]["paid_at"]))
    payments = pay.groupby(["loan_id", "paid_on"], as_index=False)["amount"].sum()
    pairs = active_pairs(loans, ledger, as_of_dates)
    frame = pairs.merge(
        repayment_features(pairs, ledger, payments, grace_days=grace_days), on=["loan_id", "as_of"], how="left"
    )
    frame = frame.merge(
        collection_features(frame, tables["collection_actions"], step_rank), on=["loan_id", "as_of"], how="left"
    )
    counts = [
        "contacts_7d",
        "contacts_30d",
        "promises_90d",
        "broken_promises_90d",
        "refusals_90d",
        "unreachable_90d",
        "max_ladder_step",
    ]
    frame[counts] = frame[counts].fillna(0).astype("int64")
    a, orig = frame["as_of"], frame["originated_on"]
    frame["months_on_book"] = (a.dt.year - orig.dt.year) * 12 + a.dt.month - orig.dt.month
    frame["days_since_last_payment"] = _days(a - frame["last_paid_on"].fillna(orig))
    frame["days_since_last_contact"] = _days(a - frame["last_action_on"])
    frame["vintage"] = orig.dt.year * 100 + orig.dt.month
    frame["as_of_month"] = a.dt.month
    frame = frame.sort_values(["as_of", "loan_id"]).reset_index(drop=True)
    return frame[["loan_id", "as_of", *FEATURES]]
