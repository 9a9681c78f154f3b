"""How borrowers repay: on time, a little late, early, or through one of four kinds of overdue.

Each loan's whole life is drawn at once (then cut at as_of by the caller): the instalment at which it
first misses a payment (逾期起点), which kind of overdue follows, and the payments each kind makes.

- temporary (暂时性逾期): misses one or two instalments, then pays the arrears in one go and carries on;
- severe (严重逾期): keeps paying a little, too little; some sign a plan and catch up;
- insolvent (无力偿还): stops for good, perhaps one token payment;
- malicious (恶意逾期): stops at once (first-payment fraud included) and refuses contact;
  litigation recovers part of the debt from some of the last three.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from risk.config import SimulateParams
from risk.simulate.ledger import NEVER, Payments
from risk.simulate.loans import Book
from risk.simulate.risk_model import (
    LATENT_SD,
    TYPE_ATTRIBUTES,
    monthly_hazard,
    shock_multiplier,
    sigmoid,
    type_probabilities,
)

TEMPORARY, SEVERE, INSOLVENT, MALICIOUS = range(4)  # positions in risk_model.OVERDUE_TYPES
NO_TYPE = -1
SEVERE_CURE_SHARE = 0.3  # severe borrowers who sign a plan (分期方案) and catch up
LITIGATION_SHARE = np.array([0.0, 0.2, 0.2, 0.45])  # by type, among the never-cured
BASE_LATE_SHARE = 0.075  # instalments a good borrower pays a few days late
SPLIT_SHARE = 0.05  # instalments paid in two parts
UNKNOWN_ALLOCATION_SHARE = 0.05  # payments whose instalment_no the source did not record


@dataclass(frozen=True)
class Behaviour:
    """What each loan does over its whole life; days are days since 1970, ``NEVER`` when it does not."""

    payments: Payments
    overdue_type: np.ndarray  # per loan: index into OVERDUE_TYPES, NO_TYPE without an onset
    onset_row: np.ndarray  # per loan: schedule row of the first missed instalment, -1 without
    cure_day: np.ndarray  # per loan: day the arrears were paid off
    litigation_day: np.ndarray
    enforcement_day: np.ndarray
    recovery_day: np.ndarray
    late_row: np.ndarray  # schedule rows a good borrower paid a few days late ...
    late_paid_day: np.ndarray  # ... and the day they were paid


def _last_row_due_by(book: Book, loan: np.ndarray, day: np.ndarray) -> np.ndarray:
    """Index of the loan's last schedule row due on or before ``day`` (its last row if all are)."""
    key = book.row_loan.astype(np.int64) * 2 * NEVER + book.row_due
    return np.searchsorted(key, loan.astype(np.int64) * 2 * NEVER + day, side="right") - 1


def _onsets(rng: np.random.Generator, book: Book, a: dict, params: SimulateParams) -> tuple[np.ndarray, ...]:
    """The schedule row of each loan's first missed instalment (-1 if none) and its overdue type."""
    n = len(book.principal)
    logit = a["onset_logit"][book.application] + rng.normal(0.0, LATENT_SD, n)
    fraud = rng.random(n) < sigmoid(a["fraud_logit"][book.application])
    multiplier = shock_multiplier(book.row_due, params.shock)
    hazard = monthly_hazard(logit[book.row_loan], book.row_no, multiplier, params.risk_scale)
    hit = (rng.random(len(hazard)) < hazard) | (fraud[book.row_loan] & (book.row_no == 1))
    hit_rows = np.flatnonzero(hit)
    loans, first = np.unique(book.row_loan[hit_rows], return_index=True)
    onset_row = np.full(n, -1)
    onset_row[loans] = hit_rows[first]
    has = onset_row >= 0
    attrs = {k: a[k][book.application][has] for k in TYPE_ATTRIBUTES}
    probs = type_probabilities(attrs, book.row_no[onset_row[has]], multiplier[onset_row[has]] > 1.0)
    drawn = (rng.random(has.sum())[:, None] > np.cumsum(probs, axis=1)).sum(axis=1)
    kind = np.full(n, NO_TYPE)
    kind[has] = np.minimum(drawn, MALICIOUS)
    kind[fraud] = MALICIOUS
    return onset_row, kind, logit


