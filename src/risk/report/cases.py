"""Case management in the risk report: the agreements page (协商协议) and the legal page (法务案件).

The measures are pure functions of the optional case tables at an as-of date (frames in, frames out): a
row dated after ``as_of`` is left out, and a step, status or certificate dated after it is treated as not
reached yet. :func:`agreements_section` and :func:`legal_section` turn them into HTML; a case table the
export lacks gives a short note instead.
"""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Mapping
from enum import StrEnum

import polars as pl

from risk.cases import legal
from risk.contract import AGREEMENTS, LEGAL_CASES, AgreementKind, AgreementStatus, CloseReason, NegotiationChannel
from risk.report import charts
from risk.report.elements import image, kpis, num, pct, section, table, unavailable

# The legal case's evidence checklist, in the contract's order, and the three items without which the legal
# team does not file a suit (the signed loan contract, the borrower's identity, proof of disbursement).
# the checklist and what a suit needs are case management's (risk.cases.legal), as the contract's columns
EVIDENCE = tuple(f"evidence_{item}" for item in legal.EVIDENCE)
FILING_EVIDENCE = tuple(f"evidence_{item}" for item in legal.FILING_EVIDENCE)

KIND_LABELS = {
    AgreementKind.PROMISE_TO_PAY: "promise to pay (承诺还款)",
    AgreementKind.INSTALMENT_PLAN: "instalment plan (分期还款)",
    AgreementKind.EXTENSION: "extension (展期)",
    AgreementKind.INTEREST_RELIEF: "interest relief (减免利息)",
    AgreementKind.SETTLEMENT: "settlement (一次性结清)",
}
ALL = "all"  # the total row of a breakdown


class CaseStep(StrEnum):
    """How far a legal case has gone, lowest first; each step is dated by one column of ``legal_cases``."""

    REGISTERED = "registered"  # 立案登记
    LETTER_SENT = "letter_sent"  # 律师函
    FILED = "filed"  # 起诉
    JUDGED = "judged"  # 判决/调解
    ENFORCEMENT = "enforcing"  # 申请强制执行
    LISTED = "listed_dishonest"  # 失信被执行人


STEP_DATES: dict[CaseStep, str] = {
    CaseStep.REGISTERED: "registered_on",
    CaseStep.LETTER_SENT: "letter_sent_on",
    CaseStep.FILED: "filed_on",
    CaseStep.JUDGED: "judgment_on",
    CaseStep.ENFORCEMENT: "enforcement_on",
    CaseStep.LISTED: "listed_on",
}
STEP_LABELS: dict[CaseStep, str] = {
    CaseStep.REGISTERED: "registered (立案登记)",
    CaseStep.LETTER_SENT: "lawyer's letter sent (律师函)",
    CaseStep.FILED: "suit filed (起诉)",
    CaseStep.JUDGED: "judged (判决/调解)",
    CaseStep.ENFORCEMENT: "enforcement (强制执行)",
    CaseStep.LISTED: "listed as dishonest debtor (失信被执行人)",
}


# --- agreements ---------------------------------------------------------------------------------------
def agreements_at(agreements: pl.DataFrame, *, as_of: dt.date) -> pl.DataFrame:
    """The agreements signed by ``as_of``, each in its state then.

    An agreement that was kept, broken or completed after ``as_of`` was still active that day (``status_on``
    back to the signing day, as the contract has it for an active one).
    """
    signed = pl.col("signed_at").dt.date()
    later = pl.col("status_on") > as_of
    return agreements.filter(signed <= as_of).with_columns(
        status=pl.when(later).then(pl.lit(AgreementStatus.ACTIVE.value)).otherwise(pl.col("status")),
        status_on=pl.when(later).then(signed).otherwise(pl.col("status_on")),
    )


def _share_of_resolved(status: AgreementStatus) -> pl.Expr:
    resolved = (pl.col("status") != AgreementStatus.ACTIVE.value).sum()
    return pl.when(resolved > 0).then((pl.col("status") == status.value).sum() / resolved).alias(status.value)


