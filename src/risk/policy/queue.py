"""The learned collections queue: overdue type from evidence, learned effects, the day's plan, and why.

:func:`plan_collections` takes the rule cascade's queue (the first release's strategy, kept as the
baseline: its recommendation stays in ``rule_action`` and ``rule_value``) with the scored loans'
features and evidence, and replaces the type, the next action, the value and the schedule with the
learned ones. Loans not yet overdue keep the cascade's pre-due reminder (no effect is learned before
the first missed instalment), scheduled only where the rules allow contact.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from risk.config import Params
from risk.contract import Action
from risk.policy.fit import PolicyModels
from risk.policy.options import allowed_rows, case_gates, options
from risk.policy.plan import plan_day
from risk.policy.types import TYPES
from risk.score.collections import CHANNEL_OF_ACTION, legal_referral, next_contact_at

PRE_DUE = "pre_due_reminder"
AGREED_REMINDER = "agreed_reminder"  # the reminder before an agreed date: the one contact a promise allows
# the action, in Chinese, for the reasons (中文)
ACTION_ZH = {
    Action.SMS.value: "短信提醒",
    Action.EMAIL.value: "邮件提醒",
    Action.CALL.value: "电话催收",
    Action.INSTALMENT_PLAN.value: "分期还款方案",
    Action.EXTENSION.value: "展期",
    Action.INTEREST_RELIEF.value: "减免利息",
    Action.SETTLEMENT.value: "一次性结清",
    Action.LAWYERS_LETTER.value: "律师函",
    Action.LITIGATION.value: "民事诉讼",
    Action.HOLD_OUT.value: "对照组(今日不联系)",
}
TYPE_ZH = {"temporary": "暂时性逾期", "malicious": "恶意逾期", "severe": "严重逾期", "insolvent": "无力偿还"}
# evidence a collector reads, in both languages: (condition column, minimum, English, Chinese)
EVIDENCE = (
    ("n_hardship_reported", 1, "hardship reported: {}", "{}次困难申诉"),
    ("n_refused", 1, "refusals: {}", "{}次拒绝还款"),
    ("n_disputed", 1, "disputes: {}", "{}次异议"),
    ("n_unreachable", 3, "unreachable: {}", "{}次联系不上"),
    ("n_broken_promise", 1, "broken promises: {}", "{}次承诺未兑现"),
    ("partial_payments", 1, "partial payments: {}", "{}次部分还款"),
    ("agreements_broken", 1, "agreements broken: {}", "{}份协议违约"),
    ("other_platform_loans", 3, "loans on other platforms: {}", "他平台借款{}笔"),
)


def type_evidence(frame: pl.DataFrame) -> pl.DataFrame:
    """``type_evidence`` (English) and ``type_evidence_zh``: what the collector can see, with the type; the parts a
    row has, joined (its missing ones left out without their separator: a queue of 60,000 rows 0.04 s where lists of
    the parts, their nulls dropped and joined, took 0.21-0.27 s)."""
    c = pl.col
    parts_en = [pl.when(c(col) >= lo).then(pl.format(en, c(col))) for col, lo, en, _ in EVIDENCE]
    parts_zh = [pl.when(c(col) >= lo).then(pl.format(zh, c(col))) for col, lo, _, zh in EVIDENCE]
    assets_en = pl.when(c("property_owned") | c("vehicle_owned")).then(pl.lit("owns property or a vehicle"))
    assets_zh = pl.when(c("property_owned") | c("vehicle_owned")).then(pl.lit("名下有房产或车辆"))
    head_en = pl.format("{} ({}%)", c("overdue_type"), (c("type_confidence") * 100).round(0).cast(pl.Int64))
    head_zh = pl.format(
        "{}({}%)",
        c("overdue_type").replace_strict(TYPE_ZH, default=None),
        (c("type_confidence") * 100).round(0).cast(pl.Int64),
    )
    dpd_en, dpd_zh = pl.format("{} days past due", c("days_past_due")), pl.format("逾期{}天", c("days_past_due"))
    return frame.with_columns(
        type_evidence=pl.concat_str(head_en, dpd_en, *parts_en, assets_en, separator="; ", ignore_nulls=True),
        type_evidence_zh=pl.concat_str(head_zh, dpd_zh, *parts_zh, assets_zh, separator="；", ignore_nulls=True),
    )


def action_reasons(frame: pl.DataFrame) -> pl.DataFrame:
    """``action_reason_en`` / ``action_reason_zh``: why this action today for this borrower."""
    c = pl.col
    gain = c("expected_gain").round(0).cast(pl.Int64)
    cost = c("action_cost").round(0).cast(pl.Int64)
    zh_action = c("next_action").replace_strict(ACTION_ZH, default=None)
    en = (
        pl.when(c("policy") == "hold_out")
        .then(pl.lit("in today's randomised control group: no action, so the effect of acting can be measured"))
        .when(c("barred_because") != "")
        .then(pl.format("no action today: {}", c("barred_because")))
        .when(c("policy") == PRE_DUE)
        .then(pl.lit("not yet overdue, high early-warning risk: a reminder before the due date"))
        .when(c("policy") == AGREED_REMINDER)
        .then(pl.lit("the reminder the agreement provides before its next agreed date; no other contact while it runs"))
        .when(c("next_action").is_null())
        .then(pl.lit("no lawful action is expected to recover more than it costs in 30 days"))
        .otherwise(
            pl.format(
                "{}: expected RMB {} more repaid within 30 days than doing nothing, for a cost of RMB {}; "
                "the best of {} lawful options{}",
                c("next_action"),
                gain,
                cost,
                c("lawful_options"),
                pl.when(c("scheduled")).then(pl.lit("")).otherwise(pl.lit(" (no capacity left today)")),
            )
        )
    )
    zh = (
        pl.when(c("policy") == "hold_out")
        .then(pl.lit("今日随机对照组：不采取行动，用于衡量催收效果"))
        .when(c("barred_because") != "")
        .then(pl.format("今日不联系：{}", c("barred_because")))
        .when(c("policy") == PRE_DUE)
        .then(pl.lit("尚未逾期、预警风险高：到期前提醒"))
        .when(c("policy") == AGREED_REMINDER)
        .then(pl.lit("协议约定还款日前的提醒；协议履行期间不做其他联系"))
        .when(c("next_action").is_null())
        .then(pl.lit("30天内没有收益高于成本的合规行动"))
        .otherwise(
            pl.format(
                "{}：预计30天内比不行动多回收{}元，成本{}元；{}个合规选项中最优{}",
                zh_action,
                gain,
                cost,
                c("lawful_options"),
                pl.when(c("scheduled")).then(pl.lit("")).otherwise(pl.lit("（今日产能已满）")),
            )
        )
    )
    return frame.with_columns(action_reason_en=en, action_reason_zh=zh)


def plan_collections(
    queue: pl.DataFrame,
    models: PolicyModels,
    params: Params,
    *,
    as_of: dt.date,
    agreed_reminders: pl.DataFrame | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The queue planned by the learned policy, and every lawful option considered (for evaluation).

    ``agreed_reminders`` (loan_id, next_agreed_date): loans whose running promise or agreement has its
    reminder on the work day; each gets an SMS where contact is otherwise lawful, before any pre-due
    reminder takes the messaging desk's capacity.
    """
    work_date = as_of + dt.timedelta(days=1)
    c = pl.col
    queue = queue.rename(
        {"next_action": "rule_action", "expected_value": "rule_value", "overdue_type": "rule_overdue_type"}
    ).drop("type_evidence", "channel", "scheduled", "priority_rank", "next_contact_at")
    overdue = queue.filter(c("days_past_due") > 0)
    # the most probable type, its confidence and each type's probability, which the effect model reads
    overdue = pl.concat([overdue, models.types.classify(overdue)], how="horizontal")
    queue = queue.join(
        overdue.select("loan_id", "overdue_type", "type_confidence", *(f"p_{t}" for t in TYPES)),
        on="loan_id",
        how="left",
    )
    queue = legal_referral(queue.drop("legal_referral", "legal_criteria"), params.score.legal)
    queue = models.recovery.economics(
        queue.drop("litigation_expected_recovery", "litigation_cost", "litigation_net_value"),
        params.score.legal,
        rate_cap=params.policy.court_rate_cap,
    )
    gates = case_gates(queue, params.collection_rules, params.score.contact, params.policy, work_date=work_date)
    # priced only where an option could use the price: the plan's options are the lawful ones
    effects = models.effects.expected_paid(
        overdue, rows=allowed_rows(overdue["loan_id"], gates, models.effects.actions)
    )
    lawful = options(queue, effects, gates, params.score)
    capacity = dict(params.score.capacity)
    plan = plan_day(lawful, capacity, control_share=params.policy.control_share, seed=params.seed, work_date=work_date)
    best = lawful.sort("value", "action", descending=[True, False]).group_by("loan_id", maintain_order=True).first()
    n_options = lawful.group_by("loan_id").len().rename({"len": "lawful_options"})
    planned = plan.filter(c("loan_id").is_not_null() | (c("policy") == "hold_out"))
    # the control group's borrowers are held out on every loan; the others get their planned loan's action
    control = planned.filter(c("policy") == "hold_out").select("borrower_id")
    taken = planned.filter(c("policy") != "hold_out").select("loan_id", planned_action="action")
    agreed = _agreed_reminders(queue, gates, planned, agreed_reminders, capacity.get("sms", 0))
    reminded_borrowers = queue.filter(c("loan_id").is_in(agreed.implode()))["borrower_id"]
    reminders = _pre_due_reminders(
        queue.filter(~c("borrower_id").is_in(reminded_borrowers.implode())),
        gates,
        planned,
        capacity.get("sms", 0) - agreed.len(),
    )
    out = (
        queue.join(gates, on="loan_id", how="left")
        .join(best.select("loan_id", best_action="action", best_value="value"), on="loan_id", how="left")
        .join(n_options, on="loan_id", how="left")
        .join(taken, on="loan_id", how="left")
        .with_columns(
            in_control=c("borrower_id").is_in(control["borrower_id"].implode()),
            reminded=c("loan_id").is_in(reminders.implode()) | c("loan_id").is_in(agreed.implode()),
            agreed_reminder=c("loan_id").is_in(agreed.implode()),
        )
        .with_columns(
            lawful_options=c("lawful_options").fill_null(0),
            policy=pl.when(c("in_control"))
            .then(pl.lit("hold_out"))
            .when(c("agreed_reminder"))
            .then(pl.lit(AGREED_REMINDER))
            .when(c("days_past_due") == 0)
            .then(pl.lit(PRE_DUE))
            .otherwise(pl.lit("champion")),
        )
        .with_columns(
            next_action=pl.when(c("policy") == "hold_out")
            .then(pl.lit(Action.HOLD_OUT.value))
            .when(c("policy").is_in([PRE_DUE, AGREED_REMINDER]))
            .then(pl.when(c("reminded")).then(pl.lit(Action.SMS.value)))
            .otherwise(pl.coalesce("planned_action", pl.when(c("best_value") > 0).then(c("best_action")))),
            scheduled=pl.when(c("policy") == "hold_out")
            .then(pl.lit(False))
            .when(c("policy").is_in([PRE_DUE, AGREED_REMINDER]))
            .then(c("reminded"))
            .otherwise(c("planned_action").is_not_null()),
            assignment_probability=pl.when(c("in_control"))
            .then(pl.lit(params.policy.control_share))
            .otherwise(pl.lit(1.0 - params.policy.control_share)),
        )
        .with_columns(
            barred_because=pl.when((c("lawful_options") == 0) & ~c("agreed_reminder"))
            .then(c("barred_because"))
            .otherwise(pl.lit("")),
        )
        .pipe(_planned_values, lawful, sms_cost=params.score.cost.get("sms", 0.0))
        .with_columns(
            channel=c("next_action").replace_strict(
                {
                    **{a.value: ch for a, ch in CHANNEL_OF_ACTION.items()},
                    Action.EMAIL.value: "sms",
                    Action.HOLD_OUT.value: "none",
                },
                default=None,
                return_dtype=pl.String,
            )
        )
        .pipe(next_contact_at, params.score.contact, work_date=work_date)
        .pipe(type_evidence)
        .pipe(action_reasons)
        .sort(["scheduled", "expected_value", "loan_id"], descending=[True, True, False], nulls_last=True)
        .with_columns(priority_rank=pl.int_range(1, pl.len() + 1, dtype=pl.Int64))
    )
    considered = lawful.with_columns(as_of=pl.lit(as_of), work_date=pl.lit(work_date)).join(
        out.select("loan_id", "policy", "rule_action", "rule_value"), on="loan_id", how="left"
    )
    return out, considered


