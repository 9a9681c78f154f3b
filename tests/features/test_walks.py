"""The C kernels (risk.native, risk.features.walks) build the loan snapshots the polars code builds, column for column
and bit for bit, wherever they are asked: month ends, due days and a scoring day, with and without labels, on a
simulated book and on any payments, actions and borrowers. Where no compiler is found, the polars code builds them."""

from __future__ import annotations

import datetime as dt
import logging

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal
from tests.books import D0, LoanSpec, book, loan_specs

from risk import native
from risk.config import FeatureParams
from risk.contract import Action, ContactChannel, Outcome
from risk.delinquency import daily_payments_frame, ledger_frame
from risk.exceptions import RiskDataError
from risk.features import walks
from risk.features.build import loan_snapshots, month_ends

AS_OF = dt.date(2025, 12, 31)
needs_kernels = pytest.mark.skipif(native.kernels() is None, reason="no C compiler here: the kernels are not built")


def snapshots_both_ways(tables, dates, monkeypatch, *, with_labels=False) -> tuple[pl.DataFrame, pl.DataFrame, int]:
    """The snapshots by the kernels and by the polars code alone, and how many times the kernels walked."""
    walked = []
    repayment = walks.repayment

    def counted(*args, **kwargs):
        walked.append(1)
        return repayment(*args, **kwargs)

    with monkeypatch.context() as patch:
        patch.setattr(walks, "repayment", counted)
        by_kernels = loan_snapshots(
            tables, FeatureParams(), as_of_dates=dates, data_as_of=AS_OF, with_labels=with_labels
        ).collect()
    with monkeypatch.context() as patch:
        patch.setattr(native, "kernels", lambda: None)
        by_polars = loan_snapshots(
            tables, FeatureParams(), as_of_dates=dates, data_as_of=AS_OF, with_labels=with_labels
        ).collect()
    return by_kernels, by_polars, len(walked)


@needs_kernels
@pytest.mark.parametrize("with_labels", [False, True])
def test_the_kernels_build_the_polars_snapshots_of_a_simulated_book_at_month_ends_and_due_days(
    small_book, monkeypatch, with_labels
) -> None:
    dates = month_ends(small_book["loans"]["originated_on"].min(), AS_OF)
    dates += [dt.date(2025, 3, d) for d in (1, 2, 3, 4, 5, 15, 28)]  # days on and around due dates
    fast, spec, walked = snapshots_both_ways(small_book, sorted(set(dates)), monkeypatch, with_labels=with_labels)
    assert walked == 1 and fast.height > 40_000
    assert_frame_equal(fast, spec, check_exact=True)
    assert "agreements" in small_book  # re-aged days past due go through the kernels' frames too
    # the cases are there
    assert fast["days_past_due"].max() > 90 and fast["partial_payments"].max() > 0
    assert fast["max_ladder_step"].max() > 0 and fast["other_active_loans"].max() > 0


@needs_kernels
@pytest.mark.parametrize("day", [dt.date(2025, 3, 4), AS_OF])
def test_the_kernels_build_a_scoring_days_snapshots_as_polars_does(small_book, monkeypatch, day) -> None:
    fast, spec, walked = snapshots_both_ways(small_book, [day], monkeypatch)
    assert walked == 1 and fast.height > 500
    assert_frame_equal(fast, spec, check_exact=True)


def assert_tiny_books_equal(fast: pl.DataFrame, spec: pl.DataFrame) -> None:
    """Equal bit for bit, but for one ratio on a book of a few loans: polars' in-memory engine divides by a term it
    holds as one value through its reciprocal, a bit apart from a division (1 - 5/6 by it: 0.16666666666666674, by
    division 0.16666666666666663, as the kernels' frame and polars' streaming engine give it)."""
    share = "term_elapsed_share"
    assert_frame_equal(fast.drop(share), spec.drop(share), check_exact=True)
    np.testing.assert_allclose(fast[share].to_numpy(), spec[share].to_numpy(), rtol=1e-15, atol=0)


# any action, channel and outcome the contract knows, together or not
any_action = st.tuples(
    st.sampled_from([a.value for a in Action]),
    st.sampled_from([c.value for c in ContactChannel]),
    st.sampled_from([o.value for o in Outcome]),
)


@needs_kernels
@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
)
@given(specs=loan_specs(any_action), days=st.lists(st.integers(0, 500), min_size=1, max_size=6, unique=True))
def test_the_kernels_build_the_polars_snapshots_on_any_payments_actions_and_borrowers(specs, days, monkeypatch) -> None:
    tables = book(*specs)
    fast, spec, walked = snapshots_both_ways(tables, [D0 + dt.timedelta(days=d) for d in days], monkeypatch)
    assert walked == 1
    assert_tiny_books_equal(fast, spec)


