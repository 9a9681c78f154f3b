"""LendingClub 2007-2011 (LoanStats3a.csv) onto the contract, in application-only mode.

One row per funded loan with its final status. What maps (source -> contract):

- ``id`` (or the row number) -> ``application_id``; ``member_id`` (or the application id) -> ``borrower_id``
- ``loan_amnt`` -> ``requested_amount`` (USD); ``term`` ``"36 months"`` -> ``requested_term``
- ``annual_inc / 12`` -> ``monthly_income`` (USD)
- ``emp_length`` -> ``employment_years`` (lower bound: ``< 1 year`` = 0, ``10+ years`` = 10, ``n/a`` = null)
- ``inq_last_6mths`` -> ``credit_inquiries_6m``; ``revol_bal`` -> ``existing_debt`` (revolving debt only)
- ``verification_status`` Verified / Source Verified -> ``income_verified``
- every loan is an unsecured personal loan paid out in cash: ``product`` cash_loan (``purpose``
  small_business, when present, -> micro_business); every row was funded: ``decision`` approved
- ``loan_status`` Charged Off = 1 / Fully Paid = 0 -> ``outcomes.default_flag``

The 16-column extract in shared/data has no interest rate, issue date or funded amount, so it yields no
loans or schedule. The full LoanStats3a file has them (``funded_amnt``, ``int_rate``, ``issue_d``): then
``loans`` (issued on the 1st of the issue month: the day is not published) and an equal-instalment
``schedule`` (等额本息) are built too. Neither file has a payment history (the full file has only the
totals ``total_pymnt`` and ``last_pymnt_d``), so the mode stays application-only.
``zip_code`` and ``addr_state`` are dropped: location is personal data and a proxy for protected
attributes. Every other usable column is carried as a declared source attribute (:data:`ATTRIBUTES`, the
``attributes`` table): home ownership, delinquencies, open and total credit lines, public records and
revolving utilisation in the extract; debt-to-income, months since the last delinquency and public record,
bankruptcies and the loan purpose in the full file. LendingClub's own ``grade``, ``sub_grade`` and the rate
it priced (``int_rate``, used only for the schedule) are not features: they are the lender's score, not the
applicant's. Free text (``emp_title``, ``title``, ``desc``) and what happened after funding (payments,
recoveries) are left out.
"""

from __future__ import annotations

import polars as pl

from risk.attributes import TABLE as ATTRIBUTE_TABLE
from risk.attributes import Attribute
from risk.contract import APPLICATIONS, Decision, LoanStatus, Product, RepaymentMethod
from risk.exceptions import RiskDataError
from risk.ingest.coerce import complete, parse_integer, parse_number
from risk.ingest.extras import attribute_frame
from risk.ingest.result import IngestMode, IngestResult

SOURCE = "lendingclub"
FILE_NAME = "LoanStats3a.csv"
LABEL = "loan_status"
REQUIRED = ("loan_amnt", "term", LABEL)
DROPPED = ("zip_code", "addr_state")  # location: personal data and a proxy for protected attributes
MAPPED = (
    "id",
    "member_id",
    "loan_amnt",
    "funded_amnt",
    "term",
    "int_rate",
    "issue_d",
    "purpose",
    "emp_length",
    "annual_inc",
    "verification_status",
    "inq_last_6mths",
    "revol_bal",
    "earliest_cr_line",
    LABEL,
)
# the applicant's other columns, each a PD feature when the file has it (risk.attributes)
ATTRIBUTES = (
    Attribute("home_ownership", "home_ownership", "categorical", "Home ownership (rent, own, mortgage, other)"),
    Attribute("delinquencies_2y", "delinq_2yrs", "numeric", "Delinquencies of 30+ days in the past 2 years", risk=1),
    Attribute("open_credit_lines", "open_acc", "numeric", "Open credit lines"),
    Attribute("public_records", "pub_rec", "numeric", "Derogatory public records", risk=1),
    Attribute("revolving_utilisation", "revol_util", "numeric", "Revolving credit used, share of the limit", risk=1),
    Attribute("total_credit_lines", "total_acc", "numeric", "Credit lines ever opened"),
    Attribute("dti", "dti", "numeric", "Monthly debt payments over monthly income, as LendingClub computed it", risk=1),
    Attribute("months_since_delinquency", "mths_since_last_delinq", "numeric", "Months since the last delinquency"),
    Attribute("months_since_public_record", "mths_since_last_record", "numeric", "Months since the last public record"),
    Attribute("bankruptcies", "pub_rec_bankruptcies", "numeric", "Public-record bankruptcies", risk=1),
    Attribute("purpose", "purpose", "categorical", "Purpose of the loan as the applicant stated it"),
)
NOT_FEATURES = ("grade", "sub_grade")  # LendingClub's own risk grade: the lender's score, not the applicant's
POLICY_PREFIX = "Does not meet the credit policy. Status:"
STATUS = {
    "Fully Paid": LoanStatus.REPAID,
    "Charged Off": LoanStatus.CHARGED_OFF,
    "Current": LoanStatus.ACTIVE,
    "In Grace Period": LoanStatus.ACTIVE,
    "Late (16-30 days)": LoanStatus.ACTIVE,
    "Late (31-120 days)": LoanStatus.ACTIVE,
    "Default": LoanStatus.ACTIVE,  # LendingClub's "Default" precedes the charge-off
}
EMP_YEARS = {"< 1 year": 0.0, "1 year": 1.0, **{f"{n} years": float(n) for n in range(2, 10)}, "10+ years": 10.0}
ALWAYS_LACKS = (
    "repayments: LendingClub publishes no payment history (the full file has only the totals total_pymnt "
    "and last_pymnt_d), so there are no dated payments, no days past due and no behavioural features.",
    "collection_actions: not in the source.",
    "applications: no applied_at, age, channel, employment_type, city_tier, education, prior_loans or "
    "identity_verified (left empty); declined applications are not in this file, so every row is approved.",
)


