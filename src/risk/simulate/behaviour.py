"""How borrowers repay: on time, a little late, early, or through one of four kinds of overdue.

Each loan's whole life is drawn (then cut at as_of by the caller): the instalment at which it first
misses a payment (逾期起点) and which kind of overdue follows are drawn up front; what happens after is
not. The overdue episode runs day by day in :mod:`risk.simulate.episodes`, where the lender's actions
come first and the borrower's payments are drawn from what was done:

- temporary (暂时性逾期): able and willing after a one-off shock: pays the arrears, sooner when reminded;
- severe (严重逾期): weak ability: pays a little, now and then; a plan (分期方案) is their way back;
- insolvent (无力偿还): cannot pay: almost never current again, whatever is done; a plan brings partial payment;
- malicious (恶意逾期): able but unwilling (first-payment fraud included): avoids contact; a lawyer's
  letter or a suit moves some, a court judgment recovers from those with assets.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from risk.config import CollectionRules, SimulateParams
from risk.contract import EmploymentType
from risk.simulate.episodes import Balances, EpisodeInputs, Episodes, late_reminders, run_episodes
from risk.simulate.ledger import NEVER, Payments, last_row_due_by
from risk.simulate.loans import CONTRACT_MAX_OVERDUE, Book
from risk.simulate.risk_model import (
    LATENT_SD,
    TYPE_ATTRIBUTES,
    lookup,
    monthly_hazard,
    shock_multiplier,
    sigmoid,
    type_probabilities,
)

TEMPORARY, SEVERE, INSOLVENT, MALICIOUS = range(4)  # positions in risk_model.OVERDUE_TYPES
NO_TYPE = -1
# latent ability and willingness to pay, by type (uniform ranges that overlap: no one signal tells the type)
ABILITY_RANGE = np.array([[0.5, 1.0], [0.15, 0.6], [0.0, 0.3], [0.45, 1.0]])
WILLINGNESS_RANGE = np.array([[0.55, 1.0], [0.35, 0.9], [0.3, 0.9], [0.0, 0.4]])
# assets a court can reach: log-odds shift by type (the malicious are able; the insolvent lost theirs)
ASSET_SHIFT = np.array([0.0, -0.4, -1.2, 0.6])
SOCIAL_INSURANCE = {  # employer-paid social insurance (社保): wages a court can garnish
    EmploymentType.WHITE_COLLAR: 0.8,
    EmploymentType.BLUE_COLLAR: 0.55,
    EmploymentType.SELF_EMPLOYED: 0.15,
    EmploymentType.FREELANCE: 0.2,
}
# other online loans outstanding (多头借贷) added by the time of the onset, by type
EXTRA_PLATFORM_LOANS = np.array([0.3, 1.5, 2.5, 1.0])
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
    close_day: np.ndarray  # per loan: day a plan or a settlement closed it
    episode_loans: np.ndarray  # the loans with an overdue episode, in the order of ``episodes``
    episode_inputs: EpisodeInputs
    episodes: Episodes
    reminders: dict[str, np.ndarray]  # reminder rows for instalments a good borrower pays late (row, day, ...)
    latent: tuple[np.ndarray, np.ndarray]  # per loan: ability, willingness
    assets: dict[str, np.ndarray]  # per loan: true and observed assets (borrower_profiles)
    logit: np.ndarray  # per loan: the onset log-odds, latent risk included
    prepay_k: np.ndarray  # per loan: the instalment before which it is settled early, 0 if not
    late_row: np.ndarray  # schedule rows a good borrower paid a few days late ...
    late_paid_day: np.ndarray  # ... and the day they were paid


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


def _latents(rng: np.random.Generator, kind: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per loan, latent ability and willingness to pay (good borrowers: both high)."""
    n = len(kind)
    u = rng.random((2, n))
    k = np.maximum(kind, 0)
    ability = np.where(kind >= 0, ABILITY_RANGE[k, 0] + u[0] * (ABILITY_RANGE[k, 1] - ABILITY_RANGE[k, 0]), 0.9)
    will = np.where(
        kind >= 0, WILLINGNESS_RANGE[k, 0] + u[1] * (WILLINGNESS_RANGE[k, 1] - WILLINGNESS_RANGE[k, 0]), 0.9
    )
    return ability, will


