#!/usr/bin/env bash
# `rewind sources` and `rewind buildid` on real recordings (docs/sources.md).
# usage: sources.sh CASE REWIND PROGRAM_DIR PROGRAM_SOURCE_DIR
#
#   program    the test program (built -g by CMake): its .c and .h listed
#              with their absolute paths, sorted and unique; build ids of
#              the program, libc and the dlopen'ed libm equal readelf -n's
#   deleted    a copy of the program recorded, then removed and rebuilt
#              differently at the same path: both commands still answer
#              from the trace's copy, with the recorded build id
#   python3    `python3 -c pass`: python3 and libc with readelf's build ids
#   dwarf4     compiled here with -gdwarf-4 from a relative file name: the
#              names made absolute with DW_AT_comp_dir
#   gz         compiled with -gz (SHF_COMPRESSED .debug_* sections)
#   stripped   debug info split off with objcopy: found by build id under
#              --debug-dir, and by .gnu_debuglink beside the binary
#   corrupt    a copied trace whose files/ copy of the program is garbage
#              that claims to be ELF, truncated, or has garbage DWARF: a
#              warning naming it, exit 1, the other binaries still listed,
#              never a crash or a hang
#
# gcc, objcopy and readelf (binutils) and python3 are installed by
# scripts/setup.sh: a missing one fails the test, it does not skip it.
set -euo pipefail
case=$1 rewind=$2 bin=$3 srcdir=$4
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_begin "sources.$case" "sources-$case"
export TMPDIR=$tmp

for tool in gcc objcopy readelf python3 cmp; do
  command -v "$tool" >/dev/null || fail "$tool is missing (scripts/setup.sh installs it)"
done

# run NAME EXPECTED_RC rewind ARGS...: runs rewind with a time limit into
# $tmp/NAME.out and .err; fails unless it exits EXPECTED_RC. A crash
# (128+signal) or a hang (124) never passes.
run() {
  local name=$1 want=$2 rc=0
  shift 2
  timeout 120 "$rewind" "$@" >"$tmp/$name.out" 2>"$tmp/$name.err" </dev/null || rc=$?
  if [[ $rc -ne $want ]]; then
    cat "$tmp/$name.err" >&2
    fail "'rewind $*' exited $rc, expected $want"
  fi
}

record() {
  local trace=$1
  shift
  timeout 120 "$rewind" record -o "$trace" "$@" >"$tmp/record.out" 2>"$tmp/record.err" </dev/null ||
    { cat "$tmp/record.err" >&2; fail "recording $* failed"; }
}

# readelf's build id of a file ("" if none).
readelf_id() {
  LC_ALL=C readelf -n "$1" | sed -n 's/^ *Build ID: *//p' | sed -n 1p
}

# The recorded path of the first buildid line whose path matches REGEX.
recorded_path() {
  awk -v re="$2" '$2 ~ re { print $2; exit }' "$1"
}

# expect_id BUILDID_OUTPUT PATH FILE: the line for recorded PATH carries
# readelf's build id of FILE.
expect_id() {
  local out=$1 path=$2 file=$3 want got
  want=$(readelf_id "$file")
  [[ -n $want ]] || fail "readelf finds no build id in $file"
  got=$(awk -v p="$path" '$2 == p { print $1 }' "$out")
  [[ $got == "$want" ]] || { cat "$out" >&2; fail "buildid of $path is '$got', readelf says '$want'"; }
}

# expect_sources OUT FILE...: OUT lists each FILE, and is absolute,
# sorted (bytewise) and unique.
expect_sources() {
  local out=$1 f
  shift
  for f in "$@"; do
    grep -qxF "$f" "$out" || { cat "$out" >&2; fail "sources does not list $f"; }
  done
  ! grep -v '^/' "$out" >/dev/null || fail "sources printed a relative path: $(grep -v '^/' "$out" | head -n 1)"
  LC_ALL=C sort -c -u "$out" || fail "sources output is not sorted and unique"
}

# compile OUT FLAGS...: compiles a copy of src_lines.c in $tmp/src by its
# relative name, so DW_AT_name is relative and DW_AT_comp_dir is $tmp/src.
compile() {
  local out=$1
  shift
  mkdir -p "$tmp/src"
  cp "$srcdir/src_lines.c" "$srcdir/src_lines.h" "$tmp/src/"
  (cd "$tmp/src" && gcc -O1 "$@" -o "$out" src_lines.c -ldl) || fail "gcc $* failed"
}

