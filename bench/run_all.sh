#!/usr/bin/env bash
# Runs every benchmark once, one after another (each creates and drops its own
# throw-away PostgreSQL database), then prints their SUMMARY lines together. To tune
# one (duration, concurrency), run it directly: see bench/README.md.
# Exit status: non-zero if any script failed.
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PY="${PYTHON:-$ROOT/.venv/bin/python}"
cd "$ROOT"
status=0
summaries=()
for script in sql_count throughput inprocess_layers workers tenant_hook_overhead job_latency job_overhead latency_under_load; do
  echo "==> bench/$script.py" >&2
  log="$(mktemp)"
  "$PY" "bench/$script.py" | tee "$log"
  rc=${PIPESTATUS[0]}
  if [ "$rc" -ne 0 ]; then
    echo "!! bench/$script.py exited with $rc" >&2
    status=1
  fi
  summaries+=("$(grep '^SUMMARY' "$log" || echo "SUMMARY $script: (no summary, exit $rc)")")
  rm -f "$log"
  echo
done
echo "==> summaries"
printf '%s\n' "${summaries[@]}"
exit "$status"
