"""The ``risk`` command: one subcommand per pipeline stage, in pipeline order.

Each command reads params.yaml once, calls the stage's core through its thin edge function and turns
the project's errors into a message and an exit code (never a traceback).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import gc
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated, Any

import click
import typer

from risk.exceptions import ConfigError, RiskError

app = typer.Typer(
    help="Risk scoring for online consumer lending: validate, features, models, collections and review queues.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

ParamsOption = Annotated[Path, typer.Option("--params", help="Parameters file.")]
AcceptShiftOption = Annotated[
    bool, typer.Option("--accept-shift", help="Write the day although it moved beyond score.guard from the day before.")
]
EngineOption = Annotated[str | None, typer.Option("--engine", help="polars (default) | spark; overrides params.yaml")]


def _quiet_tools() -> None:
    """Warnings a user cannot act on stay out of the stage's log (the ones that matter are the project's)."""
    import warnings

    # Great Expectations probes for PySpark, which then warns about pandas 3 in stages that never use Spark
    warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas", category=FutureWarning)
    os.environ.setdefault("DVC_NO_ANALYTICS", "1")
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    os.environ.setdefault("GIT_PYTHON_REFRESH", "quiet")
    # OpenMP's default spin-wait makes two LightGBM processes on a small machine (a stage and a test, or two
    # scheduled runs) starve each other: measured 1 minute alone, 20 alongside; passive waiting costs nothing alone
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


# The stack's long-lived objects, which every full collection walks again: importing the score stage leaves 159,000
# tracked objects, loading the models (MLflow, scikit-learn, SciPy, LightGBM) 375,000, and a `risk score` at 984,361
# active loans ends with 386,000.
# While a day is scored, the cyclic garbage collector looks at the young generation every 50,000 net allocations of
# container objects, not Python's 700, while the day's frames and arrays are freed by reference counting. `risk score`
# at 984,361 active loans: 988 collections, 1.04 s of the main thread, against 76 and 0.32-0.43 s.
# Only the scoring commands, where it was measured.
GC_THRESHOLD = (50_000, 20, 20)


# polars' allocator (jemalloc) gives freed pages back to the system after half a second (polars' own setting), and the
# day's next frames take fresh ones, each zeroed by the kernel on first touch. `risk score` at 985,163 active loans:
# 2.6M page faults and 8-10 s of system time on two cores; with freed pages kept ten seconds, 2.0M and 7-7.5 s, the
# day 19.60 s against 20.41 s (five alternating rounds, faster in each), the peak 0.2-0.7 GiB higher (kept thirty
# seconds: higher still, and slower). Only the scoring commands: `risk score`, where it was measured, and `risk run`,
# whose day is mostly the same scoring (its load and validation in the same process were not measured apart).
DAY_ALLOCATOR = "dirty_decay_ms:10000,muzzy_decay_ms:0"


def day_allocator() -> None:
    """Polars' allocator as the scoring commands want it (:data:`DAY_ALLOCATOR`): set before polars is first
    imported (jemalloc reads it once, polars appends it to its own settings); a setting the user made is kept."""
    if "polars" not in sys.modules:
        os.environ.setdefault("_RJEM_MALLOC_CONF", DAY_ALLOCATOR)


@contextlib.contextmanager
def fewer_collections() -> Iterator[None]:
    """The collector at ``GC_THRESHOLD`` within the block, as it was after it (also on error)."""
    before = gc.get_threshold()
    gc.set_threshold(*GC_THRESHOLD)
    try:
        yield
    finally:
        gc.set_threshold(*before)


def stage(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Run a stage command: quiet third-party tools, map RiskError to a message and its exit code."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        _quiet_tools()
        try:
            return fn(*args, **kwargs)
        except RiskError as e:
            context = click.get_current_context(silent=True)  # the command's name, as typed
            name = context.info_name if context is not None else fn.__name__.replace("_", "-")
            typer.echo(f"risk {name}: error: {e}", err=True)
            raise typer.Exit(e.exit_code) from None

    return wrapper


def _context(params_file: Path, engine: str | None = None) -> tuple[Any, Any]:
    import dataclasses

    from risk.config import check_engine, load_params
    from risk.paths import Paths

    paths = Paths.at(params_file.resolve().parent)
    params = load_params(params_file)
    if engine is not None:
        check_engine("--engine", engine)
        params = dataclasses.replace(params, engine=engine)
    return paths, params


@app.command()
@stage
def load(params_file: ParamsOption = Path("params.yaml")) -> None:
    """Fill data/raw from data.source: simulate the default book, or ingest your export (the DVC stage)."""
    from risk.daily import load as load_source

    paths, params = _context(params_file)
    typer.echo(load_source(paths, params))


@app.command()
@stage
def simulate(params_file: ParamsOption = Path("params.yaml")) -> None:
    """Simulate the embedded default book: the five tables plus the truth table, into data/raw."""
    from risk.simulate.stage import run as run_simulation

    paths, params = _context(params_file)
    typer.echo(f"simulate: {run_simulation(paths, params)}")


@app.command()
@stage
def ingest(
    source: Annotated[str | None, typer.Option("--from", help="Folder (or file) to read.")] = None,
    fmt: Annotated[str | None, typer.Option("--format", help="contract | mapping | lendingclub | taiwan")] = None,
    params_file: ParamsOption = Path("params.yaml"),
) -> None:
    """Read a lender's export (CSV in UTF-8 or GBK, or Parquet) into the five contract tables, data/raw."""
    from risk.ingest import run as run_ingest

    paths, params = _context(params_file)
    summary = run_ingest(paths, params, source=source, fmt=fmt)
    typer.echo(summary)


