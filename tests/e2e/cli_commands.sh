#!/usr/bin/env bash
# The rewind command's own habits (issue 16), one CASE per ctest test:
#   help        --help, help COMMAND, COMMAND --help, --version agree with the
#               table; the built man pages and completion are what `rewind
#               help` prints now, and man renders every page without warnings
#   completion  the bash completion offers commands, options, choices and
#               the trace names of the moment
#   traces      ls, rm, mv: columns, the latest mark, refusals while a trace
#               is recorded or replayed, a directory that is not a trace
#   record      --env, --unset-env, and -w against the default (the
#               recording ends with the initial process)
#   gdb         a clean first screen (no redefine prompt, no remote-file
#               warnings, libraries' symbols read), -e, -x, on a C program
#               and on python3
#   lldb        -e and -x with -d lldb; lldbinit names the plugin
#
# usage: cli_commands.sh CASE REWIND BUILD_DIR PROGRAMS_DIR
set -euo pipefail
case_name=$1 rewind=$2 build=$3 programs=$4
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_begin "cli.$case_name" "cli-$case_name"
export REWIND_TRACE_DIR=$tmp/traces REWIND_CACHE_DIR=$tmp/cache
need() { command -v "$1" >/dev/null || fail "$1 is not installed: run scripts/setup.sh"; }

case_help() {
  need man
  "$rewind" --help >"$tmp/help" || fail "--help failed"
  local cmds
  cmds=$(sed -n 's/^  \([a-z]*\)  .*/\1/p' "$tmp/help")
  [[ $(wc -w <<<"$cmds") -ge 16 ]] || fail "--help lists too few commands: $cmds"
  for c in $cmds; do
    "$rewind" help "$c" >"$tmp/a" || fail "help $c failed"
    [[ $c == help ]] && continue
    "$rewind" "$c" --help >"$tmp/b" || fail "$c --help failed"
    cmp -s "$tmp/a" "$tmp/b" || fail "help $c and $c --help differ"
    grep -q "^usage: rewind $c" "$tmp/a" || fail "help $c has no usage line"
    "$rewind" help --man "$c" | cmp -s - "$build/doc/man/rewind-$c.1" ||
      fail "the built rewind-$c.1 is not what rewind help --man prints: rebuild, or the build misses it"
    local warnings
    warnings=$(MANWIDTH=80 man --warnings=all -l "$build/doc/man/rewind-$c.1" 2>&1 >/dev/null || true)
    [[ -z $warnings ]] || fail "man rewind-$c.1 warns: $warnings"
    # Every option the page documents, the parser knows: none is "unknown".
    for opt in $(grep -o '^  \(-[a-z], \)\?--\?[a-z-]*' "$tmp/a" | sed 's/,.*//; s/^ *//'); do
      local said
      said=$("$rewind" "$c" "$opt" </dev/null 2>&1 || true)
      if grep -q "unknown option $opt" <<<"$said"; then
        fail "$c documents $opt but rejects it"
      fi
    done
  done
  "$rewind" help --man rewind | cmp -s - "$build/doc/man/rewind.1" || fail "rewind.1 is stale"
  [[ -z $(MANWIDTH=80 man --warnings=all -l "$build/doc/man/rewind.1" 2>&1 >/dev/null) ]] ||
    fail "man rewind.1 warns"
  "$rewind" help --bash-completion | cmp -s - "$build/doc/completion/rewind" ||
    fail "the built completion is stale"
  local version
  version=$(sed -n 's/^project(rewind VERSION \([0-9.]*\).*/\1/p' "$(dirname "$0")/../../CMakeLists.txt")
  [[ $("$rewind" --version) == "rewind $version" ]] || fail "--version says $("$rewind" --version), want $version"
  local rc=0
  "$rewind" frobnicate 2>"$tmp/err" || rc=$?
  [[ $rc -eq 2 ]] && grep -q "unknown command 'frobnicate'" "$tmp/err" || fail "an unknown command: rc $rc"
  rc=0
  "$rewind" record --bogus true 2>"$tmp/err" || rc=$?
  [[ $rc -eq 2 ]] && grep -q "^usage: rewind record" "$tmp/err" || fail "a bad option: rc $rc, $(cat "$tmp/err")"
  # The recorded program's own --help is its own.
  "$rewind" record -o "$tmp/t" "$programs/argv_env_echo" --help >"$tmp/out" 2>/dev/null ||
    fail "recording a program given --help failed"
  grep -q -- "--help" "$tmp/out" || fail "the program did not get its --help"
}

