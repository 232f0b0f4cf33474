#!/usr/bin/env bash
# One-file bundles (issue 16): how big `rewind bundle` makes a trace, and
# how long it takes, for a python3 run and a gcc compile.
#
# For each workload, three fresh recordings, each bundled once:
#   native      the program alone (pinned to CPU 0, as rewind pins tracees)
#   trace       the trace as recorded (du --apparent-size: each inode once,
#               so the system files it hard-links count, as a copy would)
#   packed      the same trace after packing (what goes into the bundle)
#   bundle      the .tar.zst
#   bundling    `rewind bundle` of a fresh recording: pack + compress
# Times are medians of 3; sizes are the last run's (they vary by a few KiB).
# Then the last packed trace of each is bundled again at each zstd level of
# BUNDLE_LEVELS (default "1 3 6 9 19"), to show what the default level buys.
#
# usage: bench/bundle_sizes.sh [REWIND]      (default: build/cli/rewind)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
source "$here/lib.sh"
find_rewind bundle_sizes.sh "${1:-}"
for tool in gcc python3; do
  command -v $tool >/dev/null || { echo "bundle_sizes.sh: $tool is needed" >&2; exit 2; }
done
runs=3
limit_s=300
levels=${BUNDLE_LEVELS:-1 3 6 9 19}

work=$(mktemp -d "${TMPDIR:-/tmp}/rewind-bundle-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
export REWIND_CACHE_DIR=$work/cache

py_script='
import json, sqlite3, hashlib, decimal, email.message, xml.etree.ElementTree as ET, random
random.seed(1)
db = sqlite3.connect(":memory:")
db.execute("create table t (k integer primary key, v text)")
db.executemany("insert into t values (?, ?)", ((i, str(random.random())) for i in range(20000)))
rows = db.execute("select count(*), sum(length(v)) from t").fetchone()
root = ET.fromstring("<a>" + "".join(f"<b n=\"{i}\"/>" for i in range(2000)) + "</a>")
msg = email.message.EmailMessage(); msg["Subject"] = "bench"; msg.set_content("x" * 1000)
doc = {"rows": rows, "elems": len(root), "dec": str(sum(decimal.Decimal(i) / 7 for i in range(1000))),
       "mail": len(msg.as_bytes())}
print(json.dumps(doc, sort_keys=True), hashlib.sha256(json.dumps(doc).encode()).hexdigest())
'
workloads=(python3 gcc)
cmd_of() {  # NAME: the command, as an array assignment
  case $1 in
    python3) cmd=(/usr/bin/python3 -c "$py_script") ;;
    gcc) cmd=(/usr/bin/gcc -O2 -c "$repo/tests/programs/checkpoint_mix.c" -o "$work/out.o") ;;
  esac
}
size() { du -sb --apparent-size "$1" | cut -f1; }
mib() { awk -v b="$1" 'BEGIN { printf "%.1f MiB", b / 1048576 }'; }

printf '# %s, %s CPUs, %s, %s\n' "$(uname -r)" "$(nproc)" "$(date -u +%F)" "$rewind"
printf '%-8s %9s %11s %11s %11s %7s %9s\n' workload native trace packed bundle ratio bundling
declare -A packed_trace=()
for name in "${workloads[@]}"; do
  cmd_of "$name"
  native=() bundling=()
  for ((i = 0; i < runs; i++)); do native+=("$(time_one taskset -c 0 "${cmd[@]}")"); done
  for ((i = 0; i < runs; i++)); do
    trace=$work/$name-$i
    t=$(time_one "$rewind" record -o "$trace" "${cmd[@]}")
    note_failure "$name record" "$t"
    before=$(size "$trace")
    t=$(time_one "$rewind" bundle "$trace" "$work/$name-$i.tar.zst")
    note_failure "$name bundle" "$t"
    bundling+=("$t")
    after=$(size "$trace")
    bundle=$(stat -c %s "$work/$name-$i.tar.zst" 2>/dev/null || echo 0)
  done
  packed_trace[$name]=$trace
  printf '%-8s %8ss %11s %11s %11s %6s %8ss\n' "$name" "$(median "${native[@]}")" \
    "$(mib "$before")" "$(mib "$after")" "$(mib "$bundle")" "$(ratio "$before" "$bundle")" \
    "$(median "${bundling[@]}")"
done

printf '\n# zstd level: bundle size and time (median of %d) of the packed traces above\n' "$runs"
printf '%-8s %6s %11s %9s\n' workload level bundle time
for name in "${workloads[@]}"; do
  for level in $levels; do
    times=()
    for ((i = 0; i < runs; i++)); do
      times+=("$(time_one "$rewind" bundle -f --level "$level" "${packed_trace[$name]}" "$work/l.tar.zst")")
    done
    printf '%-8s %6s %11s %8ss\n' "$name" "$level" "$(mib "$(stat -c %s "$work/l.tar.zst")")" \
      "$(median "${times[@]}")"
  done
done
print_failures
