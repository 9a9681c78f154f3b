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

import polars as pl

from risk.attributes import TABLE as ATTRIBUTE_TABLE
from risk.attributes import Attribute
from risk.contract import APPLICATIONS, Decision, Education
from risk.exceptions import RiskDataError
from risk.ingest.coerce import complete, parse_integer
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