# complete LINE: COMPREPLY for the last word of LINE, one per line.
complete_line() {
  bash -c 'source "$1"; read -ra COMP_WORDS <<<"$2"; [[ $2 == *" " ]] && COMP_WORDS+=("");
           COMP_WORDS[0]=$3; COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); _rewind;
           printf "%s\n" "${COMPREPLY[@]}"' _ "$build/doc/completion/rewind" "$1" "$rewind"
}

# offers LINE WORD: the completion of LINE includes WORD. (Through a
# variable: `complete_line | grep -q` would leave the writer a SIGPIPE,
# which pipefail turns into a failure.)
offers() {
  local out
  out=$(complete_line "$1")
  grep -qx -- "$2" <<<"$out"
}

case_completion() {
  "$rewind" record "$programs/exit_code" 3 >/dev/null 2>&1 || [[ $? -eq 3 ]] || fail "recording failed"
  "$rewind" record "$programs/argv_env_echo" >/dev/null 2>&1 || fail "recording failed"
  [[ $(complete_line "rewind re" | sort | tr '\n' ' ') == "record replay " ]] || fail "re<TAB>: $(complete_line "rewind re")"
  offers "rewind replay --deb" --debugger || fail "--deb<TAB>"
  [[ $(complete_line "rewind replay -d " | sort | tr '\n' ' ') == "gdb lldb " ]] || fail "-d <TAB>: $(complete_line "rewind replay -d ")"
  offers "rewind replay " exit_code-0 || fail "replay <TAB> misses exit_code-0: $(complete_line "rewind replay ")"
  offers "rewind rm exit_code-0 arg" argv_env_echo-0 || fail "rm's second trace"
  offers "rewind record ech" echo || fail "record ech<TAB> offers no echo"
  offers "rewind record --env" --env || fail "record --env<TAB>"
  offers "rewind help rec" record || fail "help rec<TAB>"
  [[ -z $(complete_line "rewind replay -g ") ]] || fail "-g <TAB> should offer nothing"
}