@app.command()
@stage
def validate(params_file: ParamsOption = Path("params.yaml")) -> None:
    """Check the input and case tables against the data contract (Great Expectations); write data/validated."""
    from risk.validate.stage import run_project

    paths, params = _context(params_file)
    report = run_project(paths, params)
    typer.echo(
        f"validate: {len(report.errors)} errors, {len(report.warnings)} warnings, {len(report.notes)} notes; "
        f"report {paths.reports / 'validation.html'}; tables {paths.validated}"
    )


@app.command()
@stage
def features(engine: EngineOption = None, params_file: ParamsOption = Path("params.yaml")) -> None:
    """Build point-in-time loan and application snapshots with labels, into data/features."""
    paths, params = _context(params_file, engine)
    if params.engine == "spark":
        from risk.spark.stage import run_features as run_spark_features

        typer.echo(run_spark_features(paths, params, params.spark))
        return
    from risk.features.stage import run as run_features

    typer.echo(run_features(paths, params))


@app.command()
@stage
def train(params_file: ParamsOption = Path("params.yaml")) -> None:
    """Train PD, early-warning and cure models (LightGBM + scorecard), calibrate, register in MLflow."""
    from risk.models.stage import run_train

    paths, params = _context(params_file)
    typer.echo(run_train(paths, params))


@app.command()
@stage
def evaluate(params_file: ParamsOption = Path("params.yaml")) -> None:
    """Validate out of time: metrics/*.json, DVC plots and model cards; set champion and challenger aliases."""
    from risk.models.stage import run_evaluate

    paths, params = _context(params_file)
    typer.echo(run_evaluate(paths, params))


@app.command()
@stage
def policy(params_file: ParamsOption = Path("params.yaml")) -> None:
    """Learn the collections policy from the log: overdue type from evidence and each action's effect."""
    from risk.policy.stage import run_fit

    paths, params = _context(params_file)
    typer.echo(run_fit(paths, params))


@app.command(name="compile")
@stage
def compile_models(params_file: ParamsOption = Path("params.yaml")) -> None:
    """Compile the models `risk score` loads into the cache, when score.compiled_predictor asks for it on this book
    (the DVC stage; nothing on the default book): models/compiled.json."""
    from risk import io
    from risk.score.stage import compile_ahead

    paths, params = _context(params_file)
    record, line = compile_ahead(paths, params)
    io.write_json(record, paths.compiled_models)
    typer.echo(line)


