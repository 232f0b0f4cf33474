# Helpers shared by the benchmark scripts (sourced). They expect $work (a
# scratch dir) and $limit_s (the per-command time limit) to be set.

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

