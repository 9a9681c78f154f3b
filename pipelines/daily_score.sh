#!/usr/bin/env bash
# Daily batch scoring, for cron or any scheduler: ingest today's export, validate it, score today.
# Exit codes: 0 ok, 2 bad params, 3 invalid data (yesterday's tables untouched), 4 no model, 75 already running.
set -euo pipefail
cd "$(dirname "$0")/.."
export DVC_NO_ANALYTICS=1 MLFLOW_DISABLE_TELEMETRY=true
DAY="${1:-today}"
uv run risk ingest
uv run risk validate
uv run risk score --as-of "$DAY"
