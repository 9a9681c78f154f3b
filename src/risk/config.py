"""params.yaml, read once into frozen, typed objects.

No other module reads params.yaml or the environment for settings: the CLI calls :func:`load_params`
and hands each stage its own section. Unknown keys, wrong types and bad values raise
:class:`~risk.exceptions.ConfigError` naming the key, what is allowed and what was given.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from risk.exceptions import ConfigError


# --- sections ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class DataParams:
    source: str = "simulate"  # simulate | ingest
    as_of: dt.date = dt.date(2025, 12, 31)  # the data's as-of date: nothing may be dated after it

    def __post_init__(self) -> None:
        _one_of("data.source", self.source, ("simulate", "ingest"))


@dataclass(frozen=True)
class ShockParams:
    start: dt.date = dt.date(2024, 4, 1)
    end: dt.date = dt.date(2024, 9, 30)
    multiplier: float = 1.9  # hazard multiplier on loans exposed during the shock


@dataclass(frozen=True)
class SimulateParams:
    n_loans: int = 20_000  # loans booked over the history
    start: dt.date = dt.date(2022, 1, 1)  # first vintage
    pending_applications: int = 400
    approval_rate: float = 0.6
    shock: ShockParams = field(default_factory=ShockParams)
    volume_growth: float = 2.5  # monthly volume in the last vintage over the first
    repeat_borrower_share: float = 0.3  # applications from a borrower who applied before (复贷)
    risk_scale: float = 1.0  # multiplier on every loan's monthly hazard of falling overdue
    prepayment_rate: float = 0.2  # share of loans whose borrower plans to repay early (提前还款)
    charge_off_dpd: int = 180  # days past due at which a loan is charged off (核销)
    max_contacts_per_day: int = 3  # collection contacts allowed per loan per day (催收合规)

    def __post_init__(self) -> None:
        _positive("simulate.n_loans", self.n_loans)
        _between("simulate.approval_rate", self.approval_rate, 0.01, 1.0)
        _positive("simulate.volume_growth", self.volume_growth)
        _between("simulate.repeat_borrower_share", self.repeat_borrower_share, 0.0, 0.9)
        _positive("simulate.risk_scale", self.risk_scale)
        _between("simulate.prepayment_rate", self.prepayment_rate, 0.0, 1.0)
        _positive("simulate.charge_off_dpd", self.charge_off_dpd)
        _positive("simulate.max_contacts_per_day", self.max_contacts_per_day)


@dataclass(frozen=True)
class IngestParams:
    format: str = "contract"  # contract | lendingclub | taiwan | mapping
    path: str = ""
    encoding: str = "utf-8"  # utf-8 | gbk | gb18030
    columns: dict[str, dict[str, str]] = field(default_factory=dict)  # table -> {contract column: source column}
    # format mapping only; keys are "column" (every table) or "table.column". Shape and a worked example:
    # risk.ingest.mapping's module docstring.
    files: dict[str, str] = field(default_factory=dict)  # table -> file name in path (default <table>.csv)
    date_formats: dict[str, str] = field(default_factory=dict)  # column -> strftime format, e.g. "%Y/%m/%d"
    codes: dict[str, dict[str, str]] = field(default_factory=dict)  # column -> {source code: contract value}
    scale: dict[str, float] = field(default_factory=dict)  # column -> factor, e.g. 0.01 for fen -> yuan
    constants: dict[str, Any] = field(default_factory=dict)  # column -> value for every row, when not mapped

    def __post_init__(self) -> None:
        _one_of("ingest.format", self.format, ("contract", "mapping", "lendingclub", "taiwan"))
        _one_of("ingest.encoding", self.encoding, ("utf-8", "gbk", "gb18030"))


@dataclass(frozen=True)
class ValidateParams:
    max_examples: int = 5
    # rules listed here are reported as warnings instead of stopping the pipeline
    warn_only: tuple[str, ...] = ()


@dataclass(frozen=True)
class LabelParams:
    default_dpd: int = 90
    default_horizon_months: int = 12
    early_warning_dpd: int = 30
    early_warning_horizon_days: int = 90
    cure_horizon_days: int = 30
    cure_max_dpd: int = 89


@dataclass(frozen=True)
class FeatureParams:
    first_as_of: dt.date | None = None  # None: the first month end after the first origination
    late_grace_days: int = 3  # a payment this many days after due still counts as on time
    labels: LabelParams = field(default_factory=LabelParams)


@dataclass(frozen=True)
class ModelParams:
    """One model's LightGBM settings and its time split."""

    num_leaves: int = 15
    max_depth: int = 5
    learning_rate: float = 0.05
    n_estimators: int = 1000
    min_child_samples: int = 100
    subsample: float = 0.8
    colsample_bytree: float = 0.8
    reg_lambda: float = 1.0
    early_stopping_rounds: int = 50
    embargo_days: int = 0  # gap between windows so training labels never look into the validation window
    max_train_rows: int = 400_000  # the latest rows of the training window are kept above this

    def __post_init__(self) -> None:
        _between("max_depth", self.max_depth, 1, 16)
        _between("learning_rate", self.learning_rate, 1e-4, 1.0)
        _positive("num_leaves", self.num_leaves)


