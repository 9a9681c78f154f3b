"""The embedded simulator: it honours the data contract, is reproducible, and looks like a real book.

The realism ranges are those of ``REALISM.md`` ("Targets for the default simulated book"); every
measure is computed here from the five contract tables alone (plus ``truth`` where a test is about
it), with a small waterfall ledger of its own so that it checks the simulator independently.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from risk.config import SimulateParams
from risk.contract import TABLES, Decision, LoanStatus, OverdueType
from risk.simulate import simulate

AS_OF = dt.date(2025, 12, 31)
SEED = 7
PARAMS = SimulateParams()
TOLERANCE = 1.0  # RMB: an instalment with less than this unpaid counts as paid


@pytest.fixture(scope="module")
def book() -> dict[str, pl.DataFrame]:
    """The default book (about 20k loans), simulated once for the module."""
    return simulate(PARAMS, as_of=AS_OF, seed=SEED)


def instalment_ledger(book: dict[str, pl.DataFrame]) -> pl.DataFrame:
    """One row per instalment with the day it became paid (null if never), waterfall-allocated."""
    pay = (
        book["repayments"]
        .group_by("loan_id", paid_on=pl.col("paid_at").dt.date())
        .agg(pl.col("amount").sum())
        .sort("loan_id", "paid_on")
        .with_columns(cum_paid=pl.col("amount").cum_sum().over("loan_id"))
    )
    sched = (
        book["schedule"]
        .sort("loan_id", "instalment_no")
        .with_columns(amount_due=pl.col("principal_due") + pl.col("interest_due"))
        .with_columns(
            cum_due=pl.col("amount_due").cum_sum().over("loan_id"),
            cum_interest=pl.col("interest_due").cum_sum().over("loan_id"),
        )
    )
    paid = (
        sched.with_columns(target=pl.col("cum_due") - TOLERANCE)
        .sort("target")
        .join_asof(
            pay.sort("cum_paid"),
            left_on="target",
            right_on="cum_paid",
            by="loan_id",
            strategy="forward",
            check_sortedness=False,
        )
        .select("loan_id", "instalment_no", "paid_on")
    )
    # settled early: all principal plus the interest due so far (提前结清)
    closed = (
        pay.sort("paid_on")
        .join_asof(
            sched.select("loan_id", "due_date", "cum_interest").sort("due_date"),
            left_on="paid_on",
            right_on="due_date",
            by="loan_id",
            strategy="backward",
            check_sortedness=False,
        )
        .join(book["loans"].select("loan_id", "principal"), on="loan_id")
        .filter(pl.col("cum_paid") >= pl.col("principal") + pl.col("cum_interest").fill_null(0) - TOLERANCE)
        .group_by("loan_id")
        .agg(closed_on=pl.col("paid_on").min())
    )
    return (
        sched.join(paid, on=["loan_id", "instalment_no"], how="left")
        .join(closed, on="loan_id", how="left")
        .with_columns(paid_on=pl.min_horizontal("paid_on", "closed_on"))
        .join(book["loans"].select("loan_id", "originated_on", "term_months", "product", "principal"), on="loan_id")
    )


def unpaid_at(day: pl.Expr) -> pl.Expr:
    return pl.col("paid_on").is_null() | (pl.col("paid_on") > day)


def months_later(months: int) -> pl.Expr:
    return pl.col("originated_on").dt.offset_by(f"{months}mo")


def loan_flags(ledger: pl.DataFrame) -> pl.DataFrame:
    """Per loan: ever 30+ within 12 months on book (null when not yet observed), FPD30, default_12m."""
    horizon = pl.min_horizontal(
        months_later(12),
        pl.col("originated_on").dt.offset_by(pl.format("{}mo", pl.col("term_months"))) + pl.duration(days=90),
    )
    late = lambda d: unpaid_at(pl.col("due_date") + pl.duration(days=d))  # noqa: E731
    return ledger.group_by("loan_id").agg(
        pl.col("originated_on", "term_months", "product").first(),
        ever30_12m=pl.when(months_later(12).first() <= AS_OF).then(
            ((pl.col("due_date") + pl.duration(days=30) <= months_later(12)) & late(30)).any()
        ),
        fpd30=pl.when(pl.col("due_date").min() + pl.duration(days=30) <= AS_OF).then(
            late(30).filter(pl.col("instalment_no") == 1).first()
        ),
        default_12m=pl.when(horizon.first() <= AS_OF).then(
            ((pl.col("due_date") + pl.duration(days=90) <= horizon) & late(90)).any()
        ),
        ever30=((pl.col("due_date") + pl.duration(days=30) <= AS_OF) & late(30)).any(),
        closed_on=pl.col("closed_on").first(),
        last_due=pl.col("due_date").max(),
        second_last_due=pl.col("due_date").sort().get(pl.len() - 2, null_on_oob=True),
    )


def month_end_dpd(ledger: pl.DataFrame) -> pl.DataFrame:
    """Days past due of every open loan at every month end up to as_of (M0 = current)."""
    ends = pl.DataFrame({"month_end": pl.date_range(PARAMS.start, AS_OF, "1mo", eager=True).dt.month_end()})
    charge_off = pl.col("due_date") + pl.duration(days=PARAMS.charge_off_dpd)
    co = ledger.filter(unpaid_at(charge_off)).group_by("loan_id").agg(charged_off=charge_off.min())
    open_loans = (
        ledger.group_by("loan_id")
        .agg(pl.col("originated_on", "closed_on").first())
        .join(ends, how="cross")
        .filter(
            pl.col("originated_on") <= pl.col("month_end"),
            pl.col("closed_on").is_null() | (pl.col("closed_on") > pl.col("month_end")),
        )
        .join(co, on="loan_id", how="left")
        .filter(pl.col("charged_off").is_null() | (pl.col("charged_off") > pl.col("month_end")))
    )
    overdue = (
        ledger.filter(unpaid_at(pl.col("due_date")))
        .join(ends, how="cross")
        .filter(pl.col("due_date") < pl.col("month_end"), unpaid_at(pl.col("month_end")))
        .group_by("loan_id", "month_end")
        .agg(dpd=(pl.col("month_end").first() - pl.col("due_date").min()).dt.total_days())
    )
    return open_loans.join(overdue, on=["loan_id", "month_end"], how="left").with_columns(pl.col("dpd").fill_null(0))


def bucket(dpd: pl.Expr) -> pl.Expr:
    """M0 current, M1 1-30, M2 31-60, M3 61-90, M4 91-120 ... (逾期账龄)."""
    return pl.when(dpd == 0).then(0).otherwise((dpd - 1) // 30 + 1)


def auc(score: np.ndarray, label: np.ndarray) -> float:
    ranks = pl.Series(score).rank().to_numpy()
    pos = label.sum()
    return float((ranks[label].sum() - pos * (pos + 1) / 2) / (pos * (len(label) - pos)))


def quantile_bin(column: str, n: int = 5) -> pl.Expr:
    """0 (lowest) .. n-1 (highest) ``n``-tile of ``column``."""
    return (pl.col(column).rank("ordinal") - 1) * n // pl.len()


def rate_by(flags: pl.DataFrame, by: str | pl.Expr, flag: str = "ever30_12m") -> pl.DataFrame:
    return (
        flags.filter(pl.col(flag).is_not_null())
        .group_by(by)
        .agg(rate=pl.col(flag).mean(), n=pl.len())
        .sort(by if isinstance(by, str) else by.meta.output_name())
    )


def realism(book: dict[str, pl.DataFrame], ledger: pl.DataFrame) -> dict[str, float]:
    """Every measure of REALISM.md's target table on ``book``."""
    flags = loan_flags(ledger)
    apps = (
        book["applications"]
        .join(flags, on="loan_id")
        .with_columns(debt_ratio=pl.col("existing_debt") / pl.col("monthly_income"))
    )
    m: dict[str, float] = {}
    m["principal_median"] = book["loans"]["principal"].median()
    m["ever30_12m"] = flags["ever30_12m"].drop_nulls().mean()
    # 90+ on outstanding principal, open loans only (charged-off loans leave the balance); a 20k book
    # holds only some 80 loans 90+ on a given day, so the test range applies to the last six month ends
    states = month_end_dpd(ledger)
    ends = states["month_end"].unique().sort()[-6:]
    outstanding = (
        ledger.join(pl.DataFrame({"month_end": ends}), how="cross")
        .filter(unpaid_at(pl.col("month_end")))
        .group_by("loan_id", "month_end")
        .agg(balance=pl.col("principal_due").sum())
        .join(states, on=["loan_id", "month_end"])
        .group_by("month_end")
        .agg(ratio=pl.col("balance").filter(pl.col("dpd") >= 90).sum() / pl.col("balance").sum())
    )
    m["dpd90_balance_at_as_of"] = outstanding.filter(pl.col("month_end") == AS_OF)["ratio"].item()
    m["dpd90_balance"] = outstanding["ratio"].mean()
    seg = rate_by(apps, pl.concat_str("product", "channel", separator="×").alias("segment")).filter(pl.col("n") >= 300)
    m["segment_ratio"] = seg["rate"].max() / seg["rate"].min()
    for name, expr in (("income", "monthly_income"), ("debt_ratio", "debt_ratio")):
        q = rate_by(apps.with_columns(q=quantile_bin(expr)), "q")["rate"]
        m[f"{name}_q1_over_q5"] = q[0] / q[4]
    # an attribute applicants expect to matter that barely does: halves, since its effect is near zero
    halves = rate_by(apps.with_columns(q=quantile_bin("employment_years", 2)), "q")["rate"]
    m["employment_years_low_over_high"] = halves[0] / halves[1]
    m["inquiries_4plus_over_0"] = (lambda r: r[-1] / r[0])(
        rate_by(apps.with_columns(q=pl.col("credit_inquiries_6m").clip(0, 4)), "q")["rate"]
    )
    m["term_24_over_3"] = (
        lambda r: r.filter(pl.col("term_months") == 24)["rate"][0] / r.filter(pl.col("term_months") == 3)["rate"][0]
    )(rate_by(flags, "term_months", "default_12m"))
    fpd = apps.filter(pl.col("fpd30").is_not_null())
    m["fpd30"] = fpd["fpd30"].mean()
    truth = book["truth"].filter(pl.col("loan_id").is_not_null())
    fpd_types = fpd.filter("fpd30").join(truth, on="loan_id")["overdue_type"]
    m["fpd30_malicious_share"] = (fpd_types == OverdueType.MALICIOUS.value).mean()
    # 30-day collection rate: instalments that went overdue on their due date from a current account
    entered = (
        ledger.sort("loan_id", "instalment_no")
        .with_columns(prev_paid=pl.col("paid_on").shift(1).over("loan_id"))
        .filter(
            pl.col("due_date") + pl.duration(days=30) <= AS_OF,
            unpaid_at(pl.col("due_date")),
            (pl.col("instalment_no") == 1) | (pl.col("prev_paid") < pl.col("due_date")),
        )
    )
    m["collection_30d"] = (
        entered.filter(~unpaid_at(pl.col("due_date") + pl.duration(days=30)))["amount_due"].sum()
        / entered["amount_due"].sum()
    )
    states = states.with_columns(b=bucket(pl.col("dpd"))).sort("loan_id", "month_end")
    moves = states.with_columns(
        next_end=pl.col("month_end").shift(-1).over("loan_id"), nb=pl.col("b").shift(-1).over("loan_id")
    ).filter(pl.col("next_end") == (pl.col("month_end") + pl.duration(days=1)).dt.month_end())
    # a loan that closes during the month has cured: it was paid off
    for a, b in ((1, 2), (2, 3), (3, 4)):
        m[f"roll_m{a}_m{b}"] = (moves.filter(pl.col("b") == a)["nb"] == b).mean()
    m["cure_m1"] = (moves.filter(pl.col("b") == 1)["nb"] == 0).mean()
    m["cure_m3plus"] = (moves.filter(pl.col("b") >= 3)["nb"] == 0).mean()
    matured = flags.filter(pl.col("last_due") <= AS_OF)
    m["prepaid"] = (matured["closed_on"] < matured["second_last_due"]).mean()
    shock = PARAMS.shock
    # the vintages it hits: originated from a quarter before the shock to a quarter before its end,
    # so that their riskiest early months fall due in it
    first, last = shock.start - dt.timedelta(days=92), shock.end - dt.timedelta(days=92)
    hit = rate_by(flags, "originated_on").filter(pl.col("originated_on").is_between(first, last))
    year = dt.timedelta(days=365)
    year_before = rate_by(flags, "originated_on").filter(pl.col("originated_on").is_between(first - year, last - year))
    m["shock_ratio"] = (
        (hit["rate"] * hit["n"]).sum()
        / hit["n"].sum()
        / ((year_before["rate"] * year_before["n"]).sum() / year_before["n"].sum())
    )
    types = flags.filter("ever30").join(truth, on="loan_id")["overdue_type"]
    for t in OverdueType:
        m[f"share_{t.value}"] = (types == t.value).mean()
    # vintage curve: cumulative 30+ by months on book over the vintages with 12 months observed
    curve = [
        ledger.filter(months_later(12) <= AS_OF)
        .group_by("loan_id")
        .agg(
            (
                (pl.col("due_date") + pl.duration(days=30) <= months_later(mob))
                & unpaid_at(pl.col("due_date") + pl.duration(days=30))
            )
            .any()
            .alias("bad")
        )["bad"]
        .mean()
        for mob in (3, 6, 9, 12)
    ]
    m["vintage_mob6_share_of_mob12"] = curve[1] / curve[3]
    m["vintage_mob3_to_6_over_mob9_to_12"] = (curve[1] - curve[0]) / max(curve[3] - curve[2], 1e-9)
    observed = apps.filter(pl.col("default_12m").is_not_null()).join(truth, on="loan_id")
    m["default_12m"] = observed["default_12m"].mean()
    m["mean_true_pd_observed"] = observed["true_pd"].mean()
    m["oracle_auc"] = auc(observed["true_pd"].to_numpy(), observed["default_12m"].to_numpy())
    return m


