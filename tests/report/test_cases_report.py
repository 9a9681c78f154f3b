"""The report's case-management pages: agreements and legal cases on hand-made tables with known answers."""

import datetime as dt

import polars as pl
import pytest

from risk.contract import AGREEMENTS, LEGAL_CASES, conform
from risk.report import cases
from risk.report.cases import CaseStep

D = dt.date
AS_OF = D(2025, 6, 30)
SIGNED = D(2025, 3, 1)


def _agreements(*rows: dict) -> pl.DataFrame:
    """Agreements in the contract's schema; each row gives what it needs, the rest is null (signed 03-01)."""
    full = [
        {c.name: None for c in AGREEMENTS.columns}
        | {"agreement_id": f"G{i}", "loan_id": f"L{i}", "channel": "phone", "signed_at": dt.datetime(2025, 3, 1, 10)}
        | {"status_on": SIGNED}
        | row
        for i, row in enumerate(rows)
    ]
    return conform(pl.DataFrame(full, infer_schema_length=None), AGREEMENTS)


def _cases(*rows: dict) -> pl.DataFrame:
    """Legal cases in the contract's schema: registered 01-10 with every piece of evidence, unless a row says."""
    full = [
        {c.name: None for c in LEGAL_CASES.columns}
        | {"case_id": f"J{i}", "loan_id": f"L{i}", "registered_on": D(2025, 1, 10), "recovered_amount": 0.0}
        | {"dishonest_debtor_listed": False}
        | dict.fromkeys(cases.EVIDENCE, True)
        | row
        for i, row in enumerate(rows)
    ]
    return conform(pl.DataFrame(full, infer_schema_length=None), LEGAL_CASES)


def _row(frame: pl.DataFrame, column: str, value: str) -> dict:
    return frame.filter(pl.col(column) == value).row(0, named=True)


def _unavailable_note(page: str) -> str:
    return page.split('<p class="note unavailable">', 1)[1].split("</p>", 1)[0]


# --- agreements ---------------------------------------------------------------------------------------
def test_rates_by_kind_are_shares_of_the_resolved_agreements():
    """Promises: 2 kept, 1 broken, 1 active; plans: 1 completed, 1 broken. Active ones are not in the rates."""
    book = _agreements(
        {"kind": "promise_to_pay", "status": "kept", "status_on": D(2025, 3, 8)},
        {"kind": "promise_to_pay", "status": "kept", "status_on": D(2025, 3, 9)},
        {"kind": "promise_to_pay", "status": "broken", "status_on": D(2025, 3, 11)},
        {"kind": "promise_to_pay", "status": "active"},
        {"kind": "instalment_plan", "status": "completed", "status_on": D(2025, 6, 1)},
        {"kind": "instalment_plan", "status": "broken", "status_on": D(2025, 4, 1)},
    )
    rates = cases.agreement_rates(book, "kind", as_of=AS_OF)
    assert rates["kind"].to_list() == ["promise_to_pay", "instalment_plan", "all"]
    promise = _row(rates, "kind", "promise_to_pay")
    assert (promise["agreements"], promise["resolved"]) == (4, 3)
    assert promise["still_active"] == pytest.approx(1 / 4)
    assert (promise["kept"], promise["completed"], promise["broken"]) == pytest.approx((2 / 3, 0.0, 1 / 3))
    plan = _row(rates, "kind", "instalment_plan")
    assert (plan["kept"], plan["completed"], plan["broken"]) == pytest.approx((0.0, 0.5, 0.5))
    everything = _row(rates, "kind", "all")
    assert (everything["agreements"], everything["resolved"]) == (6, 5)
    assert (everything["kept"], everything["completed"], everything["broken"]) == pytest.approx((0.4, 0.2, 0.4))


def test_median_days_to_broken_counts_from_signing_over_the_broken_only():
    """Broken 4 and 16 days after signing: median 10; the kept one (7 days) does not count."""
    book = _agreements(
        {"kind": "extension", "status": "broken", "status_on": D(2025, 3, 5)},
        {"kind": "extension", "status": "broken", "status_on": D(2025, 3, 17)},
        {"kind": "extension", "status": "kept", "status_on": D(2025, 3, 8)},
    )
    rates = cases.agreement_rates(book, "kind", as_of=AS_OF)
    assert _row(rates, "kind", "extension")["median_days_to_broken"] == 10.0


def test_agreement_is_seen_as_it_stood_at_as_of():
    """Broken after as_of: still active then. Signed after as_of: not there at all."""
    book = _agreements(
        {"kind": "promise_to_pay", "status": "broken", "status_on": D(2025, 7, 5)},
        {"kind": "promise_to_pay", "status": "kept", "status_on": D(2025, 3, 8)},
        {
            "kind": "promise_to_pay",
            "status": "kept",
            "signed_at": dt.datetime(2025, 7, 2, 9),
            "status_on": D(2025, 7, 9),
        },
    )
    promise = _row(cases.agreement_rates(book, "kind", as_of=AS_OF), "kind", "promise_to_pay")
    assert (promise["agreements"], promise["resolved"], promise["still_active"]) == (2, 1, 0.5)
    assert (promise["kept"], promise["broken"]) == (1.0, 0.0)