def _num(frame: pl.DataFrame, column: str) -> pl.Series:
    return parse_number(frame[column], table=SOURCE, column=column)


def _month(frame: pl.DataFrame, column: str) -> pl.Series:
    """LendingClub months are written ``Dec-2011``; the day is not published, the 1st is used."""
    text = frame[column].str.strip_chars()
    value = text.str.to_date("%b-%Y", strict=False)
    bad = text.is_not_null() & (text != "") & value.is_null()
    if bad.any():
        msg = "not a month like Dec-2011"
        raise RiskDataError(
            msg,
            table=SOURCE,
            column=column,
            rule="date_format",
            failing_rows=int(bad.sum()),
            examples=text.filter(bad).head(5).to_list(),
        )
    return value


def _employment_years(emp_length: pl.Series) -> pl.Series:
    text = emp_length.str.strip_chars()
    years = text.replace_strict(EMP_YEARS, default=None, return_dtype=pl.Float64)
    unknown = text.is_not_null() & (text != "n/a") & years.is_null()
    if unknown.any():
        msg = f"unknown employment length; known: {list(EMP_YEARS)} and n/a"
        raise RiskDataError(
            msg,
            table=SOURCE,
            column="emp_length",
            rule="code_list",
            failing_rows=int(unknown.sum()),
            examples=text.filter(unknown).unique().head(5).to_list(),
        )
    return years


def _status(frame: pl.DataFrame) -> pl.Series:
    text = frame[LABEL].str.strip_chars().str.strip_prefix(POLICY_PREFIX)
    status = text.replace_strict({k: v.value for k, v in STATUS.items()}, default=None, return_dtype=pl.String)
    bad = text.is_not_null() & status.is_null()
    if bad.any():
        msg = f"unknown loan status; known: {sorted(STATUS)}"
        raise RiskDataError(
            msg,
            table=SOURCE,
            column=LABEL,
            rule="code_list",
            failing_rows=int(bad.sum()),
            examples=text.filter(bad).unique().head(5).to_list(),
        )
    return status


