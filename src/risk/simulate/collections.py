"""The collections world as contract tables: actions (催收记录), agreements (协商协议), legal cases (法务案件).

The episodes (:mod:`risk.simulate.episodes`) decide what was done and what came of it, by day; this module
gives each row its time of day, adds the small, known share of unlawful contacts a real history holds
(a contact in the quiet hours, a burst of calls above the daily cap: validation must flag them), resolves
each agreement's state at the as-of date, and cuts everything at as_of.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from risk.config import CollectionRules
from risk.contract import Action, AgreementKind, AgreementStatus, ContactChannel, Outcome, ProfileSource
from risk.simulate.behaviour import Behaviour
from risk.simulate.episodes import ACTION_CHANNEL, LADDER_POLICY, NEVER_DAY, NONE
from risk.simulate.loans import Book

DAY_S = 86_400
COURT_HOURS = (9 * 3600, 17 * 3600)
DECISION_SECOND = 9 * 3600  # a hold-out is decided with the morning's work list
BURST_CALLS = 3  # extra answered calls in a violating burst (above the daily cap)


def _times(rng: np.random.Generator, channel: np.ndarray, rules: CollectionRules, violation_share: float) -> np.ndarray:
    """Seconds into the day: contacts within the permitted hours, a few of them not; court steps in office hours."""
    n = len(channel)
    start, end = rules.quiet_end_hour * 3600, rules.quiet_start_hour * 3600
    seconds = rng.integers(start, end, n)
    quiet = rng.random(n) < violation_share
    night = np.where(rng.random(n) < 0.5, rng.integers(end, DAY_S, n), rng.integers(0, start, n))
    contact = np.isin(channel, (ContactChannel.SMS, ContactChannel.PHONE, ContactChannel.EMAIL, ContactChannel.APP))
    seconds = np.where(contact & quiet, night, seconds)
    court = np.isin(channel, (ContactChannel.COURT, ContactChannel.LETTER))
    seconds = np.where(court, rng.integers(*COURT_HOURS, n), seconds)
    return np.where(channel == ContactChannel.NONE.value, DECISION_SECOND, seconds)


def collection_actions(
    rng: np.random.Generator,
    book: Book,
    b: Behaviour,
    *,
    as_of_day: int,
    rules: CollectionRules,
    violation_share: float,
) -> pl.DataFrame:
    """Every collection action up to ``as_of_day``: loan index, action_at, what was done and what came of it."""
    e = b.episodes.actions
    r = b.reminders
    r_channel = np.vectorize(ACTION_CHANNEL.get, otypes=[object])(r["action"]) if len(r["action"]) else r["action"]
    cols = {
        "loan": np.concatenate([b.episode_loans[e["episode"]], book.row_loan[r["row"]]]),
        "day": np.concatenate([e["day"], r["day"]]),
        "action": np.concatenate([e["action"], r["action"]]).astype(object),
        "channel": np.concatenate([e["channel"], r_channel]).astype(object),
        "outcome": np.concatenate([e["outcome"], r["outcome"]]).astype(object),
        "hardship_reason": np.concatenate([e["hardship_reason"], np.full(len(r["day"]), None, dtype=object)]),
        "policy": np.concatenate([e["policy"], r["policy"]]).astype(object),
        "probability": np.concatenate([e["probability"], r["probability"]]).astype(float),
    }
    # a burst of answered calls above the daily cap: a collector breaking the rules, recorded as it happened
    answered = np.flatnonzero((cols["action"] == Action.CALL.value) & (cols["outcome"] == Outcome.REACHED.value))
    burst = answered[rng.random(len(answered)) < violation_share]
    extra = np.repeat(burst, BURST_CALLS)
    for k, v in cols.items():
        add = v[extra].copy()
        if k == "policy":
            add[:] = LADDER_POLICY
        if k == "probability":
            add[:] = np.nan  # not chosen by the policy
        cols[k] = np.concatenate([v, add])
    seconds = _times(rng, cols["channel"], rules, violation_share)
    keep = cols["day"] <= as_of_day
    order = np.lexsort((seconds[keep], cols["day"][keep], cols["loan"][keep]))
    pick = np.flatnonzero(keep)[order]
    return pl.DataFrame(
        {
            "loan": cols["loan"][pick],
            "action_at": ((cols["day"][pick] * DAY_S + seconds[pick]) * 1_000_000).astype("datetime64[us]"),
            "action": cols["action"][pick].astype(str),
            "channel": cols["channel"][pick].astype(str),
            "outcome": cols["outcome"][pick].astype(str),
            "hardship_reason": pl.Series(cols["hardship_reason"][pick].tolist(), dtype=pl.String),
            "policy": pl.Series(cols["policy"][pick].tolist(), dtype=pl.String),
            "assignment_probability": pl.Series(cols["probability"][pick]).fill_nan(None),
        }
    )


def _days(x: np.ndarray, as_of_day: int) -> pl.Series:
    """Days since 1970 as dates, null when never or after as_of."""
    x = np.asarray(x, dtype=np.int64)
    ok = (x != NONE) & (x < NEVER_DAY) & (x <= as_of_day)
    return pl.Series(np.where(ok, x, 0).astype("datetime64[D]")).set(pl.Series(~ok), None)


def agreements(rng: np.random.Generator, book: Book, b: Behaviour, *, as_of_day: int) -> pl.DataFrame:
    """Every agreement signed by ``as_of_day``, with its state then (the status log resolved at as_of)."""
    ag = b.episodes.agreements
    log = ag["status_log"]
    n = len(ag["episode"])
    # the latest status dated by as_of: the log is sorted by day, so the last write wins
    status = np.full(n, AgreementStatus.ACTIVE.value, dtype=object)
    status_day = ag["signed_day"].copy()
    seen = log["day"] <= as_of_day
    status[log["id"][seen].astype(np.int64)] = log["status"][seen]
    status_day[log["id"][seen].astype(np.int64)] = log["day"][seen]
    # a one-off agreement the debt's end overtook: kept when paid by its deadline, broken otherwise
    loan = b.episode_loans[ag["episode"]]
    ended = np.minimum(b.cure_day[loan], b.close_day[loan])
    one_off = ag["deadline_day"] != NONE
    open_ = one_off & (status == AgreementStatus.ACTIVE.value)
    kept = open_ & (ended <= ag["deadline_day"]) & (ended <= as_of_day) & (ended >= ag["signed_day"])
    broken = open_ & ~kept & (ag["deadline_day"] <= as_of_day)
    status[kept], status_day[kept] = AgreementStatus.KEPT.value, ended[kept]
    status[broken], status_day[broken] = AgreementStatus.BROKEN.value, ag["deadline_day"][broken]
    settled = (ag["kind"] == AgreementKind.SETTLEMENT.value) & (status == AgreementStatus.KEPT.value)
    status[settled] = AgreementStatus.COMPLETED.value
    certificate = np.where(settled, status_day + rng.integers(1, 6, n), NONE)
    # promises made to good borrowers who pay a few days late (from the reminder ladder)
    p = b.reminders["promises"]
    m = len(p["row"])
    p_status = np.where(
        p["paid_day"] <= as_of_day,
        np.where(p["kept"], AgreementStatus.KEPT.value, AgreementStatus.BROKEN.value),
        AgreementStatus.ACTIVE.value,
    ).astype(object)
    p_broken_day = p["promised_day"] + 3
    p_status = np.where(~p["kept"] & (p_broken_day <= as_of_day), AgreementStatus.BROKEN.value, p_status).astype(object)
    p_status_day = np.where(
        p_status == AgreementStatus.KEPT.value,
        p["paid_day"],
        np.where(p_status == AgreementStatus.BROKEN.value, p_broken_day, p["signed_day"]),
    )
    arrears = book.row_amount[p["row"]]
    none_i = np.full(m, NONE)
    nan = np.full(m, np.nan)
    frame = {
        "loan": np.concatenate([loan, book.row_loan[p["row"]]]),
        "kind": np.concatenate([ag["kind"], np.full(m, AgreementKind.PROMISE_TO_PAY.value, dtype=object)]),
        "channel": np.concatenate([ag["channel"], np.full(m, "phone", dtype=object)]),
        "signed_day": np.concatenate([ag["signed_day"], p["signed_day"]]),
        "promised_day": np.concatenate([ag["promised_day"], p["promised_day"]]),
        "promised_amount": np.concatenate([ag["promised_amount"], arrears]),
        "plan_instalments": np.concatenate([ag["plan_instalments"], none_i]),
        "plan_first_due": np.concatenate([ag["plan_first_due"], none_i]),
        "plan_amount": np.concatenate([ag["plan_amount"], nan]),
        "extension_days": np.concatenate([ag["extension_days"], none_i]),
        "relief_amount": np.concatenate([ag["relief_amount"], nan]),
        "settlement_amount": np.concatenate([ag["settlement_amount"], nan]),
        "write_down": np.concatenate([ag["write_down"], nan]),
        "status": np.concatenate([status, p_status]),
        "status_day": np.concatenate([status_day, p_status_day]),
        "certificate": np.concatenate([certificate, none_i]),
    }
    keep = frame["signed_day"] <= as_of_day
    order = np.lexsort((frame["loan"][keep], frame["signed_day"][keep]))
    f = {k: v[keep][order] for k, v in frame.items()}
    seconds = rng.integers(9 * 3600, 21 * 3600, len(f["loan"]))
    ints = lambda x: pl.Series(np.where(x == NONE, 0, x)).set(pl.Series(x == NONE), None)  # noqa: E731
    return pl.DataFrame(
        {
            "loan": f["loan"],
            "kind": f["kind"].astype(str),
            "channel": f["channel"].astype(str),
            "signed_at": ((f["signed_day"] * DAY_S + seconds) * 1_000_000).astype("datetime64[us]"),
            "promised_date": _days(f["promised_day"], NEVER_DAY - 1),
            "promised_amount": pl.Series(f["promised_amount"]).fill_nan(None),
            "plan_instalments": ints(f["plan_instalments"]),
            "plan_first_due": _days(f["plan_first_due"], NEVER_DAY - 1),
            "plan_instalment_amount": pl.Series(f["plan_amount"]).fill_nan(None),
            "extension_days": ints(f["extension_days"]),
            "relief_amount": pl.Series(f["relief_amount"]).fill_nan(None),
            "settlement_amount": pl.Series(f["settlement_amount"]).fill_nan(None),
            "write_down_amount": pl.Series(f["write_down"]).fill_nan(None),
            "status": f["status"].astype(str),
            "status_on": _days(f["status_day"], as_of_day),
            "certificate_on": _days(f["certificate"], as_of_day),
        }
    )


def legal_cases(b: Behaviour, *, as_of_day: int) -> pl.DataFrame:
    """Every case registered by ``as_of_day``, each step dated only once it happened by then."""
    lg = b.episodes.legal
    keep = lg["registered"] <= as_of_day
    e = lg["episode"][keep]
    sel = {k: v[keep] for k, v in lg.items() if k not in ("recoveries", "evidence")}
    recovered = np.zeros(len(lg["episode"]))
    last = np.full(len(lg["episode"]), NONE)
    for ep_ix, day, amt in lg["recoveries"]:
        pos = np.searchsorted(lg["episode"], ep_ix)
        ok = day <= as_of_day
        np.add.at(recovered, pos[ok], amt[ok])
        last[pos[ok]] = np.maximum(last[pos[ok]], day[ok])
    recovered, last = recovered[keep], last[keep]
    listed = sel["listed_on"] <= as_of_day
    closed = sel["closed"] <= as_of_day
    filed = sel["filed"] <= as_of_day
    judged = sel["judgment"] <= as_of_day
    evidence = lg["evidence"][:, keep]
    return pl.DataFrame(
        {
            "loan": b.episode_loans[e],
            "registered_on": _days(sel["registered"], as_of_day),
            "evidence_contract": evidence[0],
            "evidence_identity": evidence[1],
            "evidence_disbursement": evidence[2],
            "evidence_repayments": evidence[3],
            "evidence_contacts": evidence[4],
            "letter_sent_on": _days(sel["letter"], as_of_day),
            "response_deadline": _days(np.where(sel["letter"] <= as_of_day, sel["letter"] + 15, NONE), NEVER_DAY - 1),
            "filed_on": _days(sel["filed"], as_of_day),
            "claim_amount": pl.Series(np.where(filed, sel["claim"], np.nan)).fill_nan(None),
            "judgment_on": _days(sel["judgment"], as_of_day),
            "awarded_amount": pl.Series(np.where(judged, sel["awarded"], np.nan)).fill_nan(None),
            "enforcement_on": _days(sel["enforcement"], as_of_day),
            "recovered_amount": np.round(recovered, 2),
            "last_recovery_on": _days(last, as_of_day),
            "closed_on": _days(sel["closed"], as_of_day),
            "close_reason": pl.Series(np.where(closed, sel["close_reason"], None).tolist(), dtype=pl.String),
            "dishonest_debtor_listed": listed,
            "listed_on": _days(sel["listed_on"], as_of_day),
        }
    )


def borrower_profiles(book: Book, b: Behaviour, a: dict, *, as_of_day: int) -> pl.DataFrame:
    """Profiles: declared and checked at application; a bureau query after the onset; the legal team's search."""
    s = b.assets
    loans = np.arange(len(book.principal))
    e = b.episode_loans
    onset_day = book.row_due[b.onset_row[e]]
    refresh = onset_day + s["refresh_lag"][e]
    legal = b.episodes.legal
    reg = legal["registered"]
    reg_loan = e[legal["episode"]]
    n_app, n_ref, n_reg = len(loans), len(e), len(reg_loan)
    none_b = lambda n: np.full(n, None, dtype=object)  # noqa: E731
    frame = {
        "loan": np.concatenate([loans, e, reg_loan]),
        "day": np.concatenate([a["applied_day"][book.application], refresh, reg]),
        "source": np.concatenate(
            [
                np.full(n_app, ProfileSource.APPLICATION.value, dtype=object),
                np.full(n_ref, ProfileSource.BUREAU_REFRESH.value, dtype=object),
                np.full(n_reg, ProfileSource.COLLECTOR.value, dtype=object),
            ]
        ),
        "property_owned": np.concatenate([s["property_at_app"], none_b(n_ref), s["property_seen"][reg_loan]]),
        "vehicle_owned": np.concatenate([s["vehicle_at_app"], none_b(n_ref), s["vehicle_now"][reg_loan]]),
        "social_insurance": np.concatenate([s["social_at_app"], s["social_now"][e], s["social_seen"][reg_loan]]),
        "other_platform_loans": np.concatenate([s["platforms_at_app"], s["platforms_now"][e], np.full(n_reg, -1)]),
    }
    keep = frame["day"] <= as_of_day
    f = {k: v[keep] for k, v in frame.items()}
    platforms = f["other_platform_loans"].astype(np.int64)
    return pl.DataFrame(
        {
            "loan": f["loan"],
            "observed_on": f["day"].astype("datetime64[D]"),
            "source": f["source"].astype(str),
            "property_owned": pl.Series(f["property_owned"].tolist(), dtype=pl.Boolean),
            "vehicle_owned": pl.Series(f["vehicle_owned"].tolist(), dtype=pl.Boolean),
            "social_insurance": pl.Series(f["social_insurance"].tolist(), dtype=pl.Boolean),
            "other_platform_loans": pl.Series(platforms).set(pl.Series(platforms < 0), None),
        }
    )