def _agreed_reminders(
    queue: pl.DataFrame, gates: pl.DataFrame, plan: pl.DataFrame, due: pl.DataFrame | None, sms_capacity: int
) -> pl.Series:
    """Loans that get the reminder their agreement asks for on the work day: contact otherwise lawful (no
    request, complaint, cooling-off or cap), the borrower not held out and given nothing else, one per
    borrower (the earliest agreed date), within the messaging desk's capacity left by the plan."""
    c = pl.col
    if due is None or due.is_empty():
        return pl.Series("loan_id", [], dtype=pl.String)
    used = plan.filter(c("team") == "sms").height
    busy = plan.filter(c("loan_id").is_not_null() | (c("policy") == "hold_out")).select("borrower_id")
    return (
        queue.select("loan_id", "borrower_id")
        .join(due.select("loan_id", "next_agreed_date"), on="loan_id")
        .join(gates.filter(c("may_remind")).select("loan_id"), on="loan_id", how="semi")
        .join(busy, on="borrower_id", how="anti")
        .sort("next_agreed_date", "loan_id")
        .unique("borrower_id", keep="first", maintain_order=True)
        .head(max(sms_capacity - used, 0))["loan_id"]
    )


def _pre_due_reminders(queue: pl.DataFrame, gates: pl.DataFrame, plan: pl.DataFrame, sms_capacity: int) -> pl.Series:
    """Loans that get a pre-due SMS: current, contact lawful, the borrower has nothing else planned and is
    not held out; one per borrower (the riskiest loan), highest early-warning probability first, within
    the messaging desk's capacity left by the plan."""
    c = pl.col
    used = plan.filter(c("team") == "sms").height
    busy = plan.filter(c("policy") == "hold_out") if "policy" in plan.columns else plan.clear()
    busy = pl.concat([plan.filter(c("loan_id").is_not_null()).select("borrower_id"), busy.select("borrower_id")])
    return (
        queue.filter(c("days_past_due") == 0)
        .join(gates.filter(c("may_contact")).select("loan_id"), on="loan_id", how="semi")
        .join(busy, on="borrower_id", how="anti")
        .sort(["ew_probability", "loan_id"], descending=[True, False], nulls_last=True)
        .unique("borrower_id", keep="first", maintain_order=True)
        .head(max(sms_capacity - used, 0))["loan_id"]
    )


def _planned_values(frame: pl.DataFrame, lawful: pl.DataFrame, *, sms_cost: float) -> pl.DataFrame:
    """``expected_gain``, ``action_cost`` and ``expected_value`` of the action each loan is given (the
    pre-due reminder has a cost but no learned effect)."""
    picked = lawful.select(
        "loan_id", next_action="action", expected_gain="expected_gain", action_cost="cost", expected_value="value"
    )
    c = pl.col
    return frame.join(picked, on=["loan_id", "next_action"], how="left").with_columns(
        action_cost=pl.when(c("policy").is_in([PRE_DUE, AGREED_REMINDER]))
        .then(pl.when(c("next_action").is_not_null()).then(pl.lit(sms_cost)))
        .otherwise(c("action_cost"))
    )
