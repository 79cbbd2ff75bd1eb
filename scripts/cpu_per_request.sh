#!/usr/bin/env bash
# CPU milliseconds one request of a bench scenario costs each process: the app worker,
# MariaDB, Redis and the bench client. Runs scripts/bench.py with one worker of one thread
# and 2 clients, and reads /proc/<pid>/stat (utime + stime) over the timed window.
#
#   scripts/cpu_per_request.sh SCENARIO [SECONDS] [BENCH ARGS...]   e.g. scripts/cpu_per_request.sh verify 12
# (BENCH ARGS go to bench.py: --database-name, --redis-url for a run beside someone else's)
#
# Unlike the ratios, these add up: a scenario's ratio to /healthz in a CPU-bound bench run
# is close to healthz's total (worker + client) over the scenario's total.
set -euo pipefail
cd "$(dirname "$0")/.."
scenario=${1:?scenario name (see scripts/bench.py)}
seconds=${2:-12}
(( seconds >= 8 )) || { echo "SECONDS must be at least 8" >&2; exit 2; }
log=$(mktemp)
trap 'rm -f "$log"' EXIT

"${PYTHON:-.venv/bin/python}" scripts/bench.py --workers 1 --threads 1 --concurrency 2 --warmup 2 \
  --duration "$seconds" --only "$scenario" "${@:3}" >"$log" 2>&1 &
bench=$!
# The scenario's warm-up starts after these lines (scenarios with inputs prepare them first).
case $scenario in
  healthz) ready="^gunicorn gthread" ;;
  login|notify|notify_dup|preview|verify) ready="^  $scenario: probe .* prepared" ;;
  *) ready="^  healthz: [0-9]+ requests" ;;
esac
until grep -qE "$ready" "$log"; do
  kill -0 $bench 2>/dev/null || { cat "$log"; exit 1; }
  sleep 0.2
done
sleep 2.5
cpu() { awk '{print $14 + $15}' "/proc/$1/stat"; }
pids=("$(pgrep -f 'gunicorn .*(wsgi:app|bench_floor:create)' | tail -1)" "$(pgrep -x mariadbd | head -1)" "$(pgrep -x redis-server | head -1)" "$bench")
before=(); for p in "${pids[@]}"; do before+=("$(cpu "$p")"); done
start=$(date +%s.%N)
sleep $((seconds - 4))
after=(); for p in "${pids[@]}"; do after+=("$(cpu "$p")"); done
end=$(date +%s.%N)
wait $bench || { cat "$log"; exit 1; }
rps=$(awk -v s="$scenario" '$1 == s {print $4}' "$log")
python3 - "$scenario" "$rps" "$start" "$end" "$(getconf CLK_TCK)" "${before[@]}" "${after[@]}" <<'EOF'
import sys
name, rps, start, end, tck = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5])
before, after = sys.argv[6:10], sys.argv[10:14]
requests = rps * (end - start)
ms = [(float(a) - float(b)) / tck * 1000 / requests for a, b in zip(after, before)]
print(f"{name}: {rps:.0f} req/s; CPU ms per request: worker {ms[0]:.2f}, mariadb {ms[1]:.2f}, "
      f"redis {ms[2]:.2f}, bench client {ms[3]:.2f}; total {sum(ms):.2f}")
EOF