case_traces() {
  local rc
  [[ $("$rewind" ls) == "no traces in "* ]] || fail "ls of no traces"
  rc=0; "$rewind" record "$programs/exit_code" 3 >/dev/null 2>&1 || rc=$?
  [[ $rc -eq 3 ]] || fail "record exit_code 3 returned $rc"
  "$rewind" record "$programs/crash_segv" >/dev/null 2>&1 || true
  "$rewind" ls >"$tmp/ls"
  grep -Eq '^exit_code-0 +[0-9-]+ [0-9:]+ +[0-9.]+ [KM]?i?B +3 +complete .*exit_code 3$' "$tmp/ls" || fail "ls: $(cat "$tmp/ls")"
  grep -Eq '^crash_segv-0 \* .* SIGSEGV +complete' "$tmp/ls" || fail "ls (latest, signal): $(cat "$tmp/ls")"
  [[ $("$rewind" ls --names | tr '\n' ' ') == "crash_segv-0 exit_code-0 " ]] || fail "ls --names: $("$rewind" ls --names)"

  "$rewind" mv crash_segv-0 segv >/dev/null || fail "mv failed"
  [[ $(readlink "$REWIND_TRACE_DIR/latest-trace") == segv ]] || fail "latest-trace did not follow mv"
  rc=0; "$rewind" mv exit_code-0 segv 2>"$tmp/err" || rc=$?
  [[ $rc -ne 0 ]] && grep -q "exists" "$tmp/err" || fail "mv over an existing trace: rc $rc $(cat "$tmp/err")"
  "$rewind" replay -a segv >/dev/null 2>&1 || [[ $? -eq 139 ]] || fail "the moved trace does not replay"

  # In use: a replay server holds the trace.
  "$rewind" replay -s 0 exit_code-0 >"$tmp/server.out" 2>&1 &
  local server=$!
  wait_for "the replay server" 60 grep -q "waiting for a debugger" "$tmp/server.out"
  rc=0; "$rewind" rm exit_code-0 2>"$tmp/err" || rc=$?
  [[ $rc -eq 1 ]] && grep -q "in use" "$tmp/err" || fail "rm of a trace in use: rc $rc $(cat "$tmp/err")"
  rc=0; "$rewind" mv exit_code-0 other 2>"$tmp/err" || rc=$?
  [[ $rc -eq 1 ]] && grep -q "in use" "$tmp/err" || fail "mv of a trace in use: rc $rc"
  [[ -d $REWIND_TRACE_DIR/exit_code-0 ]] || fail "the trace in use is gone"
  kill "$server"; wait "$server" 2>/dev/null || true

  # Being recorded: the program blocks on a fifo until the test writes it.
  mkfifo "$tmp/fifo"
  "$rewind" record -o "$REWIND_TRACE_DIR/live" cat "$tmp/fifo" >/dev/null 2>&1 &
  local rec=$!
  wait_for "the recording to start" 60 test -e "$REWIND_TRACE_DIR/live/incomplete"
  wait_for "ls to show the recording" 60 bash -c "'$rewind' ls | grep -Eq '^live .* recording '"
  rc=0; "$rewind" rm live 2>"$tmp/err" || rc=$?
  [[ $rc -eq 1 ]] && grep -q "still being recorded" "$tmp/err" || fail "rm of a live recording: rc $rc $(cat "$tmp/err")"
  echo done >"$tmp/fifo"
  wait "$rec" || fail "the recording of cat failed"

  mkdir -p "$tmp/not-a-trace/files" && touch "$tmp/not-a-trace/keep"
  rc=0; "$rewind" rm "$tmp/not-a-trace" 2>"$tmp/err" || rc=$?
  [[ $rc -eq 1 && -e $tmp/not-a-trace/keep ]] || fail "rm of a directory that is no trace: rc $rc"
  grep -q "not a rewind trace" "$tmp/err" || fail "rm's refusal: $(cat "$tmp/err")"

  # A bundle is the user's file: rm and mv leave it alone.
  "$rewind" bundle exit_code-0 "$tmp/b.tar.zst" >/dev/null 2>&1 || fail "bundle failed"
  rc=0; "$rewind" rm "$tmp/b.tar.zst" 2>"$tmp/err" || rc=$?
  [[ $rc -eq 1 && -f $tmp/b.tar.zst ]] && grep -q "not a trace directory" "$tmp/err" ||
    fail "rm of a bundle: rc $rc $(cat "$tmp/err")"

  "$rewind" rm segv live >/dev/null || fail "rm failed"
  [[ ! -e $REWIND_TRACE_DIR/segv && ! -e $REWIND_TRACE_DIR/live ]] || fail "rm left the traces"
  [[ $(readlink "$REWIND_TRACE_DIR/latest-trace") == exit_code-0 ]] || fail "latest-trace not repointed after rm"
  [[ -z $(ls -A "$REWIND_TRACE_DIR" | grep -v -e '^exit_code-0$' -e '^latest-trace$') ]] ||
    fail "rm left something: $(ls -A "$REWIND_TRACE_DIR")"
}