RANGES: dict[str, tuple[float, float]] = {
    "principal_median": (3000, 20000),
    "ever30_12m": (0.04, 0.12),
    "dpd90_balance": (0.02, 0.06),
    "segment_ratio": (3.0, np.inf),
    "income_q1_over_q5": (1.3, np.inf),
    "debt_ratio_q1_over_q5": (0, 1 / 1.3),
    "inquiries_4plus_over_0": (1.3, np.inf),
    "term_24_over_3": (1.3, np.inf),
    "employment_years_low_over_high": (1 / 1.2, 1.2),
    "fpd30": (0.01, 0.04),
    "fpd30_malicious_share": (0.5, 1.0),
    "collection_30d": (0.80, 0.92),
    "roll_m1_m2": (0.25, 0.55),
    "roll_m2_m3": (0.50, 0.80),
    "roll_m3_m4": (0.75, 0.95),
    "cure_m1": (0.30, 0.60),
    "cure_m3plus": (0.0, 0.10),
    "prepaid": (0.10, 0.30),
    "shock_ratio": (1.5, 2.5),
    "share_temporary": (0.40, 0.60),
    "share_severe": (0.15, 0.25),
    "share_insolvent": (0.10, 0.20),
    "share_malicious": (0.10, 0.20),
    "vintage_mob6_share_of_mob12": (0.6, 1.0),
    "vintage_mob3_to_6_over_mob9_to_12": (1.5, np.inf),
    "oracle_auc": (0.72, 0.85),
}


