"""The scorecard as one SQL query (portable scoring): points, PD and reason codes in DuckDB or Spark SQL.

A lender runs the query where the applications already are, with no Python. It reproduces
:meth:`Scorecard.points <risk.models.scorecard.Scorecard.points>` row for row: the same bins, the same
missing and unseen values, and float literals that parse back to the very doubles the model holds.

DuckDB and Spark SQL read the same text but for two things, kept together in :data:`DIALECTS`: how a
string literal escapes, and how the reason codes are collected in order (no spelling works in both).
"""

from __future__ import annotations

import math
import re
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np
from sklearn.utils.validation import check_is_fitted

from risk.exceptions import ConfigError, RiskError
from risk.features.catalogue import CATEGORICAL, REASON_CATALOGUE_VERSION, catalogue_entries
from risk.models.model import SCORECARD, RiskModel
from risk.models.scorecard import MISSING, SPECIAL, Scorecard, WoeBinner

Dialect = Literal["duckdb", "spark"]

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True)
class _SqlDialect:
    quote: Callable[[str], str]  # a Python string as a string literal
    ordered_codes: str  # reason codes of one key, ordered by rn, only rows where {keep}; [] when none


DIALECTS: dict[Dialect, _SqlDialect] = {
    # DuckDB takes backslashes literally; an aggregate over no rows is NULL, hence the empty list
    "duckdb": _SqlDialect(
        quote=lambda s: "'" + s.replace("'", "''") + "'",
        ordered_codes="coalesce(list(code ORDER BY rn) FILTER (WHERE {keep}), CAST([] AS VARCHAR[]))",
    ),
    # Spark unescapes backslashes in literals, and collect_list's order is not defined after a shuffle
    "spark": _SqlDialect(
        quote=lambda s: "'" + s.replace("\\", "\\\\").replace("'", "\\'") + "'",
        ordered_codes=(
            "transform(array_sort(collect_list(named_struct('rn', rn, 'code', code)) FILTER (WHERE {keep})), "
            "x -> x.code)"
        ),
    ),
}


@dataclass(frozen=True)
class _Card:
    """What the query needs from a fitted scorecard, whichever wrapper it came in."""

    card: Scorecard
    features: list[str]
    domains: dict[str, tuple[str, ...]]  # categorical feature -> the codes the model knows (others score as missing)
    title: str
    reason_codes: list[str]  # one per feature, from the reason catalogue


