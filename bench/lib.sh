# Helpers shared by the benchmark scripts (sourced). The timing helpers
# expect $work (a scratch dir) and $limit_s (the per-command time limit).

# Sets $rewind from the script's argument (default: build/cli/rewind under
# $repo) and checks for what every benchmark needs.
find_rewind() {  # SCRIPT-NAME [REWIND]
  rewind=$(realpath "${2:-$repo/build/cli/rewind}")
  [[ -x $rewind ]] || { echo "$1: $rewind is not an executable; build rewind first" >&2; exit 2; }
  command -v taskset >/dev/null || { echo "$1: taskset (util-linux) is needed" >&2; exit 2; }
}

# Times one command (seconds, 3 decimals); prints "FAIL" or "HANG" instead
# when it exits non-zero or runs past the limit. Output goes to $work/last.*.
time_one() {
  local t0=$EPOCHREALTIME rc=0
  timeout "$limit_s" "$@" >"$work/last.out" 2>"$work/last.err" </dev/null || rc=$?
  local t1=$EPOCHREALTIME
  if [[ $rc -eq 124 ]]; then echo HANG
  elif [[ $rc -ne 0 ]]; then echo FAIL
  else awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }'
  fi
}

# Median of the arguments; any FAIL/HANG wins, so a broken mode shows.
median() {
  local v
  for v in "$@"; do [[ $v =~ ^[0-9.]+$ ]] || { echo "$v"; return; }; done
  printf '%s\n' "$@" | sort -n | sed -n "$(( ($# + 1) / 2 ))p"
}

ratio() {
  [[ $1 =~ ^[0-9.]+$ && $2 =~ ^[0-9.]+$ ]] || { echo -; return; }
  awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2fx", a / b; else print "-" }'
}

# Keeps the first failure's stderr for the report below the table.
declare -A failures=()
note_failure() {
  [[ $2 =~ ^[0-9.]+$ || -n ${failures[$1]:-} ]] || failures[$1]=$(tail -n 5 "$work/last.err")
}


# Runs NAME's command $runs times natively (pinned to CPU 0, as rewind pins
# its tracees, so ratios measure rewind and not lost parallelism), $runs
# times under `rewind record` into $work/trace (the last recording stays),
# then $runs times `rewind replay -a` of it. Fills native[], record[] and
# replay[]. A `prepare NAME` function, if defined, runs before each native
# run and recording.
run_three_ways() {  # NAME CMD...
  local name=$1 t i
  shift
  native=() record=() replay=()
  for ((i = 0; i < runs; i++)); do
    [[ $(type -t prepare) != function ]] || prepare "$name"
    native+=("$(time_one taskset -c 0 "$@")")
  done
  for ((i = 0; i < runs; i++)); do
    [[ $(type -t prepare) != function ]] || prepare "$name"
    rm -rf "$work/trace"
    t=$(time_one "$rewind" record -o "$work/trace" "$@")
    note_failure "$name record" "$t"
    record+=("$t")
  done
  for ((i = 0; i < runs; i++)); do
    t=$(time_one "$rewind" replay -a "$work/trace")
    note_failure "$name replay" "$t"
    replay+=("$t")
  done
}

print_failures() {
  local key
  for key in "${!failures[@]}"; do
    printf '\n%s failed; last lines of its stderr:\n%s\n' "$key" "${failures[$key]}"
  done
}