case_program() {
  record "$tmp/trace" "$bin/src_lines" dlopen
  run sources 0 sources "$tmp/trace"
  expect_sources "$tmp/sources.out" "$(realpath "$srcdir/src_lines.c")" "$(realpath "$srcdir/src_lines.h")"
  run buildid 0 buildid "$tmp/trace"
  expect_id "$tmp/buildid.out" "$(realpath "$bin/src_lines")" "$bin/src_lines"
  local libc libm
  libc=$(recorded_path "$tmp/buildid.out" '/libc\.so\.6$')
  libm=$(recorded_path "$tmp/buildid.out" '/libm\.so\.6$')
  [[ -n $libc ]] || { cat "$tmp/buildid.out" >&2; fail "buildid does not list libc"; }
  [[ -n $libm ]] || { cat "$tmp/buildid.out" >&2; fail "buildid does not list the dlopen'ed libm"; }
  expect_id "$tmp/buildid.out" "$libc" "$libc"
  expect_id "$tmp/buildid.out" "$libm" "$libm"
  grep -q 'ld-linux-x86-64\.so\.2$' "$tmp/buildid.out" || fail "buildid does not list the ELF interpreter"
  # Each recorded path once.
  [[ -z $(awk '{ print $2 }' "$tmp/buildid.out" | sort | uniq -d) ]] || fail "buildid repeats a path"
  # The grouped and JSON forms agree with the plain one.
  run binaries 0 sources --binaries "$tmp/trace"
  grep -q "^$(realpath "$bin/src_lines") (build id $(readelf_id "$bin/src_lines"), debug info inside)$" \
    "$tmp/binaries.out" || { cat "$tmp/binaries.out" >&2; fail "--binaries has no header for the program"; }
  run json 0 sources --json "$tmp/trace"
  python3 - "$tmp/json.out" "$tmp/sources.out" <<'PY' || fail "--json disagrees with the plain output"
import json, sys
doc = json.load(open(sys.argv[1]))
plain = open(sys.argv[2]).read().split("\n")[:-1]
assert [s["path"] for s in doc["sources"]] == plain, "sources differ"
assert all(s["exists"] for s in doc["sources"] if "tests/programs/src_lines" in s["path"])
assert any(b["executed"] and b["path"].endswith("/src_lines") for b in doc["binaries"])
PY
  # Libc's sources come from libc6-dbg's debug file when it is installed
  # (it is not one of setup.sh's packages).
  local id
  id=$(readelf_id "$libc")
  if [[ -e /usr/lib/debug/.build-id/${id:0:2}/${id:2}.debug ]]; then
    grep -q "^$libc (build id $id, debug info /usr/lib/debug/.build-id/" "$tmp/binaries.out" ||
      { grep libc "$tmp/binaries.out" >&2; fail "libc's debug file was not found by build id"; }
  fi
  # Bad arguments.
  run usage1 2 sources --no-such-option "$tmp/trace"
  run usage2 2 sources "$tmp/trace" "$tmp/trace"
  run usage3 2 sources --substitute nodir "$tmp/trace"
  run usage4 2 buildid --json "$tmp/trace"
  run notrace 1 buildid "$tmp/no-such-trace"
}

case_deleted() {
  mkdir -p "$tmp/bin"
  cp "$bin/src_lines" "$tmp/bin/prog"
  local id
  id=$(readelf_id "$tmp/bin/prog")
  record "$tmp/trace" "$tmp/bin/prog"
  rm "$tmp/bin/prog"
  run sources 0 sources "$tmp/trace"
  expect_sources "$tmp/sources.out" "$(realpath "$srcdir/src_lines.c")"
  run buildid 0 buildid "$tmp/trace"
  grep -qxF "$id $tmp/bin/prog" "$tmp/buildid.out" || { cat "$tmp/buildid.out" >&2; fail "no '$id $tmp/bin/prog'"; }
  # Rebuilt differently at the same path: the trace's copy still answers.
  compile "$tmp/bin/prog" -g -DREBUILT=1 -Wl,--build-id=sha1
  [[ $(readelf_id "$tmp/bin/prog") != "$id" ]] || fail "the rebuilt program has the same build id"
  run buildid2 0 buildid "$tmp/trace"
  grep -qxF "$id $tmp/bin/prog" "$tmp/buildid2.out" || fail "buildid read the rebuilt binary"
  run sources2 0 sources "$tmp/trace"
  grep -q "^$tmp/src/" "$tmp/sources2.out" && fail "sources read the rebuilt binary"
  expect_sources "$tmp/sources2.out" "$(realpath "$srcdir/src_lines.c")"
}