def scorecard_sql(
    model: Scorecard | RiskModel,
    *,
    table: str = "applications_features",
    key: str = "application_id",
    n_reasons: int = 3,
    dialect: Dialect = "duckdb",
    version: str | None = None,
) -> str:
    """One SELECT scoring every row of ``table`` with the fitted scorecard ``model``.

    Returns ``key``, ``points`` (total, higher is safer), ``pd`` (the scorecard's own probability of the bad
    label, before calibration), one ``points_<feature>`` per feature, and ``reason_codes``: up to
    ``n_reasons`` codes ``R_<FEATURE>`` of the features that lost most points against their best bin, most
    first (ties in feature order), only those that lost any. ``key`` must identify a row.

    A :class:`RiskModel` scores as :meth:`RiskModel.points` does: a category its catalogue does not know
    scores as missing. A bare :class:`Scorecard` scores as :meth:`Scorecard.points`: a category it did not
    see in training scores WOE 0. The text is the same for the same model (no date in it); ``version``, when
    known, goes into the header.
    """
    spec = _card_of(model)
    if dialect not in DIALECTS:
        msg = f"dialect must be one of {sorted(DIALECTS)}, got {dialect!r}"
        raise ConfigError(msg)
    if not isinstance(n_reasons, int) or n_reasons < 0:
        msg = f"n_reasons must be a whole number >= 0, got {n_reasons!r}"
        raise ConfigError(msg)
    _check_identifier("table", table, dotted=True)
    _check_identifier("key", key)
    for f in spec.features:
        _check_identifier("feature", f)
    d = DIALECTS[dialect]
    card, features = spec.card, spec.features
    n = len(features)
    offset = card.base_score - card.factor_ * np.log(card.base_odds)
    intercept = float(card.lr_.intercept_[0])
    coef = dict(zip(features, (float(b) for b in card.lr_.coef_[0]), strict=True))

    def points_of(f: str, woe: float) -> float:  # Scorecard.points_table's points, unrounded
        return offset / n - card.factor_ * (coef[f] * woe + intercept / n)

    woe_cols = [f"    {_woe_case(card, f, spec.domains.get(f), d.quote)} AS woe_{f}" for f in features]
    contribution = [f"    {_num(coef[f])} * woe_{f} AS c_{f}" for f in features]
    logit = f"{_num(intercept)} + ({' + '.join(f'c_{f}' for f in features)})"
    points = [
        f"    {_num(offset / n)} - {_num(card.factor_)} * (c_{f} + {_num(intercept / n)}) AS points_{f}"
        for f in features
    ]
    best = {f: max(points_of(f, w) for w in card.binner_.woe_[f].values()) for f in features}
    lost = [
        f"  SELECT {key}, {i} AS ord, {d.quote(code)} AS code, {_num(best[f])} - points_{f} AS lost FROM scored"
        for i, (f, code) in enumerate(zip(features, spec.reason_codes, strict=True), start=1)
    ]
    codes = d.ordered_codes.format(keep=f"rn <= {n_reasons} AND lost > 0")
    inputs = [
        f"    CAST({f} AS STRING) AS {f}" if _is_categorical(card, f) else f"    CAST({f} AS DOUBLE) AS {f}"
        for f in features
    ]
    header = _header(spec, card, offset, table=table, key=key, n_reasons=n_reasons, dialect=dialect, version=version)
    sep, union_all = ",\n", "\n  UNION ALL\n"
    return f"""{header}
WITH features_in AS (
  SELECT
    {key},
{sep.join(inputs)}
  FROM {table}
),
woe AS (
  SELECT
    {key},
{sep.join(woe_cols)}
  FROM features_in
),
contribution AS (
  SELECT
    {key},
{sep.join(contribution)}
  FROM woe
),
scored AS (
  SELECT
    {key},
    {logit} AS logit,
{sep.join(points)}
  FROM contribution
),
points_lost AS (
{union_all.join(lost)}
),
ranked AS (
  SELECT {key}, code, lost, ROW_NUMBER() OVER (PARTITION BY {key} ORDER BY lost DESC, ord) AS rn
  FROM points_lost
),
reasons AS (
  SELECT {key}, {codes} AS reason_codes
  FROM ranked
  GROUP BY {key}
)
SELECT
  s.{key},
  {_num(offset)} - {_num(card.factor_)} * s.logit AS points,
  1 / (1 + exp(-s.logit)) AS pd,
{sep.join(f"  s.points_{f}" for f in features)},
  r.reason_codes
FROM scored AS s
LEFT JOIN reasons AS r ON s.{key} = r.{key}
"""


def _card_of(model: Scorecard | RiskModel) -> _Card:
    if isinstance(model, RiskModel):
        if model.kind != SCORECARD or not isinstance(model.estimator, Scorecard):
            msg = f"only a scorecard can be written as SQL; model {model.name!r} is a {model.kind}"
            raise RiskError(msg)
        card = model.estimator
        check_is_fitted(card, "lr_")
        if list(card.binner_.features_) != list(model.features):
            msg = f"model {model.name!r}: its feature list and its scorecard's bins disagree"
            raise RiskError(msg)
        known = {**CATEGORICAL, **model.categories}
        domains = {f: tuple(known[f]) for f in model.features if f in known}
        extra = [a.feature() for a in getattr(model, "attributes", ())]
        codes = [e.code for e in catalogue_entries(model.features, model=model.name, extra=extra)]
        return _Card(card, list(model.features), domains, f"{model.name} scorecard (label {model.label})", codes)
    if isinstance(model, Scorecard):
        check_is_fitted(model, "lr_")
        features = list(model.binner_.features_)
        codes = [e.code for e in catalogue_entries(features, model="scorecard")]
        return _Card(model, features, {}, "scorecard", codes)
    msg = f"expected a fitted Scorecard or a scorecard RiskModel, got {type(model).__name__}"
    raise TypeError(msg)


def _is_categorical(card: Scorecard, feature: str) -> bool:
    return feature not in card.binner_.edges_