case_record() {
  local rc
  FOO=old BAR=gone "$rewind" record -o "$tmp/env" --env FOO=new --env=BAZ=a=b --unset-env BAR \
    sh -c 'echo "FOO=$FOO BAR=${BAR-unset} BAZ=$BAZ"' >"$tmp/env.out" 2>/dev/null || fail "record --env failed"
  [[ $(cat "$tmp/env.out") == "FOO=new BAR=unset BAZ=a=b" ]] || fail "--env: $(cat "$tmp/env.out")"
  "$rewind" replay -a "$tmp/env" >"$tmp/env.replay" 2>/dev/null || fail "replay of --env failed"
  cmp -s "$tmp/env.out" "$tmp/env.replay" || fail "the --env replay differs"
  rc=0; "$rewind" record --env NOEQUALS true 2>/dev/null || rc=$?
  [[ $rc -eq 2 ]] || fail "--env without = accepted"

  # The initial process dies (SIGABRT) and leaves a child reading a pipe
  # for ever: without -w the recording ends then, killing it.
  rc=0
  timeout 120 "$rewind" record -o "$tmp/nowait" "$programs/orphan_reader" >"$tmp/nowait.out" \
    2>"$tmp/nowait.err" </dev/null || rc=$?
  [[ $rc -eq 134 ]] || fail "record without -w exited $rc, want 134: $(cat "$tmp/nowait.err")"
  grep -q "killing the 1 process it left running" "$tmp/nowait.err" || fail "no word of the kill: $(cat "$tmp/nowait.err")"
  # The child may have been killed before it printed anything: the trace
  # says it died of SIGKILL.
  "$rewind" ps "$tmp/nowait" >"$tmp/nowait.ps" || fail "ps failed"
  grep -q "SIGKILL" "$tmp/nowait.ps" || fail "the child did not die of SIGKILL: $(cat "$tmp/nowait.ps")"
  [[ $(grep -c orphan_reader "$tmp/nowait.ps") -ge 2 ]] || fail "ps: $(cat "$tmp/nowait.ps")"
  rc=0; timeout 120 "$rewind" replay -a "$tmp/nowait" >"$tmp/nowait.replay" 2>/dev/null || rc=$?
  [[ $rc -eq 134 ]] || fail "replay exited $rc"
  cmp -s "$tmp/nowait.out" "$tmp/nowait.replay" || fail "the replay printed other output"
  # -w keeps recording: e2e.outlived_recording covers that and Ctrl-C.
}

# gdb_lines FILE: what gdb printed that is about rewind or gdb's file
# handling rather than the program.
gdb_noise() {
  grep -E 'unable to open /proc|Really redefine|answered Y|from remote target|File transfers|set sysroot|Could not load shared library|Unable to find dynamic linker' "$1" || true
}

