"""What collection actions do: the simulator's causal model of an overdue borrower's response (催收效果).

Shared by the day-by-day episode engine (which draws outcomes from it, after the actions) and the truth
tables (which integrate it into potential outcomes), so the two cannot drift apart. Every number is a
design choice, set so that the default book lands in REALISM.md's collections ranges:

- each overdue type has its own baseline daily hazard of paying the arrears in full (the temporary
  borrower's one-off shock fades, so their hazard rises over the first two months; the insolvent
  almost never pay);
- an action adds a daily hazard for ``BOOST_DAYS`` after it (the strongest recent action counts, they do
  not stack): a reminder works on the temporary, barely on the malicious; a lawyer's letter moves the
  able-but-unwilling; nothing but restructuring helps the insolvent;
- too many contacts in a week lower repayment and raise complaints;
- a reached debtor may promise, report hardship, refuse, dispute, complain or ask for no contact, with
  probabilities from their latent ability and willingness (not from their type): the signals overlap.
"""

from __future__ import annotations

import numpy as np

from risk.contract import Action, HardshipReason, Outcome

TEMPORARY, SEVERE, INSOLVENT, MALICIOUS = range(4)  # positions in risk_model.OVERDUE_TYPES
BOOST_DAYS = 14  # an action's effect lasts this long
OVER_CONTACT = 5.0  # decayed weekly count of voice contacts above which more contact backfires
OVER_CONTACT_FACTOR = 0.7  # hazard multiplier while over-contacted
# baseline daily hazard of paying the arrears in full, by type (temporary: a ramp, see base_hazard)
BASE_HAZARD = np.array([0.0, 0.0004, 0.00015, 0.0004])
# temporary: the one-off shock passes after 1-29 days for 40%, 30-59 days for 53%, 60-89 for the rest
# (later in a downturn); the daily hazard is that recovery time's, a little lower in the first month,
# where reminders do part of the work
TEMPORARY_RECOVERY = ((1, 30, 0.40), (30, 60, 0.53), (60, 90, 0.07))
TEMPORARY_RECOVERY_SHOCKED = ((30, 60, 0.43), (60, 90, 0.57))
FIRST_MONTH_SHARE = 0.1
MAX_DAILY_HAZARD = 0.5


def _recovery_hazard(pieces: tuple[tuple[int, int, float], ...], days: int = 420) -> np.ndarray:
    """Daily hazard (index = days overdue) of a piecewise uniform recovery time."""
    f = np.zeros(days + 2)
    for lo, hi, share in pieces:
        f[lo:hi] += share / (hi - lo)
    survive = 1.0 - np.cumsum(f) + f  # survival at the start of each day
    h = np.where(survive > 1e-9, f / np.maximum(survive, 1e-9), 0.0)
    h[90:] = h[89] if h[89] > 0 else 0.02  # the few left pay soon after
    h[:31] *= FIRST_MONTH_SHARE
    return np.minimum(h, MAX_DAILY_HAZARD)


TEMPORARY_HAZARD = _recovery_hazard(TEMPORARY_RECOVERY)
TEMPORARY_HAZARD_SHOCKED = _recovery_hazard(TEMPORARY_RECOVERY_SHOCKED)
# added daily hazard while an action's effect lasts, by action and type (temporary, severe, insolvent, malicious)
BOOST: dict[str, np.ndarray] = {
    Action.SMS.value: np.array([0.0110, 0.0005, 0.0, 0.0002]),
    Action.EMAIL.value: np.array([0.0080, 0.0004, 0.0, 0.0001]),
    Action.CALL.value: np.array([0.0170, 0.0012, 0.0001, 0.0006]),  # when reached; a quarter of it when not
    Action.THIRD_PARTY_CONTACT.value: np.array([0.0020, 0.0008, 0.0, 0.0008]),
    Action.NEGOTIATION.value: np.array([0.0200, 0.0020, 0.0002, 0.0008]),
    Action.LAWYERS_LETTER.value: np.array([0.0040, 0.0015, 0.0, 0.0055]),
    Action.LITIGATION.value: np.array([0.0030, 0.0008, 0.0, 0.0040]),
}
NEGOTIATION_OFFERS = (
    Action.INSTALMENT_PLAN.value,
    Action.EXTENSION.value,
    Action.INTEREST_RELIEF.value,
    Action.SETTLEMENT.value,
)
UNREACHED_SHARE = 0.25  # share of a call's effect when nobody answers (a missed call is a reminder too)
# reach probability of a voice contact by type: the malicious avoid calls, the insolvent give up
REACH = np.array([0.78, 0.70, 0.55, 0.42])
# the effect of a reminder fades with days past due: 1-30, 31-90, 91+
REMINDER_BAND = np.array([1.0, 0.6, 0.3])
LETTER_BAND = np.array([0.5, 1.0, 0.7])
PENALTY_RATE_DAILY = 0.0005  # 罚息 the contract charges on arrears (not in the schedule); settlements waive it


def band(dpd: np.ndarray) -> np.ndarray:
    """0 for 1-30 days past due, 1 for 31-90, 2 for 91+."""
    return np.where(dpd <= 30, 0, np.where(dpd <= 90, 1, 2))