@app.command()
@stage
def score(
    as_of: Annotated[str | None, typer.Option("--as-of", help="YYYY-MM-DD or 'today'; default data.as_of")] = None,
    engine: EngineOption = None,
    accept_shift: AcceptShiftOption = False,
    params_file: ParamsOption = Path("params.yaml"),
) -> None:
    """Score active loans and pending applications: the collections queue and the review queue."""
    day_allocator()
    with fewer_collections():
        from risk.score.stage import run as run_score

        paths, params = _context(params_file, engine)
        day = params.data.as_of if as_of is None else _parse_day(as_of)
        typer.echo(run_score(paths, params, as_of=day, accept_shift=accept_shift))


@app.command()
@stage
def run(
    as_of: Annotated[str, typer.Option("--as-of", help="The day: YYYY-MM-DD or 'today'.")],
    through: Annotated[
        str | None,
        typer.Option("--through", help="Catch up: every day from --as-of to this one (YYYY-MM-DD or 'today')."),
    ] = None,
    accept_shift: AcceptShiftOption = False,
    params_file: ParamsOption = Path("params.yaml"),
) -> None:
    """One day as a scheduler runs it: load that day's export ({as_of} in ingest.path), validate, score; the
    models stay as `dvc repro` trained them. With --through, each day to that one in turn, in one process."""
    day_allocator()
    from risk.daily import run_days

    paths, params = _context(params_file)
    first = _parse_day(as_of)
    last = first if through is None else _parse_day(through, "--through")
    if last < first:
        raise ConfigError(f"--through {last} is before --as-of {first}: no day to run")
    if last > dt.date.today():
        raise ConfigError(f"--through {last} is after today ({dt.date.today()}): a day has no export before it ends")
    days = [first + dt.timedelta(days=n) for n in range((last - first).days + 1)]
    with fewer_collections():
        for line in run_days(paths, params, days=days, accept_shift=accept_shift):
            typer.echo(line)


@app.command(name="evaluate-policy")
@stage
def evaluate_policy(params_file: ParamsOption = Path("params.yaml")) -> None:
    """The day's collections plan against the rules and, on the simulated book, the truth: metrics/policy.json."""
    from risk.policy.stage import run_evaluate

    paths, params = _context(params_file)
    typer.echo(run_evaluate(paths, params))


@app.command()
@stage
def report(params_file: ParamsOption = Path("params.yaml")) -> None:
    """Write the risk report (portfolio, vintages, roll rates, models, queues): reports/risk_report.html."""
    from risk.report import run as run_report

    paths, params = _context(params_file)
    typer.echo(run_report(paths, params))


@app.command()
@stage
def export(
    table: Annotated[str, typer.Option("--table", help="The table (or view) of application features to score.")] = (
        "applications_features"
    ),
    params_file: ParamsOption = Path("params.yaml"),
) -> None:
    """Write the PD scorecard as one SQL query for DuckDB and Spark (points, PD, reason codes): models/export."""
    from risk.models.stage import run_export

    paths, _ = _context(params_file)
    typer.echo(run_export(paths, table=table))


def _parse_day(text: str, option: str = "--as-of") -> dt.date:
    if text == "today":
        return dt.date.today()
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        typer.echo(f"risk: {option} must be YYYY-MM-DD or 'today', got {text!r}", err=True)
        raise typer.Exit(2) from None


def main() -> None:
    """The console entry (``risk``, ``python -m risk.cli``): the command, then :func:`spare_the_teardown`."""
    try:
        app()
    finally:
        spare_the_teardown()


def spare_the_teardown() -> None:
    """Collect the command's garbage, then freeze what is left for the interpreter's exit.

    A process's teardown clears every module and runs several full collections over the stack's long-lived objects
    (see ``GC_THRESHOLD``), each about 0.16 s, only to free memory the
    process is about to return. The command's own garbage is collected first, so its finalizers (a file, a
    connection) run as before; what is still alive is frozen: skipped by those collections, freed by reference
    counting only (an object still alive in a cycle is not finalized at exit; at the end of `risk score` that is
    MLflow's pooled sqlite connections, with nothing uncommitted). `risk score` at 984,361 active loans: 0.39-0.41 s
    from the command's end to the process's, against 0.93-0.94 s. For the process's end only: frozen objects are never
    collected again, so a test or a notebook that calls the commands in-process does not call it.
    """
    gc.collect()
    gc.freeze()


if __name__ == "__main__":
    main()
