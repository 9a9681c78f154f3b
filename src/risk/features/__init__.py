"""Point-in-time features and labels (polars, lazy).

A snapshot is (loan, as_of) for every loan active at a month end, plus (application, applied day) for
every application. Features read only records dated at or before ``as_of``; labels read only what
happens after it (plus the state at ``as_of`` that defines who is eligible).
"""

from risk.features.build import (
    FeatureSet,
    application_snapshots,
    build_features,
    loan_snapshots,
    month_ends,
)
from risk.features.catalogue import (
    APPLICATION_FEATURES,
    CATEGORICAL,
    FEATURES,
    LOAN_FEATURES,
    MODEL_FEATURES,
    Feature,
    feature_dictionary,
)

__all__ = [
    "APPLICATION_FEATURES",
    "CATEGORICAL",
    "FEATURES",
    "LOAN_FEATURES",
    "MODEL_FEATURES",
    "Feature",
    "FeatureSet",
    "application_snapshots",
    "build_features",
    "feature_dictionary",
    "loan_snapshots",
    "month_ends",
]
