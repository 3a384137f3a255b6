#!/usr/bin/env bash
# Proves the suite does not flake on a busy machine: clones this repository's
# HEAD (committed work only) into a temporary folder, keeps two CPU-bound
# processes running throughout, runs CI (`bash .ci/run`: bootstrap, check, the
# whole test suite) there N times, prints each run's duration and outcome, and
# exits non-zero if any run failed.
#
#   scripts/stress-ci.sh        # 5 runs
#   scripts/stress-ci.sh 1      # 1 run
#
# Each run's output is kept in <temp folder>/run-<n>.log; the folder is deleted
# when every run passed (set KEEP=1 to keep it) and kept otherwise.
set -euo pipefail

runs=${1:-5}
if ! [[ $runs =~ ^[1-9][0-9]*$ ]]; then
  echo "usage: scripts/stress-ci.sh [runs, default 5]" >&2
  exit 2
fi
source_repo=$(cd "$(dirname "$0")/.." && pwd)
head=$(git -C "$source_repo" rev-parse HEAD)
work=$(mktemp -d "${TMPDIR:-/tmp}/custodian-stress-XXXXXX")

hogs=()
failed=0
cleanup() {
  local pid
  for pid in "${hogs[@]}"; do
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  if [ "$failed" -eq 0 ] && [ "${KEEP:-0}" != 1 ]; then
    rm -rf "$work"
  else
    echo "stress-ci: logs and clone kept in $work" >&2
  fi
}
trap cleanup EXIT
trap 'failed=1; exit 130' INT TERM

echo "stress-ci: cloning $head into $work/custodian" >&2
git clone --quiet --no-checkout "$source_repo" "$work/custodian"
git -C "$work/custodian" checkout --quiet --detach "$head"

# Two CPU-bound processes for the whole time: on a 2-core machine CI gets about
# half the CPU it would have on a quiet one (more if others are busy too).
for _ in 1 2; do
  node -e 'for (;;) {}' &
  hogs+=("$!")
done
echo "stress-ci: CPU-bound processes running: ${hogs[*]} ($(nproc) cores)" >&2

# "Test Files 17 passed (17); Tests 96 passed (96); Duration 135.74s": the suite's own part of the run.
summarise() {
  sed 's/\x1b\[[0-9;]*m//g' "$1" | grep -aE '^\s*(Test Files|Tests|Duration) ' |
    sed -E 's/^ *//; s/ +/ /g; s/ \(transform.*//' | paste -sd ';' - | sed 's/;/; /g' || true
}

declare -a results=()
for ((run = 1; run <= runs; run++)); do
  log="$work/run-$run.log"
  started=$(date +%s)
  if (cd "$work/custodian" && bash .ci/run) >"$log" 2>&1; then
    outcome=passed
  else
    outcome=FAILED
    failed=1
  fi
  seconds=$(($(date +%s) - started))
  summary=$(summarise "$log")
  results+=("run $run/$runs: $outcome in ${seconds} s${summary:+ ($summary)}")
  echo "stress-ci: ${results[-1]}" >&2
  if [ "$outcome" = FAILED ]; then
    sed 's/\x1b\[[0-9;]*m//g' "$log" | grep -aE 'FAIL|Error|×' | head -20 >&2 || true
  fi
done

echo
echo "stress-ci: $head, $runs run(s) with two CPU-bound processes on $(nproc) cores"
printf '  %s\n' "${results[@]}"
exit "$failed"