case_python3() {
  # Debian's python3 (setup.sh), not whatever python3 comes first on PATH
  # (a pyenv shim is a shell script).
  [[ -x /usr/bin/python3 ]] || fail "/usr/bin/python3 is missing (scripts/setup.sh installs it)"
  record "$tmp/trace" /usr/bin/python3 -c pass
  run buildid 0 buildid "$tmp/trace"
  local py libc
  py=$(realpath /usr/bin/python3)
  libc=$(recorded_path "$tmp/buildid.out" '/libc\.so\.6$')
  [[ -n $libc ]] || { cat "$tmp/buildid.out" >&2; fail "buildid does not list libc"; }
  expect_id "$tmp/buildid.out" "$py" "$py"
  expect_id "$tmp/buildid.out" "$libc" "$libc"
  # Every line is "HEX-or-dash PATH", with the path absolute.
  ! grep -Evq '^([0-9a-f]{8,}|-) /' "$tmp/buildid.out" || fail "malformed buildid line"
  run sources 0 sources "$tmp/trace"
}

case_dwarf4() {
  compile "$tmp/prog" -gdwarf-4
  # (Through a file: grep -q would leave readelf a SIGPIPE, and pipefail.)
  LC_ALL=C readelf --debug-dump=info "$tmp/prog" >"$tmp/info.txt" 2>/dev/null || true
  grep -q 'Version:.*4$' "$tmp/info.txt" || fail "gcc did not emit DWARF 4"
  record "$tmp/trace" "$tmp/prog"
  run sources 0 sources "$tmp/trace"
  expect_sources "$tmp/sources.out" "$tmp/src/src_lines.c" "$tmp/src/src_lines.h"
  # rr's --substitute: the build tree moved to /moved/tree.
  run moved 0 sources --substitute prog=/moved/tree "$tmp/trace"
  expect_sources "$tmp/moved.out" /moved/tree/src_lines.c /moved/tree/src_lines.h
  grep -q "^$tmp/src/" "$tmp/moved.out" && fail "--substitute left the old comp_dir"
  # --missing lists what this machine lacks.
  run missing 0 sources --missing --substitute prog=/moved/tree "$tmp/trace"
  grep -qxF /moved/tree/src_lines.c "$tmp/missing.out" || fail "--missing does not list a missing file"
  grep -q "^$tmp/src/" "$tmp/missing.out" && fail "--missing lists a file that exists"
  return 0
}

case_gz() {
  compile "$tmp/prog" -g -gz=zlib
  LC_ALL=C readelf -S -W "$tmp/prog" >"$tmp/sections.txt"
  grep -E '\.debug_(info|line) ' "$tmp/sections.txt" >"$tmp/debug_sections.txt" &&
    grep -q ' C ' "$tmp/debug_sections.txt" ||
    fail "gcc -gz did not compress .debug_info"
  record "$tmp/trace" "$tmp/prog"
  run sources 0 sources "$tmp/trace"
  expect_sources "$tmp/sources.out" "$tmp/src/src_lines.c" "$tmp/src/src_lines.h"
}

case_stripped() {
  compile "$tmp/prog.full" -g
  local id
  id=$(readelf_id "$tmp/prog.full")
  mkdir -p "$tmp/debug/.build-id/${id:0:2}" "$tmp/bin"
  objcopy --only-keep-debug "$tmp/prog.full" "$tmp/debug/.build-id/${id:0:2}/${id:2}.debug"
  objcopy --strip-debug "$tmp/prog.full" "$tmp/bin/prog"
  record "$tmp/trace" "$tmp/bin/prog"
  # No debug file to be found: no sources for it, and no error.
  run plain 0 sources "$tmp/trace"
  grep -q "^$tmp/src/" "$tmp/plain.out" && fail "sources of a stripped binary without a debug file"
  # By build id under --debug-dir.
  run byid 0 sources --debug-dir "$tmp/debug" "$tmp/trace"
  expect_sources "$tmp/byid.out" "$tmp/src/src_lines.c" "$tmp/src/src_lines.h"
  run byid_bin 0 sources --binaries --debug-dir "$tmp/debug" "$tmp/trace"
  grep -qxF "$tmp/bin/prog (build id $id, debug info $tmp/debug/.build-id/${id:0:2}/${id:2}.debug)" \
    "$tmp/byid_bin.out" || { cat "$tmp/byid_bin.out" >&2; fail "--binaries does not name the debug file"; }
  # By .gnu_debuglink beside the recorded binary (the trace's copy has it).
  objcopy --only-keep-debug "$tmp/prog.full" "$tmp/bin/prog.debug"
  objcopy --strip-debug --add-gnu-debuglink="$tmp/bin/prog.debug" "$tmp/prog.full" "$tmp/bin/prog"
  record "$tmp/trace2" "$tmp/bin/prog"
  run link 0 sources --binaries --debug-dir "$tmp/empty" "$tmp/trace2"
  grep -qxF "$tmp/bin/prog (build id $id, debug info $tmp/bin/prog.debug)" "$tmp/link.out" ||
    { cat "$tmp/link.out" >&2; fail "the .gnu_debuglink file was not used"; }
  # A debug file from another build (its CRC differs) is not used.
  (cd "$tmp/src" && gcc -O2 -g -o "$tmp/other" src_lines.c -ldl) || fail "gcc failed"
  objcopy --only-keep-debug "$tmp/other" "$tmp/bin/prog.debug"
  run stale 0 sources --binaries --debug-dir "$tmp/empty" "$tmp/trace2"
  grep -qxF "$tmp/bin/prog (build id $id, no debug info)" "$tmp/stale.out" ||
    { cat "$tmp/stale.out" >&2; fail "a debug file with the wrong CRC was used"; }
}

