"""Assemble the risk report: one self-contained HTML page (inline CSS, charts as data URIs, no links out).

:func:`render_report` is the pure core: frames and dicts in, HTML text out. It opens offline. The page's
building blocks are in :mod:`risk.report.elements`, the case-management sections in :mod:`risk.report.cases`.
"""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Mapping, Sequence

import polars as pl

from risk.report import cases, charts, model_results, portfolio, queues
from risk.report.elements import image, kpis, num, page, pct, section, table, unavailable
from risk.report.model_results import ModelResults

APPLICATION_ONLY_NOTE = "not available: this source is application-only — no repayment history"
NO_QUEUES_NOTE = "no scored queues for this as_of"


# --- sections -----------------------------------------------------------------------------------------
def applications_kpis(tables: Mapping[str, pl.DataFrame]) -> str:
    """What an application-only source does hold: applications and their final outcomes."""
    items = []
    apps, outcomes = tables.get("applications"), tables.get("outcomes")
    if apps is not None:
        items.append(("applications", num()(apps.height)))
    if outcomes is not None and "default_flag" in outcomes.columns:
        flags = outcomes["default_flag"].drop_nulls()
        items.append(("applications with a final outcome", num()(flags.len())))
        items.append(("defaulted (source's final outcome)", pct(1)(flags.mean() if flags.len() else None)))
    return kpis(items) if items else ""


def overview_section(
    outcomes: pl.DataFrame,
    summary: Mapping[str, object],
    *,
    as_of: dt.date,
    missing: str | None = None,
    tables: Mapping[str, pl.DataFrame] | None = None,
) -> str:
    lead = (
        f"The book at {as_of}: size, delinquency on balance, early-default and collection figures in the "
        "vocabulary of Chinese online lenders' disclosures, and where the risk sits by product and channel."
    )
    if missing:
        return section(
            "overview",
            "1. Portfolio overview",
            lead,
            applications_kpis(tables or {}) + unavailable(f"Loan book figures {missing}"),
        )
    s = summary
    items = [
        ("loans booked", num()(s["loans"])),
        ("disbursed, RMB", f"{float(s['disbursed']) / 1e6:,.1f} M"),  # type: ignore[arg-type]
        ("active loans (on balance)", num()(s["active_loans"])),
        ("outstanding principal, RMB", f"{float(s['balance']) / 1e6:,.2f} M"),  # type: ignore[arg-type]
        ("90+ dpd on balance (91-180)", pct(2)(s["dpd90_on_balance"])),
        ("FPD30 (first instalment 30+ late)", pct(2)(s["fpd30"])),
        ("ever 30+ within 12 MOB", pct(1)(s["ever30_12mob"])),
        ("30-day collection rate", pct(1)(s["collection_rate_30d"])),
        ("prepaid (≥ 1 month early)", pct(1)(s["prepayment_share"])),
        ("written off (180+ dpd), loans", num()(s["written_off_loans"])),
    ]
    seg = portfolio.bad_rates_by_segment(outcomes, as_of=as_of)
    grid = seg.pivot("channel", index="product", values="bad_rate").sort("product")
    counts = seg.pivot("channel", index="product", values="loans").sort("product")
    ratio = ""
    if seg.height > 1 and seg["bad_rate"].min():
        ratio = f" Worst over best segment: {seg['bad_rate'].max() / seg['bad_rate'].min():.1f}×."
    body = kpis(items) + "<h3>Ever 30+ dpd within 12 months on book, by product × channel</h3>"
    if seg.is_empty():
        body += unavailable(f"not available: no loan was booked at least 12 months before {as_of}")
    else:
        body += (
            f'<p class="note">Loans booked at least 12 months before {as_of}.{ratio}</p>'
            + '<div class="row"><div>'
            + table(grid, {c: pct(1) for c in grid.columns[1:]})
            + "</div><div>"
            + '<p class="note">Loans observed per segment</p>'
            + table(counts, {c: num() for c in counts.columns[1:]})
            + "</div></div>"
        )
    return section("overview", "1. Portfolio overview", lead, body)