@dataclass(frozen=True)
class ScorecardParams:
    max_bins: int = 6
    min_bin_share: float = 0.05
    C: float = 1.0
    base_score: float = 600.0  # points at the base odds (good:bad)
    base_odds: float = 50.0
    pdo: float = 20.0  # points to double the odds


@dataclass(frozen=True)
class WindowParams:
    valid_months: int = 6
    test_months: int = 6


@dataclass(frozen=True)
class ChampionRule:
    metric: str = "auc"  # compared on the test window
    min_gain: float = 0.0  # the scorecard becomes champion only if better by more than this

    def __post_init__(self) -> None:
        _one_of("train.champion_rule.metric", self.metric, ("auc", "ks", "brier", "log_loss"))


@dataclass(frozen=True)
class TrainParams:
    windows: WindowParams = field(default_factory=WindowParams)
    calibration: str = "isotonic"  # isotonic | platt
    champion_rule: ChampionRule = field(default_factory=ChampionRule)
    scorecard: ScorecardParams = field(default_factory=ScorecardParams)
    pd: ModelParams = field(default_factory=ModelParams)
    early_warning: ModelParams = field(default_factory=lambda: ModelParams(embargo_days=90))
    cure: ModelParams = field(default_factory=lambda: ModelParams(embargo_days=30))

    def __post_init__(self) -> None:
        _one_of("train.calibration", self.calibration, ("isotonic", "platt"))


@dataclass(frozen=True)
class Params:
    seed: int = 42
    data: DataParams = field(default_factory=DataParams)
    simulate: SimulateParams = field(default_factory=SimulateParams)
    ingest: IngestParams = field(default_factory=IngestParams)
    validate: ValidateParams = field(default_factory=ValidateParams)
    features: FeatureParams = field(default_factory=FeatureParams)
    train: TrainParams = field(default_factory=TrainParams)
    score: dict[str, Any] = field(default_factory=dict)


# --- loading -----------------------------------------------------------------------------------------
def load_params(path: str | Path = "params.yaml") -> Params:
    """Read ``path`` into :class:`Params`; a missing file gives the defaults."""
    p = Path(path)
    raw = yaml.safe_load(p.read_text(encoding="utf-8")) if p.exists() else {}
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        msg = f"{p}: expected a mapping at the top level, got {type(raw).__name__}"
        raise ConfigError(msg)
    return build(Params, raw, "")


def build(cls: type, raw: dict[str, Any], prefix: str) -> Any:
    """Build dataclass ``cls`` from ``raw``, checking every key and type."""
    if not isinstance(raw, dict):
        msg = f"{prefix or 'params'}: expected a mapping, got {raw!r}"
        raise ConfigError(msg)
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(raw) - names)
    if unknown:
        msg = f"unknown key(s) {', '.join(prefix + k for k in unknown)}; allowed: {sorted(names)}"
        raise ConfigError(msg)
    kwargs = {k: _coerce(hints[k], v, prefix + k) for k, v in raw.items()}
    try:
        return cls(**kwargs)
    except ConfigError:
        raise
    except (TypeError, ValueError) as e:
        msg = f"{prefix.rstrip('.') or 'params'}: {e}"
        raise ConfigError(msg) from e


def _coerce(hint: Any, value: Any, key: str) -> Any:
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        non_none = [a for a in args if a is not type(None)]
        return _coerce(non_none[0], value, key)
    if dataclasses.is_dataclass(hint):
        return build(hint, value, key + ".")
    if hint is Any:
        return value
    if origin is dict:
        if not isinstance(value, dict):
            _wrong(key, "a mapping", value)
        return value
    if origin is tuple:
        if not isinstance(value, list | tuple):
            _wrong(key, "a list", value)
        return tuple(value)
    if hint is dt.date:
        if isinstance(value, dt.date):
            return value
        try:
            return dt.date.fromisoformat(str(value))
        except ValueError:
            _wrong(key, "a date YYYY-MM-DD", value)
    if hint is bool:
        if not isinstance(value, bool):
            _wrong(key, "true or false", value)
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            _wrong(key, "an integer", value)
        return value
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            _wrong(key, "a number", value)
        return float(value)
    if hint is str:
        if not isinstance(value, str):
            _wrong(key, "a string", value)
        return value
    return value


def _wrong(key: str, expected: str, given: Any) -> typing.NoReturn:
    msg = f"{key}: expected {expected}, got {given!r}"
    raise ConfigError(msg)


def _one_of(key: str, value: Any, allowed: tuple[Any, ...]) -> None:
    if value not in allowed:
        msg = f"{key}: must be one of {list(allowed)}, got {value!r}"
        raise ConfigError(msg)


def _positive(key: str, value: float) -> None:
    if value <= 0:
        msg = f"{key}: must be > 0, got {value!r}"
        raise ConfigError(msg)


def _between(key: str, value: float, low: float, high: float) -> None:
    if not low <= value <= high:
        msg = f"{key}: must be between {low} and {high}, got {value!r}"
        raise ConfigError(msg)