@pytest.fixture(scope="module")
def ledger(book: dict[str, pl.DataFrame]) -> pl.DataFrame:
    return instalment_ledger(book)


@pytest.fixture(scope="module")
def measures(book: dict[str, pl.DataFrame], ledger: pl.DataFrame) -> dict[str, float]:
    return realism(book, ledger)


# --- the contract ------------------------------------------------------------------------------------
def test_returns_every_contract_table_with_its_exact_schema(book: dict[str, pl.DataFrame]) -> None:
    assert set(book) == set(TABLES)
    for name, table in TABLES.items():
        assert book[name].schema == pl.Schema(table.schema), name


@pytest.mark.parametrize("name", list(TABLES))
def test_keys_are_unique_and_required_columns_are_filled(book: dict[str, pl.DataFrame], name: str) -> None:
    table, frame = TABLES[name], book[name]
    assert frame.height > 0
    assert not frame.select(table.key).is_duplicated().any()
    for column in table.columns:
        if not column.nullable:
            assert frame[column.name].null_count() == 0, column.name
        if column.domain is not None:
            assert set(frame[column.name].drop_nulls().unique()) <= set(column.domain), column.name
        if column.minimum is not None:
            assert frame[column.name].min() >= column.minimum, column.name
        if column.maximum is not None:
            assert frame[column.name].max() <= column.maximum, column.name