def vintage_section(
    outcomes: pl.DataFrame, *, as_of: dt.date, shock: tuple[dt.date, dt.date] | None, missing: str | None = None
) -> str:
    title = "2. Vintage curves (账龄)"
    lead = (
        "Cumulative share of each origination quarter's loans that were ever 30+ days past due, by months "
        "on book: steep early, flattening later; later vintages should be comparable month for month."
    )
    if missing:
        return section("vintages", title, lead, unavailable(missing))
    curves = portfolio.vintage_curves(outcomes, as_of=as_of)
    if curves.is_empty():
        return section(
            "vintages",
            title,
            lead,
            unavailable(f"not available: no origination quarter has a month on book by {as_of}"),
        )
    wide = (
        curves.filter(pl.col("months_on_book").is_in([3, 6, 9, 12, 18, 24]))
        .pivot("months_on_book", index="vintage", values="rate")
        .sort("vintage")
    )
    wide = wide.rename({c: f"MOB {c}" for c in wide.columns[1:]})
    loans = outcomes.group_by("vintage").agg(loans=pl.len())
    wide = loans.join(wide, on="vintage", how="right").select("vintage", "loans", *wide.columns[1:])
    note = (
        f"Shock period {shock[0]} to {shock[1]}: vintages whose first six months on book overlap it are red."
        if shock
        else ""
    )
    at_mob6 = (
        image(charts.vintage_at_mob_figure(curves, shock=shock), "ever 30+ at MOB 6 by vintage")
        if curves.filter(pl.col("months_on_book") == 6).height
        else unavailable(f"Ever 30+ at MOB 6: not available, no origination quarter has reached MOB 6 by {as_of}")
    )
    body = (
        image(charts.vintage_figure(curves, shock=shock), "vintage curves")
        + at_mob6
        + f'<p class="note">{html.escape(note)} A point appears only once every loan of the quarter has reached '
        "that month on book.</p>" + table(wide, {"loans": num(), **{c: pct(1) for c in wide.columns[2:]}})
    )
    return section("vintages", title, lead, body)


def roll_section(
    snapshots: pl.DataFrame,
    outcomes: pl.DataFrame,
    overdue_types: pl.DataFrame | None,
    actions: pl.DataFrame | None = None,
    *,
    missing: str | None = None,
) -> str:
    title = "3. Roll rates (迁徙率), cures and days past due"
    lead = (
        "How loans migrate between current (M0), M1 (1-30 dpd), M2, M3 and M3+ (91-180) from one month end "
        "to the next, pooled over the last 12 months; written off means beyond 180 dpd."
    )
    if missing:
        return section("rolls", title, lead, unavailable(missing))
    funnel = funnel_block(outcomes, actions) if actions is not None else ""
    dist = portfolio.dpd_distribution(outcomes)
    dist_block = (
        '<div class="row"><div>'
        + image(charts.dpd_distribution_figure(dist), "dpd distribution")
        + "</div><div><h3>Active book by days past due</h3>"
        + table(
            dist,
            {"loans": num(), "balance": num(), "loan_share": pct(2), "balance_share": pct(2)},
            {"balance": "balance, RMB"},
        )
        + "</div></div>"
        if dist["loans"].sum()
        else "<h3>Active book by days past due</h3>" + unavailable("not available: no active loan")
    )
    matrix = portfolio.roll_rates(snapshots)
    if not matrix["loans"].sum():
        return section(
            "rolls",
            title,
            lead,
            unavailable("Roll and cure rates: not available, no loan is observed at two consecutive month ends")
            + dist_block
            + funnel,
        )
    cures = portfolio.cure_rates(snapshots, overdue_types)
    cure_wide = cures.pivot("from", index="overdue_type", values="cure_rate").join(
        cures.group_by("overdue_type").agg(loan_months=pl.col("loans").sum()), on="overdue_type"
    )
    fwd = {
        f"{a}→{b}": matrix.filter(pl.col("from") == a)[b].item()
        for a, b in (("current", "M1"), ("M1", "M2"), ("M2", "M3"), ("M3", "M3+"))
    }
    source = (
        "the simulator's truth table"
        if overdue_types is not None and "true_pd" in overdue_types.columns
        else "the collections queue's classification"
    )
    cure_table = (
        table(cure_wide, {c: pct(1) for c in cure_wide.columns[1:-1]} | {"loan_months": num()})
        if cures.height
        else unavailable("not available: no overdue loan at a month end with a next one")
    )
    body = (
        image(charts.roll_rate_figure(matrix), "roll-rate matrix")
        + kpis([(f"roll {k}", pct(1)(v)) for k, v in fwd.items()])
        + "<h3>Cure rate within a month, by overdue type (四类逾期)</h3>"
        + f'<p class="note">Share of loans in each bucket that are current (or paid off) at the next month end. '
        f"Overdue types from {source}.</p>" + cure_table + dist_block + funnel
    )
    return section("rolls", title, lead, body)


