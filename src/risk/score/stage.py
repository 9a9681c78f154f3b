"""Edge of the score stage: lock the day, load models by alias, score, write both sinks.

Two cores are kept busy where one step would leave the other idle: the models load (MLflow's import and the
unpickling, single-threaded) while the day's tables are read; the day's agreements and the realised outcomes of
earlier days are built beside the loans' scoring; the review queue, the legal and recovery queues and the
monitoring beside the collections plan (its reasons and assignment are mostly single-threaded NumPy). The day's
ledger is written for the next day beside the day's own write.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import json
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

import polars as pl

from risk import io
from risk.case_tables import WITHOUT
from risk.cases.day import agreements_of_day, court_day
from risk.config import Params, ScoreParams
from risk.contract import CASE_TABLES
from risk.delinquency import daily_payments, daily_payments_frame, reageing_windows
from risk.exceptions import LockHeld, ModelNotFound, RiskDataError
from risk.features.labels import loan_labels
from risk.models.model import SCORECARD
from risk.models.train import SPECS
from risk.paths import Paths
from risk.policy.fit import PolicyModels
from risk.score import ledger_state, monitoring
from risk.score.beside import Beside
from risk.score.guard import DaySummary, breaches, stop_message
from risk.score.score import Models, pending_applications, plan_queue, review_queue, score_loans
from risk.score.sinks import day_writer, read_before

if TYPE_CHECKING:
    from risk.models.compiled import CompiledBooster


def wants_compiled(score: ScoreParams, rows: int) -> bool:
    """Whether ``score`` asks for the compiled predictor (:mod:`risk.models.compiled`: the same probabilities bit
    for bit) on a book of ``rows`` loans: always, or from ``compiled_min_rows`` loans."""
    return score.compiled_predictor == "always" or (
        score.compiled_predictor == "auto" and rows >= score.compiled_min_rows
    )


def compiled(models: Models) -> Models:
    """Copies of ``models`` whose LightGBM trees are compiled, the learned policy's too; ``models`` themselves are
    left as they are, so a scorer that stays scores a smaller day later exactly as a process of its own would
    (LightGBM's predict)."""
    return dataclasses.replace(
        models,
        pd=copy.copy(models.pd).compile(),
        early_warning=copy.copy(models.early_warning).compile(),
        cure=copy.copy(models.cure).compile(),
        policy=models.policy.compiled() if models.policy is not None else None,
    )


def compile_ahead(paths: Paths, params: Params) -> tuple[dict[str, object], str]:
    """Compile now, into the cache, the models the next ``risk score`` loads, when ``score.compiled_predictor`` asks
    for it on this book (:func:`wants_compiled`, on the validated loans), so that the first day after training
    loads them rather than compiling them (at a million open loans about 14 s of a 34-38 s day: docs/performance.md).
    Nothing to do on a smaller book, one the scorer skips or the Spark engine. Returns what
    ``models/compiled.json`` records (what was compiled, never how long: the same models and book write the same
    file) and one line for the log."""
    score = params.score
    skipped = io.collections_skipped(paths.validated, params.train.models)
    loans = None if skipped else io.count_rows(paths.validated / "loans.parquet", table="loans")
    wanted = loans is not None and params.engine == "polars" and wants_compiled(score, loans)
    record: dict[str, object] = {
        "loans": loans,
        "compiled_predictor": score.compiled_predictor,
        "compiled_min_rows": score.compiled_min_rows,
        "compiled": wanted,
        "models": {},
    }
    if skipped:
        return record, f"compile: nothing to compile (score skips this book: {skipped})"
    if not wanted:
        if params.engine != "polars":
            why = "the Spark engine scores through LightGBM"
        elif score.compiled_predictor == "never":
            why = "score.compiled_predictor is never"
        else:
            why = f"{loans:,} loans, under score.compiled_min_rows of {score.compiled_min_rows:,}"
        return record, f"compile: nothing to compile ({why}); LightGBM predicts itself"
    from risk.models.compiled import cache_dir

    started = time.perf_counter()
    models, versions, _ = Scorer(paths)._models(params, loans)
    boosters = compiled_boosters(models)
    record["models"] = {
        name: versions.get(SPECS[name].registered) if name in SPECS else params.policy.strategy for name in boosters
    }
    cached = sum(b.from_cache for b in boosters.values())
    return record, (
        f"compile: {len(boosters)} models for {loans:,} loans, {len(boosters) - cached} compiled and {cached} "
        f"already in {cache_dir()}; {time.perf_counter() - started:.1f}s"
    )


def compiled_boosters(models: Models) -> dict[str, CompiledBooster]:
    """The compiled copies of the trees in ``models``, by model: the LightGBM risk models' (a scorecard has none)
    and the learned policy's type and effect models."""
    found = {name: getattr(getattr(models, name), "_compiled", None) for name in SPECS}
    if models.policy is not None:
        found |= {"policy_types": models.policy.types.compiled, "policy_effects": models.policy.effects.compiled}
    return {name: booster for name, booster in found.items() if booster is not None}


def load_models(alias: str, pinned: Path | None = None) -> Models:
    """The three models behind ``alias``, plus the PD scorecard (whichever alias holds it) for points.

    With ``pinned`` (models/pinned.json, written by ``evaluate``) the versions recorded there are loaded,
    so the queue is scored by the models DVC knows; without it, whatever MLflow's alias points at now.
    """
    from risk.models import tracking  # MLflow (0.8 s to import) only once models are loaded: see Scorer.day

    load = _pinned_loader(pinned) if pinned is not None else tracking.load_by_alias
    models = {name: load(spec.registered, alias) for name, spec in SPECS.items()}
    card = models["pd"] if models["pd"].kind == SCORECARD else None
    if card is None:  # points come from the newest scorecard evaluate pinned, else the other alias
        other = "scorecard" if pinned is not None else ("challenger" if alias == "champion" else "champion")
        try:
            candidate = load(SPECS["pd"].registered, other)
        except ModelNotFound:  # a pin from before scorecards were pinned: no points, the rest scores
            candidate = None
        card = candidate if candidate is not None and candidate.kind == SCORECARD else None
    return Models(pd=models["pd"], early_warning=models["early_warning"], cure=models["cure"], pd_scorecard=card)


def _pinned_loader(pinned: Path):
    if not pinned.exists():
        msg = f"{pinned} is missing: no model versions were pinned (run `risk evaluate`, or `dvc repro`)"
        raise ModelNotFound(msg)
    from risk.models import tracking

    versions = _read_pinned(pinned)

    def load(registered: str, alias: str):
        try:
            version = versions[registered][alias]["version"]
        except KeyError:
            msg = f"{pinned} pins no {alias} for {registered} (run `risk evaluate`)"
            raise ModelNotFound(msg) from None
        return tracking.load_version(registered, version)

    return load


def pinned_versions(pinned: Path, alias: str) -> dict[str, str]:
    """``{registered name: version}`` of ``alias`` in the pinned file ({} without one)."""
    if not pinned.exists():
        return {}
    return {name: v[alias]["version"] for name, v in _read_pinned(pinned).items() if alias in v}


def _read_pinned(pinned: Path) -> dict:
    try:
        return json.loads(pinned.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        msg = f"cannot read {pinned} ({e}); rerun `risk evaluate` to pin the model versions again"
        raise ModelNotFound(msg) from None


def alias_drift(pinned: dict[str, str], alias: str) -> str:
    """A note when MLflow's alias has moved away from the pinned version (outside DVC), else ""."""
    from risk.models import tracking

    moved = []
    for name, version in pinned.items():
        now = tracking.alias_version(name, alias)
        if now is not None and now != version:
            moved.append(f"{name}@{alias} is v{now} in MLflow, v{version} pinned")
    return f" Note: {'; '.join(moved)}: the pinned versions scored (`risk evaluate` re-pins)." if moved else ""


def load_policy(paths: Paths, params: Params) -> PolicyModels | None:
    """The learned collections policy when params choose it; an error when they do and it was never fitted."""
    if params.policy.strategy != "learned":
        return None
    if not (paths.policy_models / "policy.json").exists():
        msg = f"policy.strategy is learned but {paths.policy_models} holds no fitted policy (run `risk policy`)"
        raise RiskDataError(msg, rule="policy_fitted")
    return PolicyModels.load(paths.policy_models)


def monitor_day(
    paths: Paths, params: Params, *, scored: pl.DataFrame, pending: pl.DataFrame, reviewed: pl.DataFrame, as_of: dt.date
) -> pl.DataFrame:
    """Each model's population today against the training reference evaluate wrote (a model without one is
    skipped): the ``monitoring`` table's rows for the day. The scores are those the queues already hold:
    the loans' from ``scored``, the pending applications' PD from the review queue ``reviewed``."""
    with_pd = pending.join(
        reviewed.select("application_id", "pd"), on="application_id", how="left", maintain_order="left"
    )
    populations = {  # each model's rows (the loans it scored), and its score
        "pd": (with_pd, None, "pd"),
        "early_warning": (scored, pl.col("ew_probability").is_not_null(), "ew_probability"),
        "cure": (scored, pl.col("cure_probability").is_not_null(), "cure_probability"),
    }
    frames = []
    for name, (population, rows, column) in populations.items():
        path = paths.monitoring_reference(name)
        if not path.exists():
            continue
        reference = json.loads(path.read_text(encoding="utf-8"))
        # only the columns measured: a scored loan has a hundred (at 985,163 active loans the early-warning
        # population took 0.11-0.18 s filtered whole, 0.02-0.09 s by its 50 measured columns)
        frame = population.select(c for c in dict.fromkeys([*reference["features"], column]) if c in population.columns)
        frame = frame if rows is None else frame.filter(rows)
        frames.append(
            monitoring.measure(
                name,
                reference,
                frame,
                frame[column].cast(pl.Float64).to_numpy(),
                params.score.monitoring,
                as_of=as_of,
                approve_below=params.score.approve_below if name == "pd" else None,
            )
        )
    return pl.concat(frames) if frames else pl.DataFrame(schema=monitoring.SCHEMA)


def beside_the_plan(
    paths: Paths,
    params: Params,
    tables: dict[str, pl.DataFrame],
    models: Models,
    scored: pl.DataFrame,
    ledger: pl.LazyFrame,
    *,
    as_of: dt.date,
) -> tuple[pl.DataFrame, dict[str, pl.DataFrame], pl.DataFrame]:
    """What the day builds beside the collections plan, from the tables and the scored loans alone: the review
    queue of the applications pending at ``as_of``, the legal and recovery queues, and the models' monitoring.

    The review queue reads no loan's score, yet it is built here rather than beside the scoring: the scoring's
    queries keep both cores busy, the plan's reasons and assignment mostly one."""
    pending = pending_applications(tables, params, as_of=as_of, ledger=ledger)
    rq = review_queue(tables, models, params, as_of=as_of, ledger=ledger, pending=pending)
    court = court_day(tables, scored, models.policy, params, as_of=as_of)
    return rq, court, monitor_day(paths, params, scored=scored, pending=pending, reviewed=rq, as_of=as_of)


@dataclasses.dataclass
class DayBook:
    """A day's validated tables (with the PD's source attributes), its instalment ledger, and the daily payments
    when the ledger summed them (the features read the same frame rather than sum them again).

    :func:`score_day` takes the payments out of the book for the scoring and lets them go: at 984,361 active loans,
    held through the plan, they lifted the day's peak from 4.91-5.08 GiB to 5.17-5.24 GiB."""

    tables: dict[str, pl.DataFrame]
    ledger: ledger_state.Ledger
    payments: pl.DataFrame | None


class ScoredDay(NamedTuple):
    """A day's queues and case tables as scored, before the model versions are added and the day is written."""

    open_loans: int
    charged_off: int | None  # None: the Spark engine does not count them
    collections_queue: pl.DataFrame
    review_queue: pl.DataFrame
    options: pl.DataFrame | None  # every lawful option the learned plan weighed
    cases: dict[str, pl.DataFrame]  # agreements_day, legal_queue, recovery_queue, monitoring, ...


def score_day(paths: Paths, params: Params, book: DayBook, models: Models, *, as_of: dt.date) -> ScoredDay:
    """The polars engine's day on its book: the loans scored and planned on the calling thread, the rest beside
    (:class:`~risk.score.beside.Beside`). The book's payments are taken from it for the scoring. LightGBM allows two
    threads to predict, from one booster too, but not ``pred_contrib`` one tree at a time: contributions come from
    the PD model beside and from the loan models on the calling thread, never both.

    Raises
    ------
    RiskDataError
        ``monitoring``: a model's monitoring found an error and ``score.monitoring.fail_on_error`` is set.
    """
    tables, ledger = book.tables, book.ledger.frame.lazy()
    payments, book.payments = book.payments, None
    with Beside() as beside:
        agreeing = beside.submit(agreements_of_day, tables, params, as_of=as_of)  # first: the plan reads it
        realising = beside.submit(realised_day, paths, params, tables, ledger, as_of=as_of)
        shared = None if payments is None else payments.lazy()
        scored = score_loans(
            tables, models, params, as_of=as_of, ledger=ledger, payments=shared, evidence_for_decisions=True
        )
        del payments, shared  # not held through the rest of the day
        besides = beside.submit(beside_the_plan, paths, params, tables, models, scored, ledger, as_of=as_of)
        cases = agreeing.result()
        cq, options = plan_queue(scored, models, params, as_of=as_of, agreements=cases.get("agreements_day"))
        rq, court, monitored = besides.result()
        watched = pl.concat([monitored, realising.result()])
        charged_off = int((scored["days_past_due"] >= params.score.charge_off_dpd).sum())
    errors = watched.filter(pl.col("status") == "error")
    if errors.height and params.score.monitoring.fail_on_error:
        msg = f"score {as_of}: stopped before writing:{monitoring.summary(watched)} (score.monitoring)"
        raise RiskDataError(msg, rule="monitoring")
    return ScoredDay(scored.height, charged_off, cq, rq, options, {**cases, **court, "monitoring": watched})


def realised_day(
    paths: Paths, params: Params, tables: dict[str, pl.DataFrame], ledger: pl.LazyFrame, *, as_of: dt.date
) -> pl.DataFrame:
    """Realised vs predicted for each earlier run whose outcome horizon ended since the previous run: the
    probabilities the collections queue held that day (DuckDB) against the labels the ledger now gives,
    labelled exactly as the features label training snapshots."""
    columns = ["as_of", "loan_id", *(column for column, _ in monitoring.MATURING.values())]
    history = read_before(paths.duckdb, "collections_queue", columns, as_of)
    if history is None or history.is_empty():
        return pl.DataFrame(schema=monitoring.SCHEMA)
    fp = params.features
    days_scored = history["as_of"].unique().to_list()
    frames = []
    for model, (column, label) in monitoring.MATURING.items():
        days = monitoring.matured_cohorts(days_scored, horizon=monitoring.horizon_days(model, fp.labels), as_of=as_of)
        cohort = history.filter(pl.col("as_of").is_in(days), pl.col(column).is_not_null())
        if cohort.is_empty():
            continue
        # in one order whatever order DuckDB returns the rows in: the means below are then the same to the last bit
        cohort = (
            cohort.select("loan_id", "as_of", p=pl.col(column).cast(pl.Float64))
            .unique(["loan_id", "as_of"])
            .sort("as_of", "loan_id")
        )
        outcome = loan_labels(
            cohort.lazy(),
            ledger,
            fp.labels,
            data_as_of=as_of,
            reageing=reageing_windows(tables["agreements"].lazy()) if "agreements" in tables else None,
            # the cohort's loans' payments only: a loan's daily payments are its own rows'
            payments=daily_payments(tables["repayments"].lazy().join(cohort.lazy(), on="loan_id", how="semi")),
            grace_days=fp.late_grace_days,
        ).select("loan_id", "as_of", pl.col(label).alias("label"))
        joined = cohort.join(outcome.collect(), on=["loan_id", "as_of"], how="left", maintain_order="left")
        frames.append(monitoring.realised_vs_predicted(model, joined, params.score.monitoring, as_of=as_of))
    return pl.concat(frames) if frames else pl.DataFrame(schema=monitoring.SCHEMA)


def with_model_versions(queue: pl.DataFrame, versions: dict[str, str]) -> pl.DataFrame:
    """The queue with the version of each model that scored it (``pd_model_version``, ...; null unpinned)."""
    return queue.with_columns(
        pl.lit(versions.get(spec.registered), dtype=pl.String).alias(f"{name}_model_version")
        for name, spec in SPECS.items()
    )


def unknown_without_case_tables(validated: Path) -> str:
    """What the queues cannot know because the export lacked a case table ("" when it had them all)."""
    absent = [t.name for t in CASE_TABLES if not (Path(validated) / f"{t.name}.parquet").exists()]
    return "".join(f" Without {name}, {WITHOUT[name]}." for name in absent)


def run(paths: Paths, params: Params, *, as_of: dt.date, accept_shift: bool = False) -> str:
    """Score ``as_of``; one line a scheduler can log.

    The day is written only if it stays within ``score.guard`` of the latest day scored shortly before
    (:mod:`risk.score.guard`), or when ``accept_shift`` confirms the change.

    Raises
    ------
    LockHeld
        If the day is being scored.
    RiskDataError
        ``blast_radius``: the day moved too far (nothing written).
    """
    return Scorer(paths).day(params, as_of=as_of, accept_shift=accept_shift)


class Scorer:
    """Days scored by one process: the models loaded once, on the first day that needs them, and each day's
    instalment ledger held in memory for the next (kept on disk too, for the next process: each day's, or with
    ``keep_each_day`` off only the last day's, by :meth:`keep_ledger`).

    What a catch-up of several days (``risk run --as-of D --through E``) or a notebook uses: a day after the
    first costs the day's own work, not the imports and the model loading a process pays once. Each day reads
    its validated tables and params afresh and writes what :func:`run` would write for it: the models, the policy
    and the pinned versions are loaded again when a day's ``score.alias`` or ``policy.strategy`` differ from the
    day before, and the compiled copies of the trees serve only the days that ask for them.
    """

    def __init__(self, paths: Paths, *, keep_each_day: bool = True) -> None:
        self.paths = paths
        # off, a day's ledger is held for the next day but written only by keep_ledger (a catch-up's last day's)
        self.keep_each_day = keep_each_day
        self._unkept = False  # the ledger held is not yet on disk
        self._loaded: tuple[tuple[str, str], Models, dict[str, str], str] | None = None  # key, models, pins, drift
        self._compiled: Models | None = None  # compiled copies of the loaded models, once a day asked for them
        self._ledger: pl.DataFrame | None = None  # the last day's ledger as kept (ledger_state.kept_frame)

    def _load(self, params: Params) -> None:
        """Load the models ``params`` score with, unless the day before loaded the same."""
        key = (params.score.alias, params.policy.strategy)
        if self._loaded is None or self._loaded[0] != key:
            from risk.models import tracking

            tracking.configure(self.paths.mlflow_uri)
            models = dataclasses.replace(
                load_models(params.score.alias, self.paths.pinned_models), policy=load_policy(self.paths, params)
            )
            versions = pinned_versions(self.paths.pinned_models, params.score.alias)
            self._loaded = (key, models, versions, alias_drift(versions, params.score.alias))
            self._compiled = None

    def _models(self, params: Params, rows: int | None) -> tuple[Models, dict[str, str], str]:
        """The models for a day of ``rows`` loans (None: the Spark engine, which compiles nothing), its pinned
        versions and the notes for the day's line: the alias drift, and how the compiled copies were made when this
        day made them."""
        self._load(params)
        _, models, versions, notes = self._loaded
        if rows is not None and wants_compiled(params.score, rows):
            if self._compiled is None:
                self._compiled = compiled(models)
                made = compiled_boosters(self._compiled).values()
                cached = sum(b.from_cache for b in made)
                notes += f" Compiled models: {cached} loaded from the cache" + (
                    f", {len(made) - cached} compiled for this day (`risk compile` compiles them before it)."
                    if cached < len(made)
                    else "."
                )
            models = self._compiled
        return models, versions, notes

    def _book(self, params: Params) -> DayBook:
        """The day's book, its instalment ledger for both snapshot tables: the last one reused for the loans whose
        rows are unchanged, this process's own from the day before, else the one a previous run kept."""
        tables = io.with_attributes(io.read_book(self.paths.validated), self.paths.validated)
        kept = self._ledger  # let go by day() once today's is built (kept if the models fail to load)
        if not params.score.incremental:
            kept = None
        elif kept is None:
            kept = ledger_state.load(self.paths.scored)
        # a ledger built from scratch sums the day's payments per loan and day, and the features read the same frame
        # rather than sum them again; an incremental day's ledger sums only its rebuilt loans', and the features
        # their own within their query (measured faster than summing them first there)
        payments = daily_payments_frame(tables["repayments"]) if kept is None else None
        built = ledger_state.build(tables, kept, payments=payments, keep=params.score.incremental)
        return DayBook(tables, built, payments)

    def _book_while_loading(self, params: Params) -> DayBook:
        """:meth:`_book` beside the loading of the models: the book is polars' own threads, loading mostly one
        Python thread (MLflow's import and the unpickling). The book's error, if any, is the one reported, as when
        it was read before the models were loaded."""
        with ThreadPoolExecutor(max_workers=1) as beside:
            building = beside.submit(self._book, params)
            try:
                self._load(params)
            except Exception:  # MLflow's, LightGBM's or unpickling's own errors too: the book's error comes first
                building.result()
                raise
            return building.result()

    def _staged(self, built: ledger_state.Ledger) -> ledger_state.Staged:
        """The day's ledger as kept: written beside its place when each day keeps its own, else only held."""
        if self.keep_each_day:
            return ledger_state.stage(self.paths.scored, built)
        return ledger_state.Staged(ledger_state.kept_frame(built), None)

    def _keep(self, staged: ledger_state.Staged) -> str:
        """Put a written day's ledger in its place; a warning for the day's line when it cannot be ("" when kept)."""
        try:
            ledger_state.keep(self.paths.scored, staged)
        except OSError as e:  # the day is written; the next process builds the ledger in full
            ledger_state.discard(staged)
            ledger_state.state_path(self.paths.scored).unlink(missing_ok=True)
            return f" Warning: the ledger was not kept ({e}); the next run builds it in full."
        return ""

    def keep_ledger(self) -> str:
        """With ``keep_each_day`` off, write the ledger the last written day holds (a catch-up keeps its last day's
        only: each day's would be replaced by the next's before any run read it, and writing it takes 0.03-0.04 s of
        a default-book day's 0.6 s). A warning when it cannot be written, "" otherwise; nothing to do when it is on
        disk."""
        if not self._unkept or self._ledger is None:
            return ""
        self._unkept = False
        return self._keep(ledger_state.stage(self.paths.scored, self._ledger)).strip()

    def day(self, params: Params, *, as_of: dt.date, accept_shift: bool = False) -> str:
        """Score ``as_of`` with ``params``: :func:`run`."""
        paths = self.paths
        if as_of > params.data.as_of:
            msg = f"cannot score {as_of}: the validated data is as of {params.data.as_of} (ingest newer data first)"
            raise RiskDataError(msg, rule="as_of_within_data")
        skipped = io.collections_skipped(paths.validated, params.train.models)
        if skipped:
            paths.scored.mkdir(parents=True, exist_ok=True)
            return f"score {as_of}: skipped; {skipped}; see the PD model's metrics instead"
        if params.engine == "spark" and io.read_manifest(paths.validated).get("attributes"):
            msg = "the Spark engine does not carry source attributes (ingest.attributes) yet; use engine: polars"
            raise RiskDataError(msg, table="attributes", rule="engine_supports_attributes")
        started = time.perf_counter()
        lock = paths.scored / f".score-{as_of.isoformat()}.lock"
        busy = lambda: LockHeld(f"another `risk score` holds {lock}; {as_of} is being scored")  # noqa: E731
        with io.file_lock(lock, on_busy=busy):
            built = None
            if params.engine == "spark":
                from risk.spark.stage import score_tables

                models, versions, notes = self._models(params, None)
                day = score_tables(paths, params, params.spark, models, as_of=as_of)
                n_open, n_charged_off, cq, rq = day.active_loans, None, day.collections_queue, day.review_queue
                options, cases = None, {}
            else:
                book = self._book_while_loading(params)
                # yesterday's, held only while today's was built, as in a process; a catch-up's, not yet on disk, goes
                # too: should this day stop, the next run reads the ledger kept before (its fingerprints make that safe)
                self._ledger, self._unkept = None, False
                models, versions, notes = self._models(params, book.tables["loans"].height)
                day = score_day(paths, params, book, models, as_of=as_of)
                built = book.ledger
                n_open, n_charged_off, cq, rq, options, cases = day
            cq, rq = with_model_versions(cq, versions), with_model_versions(rq, versions)
            day_tables = {"collections_queue": cq, "review_queue": rq, **cases}
            if options is not None:
                day_tables["collections_options"] = options
            summary = DaySummary(as_of, n_open, n_charged_off, int(cq["legal_referral"].sum()), cq.height)
            kept_note = ""
            # with score.incremental off a run keeps no ledger, and one an earlier run kept goes: no run reads it
            keeping = built is not None and params.score.incremental
            with Beside() as beside:  # the ledger is made (and written) for the next day while this one is written
                staging = beside.submit(self._staged, built) if keeping else None
                try:
                    with day_writer(paths.scored, paths.duckdb) as writer:
                        found = breaches(summary, writer.previous(as_of), params.score.guard)
                        if found and not accept_shift:
                            msg = stop_message(summary, found, params.score.guard)
                            raise RiskDataError(msg, rule="blast_radius")
                        writer.write(day_tables, as_of=as_of, summary=summary)
                except BaseException:  # a stopped day keeps nothing new (an interrupt in a notebook too)
                    if staging is not None and staging.exception() is None:
                        ledger_state.discard(staging.result())
                    raise
            if built is not None and not keeping:
                ledger_state.forget(paths.scored)
            elif keeping:
                staged = staging.result()
                self._ledger, self._unkept = staged.frame, not self.keep_each_day
                if self.keep_each_day:
                    kept_note = self._keep(staged)
        took = time.perf_counter() - started
        accepted = f" Accepted by --accept-shift: {'; '.join(found)}." if found else ""
        return (
            f"score {as_of}: ok ({params.engine}); {n_open:,} open loans"
            + (f" ({n_charged_off:,} charged off), " if n_charged_off is not None else ", ")
            + f"collections_queue {cq.height:,} "
            f"({int(cq['scheduled'].sum()):,} scheduled, {int(cq['legal_referral'].sum()):,} to legal), "
            f"review_queue {rq.height:,}"
            + "".join(f", {name} {frame.height:,}" for name, frame in cases.items())
            + f"; {took:.1f}s -> {paths.scored}"
            + (f" ({built.summary()})" if built is not None else "")
            + kept_note
            + unknown_without_case_tables(paths.validated)
            + ("" if "monitoring" not in cases else monitoring.summary(cases["monitoring"]))
            + accepted
            + notes
        )
