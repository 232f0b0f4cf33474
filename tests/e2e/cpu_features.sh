#!/usr/bin/env bash
# rewind record --cpu-features LEVEL: the recorded program's CPUID must not
# report the features LEVEL leaves out, nor its glibc use them (the program
# reports what glibc read from CPUID, and what its ifunc resolvers see as
# active), also with an emptied environment (so through CPUID, not the
# tunable), the replay must print the same, the header must
# list the allowed features, and replay must not refuse a trace for lacking
# a feature the recording did not allow, while still refusing one for a
# feature it did allow.
#
# Every comparison is against a native run on this CPU, so only features this
# CPU has are expected to turn off.
#
# usage: cpu_features.sh REWIND CPUID_MISMATCH_TOOL PROG
#   PROG: tests/programs/cpu_features ("NAME present P active A" lines, then
#   a line of string function results)
set -euo pipefail
rewind=$1 tool=$2 prog=$3
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_begin cpu_features cpu-features
export TMPDIR=$tmp
# The user's own settings are tested on purpose below, not inherited.
unset GLIBC_TUNABLES OPENSSL_ia32cap

# "active" of feature $2 in output file $1.
active() { awk -v f="$2" '$1 == f { print $5 }' "$1"; }
present() { awk -v f="$2" '$1 == f { print $3 }' "$1"; }

# record NAME [OPTIONS...]: records PROG into $tmp/NAME, its output in
# $tmp/NAME.out; must succeed.
record() {
  local name=$1
  shift
  local rc=0
  timeout 120 "$rewind" record "$@" -o "$tmp/$name" "$prog" >"$tmp/$name.out" \
    2>"$tmp/$name.err" </dev/null || rc=$?
  [[ $rc -eq 0 ]] || { cat "$tmp/$name.err" >&2; fail "record $* exited $rc"; }
}

# replay NAME: replays $tmp/NAME without --force; must succeed and print what
# the recording printed.
replay() {
  local name=$1 rc=0
  timeout 120 "$rewind" replay -a "$tmp/$name" >"$tmp/$name.replay" 2>"$tmp/$name.replay.err" ||
    rc=$?
  [[ $rc -eq 0 ]] || { cat "$tmp/$name.replay.err" >&2; fail "replay of $name exited $rc"; }
  cmp -s "$tmp/$name.out" "$tmp/$name.replay" ||
    { diff "$tmp/$name.out" "$tmp/$name.replay" >&2 || true; fail "replay of $name printed something else"; }
}

"$prog" >"$tmp/native.out"
echo "native run on this CPU:"
cat "$tmp/native.out"
features=$(awk 'NF == 5 && $2 == "present" { print $1 }' "$tmp/native.out")
[[ -n $features ]] || fail "the program printed no features"

# --- (2) without the option the program sees what it sees natively ----------
record plain
cmp -s "$tmp/native.out" "$tmp/plain.out" ||
  { diff "$tmp/native.out" "$tmp/plain.out" >&2 || true; fail "a plain recording differs from the native run"; }
replay plain

# --- (1) x86-64-v1: every feature above is off, replay agrees ----------------
record v1 --cpu-features x86-64-v1
echo "recorded with --cpu-features x86-64-v1:"
cat "$tmp/v1.out"
masked=0
for f in $features; do
  [[ $(present "$tmp/v1.out" "$f") == 0 ]] || fail "$f: CPUID still reports it under x86-64-v1"
  [[ $(active "$tmp/v1.out" "$f") == 0 ]] || fail "$f is still active under x86-64-v1"
  if [[ $(present "$tmp/native.out" "$f") == 1 ]]; then masked=$((masked + 1)); fi
done
[[ $masked -gt 0 ]] || { echo "this CPU has none of: $features; nothing to check"; exit 77; }
# The string functions (now other implementations) compute the same.
[[ $(tail -n 1 "$tmp/v1.out") == "$(tail -n 1 "$tmp/native.out")" ]] ||
  fail "string function results differ under x86-64-v1"
replay v1

