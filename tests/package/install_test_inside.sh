#!/bin/bash
# The part of install_test.sh that runs inside the clean root, as root,
# with `env -i` (HOME=/tmp/home, /tmp a fresh tmpfs): installs the
# package, uses everything it installed, and purges it.
#
#   install_test_inside.sh DEB HIDDEN_DIR...
#
# HIDDEN_DIR: the checkout and build trees hidden from this root; no
# installed file may name one, and no installed program may open one.
set -uo pipefail
deb=$1
shift
hidden=("$@")
failures=0
work=/tmp/home
mkdir -p "$work"
cd "$work" || exit 1

ok() { echo "ok: $*"; }
fail() {
  echo "FAIL: $*"
  failures=$((failures + 1))
}
# has FILE REGEX WHAT: FILE matches the extended REGEX, or the test fails
# (showing FILE).
has() {
  if grep -Eq -- "$2" "$1"; then
    ok "$3"
  else
    fail "$3: no /$2/ in:"
    sed 's/^/    /' "$1" | tail -40
  fi
}
# names_no_build_tree FILE WHAT: FILE mentions no hidden directory.
names_no_build_tree() {
  local d bad=0
  for d in "${hidden[@]}"; do
    if grep -aFq -- "$d/" "$1"; then
      fail "$2 names $d:"
      grep -aF -- "$d/" "$1" | head -5 | sed 's/^/    /'
      bad=1
    fi
  done
  [ "$bad" = 1 ] || ok "$2 names no build tree"
}

echo "--- install"
if ! dpkg -i "$deb"; then
  echo "FAIL: dpkg -i $deb"
  exit 1
fi
libdir=/usr/lib/x86_64-linux-gnu/rewind
for f in /usr/bin/rewind /usr/bin/rewind-dap $libdir/librewind-preload.so \
  $libdir/librewind-lldb.so /usr/share/man/man1/rewind.1.gz \
  /usr/share/bash-completion/completions/rewind /usr/share/doc/rewind/copyright; do
  if [ -e "$f" ]; then ok "installed $f"; else fail "not installed: $f"; fi
done
version=$(dpkg-deb -f "$deb" Version)
rewind --version > version.txt 2>&1
has version.txt "${version%-*}" "rewind --version is the package's ${version%-*}"
# Only files of the package's own: none of a build tree.
dpkg -L rewind > installed.txt
while IFS= read -r f; do
  [ -f "$f" ] || continue
  for d in "${hidden[@]}"; do
    if grep -aFq -- "$d/" "$f"; then fail "$f names the build directory $d"; fi
  done
  # The package's build directory, whatever it was (packaging/build-deb.sh),
  # in a binary (docs/packaging.md names obj-x86_64-linux-gnu).
  [ "$(head -c 4 "$f" | od -An -c | tr -d ' ')" = '177ELF' ] || continue
  if grep -aEq 'rewind-deb\.[A-Za-z0-9]{6}/|obj-x86_64-linux-gnu' "$f"; then
    fail "$f names the package's build directory:"
    grep -aEo '[^"[:space:]]*(rewind-deb\.[A-Za-z0-9]{6}/|obj-x86_64-linux-gnu)[^"[:space:]]*' \
      "$f" | sort -u | head -3 | sed 's/^/    /'
  fi
done < installed.txt
ok "checked the strings of $(wc -l < installed.txt) installed paths"
for f in /usr/bin/rewind /usr/bin/rewind-dap $libdir/librewind-preload.so $libdir/librewind-lldb.so; do
  ldd "$f" > ldd.txt 2>&1
  if grep -q "not found" ldd.txt; then fail "ldd $f: a library is missing"; cat ldd.txt; fi
  names_no_build_tree ldd.txt "ldd $f"
done

echo "--- man pages"
if page=$(man -w rewind 2>&1); then ok "man -w rewind: $page"; else fail "man -w rewind: $page"; fi
man rewind > man-rewind.txt 2>&1
has man-rewind.txt 'rewind' "man rewind renders"
man rewind-record > man-record.txt 2>&1
has man-record.txt 'record' "man rewind-record renders"
# One page per command, as --help lists them: each renders.
pages=0
for p in /usr/share/man/man1/rewind-*.1.gz; do
  name=$(basename "$p" .1.gz)
  if man "$name" > page.txt 2>&1 && [ -s page.txt ]; then
    pages=$((pages + 1))
  else
    fail "man $name"
    cat page.txt
  fi
done
[ "$pages" -ge 5 ] && ok "$pages command pages render" || fail "only $pages command pages"

echo "--- record and replay -a: /bin/ls"
export REWIND_TRACE_DIR=$work/traces
timeout 120 rewind record /bin/ls / > rec.out 2> rec.err
rec=$?
timeout 120 rewind replay -a > rep.out 2> rep.err
rep=$?
[ "$rec" = 0 ] && [ "$rep" = "$rec" ] && ok "ls /: record exit $rec, replay -a exit $rep" ||
  { fail "ls /: record exit $rec, replay -a exit $rep"; cat rec.err rep.err; }