def base_hazard(
    kind: np.ndarray, dpd: np.ndarray, ability: np.ndarray, willingness: np.ndarray, shocked: np.ndarray
) -> np.ndarray:
    """Daily hazard of paying the arrears in full with no action at all."""
    d = np.minimum(dpd, len(TEMPORARY_HAZARD) - 1)
    temporary = np.where(shocked, TEMPORARY_HAZARD_SHOCKED[d], TEMPORARY_HAZARD[d])
    h = np.where(kind == TEMPORARY, temporary, BASE_HAZARD[kind])
    return np.minimum(h * (0.6 + 0.8 * ability * willingness), MAX_DAILY_HAZARD)


def boost(action: np.ndarray, kind: np.ndarray, dpd: np.ndarray, reached: np.ndarray) -> np.ndarray:
    """Added daily hazard for ``BOOST_DAYS`` after ``action`` (by type, days past due, reached or not)."""
    out = np.zeros(len(action))
    b = band(dpd)
    for name, by_type in BOOST.items():
        m = action == name
        if not m.any():
            continue
        scale = LETTER_BAND[b[m]] if name in (Action.LAWYERS_LETTER.value, Action.LITIGATION.value) else 1.0
        if name in (Action.SMS.value, Action.EMAIL.value, Action.CALL.value, Action.THIRD_PARTY_CONTACT.value):
            scale = REMINDER_BAND[b[m]]
        voice = name in (Action.CALL.value, Action.NEGOTIATION.value, Action.THIRD_PARTY_CONTACT.value)
        out[m] = by_type[kind[m]] * scale * np.where(voice & ~reached[m], UNREACHED_SHARE, 1.0)
    offer = np.isin(action, NEGOTIATION_OFFERS)
    out[offer] = BOOST[Action.NEGOTIATION.value][kind[offer]] * np.where(reached[offer], 1.0, UNREACHED_SHARE)
    return out


# --- what a reached debtor says --------------------------------------------------------------------------
TALK = (
    Outcome.PROMISE_TO_PAY.value,
    Outcome.HARDSHIP_REPORTED.value,
    Outcome.REFUSED.value,
    Outcome.DISPUTED.value,
    Outcome.COMPLAINT.value,
    Outcome.NO_CONTACT_REQUESTED.value,
    Outcome.REACHED.value,
)


def talk_probabilities(ability: np.ndarray, willingness: np.ndarray, over_contacted: np.ndarray) -> np.ndarray:
    """Probabilities of each of ``TALK`` when a debtor answers, shape (n, 7); from ability and willingness."""
    promise = 0.08 * willingness
    hardship = 0.40 * (1.0 - ability) * (0.3 + 0.7 * willingness) + 0.04
    refused = 0.32 * (1.0 - willingness)
    disputed = 0.06 * (1.0 - willingness) + 0.01
    complaint = 0.006 + 0.05 * over_contacted
    no_contact = 0.008 + 0.03 * (1.0 - willingness)
    p = np.stack([promise, hardship, refused, disputed, complaint, no_contact], axis=1)
    rest = np.maximum(1.0 - p.sum(axis=1, keepdims=True), 0.05)
    p = np.concatenate([p, rest], axis=1)
    return p / p.sum(axis=1, keepdims=True)


HARDSHIP_REASONS = tuple(r.value for r in HardshipReason)
# reasons given by type: job loss, illness, family event, business failure, other
HARDSHIP_SHARE = np.array(
    [
        [0.35, 0.25, 0.25, 0.05, 0.10],
        [0.40, 0.15, 0.10, 0.25, 0.10],
        [0.35, 0.25, 0.10, 0.25, 0.05],
        [0.30, 0.10, 0.10, 0.10, 0.40],  # an excuse: often vague
    ]
)


def promise_keep(ability: np.ndarray, willingness: np.ndarray) -> np.ndarray:
    """Probability that a promise to pay (or an extension's deferred payment) is kept."""
    return np.clip(0.05 + 0.85 * ability * willingness, 0.02, 0.95)


def acceptance(offer: np.ndarray, ability: np.ndarray, willingness: np.ndarray) -> np.ndarray:
    """Probability that a reached debtor signs the offered agreement."""
    out = np.zeros(len(offer))
    out[offer == Action.INSTALMENT_PLAN.value] = (0.05 + 0.35 * (1.0 - ability) * willingness)[
        offer == Action.INSTALMENT_PLAN.value
    ]
    m = offer == Action.EXTENSION.value
    out[m] = (0.25 + 0.35 * ability * willingness)[m]
    m = offer == Action.INTEREST_RELIEF.value
    out[m] = (0.1 + 0.35 * willingness)[m]
    m = offer == Action.SETTLEMENT.value
    out[m] = (0.08 + 0.35 * ability * (0.4 + 0.6 * willingness))[m]
    return out


def plan_month_keep(ability: np.ndarray, willingness: np.ndarray) -> np.ndarray:
    """Probability that a plan's monthly instalment is paid on time (the first miss breaks the plan)."""
    return np.clip(0.9 + 0.09 * willingness - 0.1 * (ability < 0.15), 0.5, 0.99)


def settlement_paid(ability: np.ndarray) -> np.ndarray:
    """Probability that a signed settlement is paid within its deadline."""
    return 0.45 + 0.5 * ability