# A level plus a feature: x86-64-v2 features stay as they are natively, avx2
# brings avx (and avx xsave) with it, everything else is off, F16C too
# (which glibc 2.36's tunable cannot turn off by itself: CPUID hides it).
record v2avx2 --cpu-features x86-64-v2,avx2
for f in $features; do
  for what in present active; do
    case $f in
      SSSE3 | SSE4_1 | SSE4_2 | POPCNT | AVX | AVX2 | XSAVE)
        want=$($what "$tmp/native.out" "$f") ;;
      *) want=0 ;;
    esac
    got=$($what "$tmp/v2avx2.out" "$f")
    [[ $got == "$want" ]] || fail "x86-64-v2,avx2: $f $what $got, expected $want"
  done
done
replay v2avx2

# A program started with an empty environment gets no tunable, and still
# sees only x86-64-v1: CPUID says so.
rc=0
timeout 120 "$rewind" record --cpu-features x86-64-v1 -o "$tmp/noenv" env -i "$prog" \
  >"$tmp/noenv.out" 2>"$tmp/noenv.err" </dev/null || rc=$?
[[ $rc -eq 0 ]] || { cat "$tmp/noenv.err" >&2; fail "record env -i exited $rc"; }
cmp -s "$tmp/v1.out" "$tmp/noenv.out" ||
  { diff "$tmp/v1.out" "$tmp/noenv.out" >&2 || true; fail "env -i under x86-64-v1 sees other features"; }
replay noenv

# --- (3) rewind info lists the allowed features; the environment carries the masks
info() {
  local rc=0
  timeout 60 "$rewind" info "$tmp/$1" >"$tmp/$1.info" 2>"$tmp/$1.info.err" || rc=$?
  [[ $rc -eq 0 ]] || { cat "$tmp/$1.info.err" >&2; fail "rewind info $1 exited $rc"; }
}
info v1
info plain
/usr/bin/python3 - "$tmp/v1.info" "$tmp/plain.info" <<'PY' || fail "rewind info does not show the allowed features"
import json, sys
v1 = json.load(open(sys.argv[1]))
plain = json.load(open(sys.argv[2]))
want = ["fpu", "cx8", "cmov", "mmx", "fxsr", "sse", "sse2", "syscall", "lm"]
if v1.get("cpu_features") != want:
    sys.exit(f"x86-64-v1 trace: cpu_features {v1.get('cpu_features')!r}, expected {want!r}")
if plain.get("cpu_features") != []:
    sys.exit(f"plain trace: cpu_features {plain.get('cpu_features')!r}, expected []")
env = [e for e in v1["env"] if e.startswith(("GLIBC_TUNABLES=", "OPENSSL_ia32cap="))]
if not any(e.startswith("GLIBC_TUNABLES=glibc.cpu.hwcaps=-") and "-AVX2" in e for e in env):
    sys.exit(f"x86-64-v1 trace: no glibc.cpu.hwcaps mask in its environment: {env!r}")
if not any(e.startswith("OPENSSL_ia32cap=~0x") for e in env):
    sys.exit(f"x86-64-v1 trace: no OPENSSL_ia32cap in its environment: {env!r}")
if any(e.startswith(("GLIBC_TUNABLES=", "OPENSSL_ia32cap=")) for e in plain["env"]):
    sys.exit("plain trace: rewind changed the environment without --cpu-features")
PY

# The user's GLIBC_TUNABLES is extended (it still applies), their
# OPENSSL_ia32cap kept with a warning.
GLIBC_TUNABLES=glibc.malloc.tcache_count=3 OPENSSL_ia32cap='~0x0:~0x0' \
  record user_env --cpu-features x86-64-v1
grep -q "warning:.*OPENSSL_ia32cap" "$tmp/user_env.err" || fail "no warning about the kept OPENSSL_ia32cap"
info user_env
/usr/bin/python3 - "$tmp/user_env.info" <<'PY' || fail "the user's environment was not kept"
import json, sys
env = json.load(open(sys.argv[1]))["env"]
t = [e for e in env if e.startswith("GLIBC_TUNABLES=")]
if len(t) != 1 or not t[0].startswith("GLIBC_TUNABLES=glibc.malloc.tcache_count=3:glibc.cpu.hwcaps=-"):
    sys.exit(f"GLIBC_TUNABLES: {t!r}")
o = [e for e in env if e.startswith("OPENSSL_ia32cap=")]
if o != ["OPENSSL_ia32cap=~0x0:~0x0"]:
    sys.exit(f"OPENSSL_ia32cap: {o!r}")