def test_rates_by_channel_follow_the_contracts_order_with_a_total():
    book = _agreements(
        {"kind": "settlement", "channel": "email", "status": "completed"},
        {"kind": "settlement", "channel": "phone", "status": "broken"},
        {"kind": "settlement", "channel": "face_to_face", "status": "completed"},
    )
    rates = cases.agreement_rates(book, "channel", as_of=AS_OF)
    assert rates["channel"].to_list() == ["phone", "face_to_face", "email", "all"]
    assert _row(rates, "channel", "all")["completed"] == pytest.approx(2 / 3)


def test_a_settlement_certificate_counts_once_issued_by_as_of():
    """Three completed settlements: certificate before as_of, after it, none; and a broken one."""
    book = _agreements(
        {"kind": "settlement", "status": "completed", "status_on": D(2025, 4, 1), "certificate_on": D(2025, 4, 3)},
        {"kind": "settlement", "status": "completed", "status_on": D(2025, 6, 20), "certificate_on": D(2025, 7, 2)},
        {"kind": "settlement", "status": "completed", "status_on": D(2025, 5, 1)},
        {"kind": "settlement", "status": "broken", "status_on": D(2025, 4, 1)},
    )
    assert cases.settlement_certificates(book, as_of=AS_OF) == (3, 1)


def test_agreements_page_shows_the_rates_in_its_tables():
    book = _agreements(
        {"kind": "promise_to_pay", "status": "kept", "status_on": D(2025, 3, 8)},
        {"kind": "promise_to_pay", "status": "broken", "status_on": D(2025, 3, 11)},
        {"kind": "promise_to_pay", "status": "kept", "channel": "video", "status_on": D(2025, 3, 8)},
    )
    page = cases.agreements_section(book, as_of=AS_OF)
    assert page.startswith('<section id="agreements"><h2>7. Agreements (协商协议)</h2>')
    assert "promise to pay (承诺还款)" in page
    assert "66.7%" in page  # promises kept: 2 of the 3 resolved
    assert page.count("<img ") == 1


# --- legal cases --------------------------------------------------------------------------------------
LETTER = {"letter_sent_on": D(2025, 1, 10), "response_deadline": D(2025, 1, 25)}
FILED = LETTER | {"filed_on": D(2025, 2, 1), "claim_amount": 1200.0}
JUDGED = FILED | {"judgment_on": D(2025, 4, 1), "awarded_amount": 1100.0}


def test_a_case_walked_to_judgment_appears_in_the_judged_row():
    """One case per furthest step; a repaid one closed after the letter; every step has a row."""
    book = _cases(
        {},
        LETTER,
        FILED,
        JUDGED,
        JUDGED | {"enforcement_on": D(2025, 5, 1)},
        JUDGED | {"enforcement_on": D(2025, 5, 1), "dishonest_debtor_listed": True, "listed_on": D(2025, 6, 1)},
        LETTER | {"closed_on": D(2025, 1, 20), "close_reason": "repaid"},
    )
    by_step = cases.cases_by_step(book, as_of=AS_OF)
    assert by_step["step"].to_list() == [*(s.value for s in CaseStep), "all"]
    assert by_step.select("cases")["cases"].to_list() == [1, 2, 1, 1, 1, 1, 7]
    judged = _row(by_step, "step", CaseStep.JUDGED)
    assert (judged["cases"], judged["open"], judged["closed"]) == (1, 1, 0)
    letter = _row(by_step, "step", CaseStep.LETTER_SENT)
    assert (letter["open"], letter["closed"], letter["repaid"], letter["settled"]) == (1, 1, 1, 0)


def test_steps_and_closes_after_as_of_are_not_reached_yet():
    """Judged and closed after as_of: an open case at the 'filed' step. Registered after as_of: left out."""
    book = _cases(
        FILED
        | {"judgment_on": D(2025, 7, 3), "awarded_amount": 900.0, "closed_on": D(2025, 7, 9)}
        | {"close_reason": "settled"},
        {"registered_on": D(2025, 7, 1)},
    )
    by_step = cases.cases_by_step(book, as_of=AS_OF)
    filed = _row(by_step, "step", CaseStep.FILED)
    assert (filed["cases"], filed["open"], filed["settled"]) == (1, 1, 0)
    assert _row(by_step, "step", "all")["cases"] == 1
    assert cases.judged_recovery(book, as_of=AS_OF)["cases"] == 0


def test_the_three_items_needed_to_file_are_contract_identity_and_disbursement():
    assert cases.FILING_EVIDENCE == ("evidence_contract", "evidence_identity", "evidence_disbursement")
    assert set(cases.FILING_EVIDENCE) < set(cases.EVIDENCE)


