"""The truth table's ``true_pd``: the simulator's own probability of ``default_12m`` at application.

``default_12m`` is 90+ days past due within 12 months of origination (by maturity + 90 days for
shorter loans), as ``risk.features.labels`` defines it. The probability integrates the behaviour's
risk model over what the lender could not see (the latent risk and the draws), given the application
and its date: the instalments that fall due in a known macro shock carry the shock's multiplier.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from risk.config import SimulateParams
from risk.contract import Action
from risk.simulate import effects as fx
from risk.simulate.behaviour import Behaviour
from risk.simulate.episodes import HORIZON_DAYS, NONE, EpisodeInputs, Episodes
from risk.simulate.ledger import NEVER, last_row_due_by
from risk.simulate.loans import Book, add_months
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


# --- the collections truth: potential outcomes and hazards (for evaluation only) ------------------------
TRUTH_ACTIONS = (
    Action.HOLD_OUT.value,
    Action.SMS.value,
    Action.CALL.value,
    Action.EMAIL.value,
    Action.INSTALMENT_PLAN.value,
    Action.EXTENSION.value,
    Action.INTEREST_RELIEF.value,
    Action.SETTLEMENT.value,
    Action.LAWYERS_LETTER.value,
    Action.LITIGATION.value,
)
WINDOW = 30
EXTENSION_WITHIN_WINDOW = 0.45  # share of kept extensions paid within 30 days of signing


def potential_outcomes(
    ep: EpisodeInputs, done: Episodes, *, as_of_day: int, running: bool = True
) -> dict[str, np.ndarray]:
    """For each episode open at as_of: P(arrears paid within 30 days) and the expected amount, per next action.

    The action is taken on the day after as_of and nothing else for 30 days; the effect of what was done
    before as_of still runs (``running=False``: as if nothing had been done before, which measures an
    action's own effect). The same functions as the episodes (``effects``), integrated instead of drawn.
    """
    open_ = (done.k_at != NONE) & (done.cure_day > as_of_day) & (done.close_day > as_of_day)
    e = np.flatnonzero(open_)
    kind, a, w = ep.kind[e], ep.ability[e], ep.willingness[e]
    k0 = done.k_at[e] + 1
    days = k0[:, None] + np.arange(WINDOW)[None, :]
    base = fx.base_hazard(
        np.repeat(kind, WINDOW),
        days.ravel(),
        np.repeat(a, WINDOW),
        np.repeat(w, WINDOW),
        np.repeat(ep.shocked[e], WINDOW),
    )
    base = base.reshape(len(e), WINDOW)
    running = np.where(days <= done.boost_until_at[e][:, None], done.boost_at[e][:, None], 0.0) * running
    day0 = ep.onset_due[e] + k0
    arrears = np.maximum(ep.to_close_at.due_by(e, day0) - ep.paid_before[e] - done.paid_at[e], 0.0)
    to_close = np.maximum(ep.to_close_at(e, day0) - ep.paid_before[e] - done.paid_at[e], 0.0)
    dpd0 = ep.to_close_at.days_past_due(e, day0, ep.paid_before[e] + done.paid_at[e])
    talk = fx.talk_probabilities(a, w, np.zeros(len(e), dtype=bool))
    reach = fx.REACH[kind]
    keep = fx.promise_keep(a, w)
    out: dict[str, list[np.ndarray]] = {"episode": [], "action": [], "p": [], "paid": []}

    running_boost = running

    def survive(action: str, reached: bool) -> np.ndarray:
        if action == Action.HOLD_OUT.value:
            extra = np.zeros((len(e), WINDOW))
        else:
            step = fx.boost(np.full(len(e), action, dtype=object), kind, dpd0, np.full(len(e), reached))
            lasting = 60 if action == Action.LITIGATION.value else fx.BOOST_DAYS
            extra = np.where(np.arange(WINDOW)[None, :] < lasting, step[:, None], 0.0)
        return np.exp(-(base + np.maximum(running_boost, extra)).sum(axis=1))

    for action in TRUTH_ACTIONS:
        voice = action in (Action.CALL.value, *fx.NEGOTIATION_OFFERS)
        if not voice:
            p = 1.0 - survive(action, True)
            paid = p * arrears
        else:
            s_reached, s_missed = survive(action, True), survive(action, False)
            if action == Action.CALL.value:
                point = talk[:, 0] * keep  # a promise kept within the week
                p_r = 1.0 - (1.0 - point) * s_reached
                paid = reach * p_r * arrears + (1 - reach) * (1 - s_missed) * arrears
                p = reach * p_r + (1 - reach) * (1 - s_missed)
            else:
                accept = fx.acceptance(np.full(len(e), action, dtype=object), a, w)
                if action == Action.INSTALMENT_PLAN.value:
                    point = np.zeros(len(e))
                    plan_amount = to_close / np.clip(np.ceil(to_close / np.maximum(ep.instalment[e], 1.0)) + 3, 3, 24)
                    plan_paid = accept * fx.plan_month_keep(a, w) * plan_amount
                elif action == Action.EXTENSION.value:
                    point = accept * keep * EXTENSION_WITHIN_WINDOW
                    plan_paid = 0.0
                elif action == Action.INTEREST_RELIEF.value:
                    point = accept * np.clip(keep + 0.1, 0, 0.97)
                    plan_paid = 0.0
                else:
                    point = accept * fx.settlement_paid(a)
                    plan_paid = 0.0
                p_r = 1.0 - (1.0 - point) * s_reached
                p = reach * p_r + (1 - reach) * (1 - s_missed)
                settle = action == Action.SETTLEMENT.value
                paid_r = (
                    point * (to_close if settle else arrears)
                    + (1.0 - point) * (1 - s_reached) * arrears
                    + (1.0 - p_r) * plan_paid
                )
                paid = reach * paid_r + (1 - reach) * (1 - s_missed) * arrears
        out["episode"].append(e)
        out["action"].append(np.full(len(e), action, dtype=object))
        out["p"].append(np.clip(p, 0.0, 1.0))
        out["paid"].append(np.maximum(paid, 0.0))
    return {k: np.concatenate(v) for k, v in out.items()}


def snapshot_hazards(
    book: Book,
    b: Behaviour,
    a: dict,
    params: SimulateParams,
    month_ends: np.ndarray,
    ended_day: np.ndarray,
) -> dict[str, np.ndarray]:
    """Per loan and month end: the true probabilities behind ``dpd30_next_90d`` and ``cure_30d``.

    Inside an episode, from the day-by-day hazard the episode ran on (given the actions the logged policy
    took; after the episode ended, the hazard with no action). Before any episode, from the onset hazard
    of the instalments falling due in the next 60 days (the latent risk known, the draws not) and the
    share of each type's episodes that last 30 days. After a cure the simulator draws no second episode.
    """
    ep = b.episode_inputs
    done = b.episodes
    n = len(book.principal)
    loans = np.repeat(np.arange(n), len(month_ends))
    s = np.tile(month_ends, n)
    live = (book.originated[loans] <= s) & (s < ended_day[loans])
    loans, s = loans[live], s[live]
    p_ew = np.full(len(s), np.nan)
    p_cure = np.full(len(s), np.nan)
    # position in the episode, when one is running at s
    ep_of = np.full(n, NONE)
    ep_of[b.episode_loans] = np.arange(len(b.episode_loans))
    e = ep_of[loans]
    onset = np.where(e >= 0, ep.onset_due[np.maximum(e, 0)], NEVER)
    ended_ep = np.where(e >= 0, np.minimum(done.cure_day[np.maximum(e, 0)], done.close_day[np.maximum(e, 0)]), NEVER)
    k = s - onset
    inside = (e >= 0) & (k >= 1) & (s < ended_ep) & (k <= HORIZON_DAYS - WINDOW)
    hz = done.hazard
    cum = np.concatenate([np.zeros((hz.shape[0], 1)), np.cumsum(hz.astype(np.float64), axis=1)], axis=1)
    ei, ki = np.maximum(e[inside], 0), k[inside]
    # after the episode ended, the hazard with no action
    end_k = np.clip(ended_ep[inside] - onset[inside], 0, HORIZON_DAYS)

    def window_hazard(lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
        hi_in = np.minimum(hi, end_k)
        inside_part = cum[ei, np.maximum(hi_in, lo)] - cum[ei, lo]
        tail = np.zeros(len(lo))
        for j in range(WINDOW):
            day = lo + 1 + j
            t = (day > end_k) & (day <= hi)
            tail += np.where(
                t, fx.base_hazard(ep.kind[ei], day, ep.ability[ei], ep.willingness[ei], ep.shocked[ei]), 0.0
            )
        return inside_part + tail

    cure_ok = (ki >= 1) & (ki <= 89)
    p_in = 1.0 - np.exp(-window_hazard(ki, ki + WINDOW))
    idx = np.flatnonzero(inside)
    p_cure[idx[cure_ok]] = p_in[cure_ok]
    early = ki < 30
    surv = np.exp(-window_hazard(ki, np.full(len(ki), 30)))
    p_ew[idx[early]] = surv[early]
    # before any episode (or after a cure): the onset hazard of the next instalments
    before = ~inside & ((e < 0) | (s < onset) | (s >= ended_ep))
    cured_before = (e >= 0) & (s >= ended_ep)
    p_ew[np.flatnonzero(before & cured_before)] = 0.0
    fresh = np.flatnonzero(before & ~cured_before)
    p_ew[fresh] = _onset_within(book, b, a, params, loans[fresh], s[fresh])
    # a good borrower a few days late at s (an instalment paid 1-25 days late): current again within 30 days
    late = pl.DataFrame({"loan": book.row_loan[b.late_row], "due": book.row_due[b.late_row], "paid": b.late_paid_day})
    pairs = pl.DataFrame({"i": np.arange(len(s)), "loan": loans, "s": s}).filter(pl.Series(~inside))
    hit = pairs.join(late, on="loan").filter(pl.col("due") < pl.col("s"), pl.col("paid") > pl.col("s"))["i"].unique()
    p_cure[hit.to_numpy()] = 1.0
    return {"loan": loans, "as_of": s, "p_dpd30_next_90d": p_ew, "p_cure_30d": p_cure}


def _onset_within(
    book: Book, b: Behaviour, a: dict, params: SimulateParams, loan: np.ndarray, s: np.ndarray
) -> np.ndarray:
    """P(an onset on an instalment due in (s, s + 60] that lasts 30 days), given no onset by s."""
    done = b.episodes
    ep = b.episode_inputs
    # share of episodes of each type still unpaid at 30 days (under the logged policy, from this book)
    long = np.zeros(4)
    ended = np.minimum(done.cure_day, done.close_day) - ep.onset_due
    for t in range(4):
        m = ep.kind == t
        long[t] = (ended[m] >= 30).mean() if m.any() else 0.0
    first = last_row_due_by(book, loan, s) + 1  # the first instalment due after s
    attrs = {c: a[c][book.application] for c in TYPE_ATTRIBUTES}
    fraud = sigmoid(a["fraud_logit"][book.application])
    survive = np.ones(len(loan))
    p = np.zeros(len(loan))
    for j in range(3):
        r = first + j
        ok = (r < len(book.row_loan)) & (book.row_loan[np.minimum(r, len(book.row_loan) - 1)] == loan)
        r = np.minimum(r, len(book.row_loan) - 1)
        ok &= book.row_due[r] <= s + 60
        ok &= (b.prepay_k[loan] == 0) | (book.row_no[r] < b.prepay_k[loan])
        mult = shock_multiplier(book.row_due[r], params.shock)
        h = monthly_hazard(b.logit[loan], book.row_no[r], mult, params.risk_scale)
        h = np.where(book.row_no[r] == 1, fraud[loan] + (1 - fraud[loan]) * h, h)
        probs = type_probabilities({c: v[loan] for c, v in attrs.items()}, book.row_no[r], mult > 1.0)
        lasting = probs @ long
        lasting = np.where(book.row_no[r] == 1, fraud[loan] * long[3] + (1 - fraud[loan]) * lasting, lasting)
        p += np.where(ok, survive * h * lasting, 0.0)
        survive *= np.where(ok, 1.0 - h, 1.0)
    return np.clip(p, 0.0, 1.0)
