"""Collection actions (催收记录): the ladder a lender climbs as an account's delinquency ages.

Reminders (SMS, calls) in the first month, negotiation (plans, extensions, relief, settlement) from
M1 to M3, a lawyer's letter around 60-90 days past due, then litigation and enforcement for some of
the long overdue. The step is chosen by the account's actual days past due on that day. Outcomes
follow the borrower's kind (malicious borrowers refuse or cannot be reached; temporary ones promise
and pay), and a promise or an agreement comes right before a cure, so outcomes predict cures.
Every contact is between 08:00 and 21:00 and at most ``max_contacts_per_day`` per loan per day.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from risk.contract import Action, ContactChannel, Outcome
from risk.simulate.behaviour import INSOLVENT, MALICIOUS, SEVERE, TEMPORARY, Behaviour
from risk.simulate.ledger import Ledger, days_past_due
from risk.simulate.loans import Book

DAY_S = 86_400
# days into an episode at which the collector may act, denser early (早期催收)
CONTACT_GRID = np.array(
    [
        1,
        2,
        3,
        4,
        5,
        7,
        9,
        11,
        14,
        17,
        20,
        23,
        26,
        29,
        32,
        36,
        40,
        45,
        50,
        55,
        60,
        66,
        72,
        78,
        85,
        92,
        100,
        110,
        120,
        135,
        150,
        165,
        180,
    ]
)
NEGOTIATIONS = (Action.NEGOTIATION, Action.INSTALMENT_PLAN, Action.EXTENSION, Action.INTEREST_RELIEF, Action.SETTLEMENT)
NEGOTIATION_SHARE = (0.4, 0.2, 0.15, 0.1, 0.15)
# outcome of a conversation attempt, by overdue type
TALK_OUTCOMES = {
    TEMPORARY: ((Outcome.REACHED, Outcome.PROMISE_TO_PAY, Outcome.UNREACHABLE), (0.45, 0.3, 0.25)),
    SEVERE: (
        (Outcome.REACHED, Outcome.PROMISE_TO_PAY, Outcome.BROKEN_PROMISE, Outcome.UNREACHABLE),
        (0.3, 0.25, 0.25, 0.2),
    ),
    INSOLVENT: (
        (Outcome.REACHED, Outcome.UNREACHABLE, Outcome.REFUSED, Outcome.BROKEN_PROMISE),
        (0.3, 0.4, 0.15, 0.15),
    ),
    MALICIOUS: ((Outcome.REFUSED, Outcome.UNREACHABLE, Outcome.BROKEN_PROMISE), (0.35, 0.45, 0.2)),
}


def _rows(loan: np.ndarray, day: np.ndarray, action, channel, outcome) -> dict[str, np.ndarray]:
    """A block of action rows; scalars broadcast to the block's length."""
    n = len(loan)
    return {
        "loan": loan,
        "day": day,
        "action": np.broadcast_to(np.asarray(action, dtype=object), n),
        "channel": np.broadcast_to(np.asarray(channel, dtype=object), n),
        "outcome": np.broadcast_to(np.asarray(outcome, dtype=object), n),
    }


def _choose(rng: np.random.Generator, options: tuple, share: tuple, n: int) -> np.ndarray:
    return np.asarray([o.value for o in options], dtype=object)[rng.choice(len(options), size=n, p=share)]