def funnel_block(outcomes: pl.DataFrame, actions: pl.DataFrame) -> str:
    funnel = portfolio.collection_funnel(outcomes, actions)
    if not funnel["loans"][0]:
        return "<h3>Collections ladder funnel</h3>" + unavailable("not available: no delinquent loan")
    return (
        "<h3>Collections ladder funnel</h3>"
        + '<div class="row"><div>'
        + image(charts.funnel_figure(funnel), "collections ladder funnel")
        + "</div><div>"
        + table(funnel, {"loans": num(), "share": pct(1)})
        + "</div></div>"
    )


def model_block(r: ModelResults) -> str:
    dist, psi_value, vint = None, None, pl.DataFrame()
    dated = r.scores is not None and r.scores["vintage"].drop_nulls().len() > 0
    if r.scores is not None and r.scores.height:
        dist, psi_value = model_results.score_distribution(r.scores, r.champion)
        if dated and not r.random_split:
            vint = model_results.auc_by_vintage(r.scores)
    where = "a random test hold-out" if r.random_split else "the out-of-time test window"
    fig = charts.model_figure(
        f"{r.name}: validation on {where}", r.roc, r.ks, r.calibration, dist, psi_value, champion=r.champion
    )
    comp = model_results.comparison_table(r)
    fmt = {m: num(3) for m in ("auc", "ks", "brier", "ece", "psi")} | {
        "capture_top10": pct(1),
        "capture_top20": pct(1),
        "n": num(),
    }
    out = f"<h3>{html.escape(r.title)}</h3>"
    if r.random_split:
        out += (
            '<p class="note">Split at random (' + html.escape(r.split_shares()) + "), not out of time: this "
            "source has no application dates, so the test figures are on a random hold-out of the same period "
            "as training and say nothing about drift over time; PSI compares two random samples.</p>"
        )
    out += image(fig, f"{r.name} validation charts") + table(
        comp, fmt, {"capture_top10": "capture@10%", "capture_top20": "capture@20%"}
    )
    if vint.height:
        auc_cols = [c for c in vint.columns if c.startswith("auc_")]
        out += (
            '<p class="note">AUC per origination quarter on the test window (— where a quarter has only one '
            "class).</p>" + table(vint, {"n": num(), "bad_rate": pct(1), **{c: num(3) for c in auc_cols}})
        )
    elif r.scores is None:
        out += (
            '<p class="note">Score distribution and AUC per vintage skipped: evaluate wrote no score sample '
            "(metrics/scores).</p>"
        )
    elif r.random_split or not dated:
        out += unavailable("AUC per origination quarter: not available, the source has no dates")
    return out + grade_block(r)


def grade_block(r: ModelResults) -> str:
    """The champion's calibration by grade with traffic lights, Hosmer-Lemeshow, the AUC's interval and the
    promotion gate's decision, from what evaluate wrote (absent in metrics of an older run: a note)."""
    checks = (r.summary.get("calibration_by_grade") or {}).get(r.champion)
    if not checks:
        return unavailable("Calibration by grade: not in this run's metrics (rerun `risk evaluate`)")
    grades = pl.DataFrame(checks["grades"]).select(
        "grade", "n", "defaults", "observed_rate", "predicted_rate", "binomial_p", "jeffreys_p", "traffic_light"
    )
    hl, auc = checks["hosmer_lemeshow"] or {}, checks["auc"] or {}  # None on a window too small for the test
    change = checks.get("auc_change") or {}
    p_fmt = num(4)
    note = (
        f"Hosmer-Lemeshow p {p_fmt(hl.get('p_value'))} ({hl.get('dof', '—')} degrees of freedom); "
        f"AUC {p_fmt(auc.get('auc'))}, 95% DeLong interval {p_fmt(auc.get('low'))}-{p_fmt(auc.get('high'))}"
        + (f", change since development {p_fmt(change.get('absolute_change'))}" if change else "")
        + f". Worst light: {checks['worst_light'] or 'n/a'}."
    )
    promotion = r.summary.get("promotion")
    gate = (
        f'<p class="note">Promotion gate: <b>{html.escape(promotion["decision"])}</b>, '
        f"{html.escape(promotion['reason'])}.</p>"
        if promotion
        else ""
    )
    return (
        '<p class="note">Calibration by grade on the test window (champion): the Jeffreys test of the predicted '
        "rate underestimating the observed one per grade, green / amber / red at train.grade_tests.</p>"
        + table(
            grades,
            {
                "n": num(),
                "defaults": num(),
                "observed_rate": pct(2),
                "predicted_rate": pct(2),
                "binomial_p": p_fmt,
                "jeffreys_p": p_fmt,
            },
        )
        + f'<p class="note">{html.escape(note)}</p>'
        + gate
    )


