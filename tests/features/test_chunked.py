"""Building loan snapshots in borrower partitions gives exactly the unchunked frame."""

import polars as pl
import pytest
from polars.testing import assert_frame_equal
from tests.conftest import AS_OF

from risk.config import FeatureParams
from risk.exceptions import ConfigError
from risk.features import loan_snapshots, month_ends
from risk.features.chunked import borrower_chunk, build_loan_snapshots_chunked

PARAMS = FeatureParams()


def _dates(book):
    return month_ends(book["loans"]["originated_on"].min(), AS_OF)


@pytest.mark.parametrize("chunks", [1, 3, 7])
def test_chunked_equals_unchunked(small_book, chunks):
    """Same rows, order, columns and values whatever the number of chunks."""
    dates = _dates(small_book)
    whole = loan_snapshots(small_book, PARAMS, as_of_dates=dates, data_as_of=AS_OF).collect()
    chunked = build_loan_snapshots_chunked(small_book, PARAMS, as_of_dates=dates, data_as_of=AS_OF, chunks=chunks)
    assert whole.height > 10_000
    assert_frame_equal(chunked, whole, check_exact=True)


def test_borrower_features_survive_chunking(small_book):
    """Borrowers with several loans exist in the book, so the borrower features are really exercised."""
    dates = _dates(small_book)
    chunked = build_loan_snapshots_chunked(small_book, PARAMS, as_of_dates=dates, data_as_of=AS_OF, chunks=5)
    assert chunked["other_active_loans"].max() > 0
    assert chunked["loans_opened_90d"].max() > 0


def test_chunks_partition_borrowers(small_book):
    """Every loan lands in exactly one chunk, with all of its borrower's loans."""
    parts = [borrower_chunk(small_book, i, 4)["loans"].collect() for i in range(4)]
    loans = pl.concat(parts)
    assert loans["loan_id"].sort().equals(small_book["loans"]["loan_id"].sort())
    owners = pl.concat([p.select("borrower_id").unique().with_columns(chunk=pl.lit(i)) for i, p in enumerate(parts)])
    assert owners["borrower_id"].is_unique().all()


def test_chunks_must_be_positive(small_book):
    with pytest.raises(ConfigError, match="chunks must be a positive integer"):
        build_loan_snapshots_chunked(small_book, PARAMS, as_of_dates=_dates(small_book), data_as_of=AS_OF, chunks=0)
