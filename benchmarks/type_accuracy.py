"""How well can the overdue type be told from what a collector observes? The ceiling on the default book.

Trains a LightGBM classifier on the simulator's *true* types (which no project model may read) from the
evidence a collector has at as_of for every loan past due then: contact outcomes and hardship reasons,
the payment pattern, agreements kept and broken, legal steps, the borrower profile and the application.
Its cross-validated accuracy is an estimate of the best achievable type accuracy from the evidence; the
majority class ("everyone is temporary") and the latent-variable oracle are printed beside it.

    uv run python benchmarks/type_accuracy.py            # default book (params.yaml's seed, 40,000 loans)
    uv run python benchmarks/type_accuracy.py --loans 20000 --seed 7
    uv run python benchmarks/type_accuracy.py --as-queued   # the queue's past-due loans, as policy.json
"""

from __future__ import annotations

import argparse
import datetime as dt

import lightgbm as lgb
import numpy as np
import polars as pl
from sklearn.model_selection import StratifiedKFold

from risk.config import Params, SimulateParams, load_params
from risk.features.build import loan_snapshots
from risk.simulate import simulate


def evidence(book: dict[str, pl.DataFrame], as_of: dt.date) -> pl.DataFrame:
    """One row per active loan past due at as_of (the collections book): the observable evidence, its true type."""
    paid = book["repayments"].group_by("loan_id").agg(paid=pl.col("amount").sum(), payments=pl.len())
    due = (
        book["schedule"]
        .sort("loan_id", "instalment_no")
        .with_columns(cum_due=(pl.col("principal_due") + pl.col("interest_due")).cum_sum().over("loan_id"))
        .join(paid, on="loan_id", how="left")
        .with_columns(pl.col("paid", "payments").fill_null(0))
    )
    dpd = (
        due.filter(pl.col("cum_due") > pl.col("paid") + 1.0, pl.col("due_date") < as_of)
        .group_by("loan_id")
        .agg(dpd=(pl.lit(as_of) - pl.col("due_date").min()).dt.total_days(), payments=pl.col("payments").first())
    )
    actions = book["collection_actions"]
    outcomes = actions.group_by("loan_id").agg(
        [
            (pl.col("outcome") == o).sum().alias(f"n_{o}")
            for o in (
                "reached",
                "unreachable",
                "promise_to_pay",
                "refused",
                "hardship_reported",
                "disputed",
                "complaint",
                "no_contact_requested",
                "agreement_signed",
            )
        ]
        + [
            (pl.col("hardship_reason") == r).sum().alias(f"r_{r}")
            for r in ("job_loss", "illness", "family_event", "business_failure", "other")
        ]
    )
    ag = (
        book["agreements"]
        .group_by("loan_id")
        .agg([(pl.col("status") == s).sum().alias(f"ag_{s}") for s in ("kept", "broken", "completed", "active")])
    )
    legal = (
        book["legal_cases"]
        .group_by("loan_id")
        .agg(filed=pl.col("filed_on").is_not_null().any(), judged=pl.col("judgment_on").is_not_null().any())
    )
    profile = (
        book["borrower_profiles"]
        .sort("observed_on")
        .group_by("borrower_id")
        .agg(
            property=pl.col("property_owned").drop_nulls().last(),
            vehicle=pl.col("vehicle_owned").drop_nulls().last(),
            social=pl.col("social_insurance").drop_nulls().last(),
            platforms=pl.col("other_platform_loans").drop_nulls().last(),
        )
    )
    apps = book["applications"].select(
        "loan_id",
        "monthly_income",
        "existing_debt",
        "identity_verified",
        "income_verified",
        "credit_inquiries_6m",
        "age",
    )
    return (
        dpd.filter(pl.col("dpd") >= 1)
        .join(
            book["loans"]
            .filter(pl.col("status") == "active")
            .select("loan_id", "borrower_id", "principal", "term_months"),
            on="loan_id",
        )
        .join(outcomes, on="loan_id", how="left")
        .join(ag, on="loan_id", how="left")
        .join(legal, on="loan_id", how="left")
        .join(profile, on="borrower_id", how="left")
        .join(apps, on="loan_id", how="left")
        .join(book["truth"].select("loan_id", "overdue_type"), on="loan_id")
        .filter(pl.col("overdue_type").is_not_null())
        .drop("borrower_id")
    )


def queued(book: dict[str, pl.DataFrame], as_of: dt.date, params: Params) -> pl.DataFrame:
    """The loans the pipeline sees past due at as_of, below charge-off (agreements re-age them)."""
    snap = loan_snapshots(book, params.features, as_of_dates=[as_of], data_as_of=as_of, with_labels=False)
    dpd = pl.col("days_past_due")
    return snap.filter((dpd > 0) & (dpd < params.score.charge_off_dpd)).select("loan_id").collect()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    defaults = load_params()
    parser.add_argument("--loans", type=int, default=defaults.simulate.n_loans)
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument(
        "--as-queued",
        action="store_true",
        help="only the loans the collections queue holds as past due (re-aged by kept plans, below charge-off): "
        "the population metrics/policy.json's type accuracy is measured on",
    )
    args = parser.parse_args()
    as_of = defaults.data.as_of
    book = simulate(SimulateParams(n_loans=args.loans), as_of=as_of, seed=args.seed)
    frame = evidence(book, as_of)
    if args.as_queued:
        frame = frame.join(queued(book, as_of, defaults), on="loan_id", how="semi")
    y = frame["overdue_type"].to_numpy()
    classes = np.unique(y)
    X = frame.drop("loan_id", "overdue_type").cast({pl.Boolean: pl.Float64}).to_numpy().astype(float)
    pred = np.empty(len(y), dtype=object)
    for train, test in StratifiedKFold(5, shuffle=True, random_state=0).split(X, y):
        clf = lgb.LGBMClassifier(n_estimators=300, learning_rate=0.05, num_leaves=15, min_child_samples=20, verbose=-1)
        clf.fit(X[train], y[train])
        pred[test] = clf.predict(X[test])
    overall = float((pred == y).mean())
    majority = float(max((y == c).mean() for c in classes))
    print(f"loans past due at {as_of}: {len(y):,} (seed {args.seed}, {args.loans:,} loans)")
    print(f"majority class (all temporary):           {majority:.3f}")
    print(f"LightGBM on the evidence, true types, 5-fold CV: {overall:.3f}")
    for lo, hi in ((1, 7), (8, 30), (31, 90), (91, 10_000)):
        m = (frame["dpd"].to_numpy() >= lo) & (frame["dpd"].to_numpy() <= hi)
        if m.any():
            span = f"{lo}-{hi}" if hi < 10_000 else f"{lo}+"
            print(f"  at {span} days past due ({m.sum():,} loans): {(pred[m] == y[m]).mean():.3f}")
    for c in classes:
        m = y == c
        print(f"  recall {c:10s} {(pred[m] == c).mean():.3f} (n={m.sum():,})")


if __name__ == "__main__":
    main()