def models_section(results: Sequence[ModelResults], *, application_only: bool = False) -> str:
    body = "".join(model_block(r) for r in results) or '<p class="note">No model metrics found.</p>'
    if application_only:
        body += unavailable(f"Early-warning and cure models: {APPLICATION_ONLY_NOTE}")
    return section(
        "models",
        "4. Models",
        "Validation on the test window (out of time; a random hold-out for a "
        "source without dates) for the application PD, early warning and cure models: LightGBM against "
        "the WOE scorecard, discrimination (ROC, KS), calibration, stability (PSI: train vs test scores) "
        "and AUC by vintage.",
        body,
    )


def queues_section(qs: Mapping[str, pl.DataFrame]) -> str:
    cq, rq = qs.get("collections_queue"), qs.get("review_queue")
    lead = (
        "The day's work: the collections queue (催收队列) by overdue type, next step and legal hand-over, what "
        "more contact capacity would buy, and the pre-loan review queue (贷前审核)."
    )
    if not any(q is not None and q.height for q in (cq, rq)):
        return section("queues", "5. Queues", lead, unavailable(NO_QUEUES_NOTE))
    body = ""
    if cq is not None and cq.height:
        by_type = queues.collections_by_type_and_action(cq)
        legal = queues.legal_referrals_by_criterion(cq)
        curve = queues.recovery_by_capacity(cq)
        scheduled = int(cq["scheduled"].sum())
        body += (
            "<h3>Collections queue: overdue type × next action</h3>"
            + table(by_type, {c: num() for c in by_type.columns[1:]})
            + '<div class="row"><div><h3>Legal referrals by criterion</h3>'
            + '<p class="note">A case can meet several criteria; litigation positive = suing is worth '
            "its cost.</p>"
            + table(
                legal, {"loans": num(), "exposure": num(), "litigation_positive": num()}, {"exposure": "exposure, RMB"}
            )
            + "</div><div>"
            + image(charts.capacity_figure(curve, scheduled=scheduled), "capacity curve")
            + "</div></div>"
        )
    else:
        body += '<p class="note">No collections queue for this date.</p>'
    if rq is not None and rq.height:
        grades = queues.review_decisions_by_grade(rq)
        body += "<h3>Review queue: recommended decisions by risk grade</h3>" + table(
            grades,
            {
                "mean_pd": pct(1),
                "requested_amount": num(),
                "expected_loss": num(),
                **{c: num() for c in ("applications", "approved", "manual_review", "declined")},
            },
            {"requested_amount": "requested, RMB", "expected_loss": "expected loss, RMB"},
        )
    else:
        body += '<p class="note">No review queue for this date.</p>'
    return section("queues", "5. Queues", lead, body)