PY
cmp -s "$tmp/v1.out" "$tmp/user_env.out" || fail "with the user's GLIBC_TUNABLES, x86-64-v1 is not applied"

# --- (4) usage: unknown names are usage errors naming them; list -------------
for bad in x86-64-v9 x86-64-v2,no_such_feature ""; do
  rc=0
  timeout 60 "$rewind" record --cpu-features "$bad" -o "$tmp/bad" "$prog" >"$tmp/bad.out" \
    2>"$tmp/bad.err" || rc=$?
  [[ $rc -eq 2 ]] || { cat "$tmp/bad.err" >&2; fail "--cpu-features '$bad' exited $rc, expected 2"; }
  [[ -z $bad ]] || grep -qF -- "'${bad##*,}'" "$tmp/bad.err" ||
    { cat "$tmp/bad.err" >&2; fail "the error does not name '${bad##*,}'"; }
  [[ ! -s $tmp/bad.out && ! -e $tmp/bad ]] || fail "--cpu-features '$bad' ran the program"
done
rc=0
timeout 60 "$rewind" record --cpu-features list >"$tmp/list.out" 2>"$tmp/list.err" || rc=$?
[[ $rc -eq 0 ]] || { cat "$tmp/list.err" >&2; fail "--cpu-features list exited $rc"; }
for word in x86-64-v1 x86-64-v2 x86-64-v3 x86-64-v4 avx2 avx512f sse4_2 abm; do
  grep -qw -- "$word" "$tmp/list.out" || { cat "$tmp/list.out" >&2; fail "list does not name $word"; }
done

# --- (5) a feature this CPU lacks, claimed by the recorded CPUID -------------
# Not allowed by the recording (x86-64-v1 has no CPUID leaf 7 feature): the
# program was told not to use it, so replay proceeds without --force.
cp -a "$tmp/v1" "$tmp/v1_edited"
claimed=$("$tool" "$tmp/v1_edited") || fail "could not edit the header"
feature=$(head -n 1 <<<"$claimed")
echo "recorded CPU now claims: $feature"
rc=0
timeout 120 "$rewind" replay -a "$tmp/v1_edited" >"$tmp/v1_edited.replay" 2>"$tmp/v1_edited.err" ||
  rc=$?
[[ $rc -eq 0 ]] || { cat "$tmp/v1_edited.err" >&2; fail "replay of the edited x86-64-v1 trace exited $rc"; }
! grep -q "lacks features" "$tmp/v1_edited.err" || fail "replay warned about $feature, which was not allowed"
cmp -s "$tmp/v1.out" "$tmp/v1_edited.replay" || fail "replay of the edited x86-64-v1 trace differs"

# Allowed by the recording (--cpu-features x86-64-v1,FEATURE, although this
# CPU lacks it): the program could have used it, so replay refuses, naming it.
record allowed --cpu-features "x86-64-v1,$feature"
cp -a "$tmp/allowed" "$tmp/allowed_edited"
claimed2=$("$tool" "$tmp/allowed_edited") || fail "could not edit the header"
[[ $(head -n 1 <<<"$claimed2") == "$feature" ]] || fail "the tool picked another feature: $claimed2"
rc=0
timeout 60 "$rewind" replay -a "$tmp/allowed_edited" >"$tmp/allowed_edited.replay" \
  2>"$tmp/allowed_edited.err" || rc=$?
cat "$tmp/allowed_edited.err"
[[ $rc -ne 0 && $rc -ne 124 && $rc -lt 128 ]] || fail "replay should refuse with a plain error, got exit $rc"
grep -q "this CPU lacks features the recording CPU had (.*$feature" "$tmp/allowed_edited.err" ||
  fail "the refusal does not name $feature"
[[ ! -s $tmp/allowed_edited.replay ]] || fail "a refused replay must not run the program"
rc=0
timeout 120 "$rewind" replay -a --force "$tmp/allowed_edited" >"$tmp/allowed_forced.replay" \
  2>"$tmp/allowed_forced.err" || rc=$?
[[ $rc -eq 0 ]] || { cat "$tmp/allowed_forced.err" >&2; fail "--force replay exited $rc"; }
cmp -s "$tmp/allowed.out" "$tmp/allowed_forced.replay" || fail "--force replay differs"
echo "PASS [cpu_features]"
