"""Booked loans and their repayment schedules (借据与还款计划), equal instalment by default (等额本息)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from risk.contract import Product

# days overdue after which the contract allows acceleration and legal action
# the contract's maximum days overdue before acceleration and legal action: below the charge-off point
# (180 days) for every product, or the "overdue beyond the contract's maximum" criterion could never fire
CONTRACT_MAX_OVERDUE = {Product.CASH_LOAN: 90, Product.CONSUMER_INSTALMENT: 60, Product.MICRO_BUSINESS: 120}
RATE_FLOOR, RATE_CAP = 0.10, 0.36
RATE_PRODUCT = {Product.CASH_LOAN: 0.02, Product.CONSUMER_INSTALMENT: -0.02, Product.MICRO_BUSINESS: -0.04}


def add_months(day: np.ndarray, months: np.ndarray | int) -> np.ndarray:
    """Same day of month ``months`` later (clamped to the month's end), in days since 1970.

    Matches polars' ``dt.offset_by("{n}mo")``, so due dates agree with the rest of the pipeline.
    """
    d = np.asarray(day).astype("datetime64[D]")
    month = d.astype("datetime64[M]")
    day_of_month = (d - month.astype("datetime64[D]")).astype(np.int64)
    target = month + np.asarray(months)
    first = target.astype("datetime64[D]").astype(np.int64)
    length = (target + 1).astype("datetime64[D]").astype(np.int64) - first
    return first + np.minimum(day_of_month, length - 1)


@dataclass(frozen=True)
class Book:
    """Loan-level arrays (one entry per booked loan) and the flat schedule (sorted by loan, instalment)."""

    application: np.ndarray  # index into the applications
    originated: np.ndarray  # days since 1970
    principal: np.ndarray
    rate: np.ndarray
    term: np.ndarray
    product: np.ndarray
    first_row: np.ndarray  # index of each loan's first schedule row
    row_loan: np.ndarray  # schedule: loan index of each row
    row_no: np.ndarray  # schedule: instalment number 1..term
    row_due: np.ndarray  # schedule: due day
    row_principal: np.ndarray
    row_interest: np.ndarray

    @property
    def row_amount(self) -> np.ndarray:
        return self.row_principal + self.row_interest

    @property
    def row_cum_due(self) -> np.ndarray:
        """Running total due per loan through each instalment."""
        cum = np.cumsum(self.row_amount)
        before = np.concatenate([[0.0], cum])[self.first_row]
        return cum - before[self.row_loan]


def amortise(principal: np.ndarray, rate: np.ndarray, term: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Equal instalment (等额本息) principal and interest per instalment, flat by loan then instalment.

    The instalment is the annuity ``P r / (1 - (1 + r)^-n)`` at the monthly rate ``r``; interest is
    the balance times ``r`` rounded to the fen, and the last principal clears the balance exactly.
    """
    monthly = rate / 12.0
    instalment = np.round(principal * monthly / (1.0 - (1.0 + monthly) ** -term.astype(float)), 2)
    first_row = np.concatenate([[0], np.cumsum(term)[:-1]])
    row_principal = np.zeros(int(term.sum()))
    row_interest = np.zeros(int(term.sum()))
    balance = principal.copy()
    for k in range(1, int(term.max()) + 1):
        live = np.flatnonzero(term >= k)
        interest = np.round(balance[live] * monthly[live], 2)
        last = term[live] == k
        repaid = np.where(last, balance[live], np.maximum(instalment[live] - interest, 0.0))
        rows = first_row[live] + k - 1
        row_principal[rows] = repaid
        row_interest[rows] = interest
        balance[live] = np.round(balance[live] - repaid, 2)
    return row_principal, row_interest


def book_loans(rng: np.random.Generator, a: dict[str, np.ndarray], as_of_day: int) -> Book:
    """Book the approved applications: price by risk, disburse within a day, lay out the schedule."""
    approved = np.flatnonzero(a["decision"] == "approved")
    score = a["underwriting"][approved]
    percentile = np.argsort(np.argsort(score)) / max(len(score) - 1, 1)
    product = a["product"][approved]
    rate = RATE_FLOOR + (RATE_CAP - RATE_FLOOR) * percentile**1.3
    for p, shift in RATE_PRODUCT.items():
        rate = np.where(product == p.value, rate + shift, rate)
    rate = np.round(np.clip(rate, RATE_FLOOR, RATE_CAP), 4)
    # riskier approvals get a smaller line than they asked for (降额)
    principal = np.round(a["requested_amount"][approved] * np.where(percentile > 0.85, 0.8, 1.0), -2)
    term = a["requested_term"][approved]
    originated = np.minimum(a["applied_day"][approved] + (rng.random(len(approved)) < 0.3), as_of_day)
    row_principal, row_interest = amortise(principal, rate, term)
    first_row = np.concatenate([[0], np.cumsum(term)[:-1]])
    row_loan = np.repeat(np.arange(len(approved)), term)
    row_no = np.arange(len(row_loan)) - first_row[row_loan] + 1
    return Book(
        application=approved,
        originated=originated,
        principal=principal,
        rate=rate,
        term=term,
        product=product,
        first_row=first_row,
        row_loan=row_loan,
        row_no=row_no,
        row_due=add_months(originated[row_loan], row_no),
        row_principal=row_principal,
        row_interest=row_interest,
    )
