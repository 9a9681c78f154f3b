"""UCI "default of credit card clients" (Taiwan 2005, UCI_Credit_Card.csv) onto the contract, application-only.

One row per credit-card client, all observed over the same six months, with whether the client
defaulted the next month. What maps (source -> contract):

- ``ID`` -> ``application_id`` and ``borrower_id`` (``tw-<ID>``)
- ``LIMIT_BAL`` -> ``requested_amount`` (NT dollars): it is the credit limit granted, the nearest the
  source has to an amount applied for
- ``AGE`` -> ``age``
- ``EDUCATION`` 1 graduate school -> postgraduate, 2 university -> bachelor, 3 high school -> high_school;
  4 (others) and the undocumented 0, 5, 6 -> empty
- every client holds a card: ``decision`` approved
- ``default.payment.next.month`` -> ``outcomes.default_flag``

``SEX`` and ``MARRIAGE`` are protected attributes and are dropped. The six months of repayment status,
bills and payments (``PAY_0``, ``PAY_2``..``PAY_6``, ``BILL_AMT1..6``, ``PAY_AMT1..6``) describe a
revolving card with no instalment schedule and no payment dates, so they have no place in the
schedule or repayments tables; they are carried as declared source attributes (:data:`ATTRIBUTES`, month 1
the latest: September 2005, month 6 April), each a PD feature. Every client shares the same calendar
window, so only a random or ID-based split is honest.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import numpy as np
import polars as pl

from risk.attributes import TABLE as ATTRIBUTE_TABLE
from risk.attributes import Attribute
from risk.contract import APPLICATIONS, Decision, Education, LoanStatus, Product, RepaymentMethod
from risk.exceptions import RiskDataError
from risk.ingest.coerce import complete, parse_integer, parse_number
from risk.ingest.extras import attribute_frame
from risk.ingest.result import IngestMode, IngestResult

SOURCE = "taiwan"
FILE_NAME = "UCI_Credit_Card.csv"
LABEL = "default.payment.next.month"
REQUIRED = ("ID", "LIMIT_BAL", "AGE", "EDUCATION", LABEL)
PROTECTED = ("SEX", "MARRIAGE")
BEHAVIOUR = (
    "PAY_0",
    *(f"PAY_{i}" for i in range(2, 7)),
    *(f"BILL_AMT{i}" for i in range(1, 7)),
    *(f"PAY_AMT{i}" for i in range(1, 7)),
)
# PAY_0 is September's status, PAY_2..PAY_6 August..April (the source skips PAY_1); BILL_AMTn and PAY_AMTn are
# the same months, 1 the latest
_STATUS_COLUMNS = ("PAY_0", *(f"PAY_{i}" for i in range(2, 7)))
ATTRIBUTES = (
    *(
        Attribute(
            f"repayment_status_m{m}",
            column,
            "numeric",
            f"Repayment status {m} month(s) before the outcome (-2 no use, -1 paid in full, 0 revolving, "
            "n = n months late)",
            risk=1,
        )
        for m, column in enumerate(_STATUS_COLUMNS, start=1)
    ),
    *(
        Attribute(f"bill_amount_m{m}", f"BILL_AMT{m}", "numeric", f"Statement balance {m} month(s) before, NT$")
        for m in range(1, 7)
    ),
    *(
        Attribute(f"payment_amount_m{m}", f"PAY_AMT{m}", "numeric", f"Amount paid {m} month(s) before, NT$")
        for m in range(1, 7)
    ),
)
EDUCATION = {1: Education.POSTGRADUATE.value, 2: Education.BACHELOR.value, 3: Education.HIGH_SCHOOL.value}
LACKS = (
    "repayments, schedule, loans: a revolving card with no instalment schedule and no dates; the six-month "
    "history (PAY_0..PAY_6, BILL_AMT1..6, PAY_AMT1..6) is carried as source attributes instead.",
    "collection_actions: not in the source.",
    "applications: no applied_at, requested_term, product (a credit card is none of the contract's "
    "products), channel, monthly_income, employment, city_tier, credit bureau history, existing_debt, "
    "prior_loans or verification flags (left empty); requested_amount holds the credit limit granted.",
)


def adapt(source: pl.DataFrame) -> IngestResult:
    """Map a UCI_Credit_Card frame (text columns) to applications and outcomes."""
    missing = [c for c in REQUIRED if c not in source.columns]
    if missing:
        msg = f"required column(s) missing: {', '.join(missing)}"
        raise RiskDataError(msg, table=SOURCE, column=missing[0], rule="missing_column")
    ids = parse_integer(source["ID"], table=SOURCE, column="ID")
    app_id = ("tw-" + ids.cast(pl.String)).alias("application_id")
    education_code = parse_integer(source["EDUCATION"], table=SOURCE, column="EDUCATION")
    education = education_code.replace_strict(EDUCATION, default=None, return_dtype=pl.String)
    label = parse_integer(source[LABEL], table=SOURCE, column=LABEL)
    bad = label.is_null() | ~label.is_in([0, 1])
    if bad.any():
        msg = "the label must be 0 or 1"
        raise RiskDataError(
            msg,
            table=SOURCE,
            column=LABEL,
            rule="label_values",
            failing_rows=int(bad.sum()),
            examples=source[LABEL].filter(bad).head(5).to_list(),
        )
    n = source.height
    applications = complete(
        pl.DataFrame(
            {
                "application_id": app_id,
                "borrower_id": app_id,
                "requested_amount": parse_integer(source["LIMIT_BAL"], table=SOURCE, column="LIMIT_BAL").cast(
                    pl.Float64
                ),
                "age": parse_integer(source["AGE"], table=SOURCE, column="AGE"),
                "education": education,
                "decision": [Decision.APPROVED.value] * n,
            }
        ),
        APPLICATIONS,
    )
    outcomes = pl.DataFrame(
        {"application_id": app_id, "default_flag": label.cast(pl.Int8), "source_label_name": [LABEL] * n}
    )
    warnings = []
    no_age = int(applications["age"].is_null().sum())
    if no_age:
        warnings.append(f"{SOURCE}: {no_age} client(s) without AGE (written as nan in the file).")
    undocumented = int(education.is_null().sum())
    if undocumented:
        warnings.append(
            f"{SOURCE}: {undocumented} client(s) with EDUCATION 4 (others) or an undocumented code "
            "(0, 5, 6) have no education."
        )
    present = tuple(a for a in ATTRIBUTES if a.column in source.columns)
    attributes, present = attribute_frame(source, present, app_id)
    known = {*REQUIRED, *PROTECTED, *BEHAVIOUR}
    extra = [c for c in source.columns if c not in known]
    if extra:
        warnings.append(f"{SOURCE}: column(s) with no place in the contract left out: {', '.join(extra)}.")
    return IngestResult(
        tables={"applications": applications, "outcomes": outcomes, ATTRIBUTE_TABLE: attributes},
        attributes=present,
        lacks=list(LACKS),
        mode=IngestMode.APPLICATION_ONLY,
        warnings=warnings,
        dropped=[c for c in PROTECTED if c in source.columns],
        currency="TWD",
    )


# --- the six statements as an instalment ledger (reconstruction) ----------------------------------------------
STATEMENT_DAYS = tuple(dt.date(2005, m, 15) for m in range(4, 10))  # April..September 2005, the 15th (assumed)
STATEMENTS_AS_OF = dt.date(2005, 9, 30)  # the outcome is the next month's: default in October 2005
OPEN_BALANCE_FLOOR = 100.0  # NT$: September's statement, due in October, keeps every card open at as_of


def statements_ledger(source: pl.DataFrame) -> dict[str, pl.DataFrame]:
    """The six monthly statements as loans, schedule and repayments, with the amounts due reconstructed from the
    bank's delinquency status (an experiment, not an ingest format: ``benchmarks/taiwan_statements.py``).

    A card's bill is not its amount due: read as one, 93% of current clients look past due. The status says how
    many months the client is behind after each month's payment, so the amounts due are chosen to make the
    ledger (payments go to the oldest open instalment, an instalment is paid once less than 1 is open) agree:

    - month t (1 = April .. 6 = September) leaves ``k_t = max(status_t, 0)`` instalments open, so instalments
      ``1 .. L_t`` with ``L_t = t - k_t`` are paid by then (``L`` held non-decreasing: a status cannot age by
      more than a month per month);
    - cumulative payments ``C_t`` are known (``PAY_AMT``), so instalment ``j``'s cumulative amount due is
      ``C`` at the month it is paid, and the instalments still open in September each add the September
      bill's minimum share (``max(bill, 0) / k``, at least ``OPEN_BALANCE_FLOOR``);
    - a seventh instalment, September's statement balance (at least ``OPEN_BALANCE_FLOOR``), falls due in
      October, after as_of: every card is open when the features are read.

    Payments are dated on the month's due day (the 15th, assumed: the source has no dates). Where a status
    improves without a payment, no amounts can reproduce it; :func:`status_agreement` measures how often the
    ledger reproduces the source's status.
    """
    ids = parse_integer(source["ID"], table=SOURCE, column="ID")
    n = source.height
    status = np.column_stack(
        [parse_integer(source[c], table=SOURCE, column=c).to_numpy() for c in reversed(_STATUS_COLUMNS)]
    ).astype(float)  # April .. September
    paid = np.column_stack([_amount(source, f"PAY_AMT{m}") for m in range(6, 0, -1)])  # April .. September
    bill = np.column_stack([_amount(source, f"BILL_AMT{m}") for m in range(6, 0, -1)])
    months = np.arange(1, 7)
    behind = np.clip(np.nan_to_num(status, nan=0.0), 0, None)
    cleared = np.maximum.accumulate(np.clip(months - behind, 0, None), axis=1).astype(int)  # L_t
    cum_paid = np.cumsum(paid, axis=1)  # C_t
    still_open = 6 - cleared[:, -1]  # instalments open after September
    extra = np.maximum(np.clip(bill[:, -1], 0, None) / np.maximum(still_open, 1), OPEN_BALANCE_FLOOR)
    cum_due = np.empty((n, 6))
    for j in range(1, 7):
        # the month instalment j is first counted paid: the first t with L_t >= j
        paid_in = np.where(cleared >= j, months, 99).min(axis=1)
        done = paid_in <= 6
        at = cum_paid[np.arange(n), np.clip(paid_in - 1, 0, 5)]
        cum_due[:, j - 1] = np.where(done, at, cum_paid[:, -1] + (j - cleared[:, -1]) * extra)
    cum_due = np.maximum.accumulate(cum_due, axis=1)
    amounts = np.diff(np.column_stack([np.zeros(n), cum_due]), axis=1)
    october = np.maximum(np.clip(bill[:, -1], 0, None), OPEN_BALANCE_FLOOR)
    loan_id = ("tw-" + ids.cast(pl.String)).to_list()
    due = [*STATEMENT_DAYS, dt.date(2005, 10, 15)]
    schedule = pl.DataFrame(
        {
            "loan_id": np.repeat(loan_id, 7),
            "instalment_no": np.tile(np.arange(1, 8), n),
            "due_date": due * n,
            "principal_due": np.round(np.column_stack([amounts, october]).ravel(), 2),
            "interest_due": np.zeros(7 * n),
        }
    )
    rows = np.flatnonzero(paid.ravel() > 0)
    repayments = pl.DataFrame(
        {
            "repayment_id": [f"{loan_id[i // 6]}-{i % 6 + 1}" for i in rows],
            "loan_id": [loan_id[i // 6] for i in rows],
            "paid_at": [dt.datetime.combine(STATEMENT_DAYS[i % 6], dt.time(12)) for i in rows],
            "amount": paid.ravel()[rows],
        }
    )
    principal = schedule.group_by("loan_id", maintain_order=True).agg(pl.col("principal_due").sum())["principal_due"]
    loans = pl.DataFrame(
        {
            "loan_id": loan_id,
            "borrower_id": loan_id,
            "application_id": loan_id,
            "originated_on": [dt.date(2005, 3, 15)] * n,
            "principal": principal,
            "annual_rate": np.zeros(n),
            "term_months": np.full(n, 7),
            "repayment_method": [RepaymentMethod.BULLET.value] * n,
            "product": [Product.CONSUMER_INSTALMENT.value] * n,
            "contract_max_overdue_days": pl.Series([None] * n, dtype=pl.Int64),
            "status": [LoanStatus.ACTIVE.value] * n,
        }
    )
    return {
        "loans": loans,
        "schedule": schedule,
        "repayments": repayments,
        "status": pl.DataFrame(
            {"loan_id": np.repeat(loan_id, 6), "month": np.tile(months, n), "status": status.ravel()}
        ),
    }


def _amount(source: pl.DataFrame, column: str) -> np.ndarray:
    return parse_number(source[column], table=SOURCE, column=column).fill_null(0.0).to_numpy().astype(float)


def status_agreement(ledger: Mapping[str, pl.DataFrame]) -> float:
    """The share of client-months whose reconstructed months behind (open instalments due by the statement,
    after its payment) equal the source's status (0 for -2, -1 and 0)."""
    from risk.delinquency import instalment_ledger

    lines = instalment_ledger(*(ledger[t].lazy() for t in ("loans", "schedule", "repayments"))).collect()
    months = pl.DataFrame({"month": range(1, 7), "day": STATEMENT_DAYS})
    open_ = (
        lines.join(months, how="cross")
        .filter(pl.col("due_date") <= pl.col("day"))
        .group_by("loan_id", "month")
        .agg(behind=((pl.col("paid_on").is_null()) | (pl.col("paid_on") > pl.col("day"))).sum())
    )
    joined = (
        ledger["status"]
        .join(open_, on=["loan_id", "month"], how="left")
        .with_columns(expected=pl.col("status").clip(lower_bound=0))
    )
    return float((joined["behind"] == joined["expected"]).mean())