def agreement_rates(agreements: pl.DataFrame, by: str, *, as_of: dt.date) -> pl.DataFrame:
    """Agreements signed by ``as_of`` per ``by`` (``kind`` or ``channel``, in the contract's order) and in all.

    ``still_active`` is a share of all the row's agreements; ``kept``, ``completed`` and ``broken`` are
    shares of the resolved ones (not active any more) and sum to one; ``median_days_to_broken`` is the
    median number of days from signing to the break, over the broken ones. Null where there is nothing to
    divide by.

    Examples
    --------
    >>> import datetime as dt
    >>> signed = dt.datetime(2025, 1, 2, 10)
    >>> frame = pl.DataFrame({"kind": ["promise_to_pay"] * 3, "channel": ["phone"] * 3,
    ...     "signed_at": [signed] * 3, "status": ["kept", "broken", "active"],
    ...     "status_on": [dt.date(2025, 1, 9), dt.date(2025, 1, 12), dt.date(2025, 1, 2)]})
    >>> agreement_rates(frame, "kind", as_of=dt.date(2025, 1, 31)).row(0)
    ('promise_to_pay', 3, 0.3333333333333333, 2, 0.5, 0.0, 0.5, 10.0)
    """
    frame = agreements_at(agreements, as_of=as_of)
    status = pl.col("status")
    broken = status == AgreementStatus.BROKEN.value
    aggs = (
        pl.len().alias("agreements"),
        ((status == AgreementStatus.ACTIVE.value).sum() / pl.len()).alias("still_active"),
        (status != AgreementStatus.ACTIVE.value).sum().alias("resolved"),
        _share_of_resolved(AgreementStatus.KEPT),
        _share_of_resolved(AgreementStatus.COMPLETED),
        _share_of_resolved(AgreementStatus.BROKEN),
        (pl.col("status_on") - pl.col("signed_at").dt.date())
        .dt.total_days()
        .filter(broken)
        .median()
        .alias("median_days_to_broken"),
    )
    order = {"kind": AgreementKind, "channel": NegotiationChannel}[by]
    rank = pl.col(by).replace_strict({e.value: i for i, e in enumerate(order)}, default=len(order))
    groups = frame.group_by(by).agg(*aggs).sort(rank, pl.col(by))
    if frame.is_empty():
        return groups
    total = frame.select(pl.lit(ALL).alias(by), *aggs)
    return pl.concat([groups, total.cast(groups.schema)])


def settlement_certificates(agreements: pl.DataFrame, *, as_of: dt.date) -> tuple[int, int]:
    """Settlements completed by ``as_of`` and, of those, how many had their certificate (结清证明) by then."""
    done = agreements_at(agreements, as_of=as_of).filter(
        pl.col("kind") == AgreementKind.SETTLEMENT.value, pl.col("status") == AgreementStatus.COMPLETED.value
    )
    return done.height, int((done["certificate_on"] <= as_of).sum())


def _kind_rate(rates: pl.DataFrame, kind: AgreementKind, column: str) -> object:
    row = rates.filter(pl.col("kind") == kind.value)
    return row[column].item() if row.height else None


def _labelled_kinds(rates: pl.DataFrame) -> pl.DataFrame:
    labels = {k.value: v for k, v in KIND_LABELS.items()}
    return rates.with_columns(pl.col("kind").replace(labels))


def absent(table: str) -> str:
    """The note a page shows when the export lacks one of the optional case tables."""
    return f"not available: the export has no {table} table (optional in the data contract)"


