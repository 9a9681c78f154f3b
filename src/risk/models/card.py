"""Model cards: what a model is for, what it learned from, how well it does and where it falls short."""

from __future__ import annotations

import polars as pl

from risk.features.catalogue import FEATURES
from risk.models.gate import Promotion
from risk.models.train import Evaluation

LIMITATIONS = {
    "pd": "Trained on booked loans only: applicants like those declined are out of sample, and the reject "
    "inference study above shows by how much its PD misses theirs. Labels need 12 months of history, so the "
    "newest vintages are not in training.",
    "early_warning": "Only loans 0-29 days past due at a month end; a loan that rolls within the month and "
    "cures before the next month end is invisible. Collections contacts shape the outcome.",
    "cure": "Collections actions after as_of change the outcome the model predicts, so the model reflects "
    "the collections strategy in force during training.",
}


def _fmt(v: float | None) -> str:
    return "n/a" if v is None or v != v else f"{v:.4f}"


def model_card(
    ev: Evaluation,
    *,
    versions: dict[str, str],
    windows: dict[str, list[str]],
    checks: dict[str, dict] | None = None,
    promotion: Promotion | None = None,
    binning: pl.DataFrame | None = None,
    reject_inference: dict | None = None,
    repeated_splits: dict | None = None,
) -> str:
    """Markdown model card for one model's champion and challenger; with ``checks`` (calibration by grade,
    :func:`risk.models.validation.calibration_summary` per candidate), the promotion gate's decision and the
    scorecard's binning table (:meth:`risk.models.scorecard.Scorecard.points_table`) and, for the PD, the
    reject inference study (:func:`risk.models.reject.study`)."""
    s = ev.spec
    lines = [
        f"# Model card: {s.registered}",
        "",
        f"**Purpose.** {s.purpose}",
        "",
        f"**Label.** `{s.label}`. **Champion:** {ev.champion} (registered version "
        f"{versions.get(ev.champion, '?')}); the other candidate is alias `challenger`.",
        "",
        "## Data windows (out of time)",
        "",
        "| window | from | to |",
        "|---|---|---|",
        *[f"| {k} | {a} | {b} |" for k, (a, b) in windows.items()],
        "",
        "## Performance on the test window",
        "",
        "| metric | " + " | ".join(ev.summary) + (" | oracle |" if ev.oracle else " |"),
        "|---|" + "---|" * (len(ev.summary) + (1 if ev.oracle else 0)),
    ]
    for m in (
        "n",
        "bad_rate",
        "mean_predicted",
        "auc",
        "gini",
        "ks",
        "brier",
        "log_loss",
        "ece",
        "capture_top10",
        "capture_top20",
        "psi",
    ):
        row = [_fmt(ev.summary[k].get(m)) for k in ev.summary]
        if ev.oracle:
            row.append(_fmt(ev.oracle.get(m)))
        lines.append(f"| {m} | " + " | ".join(row) + " |")
    lines += [
        "",
        "## Calibration by decile (champion)",
        "",
        "| decile | n | predicted | observed |",
        "|---|---|---|---|",
    ]
    for r in ev.calibration[ev.champion].iter_rows(named=True):
        lines.append(f"| {r['decile']} | {r['n']} | {r['predicted']:.4f} | {r['observed']:.4f} |")
    lines += _repeated_section(repeated_splits) + _grade_section(ev.champion, checks) + _promotion_section(promotion)
    lines += [
        "",
        "## Stability",
        "",
        f"PSI of the champion's score, training vs test: {_fmt(ev.summary[ev.champion].get('psi'))} "
        "(< 0.10 stable, 0.10-0.25 watch, > 0.25 investigate).",
        "",
        "## AUC by vintage (champion)",
        "",
        "| vintage | n | bad rate | AUC |",
        "|---|---|---|---|",
    ]
    for r in ev.by_vintage[ev.champion].iter_rows(named=True):
        lines.append(f"| {r['group']} | {r['n']} | {r['bad_rate']:.4f} | {_fmt(r['auc'])} |")
    meaning = {f.name: f.meaning for f in FEATURES} | {a.name: a.description for a in s.attributes}
    lines += ["", "## Features", "", "| feature | meaning | gain |", "|---|---|---|"]
    for r in ev.importance.iter_rows(named=True):
        lines.append(f"| {r['feature']} | {meaning.get(r['feature'], '')} | {r['gain']:.1f} |")
    lines += _binning_section(binning) + _reject_section(reject_inference)
    lines += ["", "## Known limitations", "", LIMITATIONS.get(s.name, ""), ""]
    return "\n".join(lines)