def ledgers_both_ways(tables, monkeypatch) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The instalment ledger by the kernel and by the polars code alone."""
    payments = daily_payments_frame(tables["repayments"])
    by_kernel = ledger_frame(tables, payments=payments)
    with monkeypatch.context() as patch:
        patch.setattr(native, "kernels", lambda: None)
        return by_kernel, ledger_frame(tables, payments=payments)


@needs_kernels
def test_the_kernel_builds_the_polars_ledger_of_a_simulated_book(small_book, monkeypatch) -> None:
    fast, spec = ledgers_both_ways(small_book, monkeypatch)
    assert_frame_equal(fast, spec, check_exact=True)
    # the cases are there: settled early and on time, instalments paid late and never
    assert fast["closed_on"].null_count() < fast.height and fast["paid_on"].null_count() > 0
    assert (fast["paid_on"] > fast["due_date"]).any()
    assert walks.ledger(native.kernels(), small_book["loans"], small_book["schedule"], daily_payments_frame(
        small_book["repayments"])) is not None  # fmt: skip


@needs_kernels
def test_the_ledger_walked_in_two_parts_is_the_ledger_walked_in_one(small_book, monkeypatch) -> None:
    """From 20,000 instalments the kernel walks the loans in two parts on two threads (the simulated book has 42,966);
    on one thread it walks them all: the same ledger, to the bit."""
    lib, payments = native.kernels(), daily_payments_frame(small_book["repayments"])
    assert small_book["schedule"].height >= 20_000
    monkeypatch.setattr(pl, "thread_pool_size", lambda: 2)  # two parts whatever this machine's cores
    two = walks.ledger(lib, small_book["loans"], small_book["schedule"], payments)
    monkeypatch.setattr(pl, "thread_pool_size", lambda: 1)
    one = walks.ledger(lib, small_book["loans"], small_book["schedule"], payments)
    assert two is not None and one is not None
    assert_frame_equal(two, one, check_exact=True)


@needs_kernels
@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
)
@given(specs=loan_specs(any_action), rate=st.sampled_from([0.0, 0.18, 0.36]))
def test_the_kernel_builds_the_polars_ledger_on_any_payments(specs, rate, monkeypatch) -> None:
    """Early settlement (future interest waived), partial and over-payments, payments before anything is due."""
    for spec in specs:
        spec.annual_rate = rate
    tables = book(*specs)
    tables["schedule"] = tables["schedule"].with_columns(interest_due=pl.col("principal_due") * rate / 12)
    fast, spec = ledgers_both_ways(tables, monkeypatch)
    assert_frame_equal(fast, spec, check_exact=True)


@needs_kernels
def test_a_schedule_the_kernel_does_not_walk_is_built_by_the_polars_code(monkeypatch) -> None:
    """A null amount (only if validation's not_null was downgraded) or due days that fall within a loan."""
    tables = book(LoanSpec("L0", D0, payments=[(dt.datetime(2024, 2, 3, 9), 200.0)]))
    lib = native.kernels()
    payments = daily_payments_frame(tables["repayments"])
    nulled = tables["schedule"].with_columns(interest_due=pl.when(pl.col("instalment_no") == 2).then(0.0))
    falling = tables["schedule"].with_columns(due_date=pl.col("due_date").reverse())
    for schedule in (nulled, falling):
        assert walks.ledger(lib, tables["loans"], schedule, payments) is None
        fast, spec = ledgers_both_ways({**tables, "schedule": schedule}, monkeypatch)
        assert_frame_equal(fast, spec, check_exact=True)


@needs_kernels
def test_a_loan_without_instalments_has_no_repayment_features_either_way(monkeypatch) -> None:
    tables = book(LoanSpec("L0", D0), LoanSpec("L1", D0 + dt.timedelta(days=3)))
    tables["schedule"] = tables["schedule"].filter(pl.col("loan_id") != "L1")
    fast, spec, walked = snapshots_both_ways(tables, [D0 + dt.timedelta(days=40)], monkeypatch)
    assert walked == 1
    assert_tiny_books_equal(fast, spec)
    assert fast.filter(pl.col("loan_id") == "L1")["outstanding_principal"].to_list() == [None]


@needs_kernels
def test_repeated_loan_ids_leave_the_snapshots_to_the_polars_code() -> None:
    loans = pl.DataFrame({"loan_id": ["L1", "L1"], "originated_on": [D0, D0]})
    ledger = pl.DataFrame({"loan_id": ["L1"], "due_date": [D0], "paid_on": [None], "closed_on": [None]})
    assert walks.LoanRows.of(native.kernels(), loans, ledger) is None


@needs_kernels
@pytest.mark.parametrize(
    "column",
    [
        ["L1", "L1", "L2", "L4", "L4", "L9"],  # in order, with runs and ids not among them
        ["L4", "L1", None, "L9", "L1", "L0", "L2"],  # out of order, with a null
        [],
    ],
)
def test_each_row_is_numbered_by_its_place_among_the_ids(column) -> None:
    ids = pl.Series(["L1", "L2", "L3", "L4"])
    got = walks.numbers(native.kernels(), ids, pl.Series(column, dtype=pl.String))
    want = [ids.to_list().index(v) if v in ids.to_list() else -1 for v in column]
    assert got.tolist() == want


@needs_kernels
def test_long_ids_are_numbered_from_polars_string_buffers() -> None:
    """Strings longer than 12 bytes live in polars' data buffers, not in the views; a prefix shared by all of them
    must not confuse the order."""
    ids = pl.Series([f"a-rather-long-loan-identifier-{i:06d}" for i in range(0, 3000, 3)])
    drawn = np.random.default_rng(1).integers(0, 3000, 500)
    rows = pl.Series([f"a-rather-long-loan-identifier-{i:06d}" for i in drawn])
    got = walks.numbers(native.kernels(), ids, rows)
    position = {v: i for i, v in enumerate(ids.to_list())}
    assert got.tolist() == [position.get(v, -1) for v in rows.to_list()]


@pytest.fixture
def fresh_kernels(monkeypatch, tmp_path):
    """kernels() asked again in a cache of the test's own, and asked again after the test."""
    monkeypatch.setenv("RISK_CACHE_DIR", str(tmp_path))
    native.kernels.cache_clear()
    yield tmp_path / "native"
    native.kernels.cache_clear()


@needs_kernels
def test_the_kernels_are_compiled_once_and_named_by_their_source_and_compiler(fresh_kernels) -> None:
    assert native.kernels() is not None
    (built,) = fresh_kernels.glob("walk-*.so")
    written = built.stat().st_mtime_ns
    native.kernels.cache_clear()
    assert native.kernels() is not None  # loaded, not compiled again
    assert list(fresh_kernels.glob("walk-*.so")) == [built] and built.stat().st_mtime_ns == written
    assert not list(fresh_kernels.glob("tmp*"))  # compiled under a private name, then renamed


def test_without_a_compiler_the_polars_code_builds_the_features_and_says_so(fresh_kernels, monkeypatch, caplog):
    monkeypatch.setenv("CC", "no-such-compiler-here")
    with caplog.at_level(logging.WARNING, logger="risk.native"):
        assert native.kernels() is None
    assert "no C compiler" in caplog.text


def test_a_compiler_that_cannot_say_its_version_leaves_the_polars_code(fresh_kernels, monkeypatch, caplog):
    monkeypatch.setenv("CC", "false")  # exits 1 when asked its version, as a broken install would
    with caplog.at_level(logging.WARNING, logger="risk.native"):
        assert native.kernels() is None
    assert "did not compile" in caplog.text
    assert not list(fresh_kernels.glob("*.so"))


def test_risk_native_0_turns_the_kernels_off(fresh_kernels, monkeypatch):
    monkeypatch.setenv("RISK_NATIVE", "0")
    assert native.kernels() is None


@needs_kernels
@pytest.mark.parametrize("kind", ["polars", "string", "large_string"])
def test_the_merge_reads_each_kind_of_arrow_string_in_place(kind) -> None:
    """polars' own string views, and Arrow's strings and large strings (as another library's stream holds them)."""
    import ctypes

    import pyarrow as pa

    ids = ["L1", "L2", "L3", "a-rather-long-loan-identifier-000004"]
    rows = ["L0", "L1", None, "L3", "a-rather-long-loan-identifier-000004", "L2", "L9"]
    if kind == "polars":
        id_column, row_column = pl.Series(ids), pl.Series(rows, dtype=pl.String)
    else:
        id_column = pa.chunked_array([pa.array(ids, getattr(pa, kind)())])
        row_column = pa.chunked_array([pa.array(rows, getattr(pa, kind)())])
    (keep_ids, id_stream), (keep_rows, stream) = walks._stream(id_column), walks._stream(row_column)
    out = np.empty(len(rows), np.int32)
    read = native.kernels().number_rows(id_stream, ctypes.c_int64(len(ids)), stream, ctypes.c_int64(len(rows)),
                                        walks._pointer(out))  # fmt: skip
    assert read == 0 and out.tolist() == [-1, 0, -1, 2, 3, 1, -1]
    del keep_ids, keep_rows


@needs_kernels
def test_ids_out_of_byte_order_are_refused_by_the_merge_and_joined_instead() -> None:
    import ctypes

    ids, rows = pl.Series(["L2", "L1", "L3"]), pl.Series(["L1", "L3", "L2"])
    (keep_ids, id_stream), (keep_rows, stream) = walks._stream(ids), walks._stream(rows)
    out = np.empty(3, np.int32)
    assert native.kernels().number_rows(id_stream, ctypes.c_int64(3), stream, ctypes.c_int64(3), walks._pointer(out))
    del keep_ids, keep_rows
    assert walks.numbers(native.kernels(), ids, rows).tolist() == [1, 2, 0]


def test_a_compiler_that_cannot_compile_leaves_no_object_and_the_polars_code(fresh_kernels, monkeypatch, tmp_path,
                                                                            caplog):  # fmt: skip
    broken = tmp_path / "broken-cc"
    broken.write_text(
        '#!/bin/sh\nif [ "$1" = --version ]; then echo "broken-cc 1.0"; exit 0; fi\necho no >&2\nexit 1\n'
    )
    broken.chmod(0o755)
    monkeypatch.setenv("CC", f"{broken} -O0")  # a compiler with its own flags, as make's $CC may be
    with caplog.at_level(logging.WARNING, logger="risk.native"):
        assert native.kernels() is None
    assert "did not compile" in caplog.text
    assert not list(fresh_kernels.glob("**/*.so")) and not list(fresh_kernels.glob("tmp*"))  # nothing half made


SETTLED_EARLY = LoanSpec("L0", D0, payments=[(dt.datetime(2024, 2, 1, 9), 200.0), (dt.datetime(2024, 4, 2, 9), 900.0)])


@needs_kernels
@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(
            lambda t: (
                t
                | {"schedule": t["schedule"].with_columns(interest_due=pl.when(pl.col("instalment_no") != 2).then(0.0))}
            ),
            id="null interest",
        ),
        pytest.param(
            lambda t: t | {"schedule": t["schedule"].with_columns(interest_due=pl.lit(-300.0))}, id="negative interest"
        ),
        pytest.param(
            lambda t: t | {"repayments": t["repayments"].with_columns(amount=pl.col("amount") * -1)}, id="refunds"
        ),
        pytest.param(lambda t: t | {"schedule": t["schedule"].filter(pl.col("loan_id") != "L1")}, id="no schedule"),
    ],
)
def test_what_validation_would_refuse_is_built_as_the_polars_code_builds_it(damage, monkeypatch) -> None:
    """Only a downgraded validation lets these through; whichever way takes them, the frames are the polars code's."""
    tables = damage(book(SETTLED_EARLY, LoanSpec("L1", D0 + dt.timedelta(days=5), borrower_id="B-L0")))
    days = [D0 + dt.timedelta(days=d) for d in (31, 62, 95, 200)]
    fast, spec, _ = snapshots_both_ways(tables, days, monkeypatch)
    assert_tiny_books_equal(fast, spec)
    fast, spec = ledgers_both_ways(tables, monkeypatch)
    assert_frame_equal(fast, spec, check_exact=True)