def test_book_size_and_decisions_follow_the_parameters(book: dict[str, pl.DataFrame]) -> None:
    apps, loans = book["applications"], book["loans"]
    assert loans.height == pytest.approx(PARAMS.n_loans, rel=0.02)
    decided = apps.filter(pl.col("decision") != Decision.PENDING.value)
    assert (decided["decision"] == Decision.APPROVED.value).mean() == pytest.approx(PARAMS.approval_rate, abs=0.01)
    pending = apps.filter(pl.col("decision") == Decision.PENDING.value)
    assert pending.height == PARAMS.pending_applications
    assert pending["applied_at"].min().date() >= AS_OF - dt.timedelta(days=7)
    # a loan exactly for each approved application, none for the others
    assert (apps["loan_id"].is_not_null() == (apps["decision"] == Decision.APPROVED.value)).all()
    assert set(apps["loan_id"].drop_nulls()) == set(loans["loan_id"])
    assert loans.join(apps, on="application_id").filter(pl.col("loan_id") != pl.col("loan_id_right")).height == 0


def test_some_borrowers_come_back_and_stack_loans(book: dict[str, pl.DataFrame]) -> None:
    """Repeat borrowers (复贷) hold several loans, some of them active at the same time (多头)."""
    loans = book["loans"].join(book["schedule"].group_by("loan_id").agg(end=pl.col("due_date").max()), on="loan_id")
    per_borrower = loans.group_by("borrower_id").len()
    assert (per_borrower["len"] > 1).mean() > 0.05
    assert (book["applications"]["prior_loans"] > 0).mean() > 0.05
    overlapping = loans.join(loans, on="borrower_id").filter(
        pl.col("loan_id") < pl.col("loan_id_right"),
        pl.col("originated_on_right") < pl.col("end"),
        pl.col("originated_on") < pl.col("end_right"),
    )
    assert overlapping.height > 50