def test_a_case_lacking_identity_proof_is_counted_as_not_fileable():
    """Open and not filed: complete, no identity proof, no contact records (fileable: not needed to file).
    A closed case without a contract and a filed one without identity proof are not waiting to be filed."""
    book = _cases(
        LETTER,
        LETTER | {"evidence_identity": False},
        LETTER | {"evidence_contacts": False},
        LETTER | {"evidence_contract": False, "closed_on": D(2025, 2, 1), "close_reason": "repaid"},
        FILED | {"evidence_identity": False},
    )
    ready = cases.filing_readiness(book, as_of=AS_OF)
    assert (ready["open"], ready["not_yet_filed"], ready["cannot_be_filed"], ready["filed_with_gap"]) == (4, 3, 1, 1)
    assert ready["fileable_share"] == pytest.approx(2 / 3)
    gaps = cases.evidence_gaps(book, as_of=AS_OF)
    missing = dict(gaps.select("item", "missing_open").iter_rows())
    assert missing == {
        "evidence_contract": 0,  # only the closed case lacks it
        "evidence_identity": 2,
        "evidence_disbursement": 0,
        "evidence_repayments": 0,
        "evidence_contacts": 1,
    }
    assert dict(gaps.select("item", "missing_not_yet_filed").iter_rows())["evidence_identity"] == 1
    assert gaps.filter("needed_to_file")["item"].to_list() == list(cases.FILING_EVIDENCE)


def test_recovered_and_awarded_totals_count_judged_cases_only():
    book = _cases(
        JUDGED | {"recovered_amount": 400.0, "last_recovery_on": D(2025, 5, 1)},
        JUDGED | {"awarded_amount": 500.0, "recovered_amount": 100.0, "last_recovery_on": D(2025, 5, 2)},
        FILED,
    )
    judged = cases.judged_recovery(book, as_of=AS_OF)
    assert (judged["cases"], judged["claimed"], judged["awarded"], judged["recovered"]) == (2, 2400.0, 1600.0, 500.0)
    assert judged["recovered_share"] == pytest.approx(500 / 1600)


COURT_RECOVERY = {
    "calibration_by_decile": [
        {"cases": 30, "decile": 1, "observed": 0.10, "predicted": 0.15},
        {"cases": 31, "decile": 2, "observed": 0.52, "predicted": 0.40},
    ],
    "cases": 61,
    "deciles_within_5_points": 1,
    "max_decile_gap": 0.12,
    "mean_recovered_share": 0.31,
    "median_months_to_recovery": 9.5,
}


def test_recovery_calibration_gives_observed_minus_predicted_per_decile():
    calibration = cases.recovery_calibration(COURT_RECOVERY)
    assert calibration["decile"].to_list() == [1, 2]
    assert calibration["gap"].to_list() == pytest.approx([-0.05, 0.12])


def test_legal_page_shows_steps_evidence_and_calibration():
    book = _cases(JUDGED | {"recovered_amount": 550.0}, LETTER | {"evidence_identity": False})
    page = cases.legal_section(book, {"court_recovery": COURT_RECOVERY}, as_of=AS_OF)
    assert page.startswith('<section id="legal"><h2>8. Legal cases (法务案件)</h2>')
    for text in (
        "judged (判决/调解)",
        "listed as dishonest debtor (失信被执行人)",
        "borrower&#x27;s identity verified",
    ):
        assert text in page, text
    assert "50.0%" in page  # recovered / awarded: 550 of 1,100
    assert "-5.0%" in page  # the first decile's gap: observed 10% against predicted 15%
    assert page.count("<img ") == 1 and "unavailable" not in page


def test_legal_page_without_court_recovery_figures_says_so():
    page = cases.legal_section(_cases(LETTER), None, as_of=AS_OF)
    assert 'class="note unavailable">Court-recovery model calibration: not available' in page
    assert "lawyer&#x27;s letter sent (律师函)" in page


@pytest.mark.parametrize(
    ("render", "table"),
    [
        (lambda: cases.agreements_section(None, as_of=AS_OF), "agreements"),
        (lambda: cases.legal_section(None, {"court_recovery": COURT_RECOVERY}, as_of=AS_OF), "legal_cases"),
    ],
)
def test_an_absent_case_table_gives_the__unavailable_note(render, table):
    page = render()
    assert f'<p class="note unavailable">not available: the export has no {table} table' in page
    assert "<table>" not in page and "<img " not in page


def test_case_tables_with_nothing_by_as_of_give_the__unavailable_note():
    late = dt.datetime(2025, 7, 2, 9)
    agreements = _agreements({"kind": "promise_to_pay", "status": "active", "signed_at": late})
    legal = _cases({"registered_on": D(2025, 7, 2)})
    assert f"no agreement signed by {AS_OF}" in cases.agreements_section(agreements, as_of=AS_OF)
    assert f"no legal case registered by {AS_OF}" in cases.legal_section(legal, None, as_of=AS_OF)


def test_a_source_without_a_loan_book_gives_its_reason_instead():
    """On an application-only source the case pages say why, as every loan-book section does."""
    why = "not available: this source is application-only — no repayment history"
    book = _agreements({"kind": "promise_to_pay", "status": "kept", "status_on": D(2025, 3, 8)})
    assert _unavailable_note(cases.agreements_section(book, as_of=AS_OF, missing=why)) == why
    assert _unavailable_note(cases.legal_section(_cases(LETTER), None, as_of=AS_OF, missing=why)) == why