@needs_kernels
def test_a_plan_on_a_loan_without_instalments_re_ages_nothing_either_way(monkeypatch) -> None:
    from risk.contract import TABLES

    tables = book(SETTLED_EARLY, LoanSpec("L1", D0))
    tables["schedule"] = tables["schedule"].filter(pl.col("loan_id") != "L1")
    plan = {
        "agreement_id": "G1",
        "loan_id": "L1",
        "kind": "instalment_plan",
        "channel": "phone",
        "signed_at": dt.datetime(2024, 3, 1, 10),
        "status": "active",
        "status_on": dt.date(2024, 3, 1),
        "plan_instalments": 4,
        "plan_first_due": dt.date(2024, 6, 1),
        "plan_instalment_amount": 300.0,
    }
    tables["agreements"] = pl.DataFrame([plan], schema=TABLES["agreements"].schema)
    fast, spec, walked = snapshots_both_ways(tables, [dt.date(2024, 4, 1)], monkeypatch)
    assert walked == 1
    assert_tiny_books_equal(fast, spec)
    assert fast.filter(pl.col("loan_id") == "L1")["days_past_due"].to_list() == [None]


@needs_kernels
def test_an_application_twice_stops_the_snapshots_only_where_a_pair_meets_it(monkeypatch) -> None:
    tables = book(SETTLED_EARLY, LoanSpec("L1", D0 + dt.timedelta(days=400)))
    tables["applications"] = pl.concat(
        [tables["applications"], tables["applications"].filter(pl.col("loan_id") == "L1")]
    )
    fast, spec, walked = snapshots_both_ways(tables, [dt.date(2024, 3, 1)], monkeypatch)  # L1 not yet booked
    assert walked == 1
    assert_tiny_books_equal(fast, spec)
    for off in (False, True):
        with monkeypatch.context() as patch:
            if off:
                patch.setattr(native, "kernels", lambda: None)
            with pytest.raises(RiskDataError, match="application_id"):
                loan_snapshots(tables, FeatureParams(), as_of_dates=[dt.date(2025, 3, 1)], data_as_of=AS_OF).collect()
