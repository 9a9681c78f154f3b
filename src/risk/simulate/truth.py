"""The truth table's ``true_pd``: the simulator's own probability of ``default_12m`` at application.

``default_12m`` is 90+ days past due within 12 months of origination (by maturity + 90 days for
shorter loans), as ``risk.features.labels`` defines it. The probability integrates the behaviour's
risk model over what the lender could not see (the latent risk and the draws), given the application
and its date: the instalments that fall due in a known macro shock carry the shock's multiplier.
"""

from __future__ import annotations

import numpy as np

from risk.config import SimulateParams
from risk.simulate.loans import add_months
from risk.simulate.risk_model import (
    LATENT_SD,
    REACHES_90,
    TYPE_ATTRIBUTES,
    monthly_hazard,
    shock_multiplier,
    sigmoid,
    type_probabilities,
)

DEFAULT_DPD = 90
HORIZON_MONTHS = 12
QUADRATURE_POINTS = 9


def true_pd(a: dict[str, np.ndarray], params: SimulateParams) -> np.ndarray:
    """Probability of ``default_12m`` for every application, as if booked on its application day."""
    originated = a["applied_day"]
    term = a["requested_term"]
    horizon_end = np.minimum(add_months(originated, HORIZON_MONTHS), add_months(originated, term) + DEFAULT_DPD)
    fraud = sigmoid(a["fraud_logit"])
    nodes, weights = np.polynomial.hermite_e.hermegauss(QUADRATURE_POINTS)
    weights = weights / weights.sum()
    attrs = {k: a[k] for k in TYPE_ATTRIBUTES}
    # a planned early settlement before instalment k means no onset from k on
    settle_span = np.maximum(term - 2, 1)
    logit = a["onset_logit"][None, :] + LATENT_SD * nodes[:, None]  # (nodes, applications)
    no_onset_yet = np.ones_like(logit)
    pd = np.zeros_like(logit)
    for k in range(1, int(term.max()) + 1):
        ix = np.flatnonzero(term >= k)
        due = add_months(originated[ix], k)
        multiplier = shock_multiplier(due, params.shock)
        kth = np.full(len(ix), k)
        reaches_90 = type_probabilities({c: v[ix] for c, v in attrs.items()}, kth, multiplier > 1.0) @ REACHES_90
        not_settled = 1.0 - params.prepayment_rate * (term[ix] >= 3) * np.clip((k - 1) / settle_span[ix], 0.0, 1.0)
        counts = (due + DEFAULT_DPD <= horizon_end[ix]) * not_settled * reaches_90
        hazard = monthly_hazard(logit[:, ix], kth, multiplier, params.risk_scale)
        pd[:, ix] += no_onset_yet[:, ix] * hazard * counts
        no_onset_yet[:, ix] *= 1.0 - hazard
    first_due_in = add_months(originated, 1) + DEFAULT_DPD <= horizon_end
    return np.clip(fraud * first_due_in + (1.0 - fraud) * (weights @ pd), 0.0, 1.0)