def test_schedule_is_a_contiguous_equal_instalment_plan(book: dict[str, pl.DataFrame]) -> None:
    """等额本息: instalments 1..term, monthly from origination, principal summing to the loan."""
    s = book["schedule"].join(book["loans"], on="loan_id")
    per_loan = s.group_by("loan_id").agg(
        n=pl.len(),
        lo=pl.col("instalment_no").min(),
        hi=pl.col("instalment_no").max(),
        term=pl.col("term_months").first(),
        principal=pl.col("principal").first(),
        repaid=pl.col("principal_due").sum(),
    )
    assert (per_loan["n"] == per_loan["term"]).all()
    assert (per_loan["lo"] == 1).all() and (per_loan["hi"] == per_loan["term"]).all()
    assert np.allclose(per_loan["repaid"], per_loan["principal"], atol=0.01)
    expected_due = s.select(pl.col("originated_on").dt.offset_by(pl.format("{}mo", pl.col("instalment_no"))))
    assert (s["due_date"] == expected_due.to_series()).all()
    # every instalment but the last (which clears the rounding) is the annuity P r / (1 - (1 + r)^-n)
    monthly = pl.col("annual_rate") / 12
    regular = s.filter(pl.col("instalment_no") < pl.col("term_months")).select(
        paid=pl.col("principal_due") + pl.col("interest_due"),
        annuity=pl.col("principal") * monthly / (1 - (1 + monthly) ** -pl.col("term_months")),
    )
    assert (regular["paid"] - regular["annuity"]).abs().max() < 0.02