cmp -s rec.out rep.out && ok "replay -a printed what ls printed" ||
  { fail "replay -a printed otherwise"; diff rec.out rep.out | head; }
has rec.out '^usr$' "ls / listed /usr"
timeout 120 rewind record /bin/ls /nonexistent > /dev/null 2> rec2.err
rec=$?
timeout 120 rewind replay -a > /dev/null 2> rep2.err
rep=$?
[ "$rec" = 2 ] && [ "$rep" = 2 ] && ok "ls /nonexistent: record and replay -a exit 2" ||
  { fail "ls /nonexistent: record exit $rec, replay -a exit $rep"; cat rec2.err rep2.err; }
grep -q "librewind-preload.so not found" rec.err rec2.err &&
  fail "record did not find the preload library"
timeout 60 rewind info "$REWIND_TRACE_DIR/ls-0" > info.json 2>&1
has info.json "LD_PRELOAD=$libdir/librewind-preload.so" "the recording preloaded $libdir/librewind-preload.so"
timeout 60 rewind dump "$REWIND_TRACE_DIR/ls-0" > dump.txt 2>&1
has dump.txt 'BUFFERED' "the recording buffered syscalls"
names_no_build_tree info.json "the trace header"

echo "--- the processes' maps, and what rewind opens"
# The recorded program's maps, and rewind's own (the program's parent).
timeout 120 rewind record /bin/sh -c 'cat /proc/self/maps /proc/$PPID/maps' > maps.txt 2>&1
has maps.txt "$libdir/librewind-preload.so" "the recorded program maps the installed preload library"
has maps.txt '/usr/bin/rewind' "rewind runs from /usr/bin"
names_no_build_tree maps.txt "/proc/PID/maps of rewind and of the recorded program"
# strace follows rewind alone (not -f: the program is rewind's tracee).
timeout 120 strace -s 512 -o strace-record.txt -e trace=%file rewind record /bin/true > /dev/null 2>&1 ||
  fail "strace rewind record /bin/true"
names_no_build_tree strace-record.txt "strace of rewind record"
has strace-record.txt "$libdir/librewind-preload.so" "rewind record looks up the installed preload library"