def simulate_behaviour(rng: np.random.Generator, book: Book, a: dict, params: SimulateParams) -> Behaviour:
    """Draw every loan's repayment life: onsets, cures, payments and legal recoveries."""
    n, n_rows = len(book.principal), len(book.row_loan)
    loan_of, due, amount = book.row_loan, book.row_due, book.row_amount
    cum_due = book.row_cum_due
    onset_row, kind, logit = _onsets(rng, book, a, params)
    onset_k = np.where(onset_row >= 0, book.row_no[np.maximum(onset_row, 0)], 0)
    onset_due = np.where(onset_row >= 0, due[np.maximum(onset_row, 0)], NEVER)
    due_before_onset = np.where(onset_row >= 0, cum_due[onset_row] - amount[onset_row], 0.0)
    total_due = cum_due[book.first_row + book.term - 1]
    instalment = amount[book.first_row]

    # early repayment plans (提前还款): the instalment before which the borrower settles
    plans = (rng.random(n) < params.prepayment_rate) & (book.term >= 3)
    prepay_k = np.where(plans, rng.integers(2, np.maximum(book.term, 3)), 0)
    # an onset after the planned settlement never happens: the loan is closed by then
    cancelled = (onset_row >= 0) & (prepay_k > 0) & (onset_k >= prepay_k)
    onset_row = np.where(cancelled, -1, onset_row)
    kind = np.where(cancelled, NO_TYPE, kind)
    onset_k = np.where(cancelled, 0, onset_k)
    onset_due = np.where(cancelled, NEVER, onset_due)

    # cures: temporary borrowers pay the arrears after 1-89 days; some severe ones sign a plan
    # in a downturn a temporary setback lasts longer
    shocked = shock_multiplier(onset_due, params.shock) > 1.0
    u = rng.random(n) + np.where(shocked, 0.5, 0.0)
    gap = np.where(
        u < 0.4, rng.integers(1, 30, n), np.where(u < 0.93, rng.integers(30, 60, n), rng.integers(60, 90, n))
    )
    severe_cures = (kind == SEVERE) & (rng.random(n) < SEVERE_CURE_SHARE)
    cure_day = np.where(
        kind == TEMPORARY, onset_due + gap, np.where(severe_cures, onset_due + rng.integers(35, 121, n), NEVER)
    )
    prev_due = due[book.first_row + np.maximum(prepay_k, 2) - 2]
    keeps_plan = (prepay_k > 0) & ((onset_row < 0) | (cure_day < prev_due))
    prepay_k = np.where(keeps_plan, prepay_k, 0)

    # legal route for those who never cure (诉讼, 强制执行) and what it recovers
    sued = (kind >= SEVERE) & (cure_day == NEVER) & (rng.random(n) < LITIGATION_SHARE[np.maximum(kind, 0)])
    litigation_day = np.where(sued, onset_due + rng.integers(100, 201, n), NEVER)
    enforced = sued & (rng.random(n) < 0.5)
    enforcement_day = np.where(enforced, litigation_day + rng.integers(60, 151, n), NEVER)
    recovered = enforced & (rng.random(n) < 0.6)
    recovery_day = np.where(recovered, enforcement_day + rng.integers(0, 21, n), NEVER)

    parts: list[tuple[np.ndarray, ...]] = []  # (loan, day, amount, instalment_no)

    # regular instalments: before the onset, after a cure, before an early settlement
    row_ix = np.arange(n_rows)
    before_onset = (onset_row[loan_of] < 0) | (row_ix < onset_row[loan_of])
    after_cure = due > cure_day[loan_of]
    regular = (before_onset | after_cure) & ((prepay_k[loan_of] == 0) | (book.row_no < prepay_k[loan_of]))
    rows = np.flatnonzero(regular)
    risk = logit - np.median(logit)
    late_share = np.clip(BASE_LATE_SHARE * np.exp(0.6 * risk), 0.003, 0.25)[loan_of[rows]]
    late = rng.random(len(rows)) < late_share
    offset = np.where(
        late, np.minimum(rng.geometric(0.12, len(rows)), 25), -np.minimum(rng.geometric(0.45, len(rows)) - 1, 10)
    )
    floor = np.maximum(book.originated[loan_of[rows]], np.where(after_cure[rows], cure_day[loan_of[rows]], 0)) + 1
    day = np.maximum(due[rows] + offset, floor)
    split = rng.random(len(rows)) < SPLIT_SHARE
    first_part = np.round(amount[rows] * rng.uniform(0.3, 0.7, len(rows)), 2)
    s = np.flatnonzero(split)
    parts.append(
        (
            loan_of[rows[s]],
            np.maximum(day[s] - rng.integers(1, 4, len(s)), floor[s]),
            first_part[s],
            book.row_no[rows[s]],
        )
    )
    parts.append((loan_of[rows], day, np.where(split, amount[rows] - first_part, amount[rows]), book.row_no[rows]))
    late_row, late_paid_day = rows[late], day[late]

    # early settlement: the remaining principal plus interest accrued since the last due date
    p = np.flatnonzero(prepay_k > 0)
    last_paid = book.first_row[p] + prepay_k[p] - 2
    since = due[last_paid + 1] - due[last_paid]
    settle_day = due[last_paid] + 13 + (rng.random(len(p)) * (since - 15)).astype(np.int64)
    balance = book.principal[p] - (
        np.cumsum(book.row_principal)[last_paid] - np.r_[0.0, np.cumsum(book.row_principal)][book.first_row[p]]
    )
    accrued = np.round(balance * book.rate[p] / 365.0 * (settle_day - due[last_paid]), 2)
    parts.append((p, settle_day, np.round(balance + accrued, 2), prepay_k[p]))

    # severe: small irregular payments until a cure or a lawsuit, never more than is owed
    owed = total_due - due_before_onset
    paid_partial = np.zeros(n)
    sev = np.flatnonzero(kind == SEVERE)
    stop = np.minimum(cure_day[sev], litigation_day[sev])
    for month in range(12):
        day = onset_due[sev] + 10 + 30 * month + rng.integers(0, 16, len(sev))
        pays = (rng.random(len(sev)) < 0.65) & (day < stop)
        amt = np.minimum(
            np.round(instalment[sev] * rng.uniform(0.25, 0.8, len(sev)), 2), owed[sev] - paid_partial[sev] - 5.0
        )
        pays &= amt > 0
        paid_partial[sev[pays]] += amt[pays]
        parts.append((sev[pays], day[pays], amt[pays], np.zeros(pays.sum(), dtype=np.int64)))

    # insolvent: sometimes one token payment soon after the onset
    ins = np.flatnonzero((kind == INSOLVENT) & (rng.random(n) < 0.25))
    token = np.round(instalment[ins] * rng.uniform(0.05, 0.3, len(ins)), 2)
    paid_partial[ins] += token
    parts.append((ins, onset_due[ins] + rng.integers(3, 46, len(ins)), token, np.zeros(len(ins), dtype=np.int64)))

    # a cure pays every instalment due by that day, net of what was paid since the onset
    c = np.flatnonzero(cure_day < NEVER)
    through = cum_due[_last_row_due_by(book, c, cure_day[c])]
    lump = np.round(through - due_before_onset[c] - paid_partial[c], 2)
    ok = lump > 0
    parts.append((c[ok], cure_day[c[ok]], lump[ok], onset_k[c[ok]]))

    # enforcement recovers part of what is owed, sometimes all of it
    r = np.flatnonzero(recovered)
    share = np.where(rng.random(len(r)) < 0.3, 1.0, rng.uniform(0.3, 0.9, len(r)))
    outstanding = owed[r] - paid_partial[r]
    parts.append((r, recovery_day[r], np.round(share * outstanding, 2), np.zeros(len(r), dtype=np.int64)))

    loan, day, amt, inst = (np.concatenate(x) for x in zip(*parts, strict=True))
    inst = np.where(rng.random(len(inst)) < UNKNOWN_ALLOCATION_SHARE, 0, inst)
    seconds = rng.integers(8 * 3600, 23 * 3600, len(loan))
    order = np.lexsort((seconds, day, loan))
    payments = Payments(
        loan=loan[order], day=day[order], amount=amt[order], instalment_no=inst[order], seconds=seconds[order]
    )
    return Behaviour(
        payments=payments,
        overdue_type=kind,
        onset_row=onset_row,
        cure_day=cure_day,
        litigation_day=litigation_day,
        enforcement_day=enforcement_day,
        recovery_day=recovery_day,
        late_row=late_row,
        late_paid_day=late_paid_day,
    )