def _woe_case(card: Scorecard, f: str, domain: tuple[str, ...] | None, quote: Callable[[str], str]) -> str:
    """The CASE giving feature ``f``'s WOE, bin by bin, as WoeBinner.transform does."""
    woe = card.binner_.woe_[f]
    missing = woe.get(MISSING, 0.0)
    pad = "\n      "

    def seen(label: str) -> str:  # the comment naming a bin, and saying when training never saw it
        return label if label in woe else f"{label}, not seen in training"

    if not _is_categorical(card, f):
        edges = [float(e) for e in card.binner_.edges_[f]]
        labels = _numeric_labels(edges)
        not_finite = f"{f} IS NULL OR isnan({f}) OR abs({f}) = CAST('Infinity' AS DOUBLE)"
        whens = [f"WHEN {not_finite} THEN {_num(missing)}  -- {seen(MISSING)}"]
        specials = [float(c) for c in getattr(card.binner_, "specials_", {}).get(f, ())]
        if specials:
            codes = ", ".join(_num(c) for c in specials)
            whens.append(f"WHEN {f} IN ({codes}) THEN {_num(woe.get(SPECIAL, 0.0))}  -- {seen(SPECIAL)}")
        whens += [
            f"WHEN {f} < {_num(e)} THEN {_num(woe.get(label, 0.0))}  -- {seen(label)}"
            for e, label in zip(edges, labels[:-1], strict=True)
        ]
        whens.append(f"ELSE {_num(woe.get(labels[-1], 0.0))}  -- {seen(labels[-1])}")
    else:
        # a category is its text; NULL is the missing bin (and so is the text 'missing', as in Python)
        whens = [
            f"WHEN {f} = {quote(label)} THEN {_num(w)}" for label, w in woe.items() if domain is None or label in domain
        ]
        if domain is None:
            whens = [f"WHEN {f} IS NULL THEN {_num(missing)}  -- {seen(MISSING)}", *whens]
            whens.append(f"ELSE {_num(0.0)}  -- not seen in training")
        else:
            unseen = [c for c in domain if c not in woe]
            if unseen:
                known = ", ".join(quote(c) for c in unseen)
                whens.append(f"WHEN {f} IN ({known}) THEN {_num(0.0)}  -- known, not seen in training")
            whens.append(f"ELSE {_num(missing)}  -- missing, or a code the catalogue does not know")
    return "CASE" + pad + pad.join(whens) + "\n    END"


def _numeric_labels(edges: list[float]) -> list[str]:
    """The label of each numeric bin, asked of WoeBinner itself with one value inside each bin (the WOE is
    looked up by label, and two bins may share one: the query must look it up the same way)."""
    inside = [float(np.finfo(float).min), *edges]  # bin 0 holds everything below edge 0; edge i opens bin i + 1
    return [str(label) for label in WoeBinner._numeric_labels(np.asarray(inside), np.asarray(edges, dtype=float))]


def _num(x: float) -> str:
    """A double literal that parses back to exactly ``x`` in DuckDB and Spark (a string cast: both parse
    it correctly rounded, where a bare ``0.1`` would be a DECIMAL first)."""
    x = float(x)
    if not math.isfinite(x):
        msg = f"a scorecard number must be finite, got {x!r}"
        raise RiskError(msg)
    return f"CAST('{x!r}' AS DOUBLE)"


def _check_identifier(what: str, name: str, *, dotted: bool = False) -> None:
    parts = name.split(".") if dotted else [name]
    if not all(_IDENTIFIER.fullmatch(p) for p in parts):
        msg = f"{what} {name!r} is not a plain SQL identifier (letters, digits and _, not starting with a digit)"
        raise ConfigError(msg)


def _header(
    spec: _Card,
    card: Scorecard,
    offset: float,
    *,
    table: str,
    key: str,
    n_reasons: int,
    dialect: str,
    version: str | None,
) -> str:
    kinds = ", ".join(f"{f} ({'text' if _is_categorical(card, f) else 'number'})" for f in spec.features)
    version_text = f", registered version {version}" if version is not None else ""
    paragraphs = [
        f"Portable scoring: the {spec.title}{version_text}, as one {dialect} query.",
        "Written by `risk export` from the fitted model; regenerate it rather than edit it.",
        f"Points: {card.base_score:g} at odds {card.base_odds:g}:1 good:bad, {card.pdo:g} points to double the odds "
        f"(offset {float(offset)!r}, factor {float(card.factor_)!r}); higher is safer. pd: the scorecard's own "
        "probability of the bad label, 1 / (1 + exp(-(intercept + sum coef * woe))), before calibration.",
        "Bins: a number falls in bin i when edge[i-1] <= value < edge[i]; NULL, NaN and +-Infinity are the missing "
        "bin; a category is compared as text; a bin not seen in training scores WOE 0 (each CASE's ELSE says what "
        "falls there).",
        f"reason_codes: up to {n_reasons} features that lost most points against their best bin, most first; codes "
        f"of reason catalogue {REASON_CATALOGUE_VERSION}.",
        f"Reads {table}: {key} (one row each) and {kinds}.",
    ]
    lines = [line for p in paragraphs for line in textwrap.wrap(p, width=114, break_on_hyphens=False)]
    return "\n".join("-- " + line for line in lines)