def agreements_section(agreements: pl.DataFrame | None, *, as_of: dt.date, missing: str | None = None) -> str:
    """The agreements page: counts and outcome rates by kind and by negotiation channel; ``missing`` (why the
    loan book is not available) replaces it with a note, as on the other loan-book sections."""
    title = "7. Agreements (协商协议)"
    lead = (
        f"Agreements reached in negotiation and signed by {as_of}, in their state that day. Kept, completed "
        "and broken are shares of the resolved agreements, those no longer active (kept + completed vs broken: "
        "kept = paid by its date, completed = fully paid); still active is a share of all signed."
    )
    if missing or agreements is None:
        note = missing or absent(AGREEMENTS.name)
        return section("agreements", title, lead, unavailable(note))
    by_kind = agreement_rates(agreements, "kind", as_of=as_of)
    if by_kind.is_empty():
        return section("agreements", title, lead, unavailable(f"not available: no agreement signed by {as_of}"))
    by_channel = agreement_rates(agreements, "channel", as_of=as_of)
    total = by_kind.filter(pl.col("kind") == ALL).row(0, named=True)
    settled, certified = settlement_certificates(agreements, as_of=as_of)
    body = kpis(
        [
            ("agreements signed", num()(total["agreements"])),
            ("still active", pct(1)(total["still_active"])),
            ("promises to pay kept", pct(1)(_kind_rate(by_kind, AgreementKind.PROMISE_TO_PAY, "kept"))),
            ("instalment plans completed", pct(1)(_kind_rate(by_kind, AgreementKind.INSTALMENT_PLAN, "completed"))),
            ("broken, all kinds", pct(1)(total["broken"])),
            ("median days from signing to a break", num()(total["median_days_to_broken"])),
            ("completed settlements with a certificate (结清证明)", f"{certified:,} of {settled:,}"),
        ]
    )
    fmt = {
        "agreements": num(),
        "still_active": pct(1),
        "resolved": num(),
        **{s.value: pct(1) for s in (AgreementStatus.KEPT, AgreementStatus.COMPLETED, AgreementStatus.BROKEN)},
        "median_days_to_broken": num(),
    }
    headers = {"median_days_to_broken": "median days signed → broken"}
    figure = charts.agreement_outcomes_figure({"By kind": by_kind, "By negotiation channel": by_channel})
    body += (
        image(figure, "kept, completed and broken shares of resolved agreements by kind and by channel")
        + "<h3>By kind of agreement</h3>"
        + table(_labelled_kinds(by_kind), fmt, headers)
        + "<h3>By negotiation channel</h3>"
        + table(by_channel, fmt, headers)
    )
    return section("agreements", title, lead, body)


# --- legal cases --------------------------------------------------------------------------------------
def fileable() -> pl.Expr:
    """Whether a case has every item the legal team needs to file a suit (:data:`FILING_EVIDENCE`)."""
    return pl.all_horizontal(pl.col(c).fill_null(False) for c in FILING_EVIDENCE)


def cases_at(cases: pl.DataFrame, *, as_of: dt.date) -> pl.DataFrame:
    """The cases registered by ``as_of``, each as it stood then, with ``step`` (the furthest reached) and ``open``.

    Steps, the close and the amounts that come with a step (claim, award) dated after ``as_of`` are nulled.
    ``recovered_amount`` is a running total with no date per amount, so it is kept as the data has it.
    """
    c = pl.col
    dated = [s for s in STEP_DATES.values() if s != "registered_on"]
    frame = cases.filter(c("registered_on") <= as_of).with_columns(
        pl.when(c(d) <= as_of).then(c(d)).alias(d) for d in (*dated, "closed_on")
    )
    step = pl.coalesce(*(pl.when(c(STEP_DATES[s]).is_not_null()).then(pl.lit(s.value)) for s in reversed(CaseStep)))
    return frame.with_columns(
        claim_amount=pl.when(c("filed_on").is_not_null()).then(c("claim_amount")),
        awarded_amount=pl.when(c("judgment_on").is_not_null()).then(c("awarded_amount")),
        close_reason=pl.when(c("closed_on").is_not_null()).then(c("close_reason")),
        step=step,
        open=c("closed_on").is_null(),
    )


def cases_by_step(cases: pl.DataFrame, *, as_of: dt.date) -> pl.DataFrame:
    """Cases registered by ``as_of`` by the furthest step reached then (every step a row, in order, then all):
    how many, open and closed, and the closed ones by close reason (one column per :class:`CloseReason`)."""
    frame = cases_at(cases, as_of=as_of)
    reasons = [r.value for r in CloseReason]
    aggs = (
        pl.len().alias("cases"),
        pl.col("open").sum().alias("open"),
        (~pl.col("open")).sum().alias("closed"),
        *((pl.col("close_reason") == r).sum().alias(r) for r in reasons),
    )
    steps = pl.DataFrame({"step": [s.value for s in CaseStep]})
    counts = steps.join(frame.group_by("step").agg(*aggs), on="step", how="left", maintain_order="left")
    total = frame.select(pl.lit(ALL).alias("step"), *aggs)
    return pl.concat([counts, total.cast(counts.schema)]).fill_null(0)


