"""Reading the book: a table in loan order is flagged so, after checking, and otherwise read exactly as it is."""

from __future__ import annotations

import polars as pl
import pytest

from risk import io
from risk.contract import INPUT_TABLES
from risk.exceptions import RiskDataError


def _written_in_row_groups(frame: pl.DataFrame, folder, name: str = "repayments"):
    path = folder / f"{name}.parquet"
    frame.write_parquet(path, row_group_size=2)  # several chunks when read back
    return path


def test_a_column_in_order_is_flagged_sorted_in_one_chunk_and_its_values_are_unchanged(tmp_path) -> None:
    frame = pl.DataFrame({"loan_id": ["L1", "L1", "L2", "L3", "L3"], "amount": [1.0, 2.0, 3.0, 4.0, 5.0]})
    read = pl.read_parquet(_written_in_row_groups(frame, tmp_path))
    assert read.n_chunks() > 1
    flagged = io.flag_sorted(read, "loan_id")
    assert flagged["loan_id"].flags["SORTED_ASC"]
    assert flagged.n_chunks() == 1
    assert flagged.equals(frame)


@pytest.mark.parametrize(
    "loan_ids",
    [["L2", "L1", "L3"], ["L1", "L2", None], [None, "L1", "L2"]],
    ids=["out of order", "a null last", "a null first"],
)
def test_a_column_out_of_order_or_with_a_null_is_never_flagged(loan_ids, tmp_path) -> None:
    frame = pl.DataFrame(
        {"loan_id": loan_ids, "amount": [1.0, 2.0, 3.0]}, schema={"loan_id": pl.String, "amount": pl.Float64}
    )
    flagged = io.flag_sorted(frame, "loan_id")
    assert not flagged["loan_id"].flags["SORTED_ASC"]
    assert flagged.equals(frame)


def test_a_frame_without_the_column_is_returned_as_it_is() -> None:
    frame = pl.DataFrame({"application_id": ["A2", "A1"]})
    assert io.flag_sorted(frame, "loan_id") is frame


def test_read_tables_flags_the_loan_of_each_table_in_loan_order_and_leaves_the_rest(small_book, tmp_path) -> None:
    names = [t.name for t in INPUT_TABLES]
    for name in names:
        frame = small_book[name]
        if name == "repayments":  # one table out of loan order: read as it is
            frame = frame.sort("paid_at", "repayment_id")
        elif "loan_id" in frame.columns and name != "applications":
            frame = frame.sort("loan_id", maintain_order=True)
        frame.write_parquet(tmp_path / f"{name}.parquet", row_group_size=1000)
    read = io.read_tables(tmp_path)
    assert read["loans"]["loan_id"].flags["SORTED_ASC"]
    assert read["schedule"]["loan_id"].flags["SORTED_ASC"]
    assert not read["repayments"]["loan_id"].flags["SORTED_ASC"]
    for name in names:
        assert read[name].equals(pl.read_parquet(tmp_path / f"{name}.parquet")), name


def test_a_table_that_cannot_be_read_is_named_though_the_tables_are_read_together(small_book, tmp_path) -> None:
    for t in INPUT_TABLES:
        small_book[t.name].write_parquet(tmp_path / f"{t.name}.parquet")
    damaged = tmp_path / "schedule.parquet"
    damaged.write_bytes(damaged.read_bytes()[: damaged.stat().st_size // 2])
    with pytest.raises(RiskDataError) as refused:
        io.read_tables(tmp_path)
    assert (refused.value.table, refused.value.rule) == ("schedule", "readable_parquet")
    assert str(damaged) in str(refused.value)


def test_rows_are_counted_from_the_footer_wherever_the_file_is_and_a_missing_file_is_named(tmp_path) -> None:
    folder = tmp_path / "export [2026]"  # brackets: a glob pattern to polars unless told otherwise
    folder.mkdir()
    pl.DataFrame({"loan_id": ["L1", "L2", "L3"]}).write_parquet(folder / "loans.parquet")
    assert io.count_rows(folder / "loans.parquet") == 3
    with pytest.raises(RiskDataError) as missing:
        io.count_rows(folder / "schedule.parquet", table="schedule")
    assert (missing.value.table, missing.value.rule) == ("schedule", "file_exists")
    (folder / "broken.parquet").write_bytes(b"not parquet")
    with pytest.raises(RiskDataError, match="cannot read Parquet file"):
        io.count_rows(folder / "broken.parquet")


def test_the_validated_book_is_written_one_row_group_a_table_so_each_is_read_in_one_chunk(tmp_path) -> None:
    """``one_row_group`` (the validated book's): polars reads a file of many row groups into as many chunks, which
    reading the book then copies into one; a table past polars' default row-group size shows the difference."""
    import pyarrow.parquet as pq

    frame = pl.DataFrame({"loan_id": [f"L{i:07d}" for i in range(300_000)], "amount": pl.arange(300_000, eager=True)})
    io.write_tables({"schedule": frame}, tmp_path / "default", compression=io.READ_OFTEN)
    io.write_tables({"schedule": frame}, tmp_path / "one", compression=io.READ_OFTEN, one_row_group=True)
    assert pq.ParquetFile(tmp_path / "default" / "schedule.parquet").metadata.num_row_groups > 1
    assert pq.ParquetFile(tmp_path / "one" / "schedule.parquet").metadata.num_row_groups == 1
    read = pl.scan_parquet(tmp_path / "one" / "schedule.parquet").collect()
    assert read.n_chunks("all") == [1, 1]
    assert read.equals(frame)
    io.write_tables({"empty": frame.clear()}, tmp_path / "none", one_row_group=True)  # no rows: still a file
    assert pl.read_parquet(tmp_path / "none" / "empty.parquet").schema == frame.schema