def policy_section(policy: Mapping[str, object] | None, effects: Mapping[str, object] | None) -> str:
    """The collections policy: the day's plan priced by the truth against the rules, random and the oracle."""
    title = "6. Collections policy"
    lead = (
        "Who gets which action tomorrow (催收策略): the overdue type from evidence, each action's effect learned "
        "from the log, and the assignment under each team's capacity and the collection rules; measured on the "
        "simulated book against the truth's potential outcomes (docs/collections_policy.md)."
    )
    if not policy:
        return section("policy", title, lead, unavailable("not available: run `risk evaluate-policy`"))
    body = kpis(
        [
            ("planned actions", f"{policy.get('scheduled', 0):,}"),
            ("rule violations in the plan", f"{policy.get('lawful_violations', 0):,}"),
        ]
    )
    strategies = policy.get("strategies")
    if isinstance(strategies, dict):
        body += kpis(
            [
                ("learned / oracle (net)", pct(0)(policy.get("learned_share_of_oracle"))),
                ("learned / rules (net)", num(2)(policy.get("learned_over_rules"))),
            ]
        )
        rows = pl.DataFrame(
            [
                {"strategy": k, **{f: v[f] for f in ("actions", "recovered", "cost", "net", "over_nothing")}}
                for k, v in strategies.items()
            ]
        )
        body += "<h3>Expected recovery within 30 days, same capacity, rules and control group</h3>" + table(
            rows,
            {c: num() for c in rows.columns[1:]},
            {
                "recovered": "recovered, RMB",
                "cost": "cost, RMB",
                "net": "net, RMB",
                "over_nothing": "over doing nothing, RMB",
            },
        )
        curve = pl.DataFrame(
            [
                {
                    "capacity_factor": point["capacity_factor"],
                    **{f"net_{k}": v for k, v in point["net"].items()},
                    **{f"contacts_{k}": v for k, v in point["contacts"].items()},
                }
                for point in policy.get("capacity_curve", [])
            ]
        )
        if curve.height:
            body += "<h3>Capacity curve: net 30-day recovery as every team's capacity scales</h3>" + table(
                curve, {c: num() for c in curve.columns if c != "capacity_factor"}
            )
        types = policy.get("overdue_type", {})
        learned, rules = types.get("learned", {}), types.get("rules", {})
        if learned.get("n"):
            recall = pl.DataFrame(
                [
                    {"type": t, "learned": learned["recall"][t], "rules": rules.get("recall", {}).get(t)}
                    for t in learned["recall"]
                ]
            )
            confusion = pl.DataFrame([{"true type": t, **row} for t, row in learned["confusion"].items()])
            body += (
                f"<h3>Overdue type against the truth: accuracy {learned['accuracy']:.1%} learned, "
                f"{rules.get('accuracy', 0):.1%} rules ({learned['n']} overdue loans)</h3>"
                + '<div class="row"><div><p class="note">Recall per true type</p>'
                + table(recall, {"learned": pct(0), "rules": pct(0)})
                + '</div><div><p class="note">Learned: true type (rows) × classified (columns)</p>'
                + table(confusion)
                + "</div></div>"
            )
    else:
        body += '<p class="note">No truth to price the plan: these figures need the simulated book.</p>'
    if effects and isinstance(effects.get("effects_out_of_time"), dict):
        agree = policy.get("effects_vs_truth", {}) if isinstance(policy, dict) else {}
        rows = pl.DataFrame(
            [
                {
                    "action": a,
                    "uplift_auc": v["uplift_auc"],
                    "treated": v["n_treated"],
                    "control": v["n_control"],
                    "spearman_vs_truth": agree.get(a, {}).get("spearman"),
                }
                for a, v in effects["effects_out_of_time"].items()
            ]
        )
        body += (
            '<h3>Effects out of time</h3><p class="note">Uplift AUC on the log\'s last '
            "days (area between the Qini curve and random, per decision, in shares of the balance; above 0 "
            "ranks better than random) and the rank correlation of the learned gain with the true gain.</p>"
            + table(rows, {"uplift_auc": num(4), "treated": num(), "control": num(), "spearman_vs_truth": num(2)})
        )
    return section("policy", title, lead, body)


