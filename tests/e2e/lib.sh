# Sourced by the e2e scripts (not run by itself).
#
# e2e_begin NAME [SCRATCH]: makes $tmp, a scratch directory named after
# SCRATCH (default NAME) and removed when the script exits; fail() then
# reports under NAME and exits 1.
e2e_begin() {
  e2e_name=$1
  tmp=$(mktemp -d "${TMPDIR:-/tmp}/rewind-${2:-$1}.XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
}

fail() {
  echo "FAIL [$e2e_name]: $*" >&2
  exit 1
}

# wait_for WHAT SECONDS COMMAND...: polls COMMAND every 50 ms until it
# succeeds; fails the test, naming WHAT, after SECONDS.
wait_for() {
  local what=$1 secs=$2 deadline
  shift 2
  [[ -p $tmp/.tick ]] || mkfifo "$tmp/.tick"
  deadline=$((SECONDS + secs))
  until "$@"; do
    ((SECONDS < deadline)) || fail "timed out after ${secs}s waiting for $what"
    read -r -t 0.05 <>"$tmp/.tick" || true  # a 50 ms pause without sleep(1)
  done
}

# record_both REWIND PROG [ARGS...]: records PROG with syscall buffering and
# with -n, into $tmp/buffered and $tmp/nobuf, writes `rewind dump` of each
# to $tmp/MODE.dump, replays both, and fails unless each replay printed what
# its recording did ($tmp/MODE.out).
record_both() {
  local rewind=$1 mode
  shift
  for mode in buffered nobuf; do
    local flags=()
    [[ $mode == nobuf ]] && flags=(-n)
    timeout 120 "$rewind" record "${flags[@]}" -o "$tmp/$mode" "$@" >"$tmp/$mode.out" ||
      fail "$mode recording failed"
    timeout 120 "$rewind" dump "$tmp/$mode" >"$tmp/$mode.dump" || fail "dump of the $mode trace failed"
    timeout 120 "$rewind" replay -a "$tmp/$mode" >"$tmp/$mode.replay" || fail "$mode replay failed"
    cmp -s "$tmp/$mode.out" "$tmp/$mode.replay" || fail "$mode replay printed other output"
  done
}