def _grade_section(champion: str, checks: dict[str, dict] | None) -> list[str]:
    if not checks:
        return []
    c = checks[champion]
    lines = [
        "",
        "## Calibration by grade (champion, test window)",
        "",
        "Jeffreys test of the predicted rate underestimating the observed one (ECB IRB validation practice); "
        "binomial p-value P(defaults >= observed); traffic light from the Jeffreys p-value (train.grade_tests).",
        "",
        "| grade | n | observed | predicted | binomial p | Jeffreys p | light |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in c["grades"]:
        lines.append(
            f"| {r['grade']} | {r['n']} | {_fmt(r['observed_rate'])} | {_fmt(r['predicted_rate'])} | "
            f"{_fmt(r['binomial_p'])} | {_fmt(r['jeffreys_p'])} | {r['traffic_light'] or 'n/a'} |"
        )
    hl, auc = c["hosmer_lemeshow"] or {}, c["auc"] or {}  # None on a window too small for the test
    lines += [
        "",
        f"Hosmer-Lemeshow: statistic {_fmt(hl.get('statistic'))}, {hl.get('dof', 'n/a')} degrees of freedom, "
        f"p {_fmt(hl.get('p_value'))}. "
        f"AUC {_fmt(auc.get('auc'))} (95% DeLong interval {_fmt(auc.get('low'))}-{_fmt(auc.get('high'))})"
        + (
            f"; change since development {_fmt(c['auc_change']['absolute_change'])} "
            f"(development {_fmt(c['auc_change']['dev_auc'])})."
            if c.get("auc_change")
            else "."
        ),
    ]
    return lines


def _promotion_section(promotion: Promotion | None) -> list[str]:
    if promotion is None:
        return []
    return [
        "",
        "## Promotion gate",
        "",
        f"**{promotion.decision}**: {promotion.reason}. Candidate {promotion.candidate_kind} "
        f"v{promotion.candidate_version}; champion in service before: "
        f"{'v' + promotion.incumbent_version if promotion.incumbent_version else 'none'} (train.promotion).",
    ]


def _binning_section(table: pl.DataFrame | None) -> list[str]:
    """The scorecard challenger's bins as a credit committee reads them: per feature its trend and information
    value, per bin its rows, bad rate, WOE and points."""
    if table is None or table.is_empty():
        return []
    lines = [
        "",
        "## Scorecard binning (challenger)",
        "",
        "Bins from train.scorecard.binning; trend is the bad rate's direction the binning was held to.",
        "",
        "| feature | trend | IV | bin | n | bad rate | WOE | points |",
        "|---|---|---|---|---|---|---|---|",
    ]
    iv = table.group_by("feature", maintain_order=True).agg(pl.col("iv").sum())
    ivs = dict(iv.iter_rows())
    for r in table.iter_rows(named=True):
        lines.append(
            f"| {r['feature']} | {r['trend']} | {ivs[r['feature']]:.3f} | {r['bin']} | {r['n']} | "
            f"{r['bad_rate']:.4f} | {r['woe']:+.3f} | {r['points']} |"
        )
    return lines


def _reject_section(study: dict | None) -> list[str]:
    """The reject inference study: each method's booked AUC and, with a truth, its through-the-door figures."""
    if not study:
        return []
    if "skipped" in study:
        return ["", "## Reject inference", "", f"Not run: {study['skipped']}."]
    d = study["declined"]
    lines = [
        "",
        "## Reject inference",
        "",
        f"Declined applications given inferred outcomes: {d['train']:,} in training, {d['valid']:,} in validation "
        f"(train.reject_inference); each method's LightGBM is judged on the test window's booked loans and, "
        f"where the simulator's true PD is known, on all {d['test']:,} declined and booked applications of the "
        "test window (through the door).",
        "",
        "| method | booked AUC | through-the-door expected AUC | mean PD / true | RMSE to true PD | "
        "declined: mean PD / true |",
        "|---|---|---|---|---|---|",
    ]
    for m, v in study["methods"].items():
        ttd = "rmse" in v
        lines.append(
            f"| {m} | {_fmt(v['booked_test_auc'])} | {_fmt(v.get('expected_auc'))} | "
            + (f"{v['mean_predicted']:.4f} / {v['mean_true']:.4f}" if ttd else "n/a")
            + f" | {_fmt(v.get('rmse'))} | "
            + (f"{v['declined_mean_predicted']:.4f} / {v['declined_mean_true']:.4f}" if ttd else "n/a")
            + " |"
        )
    if study.get("best"):
        lines += ["", f"Closest to the true PD through the door: **{study['best']}**."]
    return lines


def _repeated_section(figures: dict | None) -> list[str]:
    """A source with no dates: test AUC over repeated stratified splits, the candidates beside their peers."""
    if not figures:
        return []
    sp = figures["splits"]
    lines = [
        "",
        "## Repeated stratified splits",
        "",
        f"A source with no dates: test AUC over {sp['repeats']} stratified splits holding out "
        f"{sp['test_share']:.0%} (seeds {', '.join(map(str, sp['seeds']))}), each candidate and peer fitted on the "
        "same rows and columns (train.small_data); the champion is the better mean AUC. These splits use every "
        "labelled row, the test split's included, so the single-split figures above are not an independent "
        "hold-out for this source. "
        + (
            "Small data: the candidates' trees are chosen by cross-validation, their calibration is Platt "
            "scaling out of fold, and the registered models are fitted on all rows but the test window."
            if figures.get("small")
            else "LightGBM early-stops on a quarter of each split's training rows."
        ),
        "",
        "| model | mean AUC | spread (sd) | per split |",
        "|---|---|---|---|",
    ]
    for group in ("candidates", "peers"):
        for name, v in figures[group].items():
            label = name if group == "candidates" else f"peer: {name.replace('_', ' ')}"
            each = ", ".join(f"{a:.3f}" for a in v["auc"])
            lines.append(f"| {label} | {v['auc_mean']:.4f} | {v['auc_std']:.4f} | {each} |")
    return lines