def _assets(rng: np.random.Generator, book: Book, a: dict, kind: np.ndarray) -> dict[str, np.ndarray]:
    """Per loan: assets at application (as declared and checked), at the onset (the truth), and as the lender sees them.

    What a judgment can recover depends on property or an employer to garnish (enforceable).
    """
    n = len(kind)
    app = book.application
    income = np.log(a["monthly_income"][app] / 6500.0)
    age = a["age"][app]
    shift = np.where(kind >= 0, ASSET_SHIFT[np.maximum(kind, 0)], 0.0)
    u = rng.random((8, n))
    p_property = sigmoid(-1.0 + 1.0 * income + 0.04 * (age - 30))
    p_vehicle = sigmoid(-1.2 + 0.8 * income + 0.02 * (age - 30))
    p_social = lookup(a["employment_type"][app], SOCIAL_INSURANCE)
    property_at_app = u[0] < p_property
    vehicle_at_app = u[1] < p_vehicle
    social_at_app = u[2] < p_social
    # by the onset, the type has shown: the insolvent lost a job or sold assets, the malicious kept theirs
    property_now = np.where(
        kind >= 0,
        u[3] < sigmoid(np.log(p_property / (1 - p_property)) + 1.5 * property_at_app - 0.75 + shift),
        property_at_app,
    )
    social_now = np.where(
        kind >= 0,
        u[4] < sigmoid(np.log(p_social / (1 - p_social)) + 1.5 * social_at_app - 0.75 + 1.5 * shift),
        social_at_app,
    )
    vehicle_now = np.where(kind >= 0, vehicle_at_app & (u[5] > 0.2 - 0.1 * shift), vehicle_at_app)
    inquiries = a["credit_inquiries_6m"][app]
    platforms_at_app = rng.poisson(0.3 + 0.35 * np.minimum(inquiries, 10))
    extra = np.where(kind >= 0, EXTRA_PLATFORM_LOANS[np.maximum(kind, 0)], 0.0)
    platforms_now = platforms_at_app + rng.poisson(extra)
    enforceable = property_now | social_now
    # the legal team's asset search (财产线索) gets each wrong now and then
    property_seen = property_now ^ (u[6] < 0.07)
    social_seen = social_now ^ (u[7] < 0.07)
    return {
        "property_at_app": property_at_app,
        "vehicle_at_app": vehicle_at_app,
        "social_at_app": social_at_app,
        "platforms_at_app": platforms_at_app,
        "property_now": property_now,
        "vehicle_now": vehicle_now,
        "social_now": social_now,
        "platforms_now": platforms_now,
        "property_seen": property_seen,
        "social_seen": social_seen,
        "enforceable": enforceable,
        "seen_enforceable": property_seen | social_seen,
        "refresh_lag": rng.integers(5, 21, n),  # days after the onset of the bureau query (征信复查)
    }