def monitoring_section(rows: pl.DataFrame | None, *, as_of: dt.date) -> str:
    """Each scoring run against the training window, over time: the scores' PSI per day and model, and the
    day's measures beyond ``score.monitoring`` (the ``monitoring`` table in DuckDB)."""
    if rows is None or rows.is_empty():
        return unavailable("Monitoring: no scoring run has written the monitoring table yet")
    psi_by_day = (
        rows.filter(pl.col("measure") == "score_psi")
        .pivot(on="model", index="as_of", values="value", aggregate_function="first")
        .sort("as_of")
    )
    today = rows.filter(pl.col("as_of") == as_of)
    flagged = today.filter(pl.col("status") != "ok").sort("status", "value", descending=True)
    worst = (
        today.filter(pl.col("measure") == "feature_csi").sort("value", descending=True).head(10)
        .select("model", "feature", "value", "status")
    )  # fmt: skip
    p4 = num(4)
    body = (
        '<p class="note">PSI of each model\'s score against its training window, per scoring run (0.10 watch, '
        "0.25 act; thresholds in score.monitoring).</p>"
        + table(psi_by_day, {c: p4 for c in psi_by_day.columns if c != "as_of"})
        + f'<p class="note">{as_of}: {flagged.height} of {today.height} measures beyond their thresholds.</p>'
        + (
            table(
                flagged.select("model", "measure", "feature", "value", "reference", "status"),
                {"value": p4, "reference": p4},
            )
            if flagged.height
            else ""
        )
        + '<p class="note">The ten features that moved most (CSI) today.</p>'
        + table(worst, {"value": p4})
        + _realised_table(rows)
    )
    return body


def _realised_table(rows: pl.DataFrame) -> str:
    """Realised vs predicted, every cohort whose outcome matured, by the run that saw it mature."""
    realised = rows.filter(pl.col("measure") == "realised_rate").sort("as_of", "model")
    note = (
        '<p class="note">Realised against predicted: each earlier run\'s loans whose outcome horizon has ended '
        "(early warning 90 days, cure 30), the rate realised beside the mean probability the queue held "
        "(two-sided binomial test; score.monitoring.realised_p_*).</p>"
    )
    if realised.is_empty():
        return note + unavailable("No cohort has matured yet: the scoring history is shorter than the horizons")
    shown = realised.select(
        pl.col("as_of").alias("reported"), "model", pl.col("feature").alias("cohort"),
        pl.col("value").alias("realised"), pl.col("reference").alias("predicted"), "status",
    )  # fmt: skip
    return note + table(shown, {"realised": pct(1), "predicted": pct(1)})


def model_risk_section(bins: Mapping[str, pl.DataFrame], study: Mapping[str, object] | None) -> str:
    """The scorecards' bins (per feature: the trend it was held to, information value, bins, bad-rate range)
    and the PD's reject inference study: each method against the accepts-only model and the true PD."""
    parts = []
    for name, t in bins.items():
        per_feature = (
            t.filter(~pl.col("bin").is_in(["missing", "special"]))
            .group_by("feature", "trend", maintain_order=True)
            .agg(
                bins=pl.len(),
                lowest_bad_rate=pl.col("bad_rate").min(),
                highest_bad_rate=pl.col("bad_rate").max(),
                monotone=(pl.col("bad_rate").diff().drop_nulls() >= 0).all()
                | (pl.col("bad_rate").diff().drop_nulls() <= 0).all(),
            )
            .join(t.group_by("feature").agg(iv=pl.col("iv").sum()), on="feature")
            .sort("iv", descending=True)
        )
        parts.append(
            f'<p class="note">Scorecard {html.escape(name)}: bins by train.scorecard.binning, held to the trend '
            "shown (ascending: the bad rate rises with the value).</p>"
            + table(per_feature, {"lowest_bad_rate": pct(1), "highest_bad_rate": pct(1), "iv": num(3)})
        )
    if not study:
        parts.append(unavailable("Reject inference: evaluate has not written metrics/reject_inference.json"))
    elif "skipped" in study:
        parts.append(unavailable(f"Reject inference not run: {study['skipped']}"))
    else:
        rows = [{"method": m, **v} for m, v in study["methods"].items()]  # type: ignore[union-attr]
        cols = [
            "method",
            "booked_test_auc",
            "expected_auc",
            "mean_predicted",
            "mean_true",
            "rmse",
            "declined_mean_predicted",
            "declined_mean_true",
            "declined_rmse",
        ]
        frame = pl.DataFrame(rows, infer_schema_length=None).select([c for c in cols if c in rows[0]])
        p4 = num(4)
        parts.append(
            '<p class="note">Reject inference for the PD: declined applicants given inferred outcomes, each '
            "method's LightGBM judged on the booked test loans (AUC) and against the true PD of every decided "
            "applicant of the test window (expected AUC, mean, RMSE); best through the door: "
            f"<b>{html.escape(str(study.get('best', 'n/a')))}</b>.</p>" + table(frame, {c: p4 for c in cols[1:]})
        )
    return "".join(parts)


