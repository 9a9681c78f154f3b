"""What the pipeline cannot know without each optional case table, in the words ingest, validate and the docs use.

The case tables (agreements, legal cases, borrower profiles) are optional in an export; when one is
absent, ingest lists it among what the source lacks, validate notes it (``table_absent``) and the
data contract page says it. The sentences live here, next to nothing but the contract, so that all
three say the same.
"""

from __future__ import annotations

from risk.contract import AGREEMENTS, BORROWER_PROFILES, LEGAL_CASES

WITHOUT: dict[str, str] = {
    AGREEMENTS.name: "the queues cannot know promises and plans: a borrower keeping an agreed promise, plan, "
    "extension or settlement looks merely overdue, and a broken one goes unseen",
    LEGAL_CASES.name: "the queues cannot know which loans are already with the legal team, which step each case "
    "has reached or what enforcement recovered: the legal hand-over is proposed from days past due alone",
    BORROWER_PROFILES.name: "litigation economics cannot know what a judgment could recover from (property, "
    "vehicle, garnishable wages) or the borrower's loans at other platforms",
}
