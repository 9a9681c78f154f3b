"""Overdue episodes day by day: the lender acts, the borrower responds, and only then is the outcome drawn.

Each loan that misses an instalment (逾期) enters an episode on the day after the missed due date. Every
day of the episode, in this order:

1. agreements fall due: a promise or an extension is kept (the arrears are paid) or broken, a plan's
   monthly instalment is paid or the plan breaks on its first miss, a settlement is paid and closes the loan;
2. on a decision day the lender's logged policy (the ladder: SMS, calls, negotiation offers, a lawyer's
   letter, a suit) picks an action with a known probability, or the loan sits in a hold-out window (对照组)
   and gets nothing, logged as such; contacts respect ``CollectionRules`` (no contact while a promise or
   agreement runs, none after a no-contact request or a complaint, third parties only after failed
   attempts), except for a small, known share of violations;
3. the borrower pays the arrears in full with the day's hazard (``risk.simulate.effects``), which
   depends on their type, ability and willingness, days past due and what was done recently.

The random numbers are drawn per episode and day in a fixed order whatever the policy does, so the same
seed with ``collections_policy: withhold`` gives the same borrowers in the same circumstances, with no
action: the difference is the actions' effect (common random numbers).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from risk.config import CollectionRules
from risk.contract import Action, AgreementKind, AgreementStatus, CloseReason, ContactChannel, NegotiationChannel
from risk.contract import Outcome as O
from risk.simulate import effects as fx
from risk.simulate.effects import INSOLVENT, SEVERE
from risk.simulate.ledger import PAID_TOLERANCE, last_row_due_by
from risk.simulate.loans import Book

HORIZON_DAYS = 420  # an episode is followed this long (legal recoveries may come later)
# days into an episode on which the collector may act, denser early (早期催收)
DECISION_DAYS = np.array(
    [1, 2, 3, 4, 5, 7, 9, 11, 14, 17, 20, 23, 26, 29, 32, 36, 40, 45, 50, 55, 60, 66, 72, 78, 85, 92, 100]
    + list(range(110, HORIZON_DAYS + 1, 12))
)
HOLDOUT_WINDOW_STARTS = (1, 31, 91, 181)  # a hold-out covers the 30 days from one of these
HOLDOUT_WINDOW_DAYS = 30
PROMISE_DAYS = (1, 8)  # a promise names a date this many days ahead (low inclusive, high exclusive)
PLAN_FIRST_DUE_DAYS = 20
LETTER_DEADLINE_DAYS = 15  # 律师函: days the letter gives to respond
JUDGMENT_SHARE = 0.82  # suits that reach a judgment (the rest are withdrawn or settled)
LEGAL_POLICY, LADDER_POLICY, HOLDOUT_POLICY = "legal", "ladder", "hold_out"
# the ladder's action shares by band of days past due: sms, call, email, offer, lawyer's letter
LADDER_SHARE = np.array(
    [
        [0.45, 0.45, 0.10, 0.00, 0.00],
        [0.12, 0.43, 0.00, 0.30, 0.15],
        [0.10, 0.35, 0.00, 0.30, 0.25],
    ]
)
OFFER_SHARE = np.array([0.35, 0.20, 0.15, 0.30])  # plan, extension, relief, settlement (effects.NEGOTIATION_OFFERS)
THIRD_PARTY_SHARE = 0.3  # after enough failed attempts, the share of decisions that try a third party
NEGOTIATION_CHANNELS = np.array([c.value for c in NegotiationChannel])
NEGOTIATION_CHANNEL_SHARE = np.array([0.6, 0.15, 0.1, 0.15])
ACTION_CHANNEL = {
    Action.SMS.value: ContactChannel.SMS.value,
    Action.EMAIL.value: ContactChannel.EMAIL.value,
    Action.CALL.value: ContactChannel.PHONE.value,
    Action.THIRD_PARTY_CONTACT.value: ContactChannel.PHONE.value,
    Action.LAWYERS_LETTER.value: ContactChannel.LETTER.value,
    Action.LITIGATION.value: ContactChannel.COURT.value,
    Action.ENFORCEMENT.value: ContactChannel.COURT.value,
    Action.HOLD_OUT.value: ContactChannel.NONE.value,
}
KINDS = {
    Action.INSTALMENT_PLAN.value: AgreementKind.INSTALMENT_PLAN.value,
    Action.EXTENSION.value: AgreementKind.EXTENSION.value,
    Action.INTEREST_RELIEF.value: AgreementKind.INTEREST_RELIEF.value,
    Action.SETTLEMENT.value: AgreementKind.SETTLEMENT.value,
}
NONE = -1


class Balances:
    """What an episode's loan owes on a day, from its schedule (days since 1970)."""

    def __init__(self, book: Book, loan: np.ndarray) -> None:
        self.book, self.loan = book, loan
        cum = np.cumsum(book.row_interest)
        self.cum_interest = cum - np.r_[0.0, cum][book.first_row][book.row_loan]
        self.cum_due = book.row_cum_due

    def _last_row(self, e: np.ndarray, day: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        loan = self.loan[e]
        row = last_row_due_by(self.book, loan, day)
        ok = (row >= 0) & (self.book.row_loan[np.maximum(row, 0)] == loan)
        return np.maximum(row, 0), ok

    def due_by(self, e: np.ndarray, day: np.ndarray) -> np.ndarray:
        """Everything scheduled to fall due by ``day``."""
        row, ok = self._last_row(e, day)
        return np.where(ok, self.cum_due[row], 0.0)

    def days_past_due(self, e: np.ndarray, day: np.ndarray, paid: np.ndarray) -> np.ndarray:
        """Days past due on ``day`` after ``paid`` in all, waterfall-style (the oldest instalment first)."""
        loan = self.loan[e]
        stride = 1e9
        key = self.book.row_loan * stride + self.cum_due
        row = np.searchsorted(key, loan * stride + paid + PAID_TOLERANCE, side="right")
        row = np.minimum(row, len(key) - 1)
        open_ = (self.book.row_loan[row] == loan) & (self.cum_due[row] > paid + PAID_TOLERANCE)
        return np.where(open_, np.maximum(day - self.book.row_due[row], 0), 0)

    def __call__(self, e: np.ndarray, day: np.ndarray) -> np.ndarray:
        """The amount that settles the loan on ``day``: all principal plus the interest due by then."""
        row, ok = self._last_row(e, day)
        return self.book.principal[self.loan[e]] + np.where(ok, self.cum_interest[row], 0.0)


@dataclass(frozen=True)
class EpisodeInputs:
    """What the engine knows of each episode (one entry per overdue loan), days since 1970."""

    loan: np.ndarray
    kind: np.ndarray  # index into OVERDUE_TYPES
    onset_due: np.ndarray  # due day of the first missed instalment: day 0 of the episode
    ability: np.ndarray  # latent, 0-1
    willingness: np.ndarray  # latent, 0-1
    contract_max: np.ndarray  # contract's maximum days overdue before legal action
    enforceable: np.ndarray  # true: property or a garnishable employer a judgment can reach
    seen_enforceable: np.ndarray  # what the lender's asset search shows (noisy)
    shocked: np.ndarray  # the onset fell in a downturn: a temporary setback lasts longer
    instalment: np.ndarray
    paid_before: np.ndarray  # everything due before the onset, paid
    to_close_at: Balances  # what each episode's loan owes on a day


@dataclass
class Episodes:
    """What happened: cure and close days, payments, actions, agreements, legal cases, and hazards."""

    cure_day: np.ndarray
    close_day: np.ndarray  # closed by a completed plan, a paid settlement or a full recovery
    paid: np.ndarray  # paid during the episode, before any cure lump
    payments: dict[str, np.ndarray]  # episode, day, amount
    actions: dict[str, np.ndarray]  # episode, day, action, channel, outcome, hardship_reason, policy, probability
    agreements: dict[str, np.ndarray]
    legal: dict[str, np.ndarray]
    hazard: np.ndarray  # (episodes, HORIZON_DAYS + 1): the day's total hazard of paying, for the truth
    boost_at: np.ndarray  # per episode, the hazard boost still running at the as-of date
    boost_until_at: np.ndarray
    paid_at: np.ndarray  # per episode: paid during the episode by the as-of date
    k_at: np.ndarray  # per episode: days into the episode at as_of (NONE when not open then)


class _Log:
    """Column lists that grow by blocks of rows."""

    def __init__(self, *names: str) -> None:
        self.cols: dict[str, list[np.ndarray]] = {n: [] for n in names}

    def add(self, n: int, **values: object) -> None:
        if n == 0:
            return
        for name, blocks in self.cols.items():
            v = values.get(name)
            blocks.append(np.broadcast_to(np.asarray(v, dtype=object if isinstance(v, str) else None), n).copy())

    def frame(self, dtypes: dict[str, object]) -> dict[str, np.ndarray]:
        return {
            n: (np.concatenate(b).astype(dtypes[n]) if b else np.zeros(0, dtype=dtypes[n]))
            for n, b in self.cols.items()
        }


ACTION_DTYPES = {
    "episode": np.int64,
    "day": np.int64,
    "action": object,
    "channel": object,
    "outcome": object,
    "hardship_reason": object,
    "policy": object,
    "probability": np.float64,
}
AGREEMENT_DTYPES = {
    "episode": np.int64,
    "kind": object,
    "channel": object,
    "signed_day": np.int64,
    "promised_day": np.int64,
    "promised_amount": np.float64,
    "plan_instalments": np.int64,
    "plan_first_due": np.int64,
    "plan_amount": np.float64,
    "extension_days": np.int64,
    "relief_amount": np.float64,
    "settlement_amount": np.float64,
    "write_down": np.float64,
    "deadline_day": np.int64,  # kept if paid by then (promise date plus grace, the end of an extension...)
}


def run_episodes(
    rng: np.random.Generator,
    ep: EpisodeInputs,
    *,
    rules: CollectionRules,
    holdout_share: float,
    act: bool,
    as_of_day: int,
) -> Episodes:
    """Simulate every episode for ``HORIZON_DAYS``; ``act=False`` withholds every action (and the legal route)."""
    n = len(ep.loan)
    kind, a, w = ep.kind, ep.ability, ep.willingness
    ix = np.arange(n)
    decision = np.zeros(HORIZON_DAYS + 2, dtype=bool)
    decision[DECISION_DAYS] = True

    cure_k = np.full(n, NONE)
    close_k = np.full(n, NONE)
    done = np.zeros(n, dtype=bool)
    paid = np.zeros(n)
    boost_v = np.zeros(n)
    boost_until = np.full(n, NONE)
    voice7 = np.zeros(n)
    reached_k = np.full(n, -999)
    unreach_run = np.zeros(n, dtype=np.int64)
    quiet_until = np.full(n, NONE)  # no contact until then: a no-contact request or a complaint
    hold_until = np.full(n, NONE)
    max_done = np.zeros(n, dtype=bool)  # the contract's maximum was reached (and acted on, or not)
    last_signed = np.full(n, NONE)  # the day of the latest agreement: its amount counts what was paid before
    # one pending one-off payment at a time: a promise, an extension, a relief or a settlement
    pend_k = np.full(n, NONE)  # day the payment is made if kept
    pend_end = np.full(n, NONE)  # day it counts as broken if not
    pend_keep = np.zeros(n, dtype=bool)
    pend_settle = np.zeros(n, dtype=bool)
    pend_id = np.full(n, NONE)
    plan_next = np.full(n, NONE)
    plan_amt = np.zeros(n)
    plan_left = np.zeros(n, dtype=np.int64)
    plan_id = np.full(n, NONE)
    plan_keep = fx.plan_month_keep(a, w)
    # the legal route (法务): registration and letter, suit, judgment, enforcement
    reg_k = np.full(n, NONE)
    letter_k = np.full(n, NONE)
    file_at = np.full(n, NONE)  # day the logged policy will consider suing
    filed_k = np.full(n, NONE)
    claim = np.zeros(n)
    judged_at = np.full(n, NONE)
    withdrawn_at = np.full(n, NONE)
    enforce_k = np.full(n, NONE)
    # severe borrowers pay a little now and then; some insolvent ones make one token payment
    partial_offset = rng.integers(0, 16, n)
    token_k = np.where((kind == INSOLVENT) & (rng.random(n) < 0.25), rng.integers(3, 46, n), NONE)
    k_at = np.where(
        (as_of_day - ep.onset_due >= 1) & (as_of_day - ep.onset_due <= HORIZON_DAYS), as_of_day - ep.onset_due, NONE
    )
    boost_at = np.zeros(n)
    boost_until_at = np.full(n, NONE)
    paid_at = np.zeros(n)

    hazard = np.zeros((n, HORIZON_DAYS + 1), dtype=np.float32)
    actions = _Log(*ACTION_DTYPES)
    agreements = _Log(*AGREEMENT_DTYPES)
    status = {"id": [], "status": [], "day": []}
    pays = _Log("episode", "day", "amount")
    next_agreement = 0

    def sign(m: np.ndarray, k: int, offer: str | np.ndarray, channel: np.ndarray, **terms: np.ndarray) -> np.ndarray:
        nonlocal next_agreement
        cnt = int(m.sum())
        ids = np.arange(next_agreement, next_agreement + cnt)
        next_agreement += cnt
        e = ix[m]
        last_signed[e] = k
        row = {
            k2: np.full(cnt, NONE)
            for k2 in ("promised_day", "plan_instalments", "plan_first_due", "extension_days", "deadline_day")
        }
        row |= {k2: np.full(cnt, np.nan) for k2 in AGREEMENT_DTYPES if AGREEMENT_DTYPES[k2] is np.float64}
        row |= {k2: v for k2, v in terms.items()}
        agreements.add(
            cnt,
            episode=e,
            kind=offer,
            channel=channel,
            signed_day=ep.onset_due[e] + k,
            **row,
        )
        return ids

    def set_status(ids: np.ndarray, value: str, day: np.ndarray) -> None:
        status["id"].append(ids)
        status["status"].append(np.full(len(ids), value, dtype=object))
        status["day"].append(day)

    def log(m: np.ndarray, k: int, action, outcome, policy, prob, channel=None, reason=None) -> None:
        cnt = int(m.sum())
        if cnt == 0:
            return
        act_v = action[m] if isinstance(action, np.ndarray) else action
        if channel is None:
            channel = np.vectorize(ACTION_CHANNEL.get, otypes=[object])(np.broadcast_to(act_v, cnt)) if cnt else []
        elif isinstance(channel, np.ndarray):
            channel = channel[m]
        actions.add(
            cnt,
            episode=ix[m],
            day=ep.onset_due[m] + k,
            action=act_v,
            channel=channel,
            outcome=outcome[m] if isinstance(outcome, np.ndarray) else outcome,
            hardship_reason=reason[m] if isinstance(reason, np.ndarray) else reason,
            policy=policy[m] if isinstance(policy, np.ndarray) else policy,
            probability=prob[m] if isinstance(prob, np.ndarray) else prob,
        )

    for k in range(1, HORIZON_DAYS + 1):
        u = rng.random((8, n))  # fixed draws per day whatever the policy: common random numbers
        day = ep.onset_due + k
        live = ~done
        # 1. agreements fall due -----------------------------------------------------------------------------
        due_pend = live & (pend_k == k) & pend_keep
        if due_pend.any():
            settle = due_pend & pend_settle
            amount = np.zeros(n)
            if settle.any():
                amount[settle] = np.maximum(
                    ep.to_close_at(ix[settle], day[settle]) - ep.paid_before[settle] - paid[settle], 0.0
                )
                pays.add(
                    int(settle.sum()), episode=ix[settle], day=day[settle], amount=np.ceil(amount[settle] * 100) / 100
                )
                paid[settle] += np.ceil(amount[settle] * 100) / 100
                close_k[settle] = k
            cured = due_pend & ~pend_settle
            cure_k[cured] = k
            done |= due_pend
            kept = pend_id[due_pend]
            set_status(kept, AgreementStatus.KEPT.value, day[due_pend])
            pend_k[due_pend] = NONE
            pend_end[due_pend] = NONE
        broken = live & ~done & (pend_end == k)
        if broken.any():
            set_status(pend_id[broken], AgreementStatus.BROKEN.value, day[broken])
            pend_k[broken] = NONE
            pend_end[broken] = NONE
        plan_due = live & ~done & (plan_next == k)
        if plan_due.any():
            pay = plan_due & (u[0] < plan_keep)
            miss = plan_due & ~pay
            owe = np.zeros(n)
            owe[pay] = np.maximum(ep.to_close_at(ix[pay], day[pay]) - ep.paid_before[pay] - paid[pay], 0.0)
            # the plan spreads every scheduled amount; the loan closes once principal plus interest due is paid
            amt = np.round(np.minimum(plan_amt, np.ceil(owe * 100) / 100), 2)
            pays.add(int(pay.sum()), episode=ix[pay], day=day[pay], amount=amt[pay])
            paid[pay] += amt[pay]
            plan_left[pay] -= 1
            finished = pay & ((amt >= owe - 0.005) | (plan_left <= 0))
            closes = finished & (amt >= owe - 0.005)
            close_k[closes] = k
            done |= closes
            set_status(plan_id[finished], AgreementStatus.COMPLETED.value, day[finished])
            plan_next[pay & ~finished] = k + 30
            plan_next[finished] = NONE
            set_status(plan_id[miss], AgreementStatus.BROKEN.value, day[miss])
            plan_next[miss] = NONE
            reached_k[pay] = k
        in_plan = plan_next != NONE
        pending = pend_k != NONE
        live = ~done

        # 2. the lender decides -------------------------------------------------------------------------------
        dpd = ep.to_close_at.days_past_due(ix, day, ep.paid_before + paid)  # the ledger's, as the lender sees it
        b = fx.band(dpd)
        if act:
            # monitoring: a reminder three days before each agreed date (履约提醒)
            remind = live & (((plan_next - 3) == k) | ((pend_k - 3) == k))
            log(remind, k, Action.SMS.value, O.DELIVERED.value, LADDER_POLICY, 1.0)
            if k in HOLDOUT_WINDOW_STARTS:
                start = live & (u[1] < holdout_share)
                hold_until[start] = k + HOLDOUT_WINDOW_DAYS - 1
            held = hold_until >= k
            legal_on = filed_k != NONE
            free = live & ~in_plan & ~pending & ~legal_on & (quiet_until < k)
            eligible = free & decision[k]
            log(eligible & held, k, Action.HOLD_OUT.value, O.NOT_CONTACTED.value, HOLDOUT_POLICY, holdout_share)
            choose = eligible & ~held
            # the contract's maximum reached: the legal team registers the case and sends a letter (80%)
            at_max = live & ~in_plan & ~pending & (dpd >= ep.contract_max) & ~max_done & (letter_k == NONE) & ~held
            max_done |= at_max
            letter_now = at_max & (u[2] < 0.8)
            share = LADDER_SHARE[b].copy()
            has_letter = letter_k != NONE
            no_letter_yet = (dpd < 60) | has_letter
            share[no_letter_yet, 1] += share[no_letter_yet, 4]
            share[no_letter_yet, 4] = 0.0
            cum = np.cumsum(share, axis=1)
            pick = (u[2][:, None] > cum).sum(axis=1).clip(0, 4)
            prob = share[ix, pick] * (1.0 - holdout_share)
            offer_ix = (u[3][:, None] > np.cumsum(OFFER_SHARE)).sum(axis=1).clip(0, 3)
            names = np.array(
                [Action.SMS.value, Action.CALL.value, Action.EMAIL.value, "offer", Action.LAWYERS_LETTER.value],
                dtype=object,
            )
            action = names[pick]
            is_offer = action == "offer"
            action[is_offer] = np.array(fx.NEGOTIATION_OFFERS, dtype=object)[offer_ix[is_offer]]
            prob = np.where(is_offer, prob * OFFER_SHARE[offer_ix], prob)
            third = (
                (unreach_run >= rules.third_party_after_failed_attempts)
                & np.isin(action, (Action.CALL.value,))
                & (u[3] < THIRD_PARTY_SHARE)
            )
            action[third] = Action.THIRD_PARTY_CONTACT.value
            prob = np.where(
                third,
                prob * THIRD_PARTY_SHARE,
                np.where(
                    action == Action.CALL.value,
                    prob * np.where(unreach_run >= rules.third_party_after_failed_attempts, 1 - THIRD_PARTY_SHARE, 1.0),
                    prob,
                ),
            )
            action[letter_now] = Action.LAWYERS_LETTER.value
            prob = np.where(letter_now, 0.8, prob)
            policy = np.where(letter_now, LEGAL_POLICY, LADDER_POLICY).astype(object)
            acting = choose | letter_now
            voice = acting & np.isin(
                action, (Action.CALL.value, Action.THIRD_PARTY_CONTACT.value, *fx.NEGOTIATION_OFFERS)
            )
            reach_p = fx.REACH[kind] * np.where(action == Action.THIRD_PARTY_CONTACT.value, 0.8, 1.0)
            reached = voice & (u[4] < reach_p)
            unreached = voice & ~reached
            over = voice7 > fx.OVER_CONTACT
            talk = fx.talk_probabilities(a, w, over)
            said = (u[5][:, None] > np.cumsum(talk, axis=1)).sum(axis=1).clip(0, len(fx.TALK) - 1)
            outcome = np.full(n, O.DELIVERED.value, dtype=object)
            outcome[unreached] = O.UNREACHABLE.value
            outcome[reached] = np.array(fx.TALK, dtype=object)[said[reached]]
            third_reached = reached & (action == Action.THIRD_PARTY_CONTACT.value)
            outcome[third_reached] = O.REACHED.value  # a third party is only asked to pass on a message
            accept = reached & np.isin(action, fx.NEGOTIATION_OFFERS) & (u[6] < fx.acceptance(action, a, w))
            outcome[accept] = O.AGREEMENT_SIGNED.value
            reason = np.full(n, None, dtype=object)
            hard = outcome == O.HARDSHIP_REPORTED.value
            if hard.any():
                r_ix = (u[7][:, None] > np.cumsum(fx.HARDSHIP_SHARE[kind], axis=1)).sum(axis=1).clip(0, 4)
                reason[hard] = np.array(fx.HARDSHIP_REASONS, dtype=object)[r_ix[hard]]
            neg_channel = NEGOTIATION_CHANNELS[
                (u[7][:, None] > np.cumsum(NEGOTIATION_CHANNEL_SHARE)).sum(axis=1).clip(0, 3)
            ]
            channel = np.vectorize(lambda x: ACTION_CHANNEL.get(x, "phone"), otypes=[object])(action)
            offers = np.isin(action, fx.NEGOTIATION_OFFERS)
            channel[offers] = neg_channel[offers]
            log(acting, k, action, outcome, policy, prob, channel=channel, reason=reason)
            # lawyer's letters register the case first (立案登记)
            letters = acting & (action == Action.LAWYERS_LETTER.value)
            reg_k[letters & (reg_k == NONE)] = k
            letter_k[letters] = k
            file_at[letters] = k + LETTER_DEADLINE_DAYS + 10 + (u[6][letters] * 50).astype(np.int64)
            # the debtor's answers
            unreach_run = np.where(unreached, unreach_run + 1, np.where(reached & ~third_reached, 0, unreach_run))
            voice7 = voice7 * np.exp(-1.0 / 7.0) + voice
            reached_k[reached] = k
            quiet = np.isin(outcome, (O.COMPLAINT.value, O.NO_CONTACT_REQUESTED.value))
            quiet_until[quiet] = k + rules.no_contact_days_after_request
            promise = outcome == O.PROMISE_TO_PAY.value
            if promise.any():
                lag = PROMISE_DAYS[0] + (u[6] * (PROMISE_DAYS[1] - PROMISE_DAYS[0])).astype(np.int64)
                arrears = _arrears(ep, ix, day, paid)
                ids = sign(
                    promise,
                    k,
                    AgreementKind.PROMISE_TO_PAY.value,
                    np.full(int(promise.sum()), NegotiationChannel.PHONE.value, dtype=object),
                    promised_day=(day + lag)[promise],
                    promised_amount=np.round(arrears[promise], 2),
                    deadline_day=(day + lag + rules.promise_grace_days)[promise],
                )
                set_status(ids, AgreementStatus.ACTIVE.value, day[promise])
                _pend(
                    promise,
                    k + lag,
                    k + lag + rules.promise_grace_days,
                    u[7] < fx.promise_keep(a, w),
                    False,
                    ids,
                    pend_k,
                    pend_end,
                    pend_keep,
                    pend_settle,
                    pend_id,
                )
                hazard[promise, np.minimum(k + lag, HORIZON_DAYS)[promise]] += -np.log1p(
                    -fx.promise_keep(a, w)[promise]
                ).astype(np.float32)
            for offer in fx.NEGOTIATION_OFFERS:
                m = accept & (action == offer)
                if not m.any():
                    continue
                arrears = _arrears(ep, ix, day, paid)
                if offer == Action.INSTALMENT_PLAN.value:
                    owe = np.maximum(ep.to_close_at(ix[m], day[m] + 400) - ep.paid_before[m] - paid[m], 0.0)
                    count = np.clip(np.ceil(owe / np.maximum(ep.instalment[m], 1.0)).astype(np.int64) + 3, 3, 24)
                    amt = np.ceil(owe / count * 100) / 100
                    ids = sign(
                        m,
                        k,
                        KINDS[offer],
                        channel[m],
                        plan_instalments=count,
                        plan_first_due=day[m] + PLAN_FIRST_DUE_DAYS,
                        plan_amount=amt,
                    )
                    set_status(ids, AgreementStatus.ACTIVE.value, day[m])
                    plan_next[m] = k + PLAN_FIRST_DUE_DAYS
                    plan_amt[m] = amt
                    plan_left[m] = count
                    plan_id[m] = ids
                    continue
                keep_p = fx.promise_keep(a, w)
                if offer == Action.EXTENSION.value:
                    ext = 30 + (u[6][m] * 31).astype(np.int64)
                    ids = sign(
                        m,
                        k,
                        KINDS[offer],
                        channel[m],
                        extension_days=ext,
                        deadline_day=day[m] + ext + rules.promise_grace_days,
                    )
                    lag = np.zeros(n, dtype=np.int64)
                    lag[m] = (ext * (0.3 + 0.7 * u[7][m])).astype(np.int64) + 1
                    end = np.zeros(n, dtype=np.int64)
                    end[m] = ext + rules.promise_grace_days
                    settle = False
                elif offer == Action.INTEREST_RELIEF.value:
                    relief = np.round(arrears[m] * fx.PENALTY_RATE_DAILY * k, 2)
                    ids = sign(
                        m,
                        k,
                        KINDS[offer],
                        channel[m],
                        relief_amount=relief,
                        deadline_day=day[m] + 14 + rules.promise_grace_days,
                    )
                    lag = np.where(m, 1 + (u[7] * 13).astype(np.int64), 0)
                    end = np.where(m, 14 + rules.promise_grace_days, 0)
                    keep_p = np.clip(keep_p + 0.1, 0, 0.97)
                    settle = False
                else:  # settlement: the balance due, the penalty interest and fees waived (减免罚息)
                    amount = np.maximum(ep.to_close_at(ix[m], day[m] + 7) - ep.paid_before[m] - paid[m], 0.0)
                    ids = sign(
                        m,
                        k,
                        KINDS[offer],
                        channel[m],
                        settlement_amount=np.ceil(amount * 100) / 100,
                        write_down=np.round(arrears[m] * fx.PENALTY_RATE_DAILY * k, 2),
                        deadline_day=day[m] + 7 + rules.promise_grace_days,
                    )
                    lag = np.where(m, 1 + (u[7] * 7).astype(np.int64), 0)
                    end = np.where(m, 7 + rules.promise_grace_days, 0)
                    keep_p = fx.settlement_paid(a)
                    settle = True
                set_status(ids, AgreementStatus.ACTIVE.value, day[m])
                keep = u[1] < keep_p
                _pend(m, k + lag, k + end, keep, settle, ids, pend_k, pend_end, pend_keep, pend_settle, pend_id)
                hazard[m, np.minimum(k + lag, HORIZON_DAYS)[m]] += -np.log1p(-np.minimum(keep_p[m], 0.999)).astype(
                    np.float32
                )
            # the suit (起诉): weighed against what the lender can see of the borrower's assets
            consider = live & (file_at == k) & (filed_k == NONE) & ~(plan_next != NONE) & ~(pend_k != NONE)
            p_sue = 0.2 + 0.45 * ep.seen_enforceable
            sue = consider & (u[3] < p_sue)
            filed_k[sue] = k
            claim[sue] = np.maximum(ep.to_close_at(ix[sue], day[sue]) - ep.paid_before[sue] - paid[sue], 0.0)
            log(sue, k, Action.LITIGATION.value, O.FILED.value, LEGAL_POLICY, p_sue)
            gap = 45 + (u[5] * 76).astype(np.int64)
            judged = sue & (u[4] < JUDGMENT_SHARE)
            judged_at[judged] = k + gap[judged]
            withdrawn_at[sue & ~judged] = k + 30 + (u[5][sue & ~judged] * 60).astype(np.int64)
            step = fx.boost(action, kind, dpd, reached)
            step[sue] = fx.BOOST[Action.LITIGATION.value][kind[sue]] * fx.LETTER_BAND[b[sue]]
            lasting = np.where(sue, 60, fx.BOOST_DAYS)
            running = boost_until >= k
            boost_v = np.where(acting | sue, np.maximum(np.where(running, boost_v, 0.0), step), boost_v)
            boost_until = np.where(acting | sue, np.maximum(boost_until, k + lasting - 1), boost_until)
            # court steps: the judgment, then enforcement for those still unpaid (强制执行)
            judge_today = live & (judged_at == k)
            log(judge_today, k, Action.LITIGATION.value, O.JUDGMENT.value, None, np.nan)
            enforce = live & (judged_at != NONE) & (judged_at + 15 + partial_offset == k) & (enforce_k == NONE)
            enforce_k[enforce] = k
            log(enforce, k, Action.ENFORCEMENT.value, O.FILED.value, LEGAL_POLICY, 1.0)
            done |= enforce  # from here the court recovers what it can (below)

        # 3. the borrower pays, or not ----------------------------------------------------------------------
        live = ~done & (plan_next == NONE)
        h = fx.base_hazard(kind, np.full(n, k), a, w, ep.shocked) + np.where(boost_until >= k, boost_v, 0.0)
        h *= np.where(voice7 > fx.OVER_CONTACT, fx.OVER_CONTACT_FACTOR, 1.0)
        hazard[:, k] += np.where(~done & (plan_next == NONE), h, 0.0).astype(np.float32)
        pay = live & (u[0] < -np.expm1(-h)) & (last_signed != k)
        cure_k[pay] = k
        done |= pay
        # small payments: the severe now and then (more when recently reached), a token from some insolvent
        part_day = (k >= 10) & ((k - 10 - partial_offset) % 30 == 0)
        partial = (
            ~done & (plan_next == NONE) & (kind == SEVERE) & part_day & (u[1] < 0.25 + 0.15 * (k - reached_k <= 14))
        )
        partial |= ~done & (token_k == k)
        partial &= (pend_k == NONE) & (
            last_signed != k
        )  # no small payments beside an agreed one-off payment (its amount is fixed)
        if partial.any():
            owe = ep.to_close_at(ix[partial], day[partial] + 400) - ep.paid_before[partial] - paid[partial] - 5.0
            amt = np.minimum(
                np.round(
                    ep.instalment[partial]
                    * (0.2 + 0.4 * u[2][partial])
                    * np.where(kind[partial] == INSOLVENT, 0.3, 1.0),
                    2,
                ),
                owe,
            )
            ok = amt > 0
            e_ix = ix[partial][ok]
            pays.add(int(ok.sum()), episode=e_ix, day=day[partial][ok], amount=amt[ok])
            paid[e_ix] += amt[ok]
        at = k_at == k
        if at.any():
            boost_at[at] = np.where(boost_until[at] >= k, boost_v[at], 0.0)
            boost_until_at[at] = boost_until[at]
            paid_at[at] = paid[at]

    cure_day = np.where(cure_k >= 0, ep.onset_due + cure_k, NEVER_DAY)
    close_day = np.where(close_k >= 0, ep.onset_due + close_k, NEVER_DAY)
    legal = _legal(
        rng, ep, reg_k, letter_k, filed_k, claim, judged_at, withdrawn_at, enforce_k, cure_day, close_day, paid
    )
    for block in legal["recoveries"]:
        pays.add(len(block[0]), episode=block[0], day=block[1], amount=block[2])
        np.add.at(paid, block[0], block[2])
    agreement_frame = agreements.frame(AGREEMENT_DTYPES)
    order = np.argsort(np.concatenate(status["day"]) if status["day"] else np.zeros(0), kind="stable")
    agreement_frame["status_log"] = {k2: (np.concatenate(v)[order] if v else np.zeros(0)) for k2, v in status.items()}
    return Episodes(
        cure_day=cure_day,
        close_day=close_day,
        paid=paid,
        payments=pays.frame({"episode": np.int64, "day": np.int64, "amount": np.float64}),
        actions=actions.frame(ACTION_DTYPES),
        agreements=agreement_frame,
        legal=legal,
        hazard=hazard,
        boost_at=boost_at,
        boost_until_at=boost_until_at,
        paid_at=paid_at,
        k_at=k_at,
    )


NEVER_DAY = 10**6  # same as ledger.NEVER


def _arrears(ep: EpisodeInputs, ix: np.ndarray, day: np.ndarray, paid: np.ndarray) -> np.ndarray:
    """Everything due by ``day`` not yet paid (approximately: principal and interest already due)."""
    return np.maximum(ep.to_close_at.due_by(ix, day) - ep.paid_before - paid, 0.0)


def _pend(m, pay_k, end_k, keep, settle, ids, pend_k, pend_end, pend_keep, pend_settle, pend_id) -> None:
    pend_k[m] = np.broadcast_to(pay_k, len(m))[m]
    pend_end[m] = np.broadcast_to(end_k, len(m))[m]
    pend_keep[m] = np.broadcast_to(keep, len(m))[m]
    pend_settle[m] = settle
    pend_id[m] = ids


def _legal(rng, ep, reg_k, letter_k, filed_k, claim, judged_at, withdrawn_at, enforce_k, cure_day, close_day, paid):
    """The legal cases and what enforcement recovers (执行回款), drawn after the episodes."""
    has = np.flatnonzero(reg_k != NONE)
    n = len(has)
    onset = ep.onset_due[has]
    to_day = lambda k: np.where(k[has] != NONE, onset + k[has], NEVER_DAY)  # noqa: E731
    registered, letter, filed = to_day(reg_k), to_day(letter_k), to_day(filed_k)
    judgment = np.where((filed < NEVER_DAY) & (judged_at[has] != NONE), onset + judged_at[has], NEVER_DAY)
    withdrawn = np.where((filed < NEVER_DAY) & (withdrawn_at[has] != NONE), onset + withdrawn_at[has], NEVER_DAY)
    enforcement = to_day(enforce_k)
    ended = np.minimum(cure_day[has], close_day[has])
    # a judgment after the debt was paid never comes: the case is closed as repaid
    judgment = np.where(judgment < ended, judgment, NEVER_DAY)
    enforcement = np.where(enforcement < ended, enforcement, NEVER_DAY)
    awarded = np.where(judgment < NEVER_DAY, np.round(claim[has] * rng.uniform(0.9, 1.0, n), 2), np.nan)
    # recovery within a year of enforcement, from what the court can reach
    enforced = enforcement < NEVER_DAY
    reach = ep.enforceable[has]
    f = np.where(
        reach,
        np.where(rng.random(n) < 0.85, rng.uniform(0.3, 1.0, n), 0.0),
        np.where(rng.random(n) < 0.3, rng.uniform(0.15, 0.6, n), 0.0),
    )
    owed = np.maximum(ep.to_close_at(has, enforcement.clip(max=NEVER_DAY - 1)) - ep.paid_before[has] - paid[has], 0.0)
    total = np.where(enforced, np.round(f * np.minimum(np.nan_to_num(awarded), owed), 2), 0.0)
    tranches = rng.integers(1, 4, n)
    recov: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    last = np.full(n, NEVER_DAY)
    for t in range(3):
        m = enforced & (total > 0) & (tranches > t)
        d = enforcement + 10 + np.sort(rng.integers(0, 330, (3, n)), axis=0)[t]
        amt = np.round(total / tranches, 2)
        amt = np.where(t == tranches - 1, np.round(total - amt * (tranches - 1), 2), amt)
        recov.append((has[m], d[m], amt[m]))
        last = np.where(m, d, last)
    listed = enforced & (f < 0.3)
    listed_on = np.where(listed, enforcement + rng.integers(90, 201, n), NEVER_DAY)
    full = enforced & (f >= 0.95)
    closed = np.where(
        ended < NEVER_DAY,
        ended,
        np.where(withdrawn < NEVER_DAY, withdrawn, np.where(full, last, np.where(listed, listed_on, NEVER_DAY))),
    )
    reason = np.where(
        close_day[has] < NEVER_DAY,
        CloseReason.SETTLED.value,
        np.where(
            cure_day[has] < NEVER_DAY,
            CloseReason.REPAID.value,
            np.where(
                withdrawn < NEVER_DAY,
                CloseReason.WITHDRAWN.value,
                np.where(full, CloseReason.RECOVERED.value, CloseReason.UNCOLLECTABLE.value),
            ),
        ),
    ).astype(object)
    # a case the debt's end closes only once it was registered; filing/judgment after the end never happen
    filed = np.where(filed < ended, filed, NEVER_DAY)
    evidence = rng.random((5, n)) < np.array([0.99, 0.97, 0.99, 0.98, 0.93])[:, None]
    legal = {
        "episode": has,
        "registered": registered,
        "letter": letter,
        "filed": filed,
        "claim": np.where(filed < NEVER_DAY, np.round(claim[has], 2), np.nan),
        "judgment": judgment,
        "awarded": awarded,
        "enforcement": enforcement,
        "recovered_total": total,
        "last_recovery": last,
        "recoveries": recov,
        "closed": closed,
        "close_reason": reason,
        "listed_on": listed_on,
        "evidence": evidence,
    }
    return legal


# steps of the reminder ladder for an instalment a good borrower pays a few days late: days late, action
LATE_STEPS = (
    (1, Action.SMS.value),
    (3, Action.CALL.value),
    (6, Action.SMS.value),
    (9, Action.CALL.value),
    (14, Action.CALL.value),
    (20, Action.SMS.value),
)
LATE_RESPONSE = {Action.SMS.value: 0.25, Action.CALL.value: 0.45}  # pays within two days of the reminder
LATE_UNREACHED_RESPONSE = 0.08
GOOD_REACH = 0.85


def late_reminders(
    rng: np.random.Generator,
    natural: np.ndarray,
    late: np.ndarray,
    kind: np.ndarray,
    *,
    due: np.ndarray,
    holdout_share: float,
    act: bool,
    promise_grace_days: int,
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Days late of every schedule row, after the reminders the ladder sends while it is unpaid.

    ``natural`` is how late each row would be paid with no reminder at all (its potential outcome under
    no action); a reminder brings the payment forward with a known probability. A share of late rows is
    held out (logged). Draws are made for every row whatever the policy, so runs stay comparable.
    """
    n = len(natural)
    u = rng.random((4, len(LATE_STEPS), n))
    held = rng.random(n) < holdout_share
    current = natural.copy()
    rows: dict[str, list[np.ndarray]] = {k: [] for k in ("row", "day", "action", "outcome", "policy", "probability")}
    promises: dict[str, list[np.ndarray]] = {"row": [], "signed_day": [], "promised_day": []}
    reach_p = np.where(kind >= 0, fx.REACH[np.maximum(kind, 0)], GOOD_REACH)
    for j, (d, action) in enumerate(LATE_STEPS):
        sent = late & (d <= current)  # sent that morning while unpaid (it may be paid later that day)
        if not act or not sent.any():
            continue
        hold = sent & held
        go = sent & ~held
        outcome = np.full(n, O.DELIVERED.value, dtype=object)
        respond = np.full(n, LATE_RESPONSE[action])
        if action == Action.CALL.value:
            reached = u[0, j] < reach_p
            evasive = kind == MALICIOUS_KIND
            outcome = np.where(
                reached, np.where(u[1, j] < 0.2, O.PROMISE_TO_PAY.value, O.REACHED.value), O.UNREACHABLE.value
            )
            outcome = np.where(reached & evasive, O.REFUSED.value, outcome).astype(object)
            respond = np.where(reached, np.where(evasive, 0.05, respond), LATE_UNREACHED_RESPONSE)
            p = go & (outcome == O.PROMISE_TO_PAY.value)
            promises["row"].append(np.flatnonzero(p))
            promises["signed_day"].append((due + d)[p])
            promises["promised_day"].append((due + d + 2)[p])
        pays = go & (u[2, j] < respond)
        current = np.where(pays, np.minimum(current, d + (u[3, j] * 3).astype(np.int64)), current)
        for m, act_v, out, pol, prob in (
            (go, action, outcome, LADDER_POLICY, 1.0 - holdout_share),
            (hold, Action.HOLD_OUT.value, O.NOT_CONTACTED.value, HOLDOUT_POLICY, holdout_share),
        ):
            rows["row"].append(np.flatnonzero(m))
            rows["day"].append((due + d)[m])
            rows["action"].append(np.full(int(m.sum()), act_v, dtype=object))
            rows["outcome"].append(out[m] if isinstance(out, np.ndarray) else np.full(int(m.sum()), out, dtype=object))
            rows["policy"].append(np.full(int(m.sum()), pol, dtype=object))
            rows["probability"].append(np.full(int(m.sum()), prob))
    out = {
        k: (np.concatenate(v) if v else np.zeros(0, dtype=object if k in ("action", "outcome", "policy") else np.int64))
        for k, v in rows.items()
    }
    prom = {k: (np.concatenate(v) if v else np.zeros(0, dtype=np.int64)) for k, v in promises.items()}
    # a promise is kept when the row is paid by its date plus the grace period
    prom["kept"] = (due[prom["row"]] + current[prom["row"]]) <= prom["promised_day"] + promise_grace_days
    prom["paid_day"] = due[prom["row"]] + current[prom["row"]]
    out["promises"] = prom
    return current, out


MALICIOUS_KIND = 3
