"""Case evidence: what a borrower's profile rows say at as_of hangs on the borrower's own rows alone."""

from __future__ import annotations

import datetime as dt
import itertools

import polars as pl

from risk.policy.evidence import asset_evidence

AS_OF = dt.date(2025, 12, 31)
SAME_DAY = dt.date(2025, 12, 28)


def profiles(*rows: tuple[str, dt.date, str, bool | None, int | None]) -> pl.DataFrame:
    return pl.DataFrame(
        rows,
        schema={
            "borrower_id": pl.String,
            "observed_on": pl.Date,
            "source": pl.String,
            "property_owned": pl.Boolean,
            "other_platform_loans": pl.Int64,
        },
        orient="row",
    ).with_columns(vehicle_owned=pl.lit(None, dtype=pl.Boolean), social_insurance=pl.lit(None, dtype=pl.Boolean))


def evidence(rows: pl.DataFrame, borrowers: list[str]) -> pl.DataFrame:
    pairs = pl.DataFrame({"borrower_id": borrowers, "as_of": [AS_OF] * len(borrowers)})
    return asset_evidence(pairs.lazy(), rows.lazy()).collect().filter(pl.col("borrower_id") == "B1")


def test_on_one_day_the_bureau_refresh_is_the_later_word_whatever_the_rows_order_or_the_frame():
    """The application and a bureau refresh seen the same day disagree on the debts elsewhere: the refresh wins,
    in every order of the rows and with or without other borrowers in the frame (a sort by day alone kept
    whichever same-day row came last, so the evidence hung on the order a join gave)."""
    mine = [
        ("B1", dt.date(2025, 7, 20), "application", False, 2),
        ("B1", SAME_DAY, "bureau_refresh", None, 3),
        ("B1", SAME_DAY, "application", True, 0),
        ("B1", dt.date(2026, 1, 5), "collector", False, 9),  # after as_of: unknown then
    ]
    others = [(f"B{n}", SAME_DAY, "application", True, n) for n in range(2, 40)]
    for order in itertools.permutations(mine):
        for frame in ([], others):
            got = evidence(profiles(*order, *frame), ["B1"] + [b for b, *_ in frame])
            assert got.select("other_platform_loans", "property_owned").row(0) == (3, True), order


def test_where_validation_let_the_key_break_the_larger_value_wins_a_tie_in_any_order():
    """Two rows of one borrower, day and unknown source (the key and the domain downgraded to warnings): the choice
    still ignores the rows' order, and an unknown source says less than the application."""
    tied = [
        ("B1", SAME_DAY, "scraped", False, 4),
        ("B1", SAME_DAY, "scraped", True, 7),
        ("B1", SAME_DAY, "application", None, 1),
    ]
    for order in itertools.permutations(tied):
        got = evidence(profiles(*order), ["B1"])
        assert got.select("other_platform_loans", "property_owned").row(0) == (1, True), order