case_gdb() {
  need gdb
  need python3
  "$rewind" record "$programs/debug_target" >"$tmp/rec.out" 2>&1 || fail "record failed"
  timeout 240 "$rewind" replay -- -batch -ex 'break main' -ex continue -ex 'info sharedlibrary' \
    -ex 'checkpoint' </dev/null >"$tmp/gdb.out" 2>&1 || fail "gdb failed: $(tail "$tmp/gdb.out")"
  [[ -z $(gdb_noise "$tmp/gdb.out") ]] || fail "gdb's first screen has noise: $(gdb_noise "$tmp/gdb.out")"
  grep -q "Breakpoint 1, main () at .*debug_target.c" "$tmp/gdb.out" || fail "no stop in main: $(cat "$tmp/gdb.out")"
  grep -Eq 'Yes .*libc\.so\.6' "$tmp/gdb.out" || fail "libc's symbols not read: $(cat "$tmp/gdb.out")"
  grep -q "Checkpoint 1" "$tmp/gdb.out" || grep -qi "checkpoint" "$tmp/gdb.out" || fail "checkpoint command"

  # -e: at the end; a breakpoint in main is then hit going backwards.
  printf 'break tick\nreverse-continue\nprint i\n' >"$tmp/cmds.gdb"
  timeout 240 "$rewind" replay -e -x "$tmp/cmds.gdb" -- -batch </dev/null >"$tmp/end.out" 2>&1 ||
    fail "gdb -e -x failed: $(tail "$tmp/end.out")"
  grep -q "Breakpoint 1, tick (i=" "$tmp/end.out" || fail "-e then reverse-continue: $(cat "$tmp/end.out")"
  grep -Eq '^\$1 = [1-9]' "$tmp/end.out" || fail "reverse-continue from the end stopped at the first tick: $(cat "$tmp/end.out")"
  local rc=0
  "$rewind" replay -x "$tmp/missing.gdb" 2>"$tmp/err" || rc=$?
  [[ $rc -eq 2 ]] && grep -q "missing.gdb" "$tmp/err" || fail "-x of a missing file: rc $rc"

  # A program we did not write, with a breakpoint in libc that gdb also
  # puts in ld.so's copy of opendir: back to the start, then forwards to
  # the same hit. (The int3 counting the libc hit went with the mapping
  # ld.so replaces under it, when the search began before libc was
  # mapped: "did not come back to event N" in 3 of 5 runs, and the
  # forward continue ran to the end.) Three times: the windows the search
  # uses depend on timing.
  "$rewind" record /bin/ls / >"$tmp/ls.out" 2>&1 || fail "recording ls failed"
  for round in 1 2 3; do
    timeout 240 "$rewind" replay -- -batch -ex 'break opendir' -ex continue -ex 'monitor when' \
      -ex reverse-continue -ex continue -ex 'monitor when' </dev/null >"$tmp/ls.gdb" 2>&1 ||
      fail "gdb on ls failed: $(tail "$tmp/ls.gdb")"
    ! grep -q "did not come back\|Remote failure" "$tmp/ls.gdb" || fail "round $round: $(cat "$tmp/ls.gdb")"
    grep -q "No more reverse-execution history" "$tmp/ls.gdb" || fail "round $round: not back at the start: $(cat "$tmp/ls.gdb")"
    [[ $(grep -c "^Breakpoint 1[.0-9]*, " "$tmp/ls.gdb") -eq 2 ]] || fail "round $round: opendir not hit again going forwards: $(cat "$tmp/ls.gdb")"
    [[ $(grep "Current event" "$tmp/ls.gdb" | uniq | wc -l) -eq 1 ]] || fail "round $round: the second hit is elsewhere: $(grep "Current event" "$tmp/ls.gdb")"
  done

  # python3: an interpreter with a dozen libraries, every one read locally.
  "$rewind" record /usr/bin/python3 -c 'import json, zlib; print(json.dumps(zlib.crc32(b"x")))' \
    >/dev/null 2>&1 || fail "recording python3 failed"
  timeout 240 "$rewind" replay -- -batch -ex 'break PyList_Append' -ex continue -ex 'info sharedlibrary' \
    </dev/null >"$tmp/py.out" 2>&1 || fail "gdb on python3 failed: $(tail "$tmp/py.out")"
  [[ -z $(gdb_noise "$tmp/py.out") ]] || fail "gdb on python3 has noise: $(gdb_noise "$tmp/py.out")"
  grep -q "Breakpoint 1, .*PyList_Append" "$tmp/py.out" || fail "python3: no stop: $(cat "$tmp/py.out")"
  grep -Eq 'Yes .*libm\.so\.6' "$tmp/py.out" || fail "python3's libm not read: $(cat "$tmp/py.out")"
  "$rewind" gdbinit >"$tmp/gdbinit" && grep -q "^define checkpoint" "$tmp/gdbinit" || fail "gdbinit"
}

case_lldb() {
  need lldb-22
  "$rewind" lldbinit >"$tmp/init" || fail "lldbinit failed"
  local plugin
  plugin=$(sed -n 's/^plugin load //p' "$tmp/init")
  [[ -f $plugin ]] || fail "lldbinit names no plugin that exists: $(cat "$tmp/init")"
  "$rewind" record "$programs/debug_target" >/dev/null 2>&1 || fail "record failed"
  printf 'breakpoint set -n tick\ncontinue\nframe variable i\n' >"$tmp/cmds.lldb"
  timeout 240 "$rewind" replay -d lldb -x "$tmp/cmds.lldb" -- -b --no-lldbinit -o 'rewind when' \
    </dev/null >"$tmp/x.out" 2>&1 || fail "lldb -x failed: $(tail "$tmp/x.out")"
  grep -q "(long) i = 0" "$tmp/x.out" || fail "lldb -x: $(cat "$tmp/x.out")"
  timeout 240 "$rewind" replay -e -d lldb -- -b --no-lldbinit -o 'rewind when' -o 'breakpoint set -n tick' \
    -o 'process continue --reverse' -o 'frame variable i' </dev/null >"$tmp/e.out" 2>&1 ||
    fail "lldb -e failed: $(tail "$tmp/e.out")"
  grep -Eq "\(long\) i = [1-9]" "$tmp/e.out" || fail "lldb -e then reverse: $(cat "$tmp/e.out")"
}

"case_$case_name"
echo "PASS [cli.$case_name]"