def test_loan_terms_look_like_online_consumer_lending(book: dict[str, pl.DataFrame]) -> None:
    loans = book["loans"]
    assert 3000 <= loans["principal"].median() <= 20000
    assert set(loans["term_months"].unique()) <= {3, 6, 9, 12, 24}
    assert loans["annual_rate"].min() >= 0.10 and loans["annual_rate"].max() <= 0.36
    # the contract's maximum is below the charge-off point for every product, or legal hand-over never fires
    assert set(loans["contract_max_overdue_days"].unique()) <= {60, 90, 120}
    assert set(loans["status"].unique()) == {s.value for s in LoanStatus}


def test_riskier_applicants_pay_higher_rates(book: dict[str, pl.DataFrame]) -> None:
    """Pricing by risk: the truth's PD rises with the rate charged."""
    priced = book["loans"].join(book["truth"], on="loan_id").with_columns(q=quantile_bin("annual_rate", 4))
    pd_by_rate = priced.group_by("q").agg(pl.col("true_pd").mean()).sort("q")["true_pd"]
    assert pd_by_rate[-1] > 1.5 * pd_by_rate[0]


def test_nothing_is_dated_after_as_of_or_paid_before_origination(book: dict[str, pl.DataFrame]) -> None:
    end = dt.datetime.combine(AS_OF + dt.timedelta(days=1), dt.time())
    assert book["applications"]["applied_at"].max() < end
    assert book["loans"]["originated_on"].max() <= AS_OF
    assert book["repayments"]["paid_at"].max() < end
    assert book["collection_actions"]["action_at"].max() < end
    paid = book["repayments"].join(book["loans"], on="loan_id")
    assert (paid["paid_at"].dt.date() > paid["originated_on"]).all()
    applied = book["loans"].join(book["applications"], on="application_id")
    assert (applied["originated_on"] >= applied["applied_at"].dt.date()).all()


def test_payments_are_received_between_8_and_23_and_never_overpay(
    book: dict[str, pl.DataFrame], ledger: pl.DataFrame
) -> None:
    hours = book["repayments"]["paid_at"].dt.hour()
    assert hours.min() >= 8 and hours.max() < 23
    assert book["repayments"]["instalment_no"].null_count() > 0
    owed = ledger.group_by("loan_id").agg(pl.col("amount_due").sum())
    paid = book["repayments"].group_by("loan_id").agg(pl.col("amount").sum())
    both = paid.join(owed, on="loan_id")
    assert (both["amount"] <= both["amount_due"] + TOLERANCE).all()


def test_status_agrees_with_the_ledger(book: dict[str, pl.DataFrame], ledger: pl.DataFrame) -> None:
    """repaid = settled by as_of; charged_off = reached the charge-off days past due; else active."""
    flags = ledger.group_by("loan_id").agg(
        settled=(pl.col("closed_on") <= AS_OF).fill_null(False).any(),
        written_off=(
            unpaid_at(pl.col("due_date") + pl.duration(days=PARAMS.charge_off_dpd))
            & (pl.col("due_date") + pl.duration(days=PARAMS.charge_off_dpd) <= AS_OF)
        ).any(),
    )
    expected = flags.select(
        "loan_id",
        status=pl.when("settled")
        .then(pl.lit(LoanStatus.REPAID.value))
        .when("written_off")
        .then(pl.lit(LoanStatus.CHARGED_OFF.value))
        .otherwise(pl.lit(LoanStatus.ACTIVE.value)),
    )
    got = book["loans"].select("loan_id", "status").join(expected, on="loan_id")
    assert (got["status"] == got["status_right"]).all()


