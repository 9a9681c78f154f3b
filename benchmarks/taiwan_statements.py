"""Taiwan's six card statements as an instalment ledger: how far the pipeline's own behavioural features go.

The UCI Taiwan file (``../shared/data/uci-taiwan-credit-card``) has six months of repayment status, bills and
payments per card and whether the client defaulted the next month. ``risk.ingest.taiwan.statements_ledger``
reconstructs the amounts due from the status (read as amounts due, the bills would mark 93% of current clients
past due), so that loans, schedule and repayments follow the contract; the features stage's own loan snapshot
code (``risk.features.build.loan_snapshots``) then reads them at 2005-09-30, and the early-warning model's
features and LightGBM settings are trained on the source's label. Printed: how often the reconstructed ledger
reproduces the source's status, and the test AUC over the same five stratified 70/30 splits (seeds 42-46) as the
pipeline's repeated-split figures, beside default LightGBM and a one-hot logistic regression on the same rows
and features, and beside the application-only PD with the statements as attributes (``make real-taiwan``).

    uv run python benchmarks/taiwan_statements.py
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import polars as pl

from risk.config import Params
from risk.contract import COLLECTION_ACTIONS, empty_frame
from risk.features.build import loan_snapshots
from risk.features.catalogue import CATEGORICAL, MODEL_FEATURES
from risk.ingest.taiwan import STATEMENTS_AS_OF, adapt, statements_ledger, status_agreement
from risk.models import small
from risk.models.model import fit_lightgbm, to_model_frame
from risk.models.train import SPECS

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "uci-taiwan-credit-card" / "UCI_Credit_Card.csv"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA)
    args = parser.parse_args()
    if not args.data.exists():
        raise SystemExit(f"{args.data} is absent: this benchmark needs ../shared/data (not part of a user's clone)")
    started = time.perf_counter()
    source = pl.read_csv(args.data, infer_schema=False)
    ledger = statements_ledger(source)
    agreement = status_agreement(ledger)
    apps = (
        adapt(source)
        .tables["applications"]
        .with_columns(loan_id=pl.col("application_id"), applied_at=pl.datetime(2005, 3, 15))
    )
    tables = {
        "applications": apps,
        "loans": ledger["loans"],
        "schedule": ledger["schedule"],
        "repayments": ledger["repayments"],
        "collection_actions": empty_frame(COLLECTION_ACTIONS),
    }
    params = Params()
    snaps = loan_snapshots(
        tables, params.features, as_of_dates=[STATEMENTS_AS_OF], data_as_of=STATEMENTS_AS_OF, with_labels=False
    ).collect()
    label = adapt(source).tables["outcomes"].select(loan_id="application_id", y="default_flag")
    frame = snaps.join(label, on="loan_id", how="inner")
    spec = SPECS["early_warning"]
    features = list(MODEL_FEATURES["early_warning"])
    X, y = to_model_frame(frame, features), frame["y"].to_numpy().astype(int)
    mp = params.train.early_warning
    seed = params.seed

    def lightgbm(Xt, yt):
        from sklearn.model_selection import StratifiedShuffleSplit

        fit, stop = next(StratifiedShuffleSplit(n_splits=1, test_size=0.25, random_state=seed).split(Xt, yt))
        model = fit_lightgbm(
            Xt.iloc[fit], yt[fit], Xt.iloc[stop], yt[stop], monotone=spec.monotone(), params=mp, seed=seed
        )
        return lambda Xs: model.predict_proba(Xs)[:, 1]

    figures = small.repeated_evaluation(
        X,
        y,
        {"lightgbm (early-warning features)": lightgbm},
        categorical=[f for f in features if f in CATEGORICAL],
        repeats=5,
        test_share=0.3,
        seed=seed,
    )
    dpd = frame["days_past_due"]
    print(f"Taiwan statements as a ledger: {frame.height:,} cards at {STATEMENTS_AS_OF}, bad rate {y.mean():.2%}")
    print(f"  status reproduced by the reconstructed ledger: {agreement:.1%} of client-months")
    late = (source["PAY_0"].cast(int) > 0).mean()
    print(f"  past due at as_of: {(dpd > 0).mean():.1%} of cards (September's status says {late:.1%})")
    for group in ("candidates", "peers"):
        for name, v in figures[group].items():
            print(f"  {name:34s} AUC {v['auc_mean']:.4f} ± {v['auc_std']:.4f}")
    print(f"  ({time.perf_counter() - started:.0f}s)")
    print(json.dumps({"agreement": agreement, **figures}))


if __name__ == "__main__":
    main()
