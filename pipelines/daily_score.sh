#!/usr/bin/env bash
# Daily batch scoring, for cron or any scheduler: one day is one run. `risk run` loads that day's export
# (set ingest.path: exports/{as_of} in params.yaml, and data.source: ingest), validates it against the contract
# and the previous export, and scores it into data/scored (Parquet and DuckDB) with the models `dvc repro` trained.
# Exit codes: 0 ok, 2 bad params, 3 invalid or implausible data (earlier days untouched; a day that moved beyond
# score.guard needs --accept-shift), 4 no model, 75 already running.
# After missed days: `pipelines/daily_score.sh 2026-01-03 --through 2026-01-05` runs each day in turn in one process.
set -euo pipefail
cd "$(dirname "$0")/.."
export DVC_NO_ANALYTICS=1 MLFLOW_DISABLE_TELEMETRY=true
DAY="${1:-today}"
shift || true
uv run risk run --as-of "$DAY" "$@"
