#!/usr/bin/env bash
# One-file trace bundles (core/api/Bundle.h, docs/bundles.md).
#
# usage: bundle.sh REWIND PROGRAM_DIR CASE
#
# Good cases (cli.bundle.*): a bundle replays with nothing of the original
# left (another HOME, another cache, the trace deleted), opens once, opens
# concurrently, and `record --bundle` makes one. Hostile cases
# (bad.bundle.*): each must end with a clear message and exit 1, never a
# crash or a hang, and write nothing outside the cache, which must be left
# empty.
set -euo pipefail
rewind=$1 bin=$2 case=$3
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_begin "bundle.$case" "bundle-$case"

# The setup installs these (scripts/setup.sh); a missing one is a failure.
for tool in zstd tar python3; do
  command -v "$tool" >/dev/null || fail "$tool is not installed (scripts/setup.sh installs it)"
done

export REWIND_TRACE_DIR=$tmp/traces HOME=$tmp/home REWIND_CACHE_DIR=$tmp/cache
unset XDG_CACHE_HOME
mkdir -p "$HOME"

# run NAME CMD...: runs CMD with a 120 s limit; $tmp/NAME.{out,err}, $rc.
run() {
  local name=$1
  shift
  rc=0
  timeout 120 "$@" >"$tmp/$name.out" 2>"$tmp/$name.err" </dev/null || rc=$?
  ((rc != 124)) || fail "$name: hung (killed after 120 s)"
}
show() { cat "$tmp/$1.out" "$tmp/$1.err" >&2; }
expect_rc() {  # NAME RC
  [[ $rc -eq $2 ]] || { show "$1"; fail "$1 exited $rc, expected $2"; }
}

# A trace of exit_code 7 at $tmp/t, bundled into $tmp/b.tar.zst.
make_bundle() {
  run record "$rewind" record -o "$tmp/t" "$bin/exit_code" 7
  expect_rc record 7
  run bundle "$rewind" bundle "$tmp/t" "$tmp/b.tar.zst"
  expect_rc bundle 0
}

# The cache entries: <cache>/bundles/<32 hex>.
entries() { find "$REWIND_CACHE_DIR/bundles" -mindepth 1 -maxdepth 1 2>/dev/null | sort; }

case_roundtrip() {
  make_bundle
  grep -q "b.tar.zst: .*smaller" "$tmp/bundle.out" || { show bundle; fail "no summary line"; }
  [[ $(stat -c %a "$tmp/b.tar.zst") == 600 ]] || fail "the bundle is not mode 0600"
  ! ls "$tmp"/b.tar.zst.partial-* 2>/dev/null || fail "a .partial file was left"
  # Standard tools read it: the manifest first, then trace/ only.
  tar --zstd -tf "$tmp/b.tar.zst" >"$tmp/members" || fail "tar cannot list the bundle"
  [[ $(head -1 "$tmp/members") == rewind-bundle ]] || fail "the first member is not rewind-bundle"
  ! grep -v -e '^rewind-bundle$' -e '^trace/' "$tmp/members" || fail "members outside trace/"
  tar --zstd -xOf "$tmp/b.tar.zst" rewind-bundle >"$tmp/manifest" &&
    grep -q '^rewind-bundle 1$' "$tmp/manifest" ||
    fail "the manifest does not name format 1"

  # No overwriting without -f; with it, a new bundle.
  run again "$rewind" bundle "$tmp/t" "$tmp/b.tar.zst"
  expect_rc again 2
  grep -q "exists already" "$tmp/again.err" || { show again; fail "no 'exists already'"; }
  run force "$rewind" bundle -f --level 5 "$tmp/t" "$tmp/b.tar.zst"
  expect_rc force 0

  # Nothing of the original: another HOME and cache, the trace deleted.
  cp "$tmp/record.out" "$tmp/expected"
  rm -rf "$tmp/t" "$REWIND_TRACE_DIR"
  export HOME=$tmp/home2 REWIND_CACHE_DIR=$tmp/cache2
  mkdir -p "$HOME"
  run replay "$rewind" replay -a "$tmp/b.tar.zst"
  expect_rc replay 7
  cmp -s "$tmp/expected" "$tmp/replay.out" || { show replay; fail "the replay printed other output"; }
  grep -q "unpacking" "$tmp/replay.err" || { show replay; fail "the first open did not say it unpacked"; }
  [[ $(entries | wc -l) -eq 1 ]] || { entries >&2; fail "not one cache entry"; }
  local entry
  entry=$(entries)
  [[ $(stat -c %a "$entry") == 700 && $(stat -c %a "$entry/trace") == 700 ]] ||
    fail "the cache entry is not mode 0700"
  local inode
  inode=$(stat -c %i "$entry")

  # Opened again: not unpacked again.
  run info "$rewind" info "$tmp/b.tar.zst"
  expect_rc info 0
  grep -q '"complete": true' "$tmp/info.out" || { show info; fail "info shows no complete trace"; }
  ! grep -q "unpacking" "$tmp/info.err" || fail "the second open unpacked again"
  [[ $(stat -c %i "$entry") == "$inode" ]] || fail "the cache entry was replaced"
  run ps "$rewind" ps "$tmp/b.tar.zst"
  expect_rc ps 0
  if ! grep -q "exit_code" "$tmp/ps.out" || ! grep -Eq '\b7\b' "$tmp/ps.out"; then
    show ps
    fail "ps does not show exit_code and its exit status 7"
  fi

  # The default cache: ~/.cache/rewind/bundles.
  unset REWIND_CACHE_DIR
  export HOME=$tmp/home3
  mkdir -p "$HOME"
  run default "$rewind" info "$tmp/b.tar.zst"
  expect_rc default 0
  [[ -d $(find "$HOME/.cache/rewind/bundles" -mindepth 1 -maxdepth 1 | head -1)/trace ]] ||
    fail "nothing unpacked under ~/.cache/rewind/bundles"

  # REWIND_CACHE_DIR=-: a scratch directory, gone when rewind exits.
  export REWIND_CACHE_DIR=-
  run scratch "$rewind" replay -a "$tmp/b.tar.zst"
  expect_rc scratch 7
  local where
  where=$(sed -n 's/^rewind: unpacking .* into \(.*\)$/\1/p' "$tmp/scratch.err")
  [[ -n $where ]] || { show scratch; fail "no 'unpacking ... into' line"; }
  [[ ! -e $where ]] || fail "the scratch cache $where outlived rewind"
  echo "PASS [$e2e_name]"
}

