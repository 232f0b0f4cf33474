#!/usr/bin/env bash
# rewind pack (issue 5): three python3 traces packed together into one
# --pack-dir, and one trace of gcc compiling a file, packed on its own.
# For each: pack time (median of 3, each of fresh recordings), trace bytes
# before and after, and disk use (du, which counts a hard-linked inode once
# across everything it is given). The baseline in
# the same invocation is `cp -a` of the same unpacked traces, i.e. what
# copying all their bytes costs with no hashing, dedupe or fsync.
#
# usage: bench/pack_bench.sh [REWIND]      (default: build/cli/rewind)
# See bench/README.md.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
source "$here/lib.sh"
find_rewind pack_bench.sh "${1:-}"
command -v gcc >/dev/null || { echo "pack_bench.sh: gcc is needed" >&2; exit 2; }
runs=3
limit_s=300

work=$(mktemp -d "${TMPDIR:-/tmp}/rewind-pack-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT

scripts=(
  "import json, hashlib; print(hashlib.sha256(json.dumps(list(range(10000))).encode()).hexdigest())"
  "import zlib, random; random.seed(1); print(zlib.crc32(bytes(random.randrange(256) for _ in range(100000))))"
  "import decimal, fractions; print(sum(fractions.Fraction(1, n) for n in range(1, 300)))"
)
# Fresh recordings into $work/run for each timed pack: a copy of a trace
# would turn the recorder's hard links to system files into files of its
# own, which pack then need not copy.
record_all() {
  local t
  rm -rf "$work/run" && mkdir "$work/run"
  for t in "$@"; do
    case $t in
      py*) "$rewind" record -o "$work/run/$t" python3 -c "${scripts[${t#py}]}" ;;
      gcc) "$rewind" record -o "$work/run/$t" gcc -O2 -c "$repo/bench/compute.c" -o "$work/compute.o" ;;
    esac >/dev/null
  done
}

# Sum of each trace's own apparent size: du run per trace, so a file that
# several traces share counts in each of them.
apparent() {
  local p s=0
  for p in "$@"; do s=$((s + $(du -sb --apparent-size "$p" | cut -f1))); done
  echo "$s"
}
disk() { du -scb "$@" | tail -n 1 | cut -f1; }
mib() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1048576 }'; }

# bench NAME PACK-ARGS... -- TRACE-NAMES...
bench() {
  local name=$1 t i
  shift
  local args=() traces=()
  while [[ $1 != -- ]]; do args+=("$1"); shift; done
  shift
  traces=("$@")
  local packs=() copies=()
  for ((i = 0; i < runs; i++)); do
    record_all "${traces[@]}"
    local paths=("${traces[@]/#/$work/run/}")
    rm -rf "$work/copy" && mkdir "$work/copy"
    t=$(time_one cp -a "${paths[@]}" "$work/copy/")
    copies+=("$t")
    before_apparent=$(apparent "${paths[@]}")
    local pack_args=("${args[@]}")
    [[ ${#pack_args[@]} -eq 0 ]] || pack_args=("${args[@]/@STORE@/$work/run/store}")
    t=$(time_one "$rewind" pack "${pack_args[@]}" "${paths[@]}")
    note_failure "$name pack" "$t"
    packs+=("$t")
    copied=$(grep -o 'copied in ([^)]*)' "$work/last.out" | tr -d '()' |
      awk '{ v = $3; if ($4 == "KiB") v /= 1024; if ($4 == "B") v /= 1048576;
             if ($4 == "GiB") v *= 1024; s += v } END { printf "%.1f", s }')
  done
  # The last run's traces: replay each once, so a broken pack shows.
  for p in "${paths[@]}"; do
    t=$(time_one "$rewind" replay -a "$p")
    note_failure "$name replay after pack" "$t"
  done
  local stores=()
  [[ ! -d $work/run/store ]] || stores=("$work/run/store")
  after_apparent=$(apparent "${paths[@]}")
  after_disk=$(disk "${paths[@]}" "${stores[@]}")
  local pm cm
  pm=$(median "${packs[@]}")
  cm=$(median "${copies[@]}")
  printf '%-22s %9s %9s %7s %10s %10s %10s %10s\n' "$name" "$pm" "$cm" "$(ratio "$pm" "$cm")" \
    "$(mib "$before_apparent")" "$(mib "$after_apparent")" "$(mib "$after_disk")" "$copied"
}

printf '%-22s %9s %9s %7s %10s %10s %10s %10s\n' workload "pack s" "cp -a s" ratio \
  "MiB before" "MiB after" "disk after" "copied in"
bench python3-x3-pack-dir --pack-dir @STORE@ -- py0 py1 py2
bench gcc-compile -- gcc
echo
echo "MiB before/after: the traces' sizes added up, each trace measured on its own"
echo "(what moving them one by one carries). disk after: du of the traces and the pack"
echo "directory together, each inode once. copied in: MiB pack copied from files shared"
echo "with the system (the recorder's hard links), from pack's summary. Times in seconds,"
echo "median of $runs, each pack of fresh recordings."
print_failures