def _late_reminders(rng: np.random.Generator, book: Book, b: Behaviour, as_of_day: int) -> list[dict]:
    """Reminders for instalments a good borrower pays a few days late (入催 then paid)."""
    loan, due, paid = book.row_loan[b.late_row], book.row_due[b.late_row], b.late_paid_day
    blocks = []
    for days_late, action in ((1, Action.SMS), (3, Action.CALL), (6, Action.SMS), (9, Action.CALL)):
        day = due + days_late
        m = np.flatnonzero((day < paid) & (day <= as_of_day))
        if action is Action.SMS:
            blocks.append(_rows(loan[m], day[m], Action.SMS.value, ContactChannel.SMS.value, Outcome.DELIVERED.value))
        else:
            outcome = _choose(
                rng, (Outcome.PROMISE_TO_PAY, Outcome.REACHED, Outcome.UNREACHABLE), (0.6, 0.3, 0.1), len(m)
            )
            evasive = b.overdue_type[loan[m]] == MALICIOUS  # evasive even before they stop paying
            outcome[evasive] = _choose(rng, *TALK_OUTCOMES[MALICIOUS], int(evasive.sum()))
            blocks.append(_rows(loan[m], day[m], Action.CALL.value, ContactChannel.PHONE.value, outcome))
    return blocks


def _ladder(rng: np.random.Generator, book: Book, b: Behaviour, ledger: Ledger, as_of_day: int) -> list[dict]:
    """Reminders and negotiation through an overdue episode, chosen by the day's days past due."""
    episode = np.flatnonzero(b.onset_row >= 0)
    start = book.row_due[b.onset_row[episode]] + 1
    episode, start = episode[start <= as_of_day], start[start <= as_of_day]
    loan = np.repeat(episode, len(CONTACT_GRID))
    day = np.repeat(start - 1, len(CONTACT_GRID)) + np.tile(CONTACT_GRID, len(episode))
    day = np.maximum(day + rng.integers(-1, 2, len(day)), np.repeat(start, len(CONTACT_GRID)))
    keep = (day < b.cure_day[loan]) & (day <= as_of_day) & (rng.random(len(day)) < 0.8)
    loan, day = loan[keep], day[keep]
    dpd = days_past_due(book, ledger, loan, day)
    loan, day, dpd = loan[dpd > 0], day[dpd > 0], dpd[dpd > 0]
    kind = b.overdue_type[loan]
    r = rng.random(len(loan))
    early, middle = dpd <= 30, (dpd > 30) & (dpd <= 90)
    sms = np.where(early, r < 0.45, np.where(middle, r < 0.1, r < 0.2))
    call = ~sms & np.where(early, r < 0.95, np.where(middle, r < 0.6, r < 0.65))
    email = early & ~sms & ~call
    talk = ~sms & ~email
    action = np.where(sms, Action.SMS.value, np.where(email, Action.EMAIL.value, Action.CALL.value)).astype(object)
    negotiate = talk & ~call
    action[negotiate] = _choose(rng, NEGOTIATIONS, NEGOTIATION_SHARE, int(negotiate.sum()))
    channel = np.where(
        sms,
        np.where(rng.random(len(loan)) < 0.8, ContactChannel.SMS.value, ContactChannel.APP.value),
        np.where(email, ContactChannel.EMAIL.value, ContactChannel.PHONE.value),
    ).astype(object)
    outcome = np.full(len(loan), Outcome.DELIVERED.value, dtype=object)
    for k, (options, share) in TALK_OUTCOMES.items():
        m = talk & (kind == k)
        outcome[m] = _choose(rng, options, share, int(m.sum()))
    return [_rows(loan, day, action, channel, outcome)]