echo "--- bash completion"
cat > complete.sh <<'EOF'
source /usr/share/bash-completion/bash_completion
source /usr/share/bash-completion/completions/rewind
fn=$(complete -p rewind | sed -n 's/.*-F \([^ ]*\).*/\1/p')
[ -n "$fn" ] || { echo "no completion function for rewind"; exit 1; }
# complete WORD...: COMPREPLY for the command line "WORD... <TAB>", the
# last word being the one completed.
try() {
  COMP_WORDS=("$@")
  COMP_CWORD=$(($# - 1))
  COMP_LINE="$*"
  COMP_POINT=${#COMP_LINE}
  COMPREPLY=()
  "$fn" rewind "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
  echo "$* => ${COMPREPLY[*]}"
}
try rewind re
try rewind replay ""
try rewind record --
EOF
timeout 60 bash complete.sh > complete.txt 2>&1
has complete.txt '^rewind re => .*\brecord\b' "rewind re<TAB> offers record"
has complete.txt '^rewind re => .*\breplay\b' "rewind re<TAB> offers replay"
has complete.txt '^rewind replay  => .*\bls-0\b' "rewind replay <TAB> offers the trace ls-0"

echo "--- gdb on the replay of /bin/ls"
# ls has no symbols of its own (no main): a breakpoint in libc, where ls
# opens the directory; one instruction back and forward again; back to the
# start of history (there is no earlier hit), and forwards to the same hit.
timeout 300 rewind replay "$REWIND_TRACE_DIR/ls-0" -- -batch -nx \
  -ex 'set breakpoint pending on' -ex 'break opendir' -ex continue -ex 'p/x $pc' \
  -ex 'reverse-stepi' -ex 'p/x $pc' -ex stepi -ex 'p/x $pc' -ex 'reverse-continue' \
  -ex continue -ex 'p/x $pc' > gdb-ls.txt 2>&1
has gdb-ls.txt 'Breakpoint 1(\.[0-9]+)?, .*opendir' "gdb stops in opendir"
first=$(sed -n 's/^\$1 = //p' gdb-ls.txt)
back=$(sed -n 's/^\$2 = //p' gdb-ls.txt)
again=$(sed -n 's/^\$3 = //p' gdb-ls.txt)
[ -n "$first" ] && [ -n "$back" ] && [ "$back" != "$first" ] &&
  ok "gdb reverse-stepi moves back from $first to $back" ||
  { fail "gdb reverse-stepi: pc $first, then $back"; cat gdb-ls.txt; }
has gdb-ls.txt 'No more reverse-execution history' "gdb reverse-continue reaches the start"
[ -n "$again" ] && [ "$again" = "$first" ] && ok "gdb stepi goes forward to the same place" ||
  { fail "gdb: stepi forward went to $again, not $first"; cat gdb-ls.txt; }
rehit=$(sed -n 's/^\$4 = //p' gdb-ls.txt)
[ -n "$rehit" ] && [ "$rehit" = "$first" ] && ok "gdb continue from the start hits opendir again" ||
  { fail "gdb: continue from the start stopped at ${rehit:-nothing}, not $first"; cat gdb-ls.txt; }

echo "--- gdb and LLDB at main of a program with symbols"
cat > hello.c <<'EOF'
#include <stdio.h>
int main(void) {
  int n = 1;
  n = n * 6;
  n = n * 7;
  printf("%d\n", n);
  return 0;
}
EOF
gcc -g -O0 -o hello hello.c || fail "gcc hello.c"
timeout 120 rewind record -o "$work/hello-trace" ./hello > /dev/null 2>&1 || fail "rewind record ./hello"
timeout 300 rewind replay "$work/hello-trace" -- -batch -nx -ex 'break main' -ex continue \
  -ex next -ex next -ex next -ex 'print n' -ex reverse-next -ex 'print n' > gdb-main.txt 2>&1
has gdb-main.txt 'Breakpoint 1, main \(\) at hello.c' "gdb stops in main"
has gdb-main.txt '\$1 = 42' "gdb: n is 42 after three lines"
has gdb-main.txt '\$2 = 6' "gdb: reverse-next brings n back to 6"
timeout 300 rewind replay -d lldb "$work/hello-trace" -- -b --no-lldbinit \
  -o 'breakpoint set -n main' -o continue -o next -o next -o next -o 'frame variable n' \
  -o 'rewind reverse-next' -o 'frame variable n' -o kill > lldb-main.txt 2>&1
has lldb-main.txt 'stop reason = breakpoint 1\.1' "LLDB stops at the breakpoint"
has lldb-main.txt 'main at hello\.c' "LLDB stops in main"
has lldb-main.txt '\(int\) n = 42' "LLDB: n is 42 after three lines"
has lldb-main.txt '\(int\) n = 6' "LLDB: rewind reverse-next brings n back to 6"
# LLDB alone, the plugin loaded by its installed path: what it opens.
timeout 300 strace -s 512 -o strace-lldb.txt -e trace=%file rewind replay -d lldb "$work/hello-trace" -- \
  -b --no-lldbinit -o 'breakpoint set -n main' -o continue -o kill > lldb-strace.txt 2>&1
has strace-lldb.txt "$libdir/librewind-lldb.so" "LLDB loads the installed plugin"
names_no_build_tree strace-lldb.txt "strace of rewind replay -d lldb"

echo "--- LLDB on the replay of /bin/ls"
timeout 300 rewind replay -d lldb "$REWIND_TRACE_DIR/ls-0" -- -b --no-lldbinit \
  -o 'breakpoint set -n opendir' -o continue -o 'rewind reverse-stepi' -o kill > lldb-ls.txt 2>&1
has lldb-ls.txt 'stop reason = breakpoint 1\.1' "LLDB stops in opendir"
sed -n '/^(lldb) rewind reverse-stepi/,$p' lldb-ls.txt > lldb-ls-back.txt
has lldb-ls-back.txt 'stop reason = trace' "LLDB: rewind reverse-stepi steps back"

echo "--- rewind ls"
if rewind ls > ls.txt 2>&1; then
  has ls.txt 'ls-0' "rewind ls lists ls-0"
else
  fail "rewind ls"
  cat ls.txt
fi

echo "--- a bundle round trip"
# The trace as one file, replayed with the trace itself gone (and the
# files of / it copied still there, but the bundle's copies are used).
if timeout 300 rewind bundle "$REWIND_TRACE_DIR/ls-0" "$work/ls.tar.zst" > bundle.txt 2>&1 &&
  [ -s "$work/ls.tar.zst" ]; then
  ok "rewind bundle ls-0 ls.tar.zst"
  rm -rf "$REWIND_TRACE_DIR"
  timeout 120 rewind replay -a "$work/ls.tar.zst" > bundle-rep.out 2> bundle-rep.err
  rep=$?
  [ "$rep" = 0 ] && cmp -s rec.out bundle-rep.out && ok "replay -a of the bundle printed what ls printed" ||
    { fail "replay -a of the bundle: exit $rep"; cat bundle-rep.err; diff rec.out bundle-rep.out | head; }
else
  fail "rewind bundle"
  cat bundle.txt
fi

echo "--- purge"
dpkg --purge rewind || fail "dpkg --purge rewind"
for f in /usr/bin/rewind /usr/bin/rewind-dap $libdir /usr/share/man/man1/rewind.1.gz \
  /usr/share/bash-completion/completions/rewind /usr/share/doc/rewind; do
  [ -e "$f" ] && fail "still there after the purge: $f"
done

if [ "$failures" != 0 ]; then
  echo "install test: $failures failures"
  exit 1
fi
echo "install test (inside the clean root): all passed"