case_concurrent() {
  make_bundle
  local pids=() i
  for i in 1 2 3 4; do
    timeout 120 "$rewind" info "$tmp/b.tar.zst" >"$tmp/c$i.out" 2>"$tmp/c$i.err" </dev/null &
    pids+=($!)
  done
  for i in 1 2 3 4; do
    wait "${pids[i - 1]}" || { cat "$tmp/c$i.err" >&2; fail "concurrent open $i failed"; }
    grep -q '"complete": true' "$tmp/c$i.out" || fail "concurrent open $i printed no trace"
  done
  [[ $(entries | wc -l) -eq 1 ]] || { entries >&2; fail "not exactly one cache entry (leftovers?)"; }
  echo "PASS [$e2e_name]"
}

# python3 with a script that is deleted before the replay; `record
# --bundle` writes the bundle in the same step.
case_python3() {
  cat >"$tmp/s.py" <<'EOF'
import hashlib, json, random, sqlite3, sys, time
db = sqlite3.connect(":memory:")
db.execute("create table t (k integer, v text)")
db.executemany("insert into t values (?, ?)", [(i, str(random.random())) for i in range(200)])
rows = db.execute("select count(*), sum(k) from t").fetchone()
doc = {"rows": rows, "when": time.time(), "r": random.random()}
print(json.dumps(doc, sort_keys=True))
print(hashlib.sha256(json.dumps(doc).encode()).hexdigest())
sys.exit(3)
EOF
  run record "$rewind" record --bundle "$tmp/py.tar.zst" -o "$tmp/t" /usr/bin/python3 "$tmp/s.py"
  expect_rc record 3
  [[ -s $tmp/py.tar.zst ]] || { show record; fail "record --bundle wrote no bundle"; }
  cp "$tmp/record.out" "$tmp/expected"
  rm -rf "$tmp/t" "$tmp/s.py" "$REWIND_TRACE_DIR"
  export HOME=$tmp/home2 REWIND_CACHE_DIR=$tmp/cache2
  mkdir -p "$HOME"
  run replay "$rewind" replay -a "$tmp/py.tar.zst"
  expect_rc replay 3
  cmp -s "$tmp/expected" "$tmp/replay.out" || { show replay; fail "the replay printed other output"; }
  echo "PASS [$e2e_name]"
}