def _turning_points(rng: np.random.Generator, book: Book, b: Behaviour, ledger: Ledger, as_of_day: int) -> list[dict]:
    """The promise or agreement before a cure, the lawyer's letter, and the court steps."""
    blocks = []
    cured = np.flatnonzero((b.cure_day <= as_of_day) & (rng.random(len(b.cure_day)) < 0.85))
    start = book.row_due[b.onset_row[cured]] + 1
    day = np.maximum(b.cure_day[cured] - rng.integers(1, 5, len(cured)), start)
    dpd = days_past_due(book, ledger, cured, day)
    promise = (dpd <= 30) & (b.overdue_type[cured] == TEMPORARY)
    blocks.append(
        _rows(cured[promise], day[promise], Action.CALL.value, ContactChannel.PHONE.value, Outcome.PROMISE_TO_PAY.value)
    )
    agree = ~promise
    blocks.append(
        _rows(
            cured[agree],
            day[agree],
            _choose(rng, NEGOTIATIONS[1:], (0.4, 0.2, 0.1, 0.3), int(agree.sum())),
            ContactChannel.PHONE.value,
            Outcome.AGREEMENT_SIGNED.value,
        )
    )
    # lawyer's letter (律师函) once 60+ days past due: try around day 60-90, else later
    letter_sent = np.zeros(len(b.cure_day), dtype=bool)
    episode = np.flatnonzero(b.onset_row >= 0)
    for low, high in ((60, 91), (100, 141)):
        loan = episode[~letter_sent[episode]]
        day = book.row_due[b.onset_row[loan]] + rng.integers(low, high, len(loan))
        ok = (day <= as_of_day) & (day < b.cure_day[loan])
        ok[ok] = days_past_due(book, ledger, loan[ok], day[ok]) >= 60
        letter_sent[loan[ok]] = True
        blocks.append(
            _rows(loan[ok], day[ok], Action.LAWYERS_LETTER.value, ContactChannel.LETTER.value, Outcome.DELIVERED.value)
        )
    sued = np.flatnonzero(b.litigation_day <= as_of_day)
    blocks.append(
        _rows(sued, b.litigation_day[sued], Action.LITIGATION.value, ContactChannel.COURT.value, Outcome.FILED.value)
    )
    judged = b.litigation_day[sued] + rng.integers(30, 91, len(sued))
    j = judged <= as_of_day
    blocks.append(
        _rows(sued[j], judged[j], Action.LITIGATION.value, ContactChannel.COURT.value, Outcome.JUDGMENT.value)
    )
    enforced = np.flatnonzero(b.enforcement_day <= as_of_day)
    blocks.append(
        _rows(
            enforced,
            b.enforcement_day[enforced],
            Action.ENFORCEMENT.value,
            ContactChannel.COURT.value,
            Outcome.FILED.value,
        )
    )
    recovered = np.flatnonzero(b.recovery_day <= as_of_day)
    blocks.append(
        _rows(
            recovered,
            b.recovery_day[recovered],
            Action.ENFORCEMENT.value,
            ContactChannel.COURT.value,
            Outcome.RECOVERED.value,
        )
    )
    return blocks


def collection_actions(
    rng: np.random.Generator, book: Book, b: Behaviour, ledger: Ledger, *, as_of_day: int, max_per_day: int
) -> pl.DataFrame:
    """Every collection action up to ``as_of_day``: loan index, action_at and what happened."""
    blocks = (
        _late_reminders(rng, book, b, as_of_day)
        + _ladder(rng, book, b, ledger, as_of_day)
        + _turning_points(rng, book, b, ledger, as_of_day)
    )
    cols = {k: np.concatenate([blk[k] for blk in blocks]) for k in blocks[0]}
    seconds = rng.integers(8 * 3600, 21 * 3600, len(cols["loan"]))  # 08:00-20:59 (催收时间合规)
    order = np.lexsort((seconds, cols["day"], cols["loan"]))
    loan, day = cols["loan"][order], cols["day"][order]
    new_day = np.r_[True, (loan[1:] != loan[:-1]) | (day[1:] != day[:-1])]
    first = np.maximum.accumulate(np.where(new_day, np.arange(len(loan)), 0))
    keep = order[(np.arange(len(loan)) - first) < max_per_day]
    return pl.DataFrame(
        {
            "loan": cols["loan"][keep],
            "action_at": ((cols["day"][keep] * DAY_S + seconds[keep]) * 1_000_000).astype("datetime64[us]"),
            "action": cols["action"][keep].astype(str),
            "channel": cols["channel"][keep].astype(str),
            "outcome": cols["outcome"][keep].astype(str),
        }
    )