# The trace's copy of FILE: the file under TRACE/files with its bytes.
trace_copy_of() {
  local trace=$1 file=$2 f
  for f in "$trace"/files/*; do
    if cmp -s "$f" "$file"; then
      echo "$f"
      return
    fi
  done
  fail "no copy of $file in $trace/files"
}

case_corrupt() {
  cp "$bin/src_lines" "$tmp/prog"
  record "$tmp/trace" "$tmp/prog"
  run good 0 buildid "$tmp/trace"
  local copy libc_line rel
  copy=$(trace_copy_of "$tmp/trace" "$tmp/prog")
  rel=${copy#"$tmp/trace/"}
  libc_line=$(grep '/libc\.so\.6$' "$tmp/good.out") || fail "buildid does not list libc"
  # corrupt_with NAME COMMAND: a copy of the trace whose program copy
  # COMMAND rewrote (COMMAND gets the file as $1).
  corrupt_with() {
    rm -rf "$tmp/$1"
    cp -a "$tmp/trace" "$tmp/$1"
    chmod u+w "$tmp/$1/$rel"
    bash -c "$2" _ "$tmp/$1/$rel" || fail "corrupting $1 failed"
  }
  # The ELF magic, then garbage: a warning naming the program, exit 1,
  # libc still listed by both commands.
  corrupt_with magic 'f=$1; { printf "\177ELF\2\1\1"; yes garbage | head -c 20000; } >"$f"'
  local cmd
  for cmd in buildid sources; do
    run "magic_$cmd" 1 "$cmd" "$tmp/magic"
    grep -q "warning: $tmp/prog (trace copy .*): " "$tmp/magic_$cmd.err" ||
      { cat "$tmp/magic_$cmd.err" >&2; fail "$cmd's warning does not name the corrupt program"; }
  done
  grep -qxF "$libc_line" "$tmp/magic_buildid.out" || fail "libc is missing beside the corrupt program"
  grep -q "$tmp/prog" "$tmp/magic_buildid.out" && fail "buildid printed the unreadable program"
  # Truncated in the middle of its sections (libelf alone would take it
  # for a file without sections): a warning that says so, exit 1.
  corrupt_with truncated 'truncate -s $(( $(stat -c %s "$1") / 2 )) "$1"'
  for cmd in buildid sources; do
    run "trunc_$cmd" 1 "$cmd" "$tmp/truncated"
    grep -q "warning: $tmp/prog (trace copy .*): not a readable ELF file: truncated" "$tmp/trunc_$cmd.err" ||
      { cat "$tmp/trunc_$cmd.err" >&2; fail "$cmd's warning does not say the copy is truncated"; }
  done
  # Garbage DWARF: .debug_info, .debug_abbrev and .debug_line overwritten
  # in place with 0xff bytes (a unit length no unit has). The build id is intact; sources warns and exits 1.
  corrupt_with dwarf '
    f=$1
    LC_ALL=C readelf -S -W "$f" | sed -n "s/.*\] \.debug_\(info\|abbrev\|line\) *[A-Z]* *[0-9a-f]* \([0-9a-f]*\) \([0-9a-f]*\).*/\2 \3/p" |
    while read -r off size; do
      tr "\\0" "\\377" </dev/zero | head -c $((16#$size)) | dd of="$f" bs=1 seek=$((16#$off)) conv=notrunc status=none
    done'
  run dwarf_buildid 0 buildid "$tmp/dwarf"
  grep -qxF "$(grep "$tmp/prog\$" "$tmp/good.out")" "$tmp/dwarf_buildid.out" ||
    fail "the build id changed with the DWARF"
  run dwarf_sources 1 sources "$tmp/dwarf"
  grep -q "warning: .*$tmp/prog" "$tmp/dwarf_sources.err" || { cat "$tmp/dwarf_sources.err" >&2; fail "no warning for garbage DWARF"; }
  # Not ELF at all (no magic): skipped quietly, as a mapped data file is.
  corrupt_with text 'echo "just text" >"$1"'
  run text 0 buildid "$tmp/text"
  grep -q "$tmp/prog" "$tmp/text.out" && fail "buildid listed a file that is not ELF"
  [[ ! -s "$tmp/text.err" ]] || fail "a file that is not ELF got a warning: $(cat "$tmp/text.err")"
}

"case_$case"
echo "PASS sources.$case"