# Persistent checkpoints whose pages live in a --pack-dir store (the trace
# holds hard links to its packs) travel in the bundle: with the trace and
# the store deleted, the bundle's replay still starts from them.
case_checkpoints() {
  run record "$rewind" record -o "$tmp/t" /usr/bin/python3 -c 'print(sum(range(10**6)))'
  expect_rc record 0
  run create "$rewind" checkpoint create "$tmp/t" --every 200
  expect_rc create 0
  run pack "$rewind" pack --pack-dir "$tmp/store" "$tmp/t"
  expect_rc pack 0
  run bundle "$rewind" bundle "$tmp/t" "$tmp/b.tar.zst"
  expect_rc bundle 0
  rm -rf "$tmp/t" "$tmp/store" "$REWIND_TRACE_DIR"
  export HOME=$tmp/home2 REWIND_CACHE_DIR=$tmp/cache2
  mkdir -p "$HOME"
  run list "$rewind" checkpoint list "$tmp/b.tar.zst"
  expect_rc list 0
  grep -Eq '^ +200 ' "$tmp/list.out" || { show list; fail "the bundle lists no checkpoint at 200"; }
  # Two stretches, the second replayed from the checkpoint's saved pages.
  run jobs "$rewind" replay -a --jobs 2 "$tmp/b.tar.zst"
  expect_rc jobs 0
  grep -q "2 stretches, 0 failed" "$tmp/jobs.err" || { show jobs; fail "the replay from the checkpoint failed"; }
  echo "PASS [$e2e_name]"
}

# A trace whose recording did not finish is refused, and no file is left.
case_incomplete() {
  run record "$rewind" record -o "$tmp/t" "$bin/exit_code" 7
  expect_rc record 7
  mv "$tmp/t/version" "$tmp/t/incomplete"
  run bundle "$rewind" bundle "$tmp/t" "$tmp/b.tar.zst"
  expect_rc bundle 1
  grep -q "incomplete" "$tmp/bundle.err" || { show bundle; fail "no 'incomplete' in the error"; }
  local left=("$tmp"/b.tar.zst*)
  [[ ! -e ${left[0]} ]] || fail "a bundle file was left: ${left[*]}"
  echo "PASS [$e2e_name]"
}

# A bundle cut short (here by the file size limit: SIGXFSZ kills rewind
# at 200 KiB, as a Ctrl-C or kill would) leaves no file under OUT's name,
# and the next bundle clears the partial file it left.
case_interrupted() {
  run record "$rewind" record -o "$tmp/t" "$bin/exit_code" 7
  expect_rc record 7
  # Packed first: the limit must cut the archive, not pack's copies.
  run pack "$rewind" pack "$tmp/t"
  expect_rc pack 0
  run cut bash -c 'ulimit -f 200; exec "$0" bundle "$1" "$2"' "$rewind" "$tmp/t" "$tmp/b.tar.zst"
  ((rc == 128 + $(kill -l XFSZ))) || { show cut; fail "the cut bundle exited $rc, not SIGXFSZ"; }
  [[ ! -e $tmp/b.tar.zst ]] || fail "a cut bundle left $tmp/b.tar.zst"
  ls "$tmp"/b.tar.zst.partial-* >/dev/null 2>&1 || fail "no partial file: was it cut at all?"
  run bundle "$rewind" bundle "$tmp/t" "$tmp/b.tar.zst"
  expect_rc bundle 0
  ! ls "$tmp"/b.tar.zst.partial-* 2>/dev/null || fail "the partial file of the cut bundle is still there"
  echo "PASS [$e2e_name]"
}

# --- Hostile bundles ----------------------------------------------------------