def test_collection_contacts_keep_the_quiet_hours_but_for_a_known_few(book: dict[str, pl.DataFrame]) -> None:
    """催收合规: no contact 22:00-08:00, but for the small share of violations validation must flag."""
    contacts = book["collection_actions"].filter(pl.col("channel").is_in(["sms", "phone", "email", "app"]))
    hour = contacts["action_at"].dt.hour()
    assert ((hour >= 22) | (hour < 8)).mean() < 0.01
    court = book["collection_actions"].filter(pl.col("channel") == "court")["action_at"].dt.hour()
    assert court.is_between(9, 16).all()


def test_collection_ladder_climbs_with_days_past_due(book: dict[str, pl.DataFrame], ledger: pl.DataFrame) -> None:
    """Reminders early, negotiation M1-M3, lawyer's letter from 60 days, court for the long overdue."""
    actions = book["collection_actions"].with_columns(day=pl.col("action_at").dt.date())
    dpd = (
        actions.join(ledger.select("loan_id", "due_date", "paid_on"), on="loan_id")
        .filter(pl.col("due_date") < pl.col("day"), unpaid_at(pl.col("day")))
        .group_by("action_id")
        .agg(dpd=(pl.col("day").first() - pl.col("due_date").min()).dt.total_days())
    )
    a = actions.join(dpd, on="action_id", how="left").with_columns(pl.col("dpd").fill_null(0))
    median = a.group_by("action").agg(pl.col("dpd").median()).sort("dpd")
    by_action = dict(zip(median["action"], median["dpd"], strict=True))
    assert by_action["sms"] <= 30 and by_action["call"] <= 30
    assert 30 < by_action["instalment_plan"] <= 90
    assert 60 <= by_action["lawyers_letter"] <= 120
    assert by_action["litigation"] > 90 and by_action["enforcement"] > by_action["litigation"]
    # a letter goes out when the account is 60+ days past due that morning (a payment may follow the same day)
    morning = (
        actions.filter(pl.col("action") == "lawyers_letter")
        .join(ledger.select("loan_id", "due_date", "paid_on"), on="loan_id")
        .filter(pl.col("due_date") < pl.col("day"), unpaid_at(pl.col("day") - pl.duration(days=1)))
        .group_by("action_id")
        .agg(dpd=(pl.col("day").first() - pl.col("due_date").min()).dt.total_days())
    )
    assert morning.height == actions.filter(pl.col("action") == "lawyers_letter").height
    assert (morning["dpd"] >= 60).all()
    # every contact is made while the account is overdue that morning (a payment may follow the same day)
    contacts = actions.filter(pl.col("action").is_in(["sms", "call"]))
    overdue_then = (
        contacts.join(ledger.select("loan_id", "due_date", "paid_on"), on="loan_id")
        .filter(pl.col("due_date") < pl.col("day"), unpaid_at(pl.col("day") - pl.duration(days=1)))
        .select("action_id")
        .unique()
    )
    assert overdue_then.height / contacts.height > 0.97


def test_court_steps_are_for_the_long_overdue(book: dict[str, pl.DataFrame]) -> None:
    """Suits and enforcement almost never reach a temporary borrower (the signals overlap, so a few do)."""
    court = (
        book["collection_actions"]
        .filter(pl.col("action").is_in(["litigation", "enforcement"]))
        .join(book["truth"], on="loan_id")
    )
    assert court["overdue_type"].is_in(["malicious", "insolvent", "severe"]).mean() > 0.9