def adapt(source: pl.DataFrame) -> IngestResult:
    """Map a LoanStats3a frame (text columns) to applications, outcomes and, when possible, loans + schedule."""
    missing = [c for c in REQUIRED if c not in source.columns]
    if missing:
        msg = f"required LendingClub column(s) missing: {', '.join(missing)}"
        raise RiskDataError(msg, table=SOURCE, column=missing[0], rule="missing_column")
    warnings = []
    blank = source["loan_amnt"].is_null() & source[LABEL].is_null()
    if blank.any():  # the full file ends with summary lines ("Total amount funded ...")
        warnings.append(f"{SOURCE}: {int(blank.sum())} row(s) without loan_amnt and loan_status left out.")
        source = source.filter(~blank)
    n = source.height
    has = set(source.columns)
    app_id = source["id"].str.strip_chars() if "id" in has else pl.Series([f"lc-{i:06d}" for i in range(1, n + 1)])
    borrower = source["member_id"].str.strip_chars() if "member_id" in has else app_id
    term = parse_integer(source["term"].str.replace(r"(?i)\s*months?\s*$", ""), table=SOURCE, column="term")
    product = pl.Series([Product.CASH_LOAN.value] * n)
    if "purpose" in has:
        product = pl.select(
            pl.when(source["purpose"] == "small_business").then(pl.lit(Product.MICRO_BUSINESS.value)).otherwise(product)
        ).to_series()
    status = _status(source)
    build_loans = {"funded_amnt", "int_rate", "issue_d"} <= has
    issued = _month(source, "issue_d") if "issue_d" in has else None

    cols: dict[str, pl.Series] = {
        "application_id": app_id,
        "borrower_id": borrower,
        "requested_amount": _num(source, "loan_amnt"),
        "requested_term": term,
        "product": product,
        "decision": pl.Series([Decision.APPROVED.value] * n),
        "loan_id": app_id if build_loans else pl.Series([None] * n, dtype=pl.String),
    }
    if "annual_inc" in has:
        cols["monthly_income"] = _num(source, "annual_inc") / 12
    if "emp_length" in has:
        cols["employment_years"] = _employment_years(source["emp_length"])
        if no_years := cols["employment_years"].null_count():
            warnings.append(f"{SOURCE}: {no_years} loan(s) with emp_length n/a have no employment_years.")
    if "inq_last_6mths" in has:
        cols["credit_inquiries_6m"] = parse_integer(source["inq_last_6mths"], table=SOURCE, column="inq_last_6mths")
    if "revol_bal" in has:
        cols["existing_debt"] = _num(source, "revol_bal")
    if "verification_status" in has:
        cols["income_verified"] = source["verification_status"].str.strip_chars().is_in(["Verified", "Source Verified"])
    if issued is not None and "earliest_cr_line" in has:
        first = _month(source, "earliest_cr_line")
        cols["credit_history_months"] = (
            (issued.dt.year() - first.dt.year()) * 12
            + issued.dt.month().cast(pl.Int32)
            - first.dt.month().cast(pl.Int32)
        )
    applications = complete(pl.DataFrame({k: v.alias(k) for k, v in cols.items()}), APPLICATIONS)

    flag = status.replace_strict(
        {LoanStatus.CHARGED_OFF.value: 1, LoanStatus.REPAID.value: 0}, default=None, return_dtype=pl.Int8
    )
    outcomes = pl.DataFrame(
        {"application_id": app_id, "default_flag": flag, "source_label_name": pl.Series([LABEL] * n)}
    ).filter(pl.col("default_flag").is_not_null())
    if outcomes.height < n:
        warnings.append(f"{SOURCE}: {n - outcomes.height} loan(s) still running (no final outcome) have no label.")

    tables = {"applications": applications, "outcomes": outcomes}
    lacks = list(ALWAYS_LACKS)
    if build_loans:
        assert issued is not None
        loans = pl.DataFrame(
            {
                "loan_id": app_id,
                "borrower_id": borrower,
                "application_id": app_id,
                "originated_on": issued,
                "principal": _num(source, "funded_amnt"),
                "annual_rate": _num(source, "int_rate"),
                "term_months": term,
                "repayment_method": [RepaymentMethod.EQUAL_INSTALMENT.value] * n,
                "product": product,
                "contract_max_overdue_days": pl.Series([None] * n, dtype=pl.Int64),
                "status": status,
            }
        )
        tables |= {"loans": loans, "schedule": equal_instalment_schedule(loans)}
        lacks.append(
            "loans.contract_max_overdue_days: not published (left empty); originated_on is the 1st of the issue month."
        )
    else:
        lacks.append(
            "loans, schedule: this extract has no interest rate, issue date or funded amount "
            "(int_rate, issue_d, funded_amnt), so no loans or instalment schedule can be built."
        )
    present = tuple(a for a in ATTRIBUTES if a.column in has)
    tables[ATTRIBUTE_TABLE], present = attribute_frame(source, present, app_id)
    carried = {a.column for a in present}
    extra = sorted(has - set(MAPPED) - set(DROPPED) - carried)
    if extra:
        warnings.append(f"{SOURCE}: column(s) neither mapped nor carried as attributes, left out: {', '.join(extra)}.")
    return IngestResult(
        tables=tables,
        lacks=lacks,
        mode=IngestMode.APPLICATION_ONLY,
        warnings=warnings,
        dropped=[c for c in DROPPED if c in has],
        currency="USD",
        attributes=present,
    )


def equal_instalment_schedule(loans: pl.DataFrame) -> pl.DataFrame:
    """Equal-instalment (等额本息) schedule rows from principal, annual_rate and term_months.

    Examples
    --------
    >>> import datetime as dt
    >>> loans = pl.DataFrame({"loan_id": ["a"], "originated_on": [dt.date(2011, 12, 1)],
    ...                       "principal": [1200.0], "annual_rate": [0.12], "term_months": [2]})
    >>> equal_instalment_schedule(loans).select("instalment_no", "principal_due", "interest_due").rows()
    [(1, 597.01, 12.0), (2, 602.99, 6.03)]
    """
    r = pl.col("annual_rate") / 12
    n = pl.col("term_months")
    k = pl.col("instalment_no")
    growth = (1 + r).pow(n)
    payment = pl.when(r > 0).then(pl.col("principal") * r * growth / (growth - 1)).otherwise(pl.col("principal") / n)
    # balance before instalment k: P(1+r)^(k-1) - A((1+r)^(k-1) - 1)/r
    before = (
        pl.when(r > 0)
        .then(pl.col("principal") * (1 + r).pow(k - 1) - pl.col("payment") * ((1 + r).pow(k - 1) - 1) / r)
        .otherwise(pl.col("principal") - pl.col("payment") * (k - 1))
    )
    return (
        loans.select("loan_id", "originated_on", "principal", "annual_rate", "term_months")
        .with_columns(payment=payment, instalment_no=pl.int_ranges(1, n + 1))
        .explode("instalment_no")
        .with_columns(interest_due=before * r)
        .with_columns(
            due_date=pl.col("originated_on").dt.offset_by(pl.format("{}mo", k)),
            principal_due=(pl.col("payment") - pl.col("interest_due")).round(2),
            interest_due=pl.col("interest_due").round(2),
        )
        .select("loan_id", "instalment_no", "due_date", "principal_due", "interest_due")
    )
