#!/usr/bin/env bash
# Builds and runs rewind's libFuzzer targets (tests/fuzz/; README, "Fuzzing").
#
#   scripts/fuzz.sh build                      the clang tree ($REWIND_FUZZ_BUILD, ./build-fuzz)
#   scripts/fuzz.sh run TARGET SECONDS [JOBS]  a long run; the corpus grows in
#                                              $REWIND_FUZZ_CORPUS (/tmp/rewind-fuzz/TARGET)
#   scripts/fuzz.sh check TARGET SECONDS       what ctest's fuzz.TARGET runs: from the seeds,
#                                              nothing kept, fails on any finding
#   scripts/fuzz.sh seeds                      rewrites tests/fuzz/corpus/*/seed-*
#
# TARGET is trace or rsp. A finding is saved as crash-*, leak-*, timeout-* or
# oom-* in $REWIND_FUZZ_ARTIFACTS (/tmp/rewind-fuzz/artifacts); run the
# fuzzer on that file alone to reproduce it.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${REWIND_FUZZ_BUILD:-$root/build-fuzz}"
artifacts="${REWIND_FUZZ_ARTIFACTS:-/tmp/rewind-fuzz/artifacts}"

die() {
  echo "fuzz.sh: $*" >&2
  exit 1
}

# libFuzzer is part of clang's runtime, which Debian packages apart from
# clang: check that a fuzzer links before configuring anything.
check_toolchain() {
  command -v clang++ >/dev/null ||
    die "clang++ not found: install clang and libclang-rt-14-dev (scripts/setup.sh does)"
  local probe
  probe="$(mktemp -d)"
  echo 'extern "C" int LLVMFuzzerTestOneInput(const unsigned char*, unsigned long) { return 0; }' \
    >"$probe/probe.cc"
  if ! clang++ -fsanitize=fuzzer,address,undefined "$probe/probe.cc" -o "$probe/probe" 2>"$probe/err"; then
    cat "$probe/err" >&2
    rm -rf "$probe"
    die "clang++ cannot link a libFuzzer target: install libclang-rt-14-dev (scripts/setup.sh does)"
  fi
  rm -rf "$probe"
}

build() {
  check_toolchain
  mkdir -p "$build"
  # One build at a time in this tree: ctest and a person may both start one.
  exec 9>"$build/.build-lock"
  flock 9
  if [ ! -f "$build/build.ninja" ]; then
    CC=clang CXX=clang++ cmake -S "$root" -B "$build" -G Ninja \
      -DCMAKE_BUILD_TYPE=RelWithDebInfo -DREWIND_FUZZ=ON >/dev/null
  fi
  cmake --build "$build" --target fuzz_trace fuzz_rsp make_seeds
  exec 9>&-
}

fuzzer() {
  local bin="$build/tests/fuzz/fuzz_$1"
  [ -x "$bin" ] || die "$bin is not built: scripts/fuzz.sh build"
  echo "$bin"
}

# The options every run shares. -timeout: an input taking 20 s is a hang
# (they take milliseconds); the rsp dictionary holds the packet names.
common_options() {
  local target=$1
  echo -timeout=20 -print_final_stats=1 -artifact_prefix="$artifacts/"
  if [ -f "$root/tests/fuzz/$target.dict" ]; then echo -dict="$root/tests/fuzz/$target.dict"; fi
}

check_target() {
  case "$1" in trace | rsp) ;; *) die "unknown fuzz target '$1' (trace or rsp)" ;; esac
}

run() {
  local target=$1 seconds=$2 jobs=${3:-1}
  check_target "$target"
  local bin corpus="${REWIND_FUZZ_CORPUS:-/tmp/rewind-fuzz/$target}"
  bin="$(fuzzer "$target")"
  mkdir -p "$corpus" "$artifacts"
  local parallel=()
  if [ "$jobs" -gt 1 ]; then parallel=(-fork="$jobs"); fi
  # New inputs go to the first directory; the seeds are only read.
  # shellcheck disable=SC2046
  "$bin" -max_total_time="$seconds" "${parallel[@]}" $(common_options "$target") \
    "$corpus" "$root/tests/fuzz/corpus/$target"
}

check() {
  local target=$1 seconds=$2
  check_target "$target"
  local bin
  bin="$(fuzzer "$target")"
  work="$(mktemp -d)"
  trap 'rm -rf "$work"' EXIT
  mkdir -p "$work/corpus" "$artifacts"
  local status=0
  # shellcheck disable=SC2046
  "$bin" -max_total_time="$seconds" $(common_options "$target") \
    "$work/corpus" "$root/tests/fuzz/corpus/$target" >"$work/log" 2>&1 || status=$?
  if [ "$status" != 0 ]; then
    cat "$work/log"
    echo "fuzz.sh: fuzz_$target failed (exit $status); the input is in $artifacts," \
      "reproduce with: $bin $artifacts/<file>" >&2
    exit 1
  fi
  # Passing: the last status line and the final counts are enough.
  grep -E '^#[0-9]+\s+DONE|^stat::number_of_executed_units|^Done' "$work/log" || tail -n 5 "$work/log"
}

seeds() {
  build
  "$build/tests/fuzz/make_seeds" "$root/tests/fuzz/corpus" "$root/tests/fuzz/rsp_sessions.txt"
}

case "${1:-}" in
  build) build ;;
  run) [ $# -ge 3 ] || die "usage: fuzz.sh run TARGET SECONDS [JOBS]"; run "$2" "$3" "${4:-1}" ;;
  check) [ $# -eq 3 ] || die "usage: fuzz.sh check TARGET SECONDS"; check "$2" "$3" ;;
  seeds) seeds ;;
  *) die "usage: fuzz.sh build | run TARGET SECONDS [JOBS] | check TARGET SECONDS | seeds" ;;
esac