def test_a_promise_or_agreement_raises_the_chance_of_a_cure(
    book: dict[str, pl.DataFrame], ledger: pl.DataFrame
) -> None:
    """Among overdue accounts contacted, those who promised or signed cure within 30 days more often."""
    actions = (
        book["collection_actions"]
        .filter(pl.col("action") != "sms")
        .with_columns(
            day=pl.col("action_at").dt.date(), committed=pl.col("outcome").is_in(["promise_to_pay", "agreement_signed"])
        )
    )
    overdue = (
        actions.join(ledger.select("loan_id", "due_date", "paid_on"), on="loan_id")
        .filter(pl.col("due_date") < pl.col("day"), pl.col("day") + pl.duration(days=30) <= AS_OF)
        .group_by("action_id")
        .agg(
            pl.col("committed").first(),
            overdue_now=unpaid_at(pl.col("day")).any(),
            cured=(
                ~unpaid_at(pl.col("day") + pl.duration(days=30))
                | (pl.col("due_date") > pl.col("day") + pl.duration(days=30))
            ).all(),
        )
        .filter("overdue_now")
    )
    rate = overdue.group_by("committed").agg(pl.col("cured").mean())
    cured = dict(zip(rate["committed"], rate["cured"], strict=True))
    assert cured[True] > 1.5 * cured[False]  # evidence of willingness, not a copy of the outcome


# --- reproducibility ---------------------------------------------------------------------------------
def test_same_seed_gives_identical_frames(book: dict[str, pl.DataFrame]) -> None:
    again = simulate(PARAMS, as_of=AS_OF, seed=SEED)
    for name in TABLES:
        assert_frame_equal(book[name], again[name])


def test_a_different_seed_gives_a_different_book(book: dict[str, pl.DataFrame]) -> None:
    other = simulate(PARAMS, as_of=AS_OF, seed=SEED + 1)
    assert not other["repayments"].equals(book["repayments"])
    assert not other["applications"].equals(book["applications"])


def test_a_small_book_honours_the_parameters() -> None:
    small = SimulateParams(n_loans=500, pending_applications=10, start=dt.date(2024, 1, 1))
    out = simulate(small, as_of=dt.date(2024, 12, 31), seed=1)
    assert out["loans"]["originated_on"].min() >= dt.date(2024, 1, 1)
    assert out["loans"].height == pytest.approx(500, rel=0.05)
    assert (out["applications"]["decision"] == Decision.PENDING.value).sum() == 10


# --- realism (REALISM.md, "Targets for the default simulated book") --------------------------------
@pytest.mark.parametrize("measure", list(RANGES))
def test_default_book_lands_in_the_realistic_range(measures: dict[str, float], measure: str) -> None:
    low, high = RANGES[measure]
    assert low <= measures[measure] <= high, f"{measure} = {measures[measure]:.4f}, expected [{low}, {high}]"


def test_the_four_overdue_types_are_all_present_and_only_on_overdue_loans(
    book: dict[str, pl.DataFrame], ledger: pl.DataFrame
) -> None:
    truth = book["truth"]
    assert set(truth["overdue_type"].drop_nulls().unique()) == {t.value for t in OverdueType}
    assert (
        truth.filter(pl.col("loan_id").is_null())["overdue_type"].null_count()
        == truth.filter(pl.col("loan_id").is_null()).height
    )
    ever_overdue = ledger.group_by("loan_id").agg(
        overdue=((pl.col("due_date") < AS_OF) & unpaid_at(pl.col("due_date"))).any()
    )
    typed = ever_overdue.join(truth, on="loan_id")
    assert (typed["overdue"] == typed["overdue_type"].is_not_null()).all()


def test_true_pd_is_calibrated_on_fully_observed_loans(measures: dict[str, float]) -> None:
    """The truth's PD averages to the realised default_12m rate (within a fifth)."""
    assert measures["mean_true_pd_observed"] == pytest.approx(measures["default_12m"], rel=0.2)