def render_report(
    tables: Mapping[str, pl.DataFrame],
    snapshots: pl.DataFrame,
    models: Sequence[ModelResults],
    queue_frames: Mapping[str, pl.DataFrame],
    *,
    as_of: dt.date,
    shock: tuple[dt.date, dt.date] | None = None,
    application_only: bool | None = None,
    policy: Mapping[str, object] | None = None,
    effects: Mapping[str, object] | None = None,
    monitoring: pl.DataFrame | None = None,
    scorecard_bins: Mapping[str, pl.DataFrame] | None = None,
    reject_inference: Mapping[str, object] | None = None,
) -> str:
    """The risk report as one HTML page.

    ``tables`` are the contract tables (plus ``truth`` on simulated data, for overdue types, and ``outcomes``
    on an application-only source); ``snapshots`` has loan_id, as_of and days_past_due per loan and month end;
    ``models`` one :class:`ModelResults` per model; ``queue_frames`` the day's ``collections_queue`` and
    ``review_queue``. ``application_only`` (None: when the loans table is absent or empty) marks a source with
    applications and outcomes but no repayment history: every loan-book section then shows a short note
    instead of charts, and the models section only the PD model. ``policy`` and ``effects`` are
    metrics/policy.json and metrics/effects.json, when written. The optional case tables ``agreements`` and
    ``legal_cases`` feed the agreements and legal pages, which say so when a table is absent (and, like every
    loan-book section, on an application-only source). ``scorecard_bins`` (each model's scorecard points table)
    and ``reject_inference`` (metrics/reject_inference.json) feed the model-risk page.
    """
    loans = tables.get("loans")
    if application_only is None:
        application_only = loans is None or loans.is_empty()
    if application_only:
        missing: str | None = APPLICATION_ONLY_NOTE
        outcomes = pl.DataFrame()
        summary: dict[str, object] = {}
    else:
        outcomes = portfolio.loan_outcomes(tables, as_of=as_of)
        missing = None if outcomes.height else f"not available: no loan booked by {as_of}"
        collection_rate = portfolio.collection_rate_30d(tables, as_of=as_of) if outcomes.height else None
        summary = portfolio.portfolio_summary(outcomes, as_of=as_of, collection_rate=collection_rate)
    truth = tables.get("truth")
    if truth is not None:
        types = truth.filter(pl.col("loan_id").is_not_null())
    elif queue_frames.get("collections_queue") is not None:
        types = queue_frames["collections_queue"].select("loan_id", "overdue_type")
    else:
        types = None
    actions = tables.get("collection_actions")
    if actions is not None:
        actions = actions.filter(pl.col("action_at").dt.date() <= as_of)
    sections = [
        ("overview", "Overview", overview_section(outcomes, summary, as_of=as_of, missing=missing, tables=tables)),
        ("vintages", "Vintages", vintage_section(outcomes, as_of=as_of, shock=shock, missing=missing)),
        ("rolls", "Roll rates", roll_section(snapshots, outcomes, types, actions, missing=missing)),
        ("models", "Models", models_section(models, application_only=application_only)),
        ("queues", "Queues", queues_section(queue_frames)),
        ("policy", "Policy", policy_section(policy, effects)),
        (
            "agreements",
            "Agreements",
            cases.agreements_section(tables.get("agreements"), as_of=as_of, missing=missing),
        ),
        ("legal", "Legal", cases.legal_section(tables.get("legal_cases"), effects, as_of=as_of, missing=missing)),
        ("monitoring", "Monitoring", monitoring_section(monitoring, as_of=as_of)),
        ("model-risk", "Bins and rejects", model_risk_section(scorecard_bins or {}, reject_inference)),
    ]
    source = (
        " The source is application-only (applications and their final outcomes, no repayment history): "
        "only the PD model can be shown."
        if application_only
        else ""
    )
    return page(
        "Risk report",
        f"Data as of {as_of}. Generated by `risk report`; every figure is recomputed "
        f"from the pipeline's outputs.{source}",
        sections,
    )