def simulate_behaviour(
    rng: np.random.Generator,
    book: Book,
    a: dict,
    params: SimulateParams,
    *,
    rules: CollectionRules,
    as_of_day: int,
) -> Behaviour:
    """Draw every loan's repayment life: onsets, the overdue episodes with their actions, and payments."""
    n, n_rows = len(book.principal), len(book.row_loan)
    loan_of, due, amount = book.row_loan, book.row_due, book.row_amount
    cum_due = book.row_cum_due
    onset_row, kind, logit = _onsets(rng, book, a, params)
    onset_k = np.where(onset_row >= 0, book.row_no[np.maximum(onset_row, 0)], 0)
    onset_due = np.where(onset_row >= 0, due[np.maximum(onset_row, 0)], NEVER)
    due_before_onset = np.where(onset_row >= 0, cum_due[onset_row] - amount[onset_row], 0.0)
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

    # the overdue episodes, day by day: the lender acts, then the borrower responds (episodes.py)
    latent = _latents(rng, kind)
    assets = _assets(rng, book, a, kind)
    ep_loans = np.flatnonzero(onset_row >= 0)
    inputs = EpisodeInputs(
        loan=ep_loans,
        kind=kind[ep_loans],
        onset_due=onset_due[ep_loans],
        ability=latent[0][ep_loans],
        willingness=latent[1][ep_loans],
        contract_max=lookup(book.product[ep_loans], CONTRACT_MAX_OVERDUE).astype(np.int64),
        enforceable=assets["enforceable"][ep_loans],
        seen_enforceable=assets["seen_enforceable"][ep_loans],
        shocked=shock_multiplier(onset_due[ep_loans], params.shock) > 1.0,
        instalment=instalment[ep_loans],
        paid_before=due_before_onset[ep_loans],
        to_close_at=Balances(book, ep_loans),
    )
    engine_rng = np.random.default_rng(rng.integers(2**63))  # drawn in the same place whatever the policy
    episodes = run_episodes(
        engine_rng,
        inputs,
        rules=rules,
        holdout_share=params.holdout_share,
        act=params.collections_policy == "logged",
        as_of_day=as_of_day,
    )
    cure_day = np.full(n, NEVER)
    cure_day[ep_loans] = episodes.cure_day
    close_day = np.full(n, NEVER)
    close_day[ep_loans] = episodes.close_day
    paid_partial = np.zeros(n)
    paid_partial[ep_loans] = episodes.paid
    prev_due = due[book.first_row + np.maximum(prepay_k, 2) - 2]
    keeps_plan = (prepay_k > 0) & ((onset_row < 0) | (cure_day < prev_due))
    prepay_k = np.where(keeps_plan, prepay_k, 0)

    parts: list[tuple[np.ndarray, ...]] = []  # (loan, day, amount, instalment_no)

    # regular instalments: before the onset, after a cure, before an early settlement
    row_ix = np.arange(n_rows)
    before_onset = (onset_row[loan_of] < 0) | (row_ix < onset_row[loan_of])
    after_cure = due > cure_day[loan_of]
    regular = (before_onset | after_cure) & ((prepay_k[loan_of] == 0) | (book.row_no < prepay_k[loan_of]))
    risk = logit - np.median(logit)
    late_share = np.clip(BASE_LATE_SHARE * np.exp(0.6 * risk), 0.003, 0.25)[loan_of]
    late_all = rng.random(n_rows) < late_share
    natural = np.minimum(rng.geometric(0.12, n_rows), 25)  # days late with no reminder at all
    early = -np.minimum(rng.geometric(0.45, n_rows) - 1, 10)
    split_all = rng.random(n_rows) < SPLIT_SHARE
    first_share = rng.uniform(0.3, 0.7, n_rows)
    split_lead = rng.integers(1, 4, n_rows)
    late_days, reminders = late_reminders(
        rng,
        natural,
        late_all & regular,
        kind[loan_of],
        due=due,
        holdout_share=params.holdout_share,
        act=params.collections_policy == "logged",
        promise_grace_days=rules.promise_grace_days,
    )
    rows = np.flatnonzero(regular)
    late = late_all[rows]
    offset = np.where(late, late_days[rows], early[rows])
    floor = np.maximum(book.originated[loan_of[rows]], np.where(after_cure[rows], cure_day[loan_of[rows]], 0)) + 1
    day = np.maximum(due[rows] + offset, floor)
    split = split_all[rows]
    first_part = np.round(amount[rows] * first_share[rows], 2)
    s = np.flatnonzero(split)
    parts.append(
        (
            loan_of[rows[s]],
            np.maximum(day[s] - split_lead[rows[s]], floor[s]),
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

    # what the episodes paid: small payments, plans, settlements, court recoveries
    pe = episodes.payments
    parts.append((ep_loans[pe["episode"]], pe["day"], pe["amount"], np.zeros(len(pe["day"]), dtype=np.int64)))

    # a cure pays every instalment due by that day, net of what was paid since the onset
    c = np.flatnonzero(cure_day < NEVER)
    through = cum_due[last_row_due_by(book, c, cure_day[c])]
    lump = np.round(through - due_before_onset[c] - paid_partial[c], 2)
    ok = lump > 0
    parts.append((c[ok], cure_day[c[ok]], lump[ok], onset_k[c[ok]]))

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
        close_day=close_day,
        episode_loans=ep_loans,
        episode_inputs=inputs,
        episodes=episodes,
        reminders=reminders,
        latent=latent,
        assets=assets,
        logit=logit,
        prepay_k=prepay_k,
        late_row=late_row,
        late_paid_day=late_paid_day,
    )