def evidence_gaps(cases: pl.DataFrame, *, as_of: dt.date) -> pl.DataFrame:
    """Per checklist item: how many open cases lack it, and how many of the open ones not yet filed.

    ``needed_to_file`` marks the items of :data:`FILING_EVIDENCE`.
    """
    frame = cases_at(cases, as_of=as_of).filter("open")
    waiting = frame.filter(pl.col("filed_on").is_null())
    return pl.DataFrame(
        {
            "item": list(EVIDENCE),
            "needed_to_file": [c in FILING_EVIDENCE for c in EVIDENCE],
            "missing_open": [int((~frame[c].fill_null(False)).sum()) for c in EVIDENCE],
            "missing_not_yet_filed": [int((~waiting[c].fill_null(False)).sum()) for c in EVIDENCE],
        },
        schema_overrides={"missing_open": pl.Int64, "missing_not_yet_filed": pl.Int64},
    )


def _evidence_label(column: str) -> str:
    """The checklist item as the data contract describes it ("proof of disbursement (放款凭证)")."""
    return LEGAL_CASES.column(column).meaning.removeprefix("Evidence checklist: ")


def filing_readiness(cases: pl.DataFrame, *, as_of: dt.date) -> dict[str, int | float | None]:
    """Open cases at ``as_of``: how many are not filed yet, how many of those cannot be (a :data:`FILING_EVIDENCE`
    item missing), the fileable share of them, and open cases filed although an item is missing."""
    frame = cases_at(cases, as_of=as_of).filter("open").with_columns(fileable=fileable())
    waiting = frame.filter(pl.col("filed_on").is_null())
    blocked = int((~waiting["fileable"]).sum())
    return {
        "open": frame.height,
        "not_yet_filed": waiting.height,
        "cannot_be_filed": blocked,
        "fileable_share": (waiting.height - blocked) / waiting.height if waiting.height else None,
        "filed_with_gap": int(frame.filter(pl.col("filed_on").is_not_null(), ~pl.col("fileable")).height),
    }


def judged_recovery(cases: pl.DataFrame, *, as_of: dt.date) -> dict[str, int | float | None]:
    """Cases judged by ``as_of``: how many, claimed, awarded and recovered (RMB), recovered over awarded."""
    judged = cases_at(cases, as_of=as_of).filter(pl.col("judgment_on").is_not_null())
    awarded = float(judged["awarded_amount"].sum())
    recovered = float(judged["recovered_amount"].sum())
    return {
        "cases": judged.height,
        "claimed": float(judged["claim_amount"].sum()),
        "awarded": awarded,
        "recovered": recovered,
        "recovered_share": recovered / awarded if awarded else None,
    }


def recovery_calibration(court_recovery: Mapping[str, object]) -> pl.DataFrame:
    """metrics/effects.json's ``court_recovery`` calibration as a frame, with ``gap`` = observed − predicted."""
    schema = {"decile": pl.Int64, "cases": pl.Int64, "predicted": pl.Float64, "observed": pl.Float64}
    frame = pl.DataFrame(court_recovery.get("calibration_by_decile") or [], schema=schema)
    return frame.with_columns(gap=pl.col("observed") - pl.col("predicted"))


def _recovery_block(cases: pl.DataFrame, court_recovery: object, *, as_of: dt.date) -> str:
    judged = judged_recovery(cases, as_of=as_of)
    out = "<h3>Recovery vs predicted</h3>" + kpis(
        [
            ("cases judged (判决/调解)", num()(judged["cases"])),
            ("awarded, RMB", num()(judged["awarded"])),
            ("recovered so far, RMB", num()(judged["recovered"])),
            ("recovered / awarded", pct(1)(judged["recovered_share"])),
        ]
    )
    if not isinstance(court_recovery, Mapping) or not court_recovery.get("calibration_by_decile"):
        why = court_recovery.get("note") if isinstance(court_recovery, Mapping) else None
        text = why or "metrics/effects.json has no court_recovery figures (run `risk policy`)"
        return out + unavailable(f"Court-recovery model calibration: not available, {text}")
    calibration = recovery_calibration(court_recovery)
    cr = court_recovery
    gap = cr.get("max_decile_gap")
    largest = "—" if gap is None else f"{100 * float(gap):.1f} points"  # type: ignore[arg-type]
    out += (
        '<p class="note">The court-recovery model predicts the share of the claim a judgment recovers; '
        f"cross-validated on the {num()(cr.get('cases'))} judged cases closed or a year past judgment, grouped "
        f"into deciles of the prediction. Mean share recovered {pct(1)(cr.get('mean_recovered_share'))}, "
        f"median {num(1)(cr.get('median_months_to_recovery'))} months from filing to the last recovery; "
        f"{cr.get('deciles_within_5_points', '—')} of {calibration.height} deciles within 5 points, largest "
        f"gap {largest}.</p>"
        + '<div class="row"><div>'
        + image(charts.recovery_calibration_figure(calibration), "court recovery: observed vs predicted by decile")
        + "</div><div>"
        + table(
            calibration,
            {"cases": num(), "predicted": pct(1), "observed": pct(1), "gap": pct(1)},
            {"gap": "observed − predicted"},
        )
        + "</div></div>"
    )
    return out