# craft KIND OUT.tar: a tar whose first member is a valid manifest (unless
# KIND is about the manifest), with the members KIND names.
craft() {
  python3 - "$1" "$2" "$tmp" <<'EOF'
import io, sys, tarfile
kind, out, tmp = sys.argv[1:4]
members = []  # (TarInfo, data or None)
def dir_(name):
    t = tarfile.TarInfo(name); t.type = tarfile.DIRTYPE; t.mode = 0o700
    members.append((t, None))
def file_(name, data=b"x" * 100, size=None):
    t = tarfile.TarInfo(name); t.size = len(data) if size is None else size; t.mode = 0o600
    members.append((t, data))
def special(name, type_, target=""):
    t = tarfile.TarInfo(name); t.type = type_; t.linkname = target
    members.append((t, None))
dir_("trace")
if kind == "dotdot": file_("trace/../../../../escape-dotdot")
elif kind == "absolute": file_(tmp + "/escape-absolute")
elif kind == "symlink":
    special("trace/link", tarfile.SYMTYPE, tmp + "/outside"); file_("trace/link/x")
elif kind == "hardlink": special("trace/h", tarfile.LNKTYPE, "../../../../escape-hard")
elif kind == "fifo": special("trace/f", tarfile.FIFOTYPE)
elif kind == "device": special("trace/d", tarfile.CHRTYPE)
elif kind in ("oversized", "not_a_trace", "newer_format", "no_space", "manifest_not_first"):
    file_("trace/version", b"rewind-trace 1\n")
files = len(members)
size = sum(t.size for t, _ in members if t.type == tarfile.REGTYPE)
version = 2 if kind == "newer_format" else 1
if kind == "oversized": size = 10  # the member is larger than declared
if kind == "no_space": size = 1 << 49  # 512 TiB
manifest = f"rewind-bundle {version}\nuuid {'0' * 32}\nfiles {files}\nbytes {size}\n".encode()
m = tarfile.TarInfo("rewind-bundle"); m.size = len(manifest); m.mode = 0o600
with tarfile.open(out, "w", format=tarfile.PAX_FORMAT) as tar:
    if kind != "manifest_not_first": tar.addfile(m, io.BytesIO(manifest))
    for t, data in members:
        tar.addfile(t, io.BytesIO(data) if data is not None else None)
    if kind == "manifest_not_first": tar.addfile(m, io.BytesIO(manifest))
EOF
}

# hostile PATTERN: opens $tmp/h.tar.zst with `replay -a`, `info` and `ps`;
# each must exit 1 with PATTERN in its message, leave the cache empty and
# write nothing else.
hostile() {
  local pattern=$1 cmd
  mkdir -p "$tmp/outside"
  touch "$tmp/marker"
  for cmd in "replay -a" info ps; do
    # shellcheck disable=SC2086
    run open "$rewind" $cmd "$tmp/h.tar.zst"
    ((rc == 1)) || { show open; fail "'$cmd' exited $rc, expected 1 (an error, not a crash)"; }
    grep -Eq "$pattern" "$tmp/open.err" || { show open; fail "'$cmd' did not say /$pattern/"; }
    grep -q "h.tar.zst" "$tmp/open.err" || { show open; fail "the message does not name the bundle"; }
  done
  [[ -z $(entries) ]] || { entries >&2; fail "the cache is not empty"; }
  local new
  new=$(find "$tmp" -newer "$tmp/marker" ! -path "$tmp" ! -path "$tmp/cache" ! -path "$tmp/cache/*" \
    ! -name 'open.*' ! -name '.tick')
  [[ -z $new ]] || { echo "$new" >&2; fail "files appeared outside the cache"; }
  [[ ! -e /escape-dotdot && ! -e /escape-hard ]] || fail "a file was written at /"
  echo "PASS [$e2e_name]"
}

crafted() {  # KIND PATTERN
  craft "$1" "$tmp/h.tar"
  zstd -q "$tmp/h.tar" -o "$tmp/h.tar.zst"
  rm "$tmp/h.tar"
  hostile "$2"
}

case_dotdot() { crafted dotdot "'\.\.' component"; }
case_absolute() { crafted absolute "absolute path"; }
case_symlink() { crafted symlink "symbolic link"; }
case_hardlink() { crafted hardlink "hard link"; }
case_fifo() { crafted fifo "is a FIFO"; }
case_device() { crafted device "character device"; }
case_oversized() { crafted oversized "larger than its manifest allows"; }
case_no_space() { crafted no_space "needs .* free"; }
case_not_a_trace() { crafted not_a_trace "its trace does not open"; }
case_newer_format() { crafted newer_format "bundle format '2'"; }
case_manifest_not_first() { crafted manifest_not_first "not a rewind bundle: its first member is 'trace/?'"; }

case_truncated() {
  make_bundle
  local size
  size=$(stat -c %s "$tmp/b.tar.zst")
  head -c $((size / 2)) "$tmp/b.tar.zst" >"$tmp/h.tar.zst"
  rm -rf "$tmp/t" "$tmp/b.tar.zst"
  hostile "damaged|truncated|incomplete"
}
case_random() {
  head -c 100000 /dev/urandom >"$tmp/h.tar.zst"
  hostile "not a rewind bundle"
}
case_foreign() {
  mkdir -p "$tmp/stuff"
  echo hello >"$tmp/stuff/a.txt"
  tar --zstd -cf "$tmp/h.tar.zst" -C "$tmp" stuff
  rm -rf "$tmp/stuff"
  hostile "not a rewind bundle: its first member is 'stuff/?'"
}

declare -F "case_$case" >/dev/null || fail "unknown case $case"
"case_$case"