def legal_section(
    cases: pl.DataFrame | None,
    effects: Mapping[str, object] | None,
    *,
    as_of: dt.date,
    missing: str | None = None,
) -> str:
    """The legal page: cases by furthest step, evidence gaps of open cases, recovery against the prediction;
    ``missing`` (why the loan book is not available) replaces it with a note."""
    title = "8. Legal cases (法务案件)"
    lead = (
        f"Cases with the legal team at {as_of}: the furthest step each has reached (registered → lawyer's "
        "letter → suit → judgment → enforcement → dishonest-debtor list), open or closed and why, what evidence "
        "open cases lack, and what judgments recover against the court-recovery model's prediction."
    )
    if missing or cases is None:
        note = missing or absent(LEGAL_CASES.name)
        return section("legal", title, lead, unavailable(note))
    by_step = cases_by_step(cases, as_of=as_of)
    total = by_step.filter(pl.col("step") == ALL).row(0, named=True)
    if not total["cases"]:
        return section("legal", title, lead, unavailable(f"not available: no legal case registered by {as_of}"))
    ready = filing_readiness(cases, as_of=as_of)
    listed = by_step.filter(pl.col("step") == CaseStep.LISTED.value)["cases"].item()
    labels = {s.value: label for s, label in STEP_LABELS.items()}
    filing = ", ".join(_evidence_label(c) for c in FILING_EVIDENCE)
    gaps = evidence_gaps(cases, as_of=as_of).with_columns(
        pl.col("item").replace({c: _evidence_label(c) for c in EVIDENCE}),
        needed_to_file=pl.when("needed_to_file").then(pl.lit("yes")).otherwise(pl.lit("")),
    )
    body = (
        kpis(
            [
                ("cases registered", num()(total["cases"])),
                ("open", num()(total["open"])),
                ("closed", num()(total["closed"])),
                ("listed as dishonest debtors (失信)", num()(listed)),
            ]
        )
        + "<h3>Cases by furthest step reached</h3>"
        + '<p class="note">Each case counts once, at the furthest step it had reached by the as-of date; the '
        "closed ones by close reason (结案原因).</p>"
        + table(
            by_step.with_columns(pl.col("step").replace(labels)),
            {c: num() for c in by_step.columns[1:]},
            {"step": "furthest step"},
        )
        + "<h3>Evidence gaps among open cases</h3>"
        + kpis(
            [
                ("open cases not yet filed", num()(ready["not_yet_filed"])),
                ("of which cannot be filed", num()(ready["cannot_be_filed"])),
                ("fileable share", pct(1)(ready["fileable_share"])),
            ]
        )
        + f'<p class="note">The legal team files a suit only with all three of: {html.escape(filing)}. '
        f"{ready['filed_with_gap']:,} open cases were filed although one of them is missing.</p>"
        + table(
            gaps,
            {"missing_open": num(), "missing_not_yet_filed": num()},
            {
                "item": "checklist item",
                "missing_open": f"missing, of {ready['open']:,} open",
                "missing_not_yet_filed": f"missing, of {ready['not_yet_filed']:,} not yet filed",
            },
        )
        + _recovery_block(cases, (effects or {}).get("court_recovery"), as_of=as_of)
    )
    return section("legal", title, lead, body)
