#!/usr/bin/env python3
"""End-to-end tests of `rewind pack` and of portable traces.

usage: pack_test.py CASE --rewind REWIND --bin DIR [--gdb GDB]

Cases:
  selfcontained  a program with its own library and ELF interpreter in a
                 temporary folder: record, pack, delete the folder, move the
                 trace; it replays identically, and gdb breaks in the
                 deleted library. Then the folder comes back with other
                 content; replay still uses the recorded files.
  dedupe         one library mapped and dlopened many times, under several
                 names and mtimes: the packed trace holds each content once.
  idempotent     a second pack changes no byte of a packed trace.
  crash          20 rounds: pack a fresh copy, SIGKILL it at a random moment,
                 replay, pack again, replay; all replays match the recording
                 and every round ends with the same packed trace.
  packdir        traces packed into one --pack-dir share one copy of each file.
  packdir_checkpoints
                 two recordings of one program, with checkpoints, packed
                 into one --pack-dir: the pages they share are stored once
                 and both traces link the store's packs; packing again
                 changes nothing; each trace moved alone replays from every
                 checkpoint; a damaged store pack is refused by name.
  packdir_crash  20 rounds: pack a fresh copy of a trace with checkpoints
                 into a fresh --pack-dir, SIGKILL it at a random moment;
                 every checkpoint still loads, and packing again ends with
                 the same trace as an uninterrupted pack.
  bad            bad input gets a clear error and a non-zero exit.
"""
import argparse
import hashlib
import os
import random
import re
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time

ARGS = None


def fail(msg):
    print("FAIL [pack.%s]: %s" % (ARGS.case, msg))
    sys.exit(1)


def run(cmd, timeout=120, **kw):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kw)
    except subprocess.TimeoutExpired:
        fail("timed out: %s" % " ".join(cmd))


def record(trace, argv):
    r = run([ARGS.rewind, "record", "-o", trace] + argv)
    if r.returncode != 0:
        fail("recording %s exited %d: %s" % (argv, r.returncode, r.stderr))
    return r


def replay_matches(trace, rec, what):
    r = run([ARGS.rewind, "replay", "-a", trace])
    if r.returncode != rec.returncode or r.stdout != rec.stdout:
        fail("%s: replay (exit %d) differs from the recording (exit %d):\n%s\n%s" %
             (what, r.returncode, rec.returncode, r.stderr[-2000:], r.stdout[-2000:]))


def pack(traces, *opts, expect_ok=True):
    r = run([ARGS.rewind, "pack"] + list(opts) + list(traces), timeout=300)
    if expect_ok and r.returncode != 0:
        fail("pack %s exited %d: %s" % (traces, r.returncode, r.stderr))
    return r


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def tree_digest(root):
    """Every file under root: (relative path, sha256, mode)."""
    out = []
    for d, dirs, files in os.walk(root):
        dirs.sort()
        for name in sorted(files):
            p = os.path.join(d, name)
            st = os.lstat(p)
            out.append((os.path.relpath(p, root), sha256(p), oct(st.st_mode)))
    return out


def content_counts(files_dir):
    counts = {}
    for name in os.listdir(files_dir):
        counts.setdefault(sha256(os.path.join(files_dir, name)), []).append(name)
    return counts


def set_interp(exe, interp):
    """Overwrites the PT_INTERP string of an ELF64 executable in place."""
    with open(exe, "r+b") as f:
        elf = f.read()
        phoff, = struct.unpack_from("<Q", elf, 0x20)
        phentsize, phnum = struct.unpack_from("<HH", elf, 0x36)
        for i in range(phnum):
            base = phoff + i * phentsize
            p_type, = struct.unpack_from("<I", elf, base)
            if p_type != 3:  # PT_INTERP
                continue
            offset, = struct.unpack_from("<Q", elf, base + 8)
            filesz, = struct.unpack_from("<Q", elf, base + 32)
            data = interp.encode() + b"\0"
            assert len(data) <= filesz, "PT_INTERP placeholder too short"
            f.seek(offset)
            f.write(data.ljust(filesz, b"\0"))
            return
    raise RuntimeError("no PT_INTERP in " + exe)


def system_interp():
    return os.path.realpath("/lib64/ld-linux-x86-64.so.2")


def make_app(folder):
    """portable_main, its library and a copy of the ELF interpreter in folder."""
    os.makedirs(folder)
    for name in ("portable_main", "dedupe_main", "libportable.so"):
        shutil.copy2(os.path.join(ARGS.bin, name), folder)
    interp = os.path.join(folder, "ld-linux-x86-64.so.2")
    shutil.copy2(system_interp(), interp)
    set_interp(os.path.join(folder, "portable_main"), interp)
    return folder


def case_selfcontained(tmp):
    app = make_app(os.path.join(tmp, "app"))
    exe = os.path.join(app, "portable_main")
    native = run([exe, "alpha", "beta"])
    if native.returncode != 0:
        fail("the program does not run natively: %s" % native.stderr)
    trace = os.path.join(tmp, "trace")
    rec = record(trace, [exe, "alpha", "beta"])
    if rec.stdout.splitlines()[1:] != native.stdout.splitlines()[1:]:
        fail("the recorded run printed something else than the native one")
    r = pack([trace])
    print(r.stdout.strip())
    if not re.search(r"-> .*files", r.stdout):
        fail("pack printed no summary: %r" % r.stdout)

    # No file of the packed trace is shared with a file outside it.
    for name in os.listdir(os.path.join(trace, "files")):
        st = os.stat(os.path.join(trace, "files", name))
        if st.st_nlink != 1:
            fail("files/%s still has %d links" % (name, st.st_nlink))

    shutil.rmtree(app)
    moved = os.path.join(tmp, "elsewhere", "moved-trace")
    os.makedirs(os.path.dirname(moved))
    os.rename(trace, moved)
    replay_matches(moved, rec, "after deleting the program folder and moving the trace")

    # The originals come back with other content: still the recorded files.
    os.makedirs(app)
    for name in ("portable_main", "libportable.so", "ld-linux-x86-64.so.2"):
        with open(os.path.join(app, name), "w") as f:
            f.write("not the recorded file\n")
        os.chmod(os.path.join(app, name), 0o755)
    copy = os.path.join(tmp, "copied-trace")
    shutil.copytree(moved, copy, symlinks=True)
    replay_matches(copy, rec, "a copy, with the original paths holding other files")

    if not ARGS.gdb:
        print("gdb not installed: skipping the debugger part")
        return
    out = run([ARGS.rewind, "replay", "--debugger", ARGS.gdb, moved, "--", "-batch", "-nx",
               "-ex", "set breakpoint pending on", "-ex", "break portable_checksum",
               "-ex", "continue", "-ex", "bt", "-ex", "info sharedlibrary"], timeout=300)
    text = out.stdout + out.stderr
    print(text)
    for pattern in (r"Breakpoint 1, portable_checksum \(s=.*alpha|"
                    r"Breakpoint 1, portable_checksum \(s=.*portable_main",
                    r"#1 .* main \(.*\) at .*portable_main\.c:\d+",
                    re.escape(os.path.join(app, "libportable.so"))):
        if not re.search(pattern, text):
            fail("gdb output does not match %r" % pattern)


def case_dedupe(tmp):
    app = make_app(os.path.join(tmp, "app"))
    lib = os.path.join(app, "libportable.so")
    copies = []
    for i in (1, 2):
        c = os.path.join(app, "libcopy%d.so" % i)
        shutil.copy2(lib, c)
        copies.append(c)
    trace = os.path.join(tmp, "trace")
    rec = record(trace, [os.path.join(app, "dedupe_main"), lib, lib] + copies)
    before = content_counts(os.path.join(trace, "files"))
    dup = [names for names in before.values() if len(names) > 1]
    if not dup:
        fail("the unpacked trace has no duplicate files, so this test shows nothing")
    print("unpacked: %d files, duplicated content: %s" %
          (sum(len(v) for v in before.values()), dup))
    pack([trace])
    after = content_counts(os.path.join(trace, "files"))
    dup = [names for names in after.values() if len(names) > 1]
    if dup:
        fail("identical files after pack: %s" % dup)
    if len(after) != len(before):
        fail("pack lost content: %d distinct before, %d after" % (len(before), len(after)))
    print("packed: %d files" % len(after))
    replay_matches(trace, rec, "after pack")


PY_SCRIPT = ("import json, hashlib, zlib\n"
             "d = {'k%d' % i: hashlib.sha256(str(i).encode()).hexdigest() for i in range(50)}\n"
             "print(zlib.crc32(json.dumps(d, sort_keys=True).encode()))\n")


def case_idempotent(tmp):
    trace = os.path.join(tmp, "trace")
    rec = record(trace, ["python3", "-c", PY_SCRIPT])
    pack([trace])
    first = tree_digest(trace)
    r = pack([trace])
    if "already packed" not in r.stdout:
        fail("the second pack did not say the trace was packed: %r" % r.stdout)
    second = tree_digest(trace)
    if first != second:
        changed = set(first) ^ set(second)
        fail("the second pack changed the trace: %s" % sorted(changed)[:6])
    print("%d files, identical after a second pack" % len(first))
    replay_matches(trace, rec, "after two packs")


def link_copy(src, dst):
    """A copy of a trace whose files are hard links to src's: its captured
    files stay shared with the system files they link to, as in a fresh
    recording, so pack has to copy them in (shutil.copytree would make them
    the copy's own). Pack never writes into an existing file, so src stays
    as it is."""
    shutil.copytree(src, dst, symlinks=True, copy_function=os.link)


def reference_pack(tmp, base, *opts):
    """Packs a copy of base once, uninterrupted: how long it takes, the
    tree every interrupted pack must end with, and base's own digest."""
    ref = os.path.join(tmp, "ref")
    link_copy(base, ref)
    start = time.monotonic()
    pack([ref], *opts)
    full = time.monotonic() - start
    ref_digest = tree_digest(ref)
    base_digest = tree_digest(base)
    shutil.rmtree(ref)
    print("a full pack takes %.3f s" % full)
    return full, ref_digest, base_digest


def case_crash(tmp):
    base = os.path.join(tmp, "base")
    rec = record(base, ["python3", "-c", PY_SCRIPT])
    # The packed trace every round must end with, and how long a pack takes.
    full, ref_digest, base_digest = reference_pack(tmp, base)

    rng = random.Random(os.environ.get("REWIND_PACK_SEED", str(time.time_ns())))
    interrupted = 0
    rounds = 20
    for i in range(rounds):
        copy = os.path.join(tmp, "round%d" % i)
        link_copy(base, copy)
        p = subprocess.Popen([ARGS.rewind, "pack", copy], stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
        # The moment of the kill is random; this is not synchronisation.
        time.sleep(rng.uniform(0, full * 1.1))
        if p.poll() is None:
            interrupted += 1
        p.send_signal(signal.SIGKILL)
        p.wait()
        replay_matches(copy, rec, "round %d, after the killed pack" % i)
        pack([copy])
        replay_matches(copy, rec, "round %d, after packing again" % i)
        if tree_digest(copy) != ref_digest:
            fail("round %d: the finished trace differs from an uninterrupted pack" % i)
        shutil.rmtree(copy)
    if tree_digest(base) != base_digest:
        fail("packing the copies changed the original trace")
    print("%d rounds, %d packs killed before they finished" % (rounds, interrupted))
    if interrupted < rounds // 4:
        fail("only %d of %d packs were interrupted: the kills came too late to test anything" %
             (interrupted, rounds))


def case_packdir(tmp):
    store = os.path.join(tmp, "store")
    traces, recs = [], []
    for i, script in enumerate([PY_SCRIPT, "print(sum(range(1000)))", PY_SCRIPT]):
        t = os.path.join(tmp, "py%d" % i)
        recs.append(record(t, ["python3", "-c", script]))
        traces.append(t)
    r = pack(traces, "--pack-dir", store)
    print(r.stdout.strip())
    store_inodes = {}
    for d, _, files in os.walk(store):
        for name in files:
            st = os.stat(os.path.join(d, name))
            store_inodes[(st.st_dev, st.st_ino)] = os.path.join(d, name)
    dup = [n for n in content_counts_tree(store).values() if len(n) > 1]
    if dup:
        fail("the pack directory holds identical files: %s" % dup)
    for t in traces:
        for name in os.listdir(os.path.join(t, "files")):
            st = os.stat(os.path.join(t, "files", name))
            if (st.st_dev, st.st_ino) not in store_inodes:
                fail("%s/files/%s is not a link into the pack directory" % (t, name))
    du = run(["du", "-scb"] + traces).stdout.splitlines()[-1].split()[0]
    sizes = sum(int(run(["du", "-sb", t]).stdout.split()[0]) for t in traces)
    print("three traces: %s bytes on disk together, %d counted one by one" % (du, sizes))
    if int(du) * 2 > sizes:
        fail("the traces do not share their files")
    digest = [tree_digest(t) for t in traces]
    r = pack(traces, "--pack-dir", store)
    if [tree_digest(t) for t in traces] != digest or r.stdout.count("already packed") != 3:
        fail("packing again into the same directory changed something: %s" % r.stdout)
    # A store file that went missing comes back from the traces, and what a
    # killed pack left beside it (a temporary of a process that is gone) goes.
    lost = sorted(store_inodes.values())[0]
    os.unlink(lost)
    stale = os.path.join(os.path.dirname(lost), ".pack-tmp-999999999-1")
    with open(stale, "w") as f:
        f.write("left by a killed pack")
    pack(traces, "--pack-dir", store)
    if not os.path.exists(lost) or os.path.exists(stale):
        fail("packing again did not restore %s or left %s" % (lost, stale))
    if [tree_digest(t) for t in traces] != digest:
        fail("restoring the pack directory changed the traces")
    for t, rec in zip(traces, recs):
        replay_matches(t, rec, "packed into a shared directory")
    # The store must be on the trace's filesystem; elsewhere is a clear error.
    if os.path.isdir("/dev/shm") and os.stat("/dev/shm").st_dev != os.stat(tmp).st_dev:
        other = tempfile.mkdtemp(dir="/dev/shm")
        try:
            r = pack([traces[0]], "--pack-dir", other, expect_ok=False)
            if r.returncode == 0 or "another filesystem" not in r.stderr:
                fail("a pack directory on another filesystem gave exit %d: %s" %
                     (r.returncode, r.stderr))
        finally:
            shutil.rmtree(other)
        replay_matches(traces[0], recs[0], "after the refused pack")


def checkpoint_events(trace):
    r = run([ARGS.rewind, "checkpoint", "list", trace])
    if r.returncode != 0:
        fail("checkpoint list %s: %s" % (trace, r.stderr))
    events = []
    for line in r.stdout.splitlines():
        f = line.split()
        if len(f) >= 2 and f[0].isdigit() and f[1] != "checkpoints,":
            events.append(int(f[0]))
    return events


def checkpoint_pages(trace):
    """The distinct pages the checkpoints of a trace name, by the first 8
    bytes of their hash as `checkpoint show --pages` prints them. Showing a
    checkpoint loads it, which fails if a page is in no pack."""
    pages = set()
    for e in checkpoint_events(trace):
        r = run([ARGS.rewind, "checkpoint", "show", trace, str(e), "--pages"])
        if r.returncode != 0:
            fail("checkpoint show %s %d: %s" % (trace, e, r.stderr))
        pages.update(re.findall(r"^    page 0x[0-9a-f]+ ([0-9a-f]{16})$", r.stdout, re.M))
    return pages


def pack_file_pages(path):
    """How many pages a checkpoint pack holds, from its blocks' headers
    (core/trace/PackFile.h: a 32-byte header, the blocks, the index, and a
    32-byte trailer that starts with the index's offset; a block: 'RWB1',
    u32 size, u32 compressed size, 8-byte checksum, the compressed bytes)."""
    with open(path, "rb") as f:
        data = f.read()
    index_at, = struct.unpack_from("<Q", data, len(data) - 32)
    pos, pages = 32, 0
    while pos < index_at:
        magic, size, compressed = struct.unpack_from("<4sII", data, pos)
        if magic != b"RWB1" or size % 4096:
            fail("%s: no block at offset %d" % (path, pos))
        pages += size // 4096
        pos += 20 + compressed
    return pages


def files_state(root):
    """Every file under root as the filesystem has it: (path, inode, size,
    mtime). Equal before and after: nothing was written, linked or removed."""
    out = []
    for d, dirs, files in os.walk(root):
        dirs.sort()
        for name in sorted(files):
            st = os.lstat(os.path.join(d, name))
            out.append((os.path.relpath(os.path.join(d, name), root), st.st_ino, st.st_size,
                        st.st_mtime_ns))
    return out


def record_mix(trace):
    """checkpoint_mix (tests/programs) recorded, with a checkpoint every 40
    events: a threaded, forking program whose checkpoints hold a few
    hundred pages each."""
    prog = os.path.join(ARGS.programs, "checkpoint_mix")
    if not os.path.exists(prog):
        fail("no %s: pass --programs, the folder of the test programs" % prog)
    rec = run([ARGS.rewind, "record", "-o", trace, prog, "6"])
    if rec.returncode != 3:
        fail("recording checkpoint_mix exited %d: %s" % (rec.returncode, rec.stderr))
    r = run([ARGS.rewind, "checkpoint", "create", "--every", "40", trace], timeout=300)
    if r.returncode != 0:
        fail("checkpoint create %s exited %d: %s" % (trace, r.returncode, r.stderr))
    return rec


def replay_from_checkpoints(trace, rec, what):
    events = checkpoint_events(trace)
    if len(events) < 3:
        fail("%s: only %d checkpoints" % (what, len(events)))
    for e in events:
        r = run([ARGS.rewind, "replay", "-a", "-g", str(e), trace])
        if (r.returncode != rec.returncode or
                not re.search(r"replaying from event %d$" % e, r.stderr, re.M) or
                "not using the checkpoint" in r.stderr):
            fail("%s: replay from checkpoint %d exited %d:\n%s" %
                 (what, e, r.returncode, r.stderr[-2000:]))
        # What it prints is the end of what the recording printed.
        if not r.stdout or not rec.stdout.endswith(r.stdout):
            fail("%s: replay from checkpoint %d printed %r, not the end of %r" %
                 (what, e, r.stdout[-500:], rec.stdout[-500:]))
    print("%s: replayed from each of %d checkpoints" % (what, len(events)))


def summary_pages(stdout):
    """pack's (already there, added) checkpoint pages, per trace packed."""
    return [(int(a), int(b)) for a, b in
            re.findall(r"checkpoint pages: (\d+) already there, (\d+) added", stdout)]


def links_into(trace, pages_dir):
    """The inodes of a trace's checkpoint packs, each checked to be a hard
    link to the store pack of the same name."""
    inodes = set()
    cpdir = os.path.join(trace, "checkpoints")
    for name in sorted(os.listdir(cpdir)):
        if not name.endswith(".pack"):
            continue
        st = os.stat(os.path.join(cpdir, name))
        stored = os.path.join(pages_dir, name)
        if not os.path.exists(stored) or not os.path.samestat(st, os.stat(stored)):
            fail("%s/checkpoints/%s is not a link to the store's pack of that name" % (trace, name))
        inodes.add(st.st_ino)
    return inodes


def case_packdir_checkpoints(tmp):
    store = os.path.join(tmp, "store")
    pages_dir = os.path.join(store, "checkpoint-pages")
    traces = [os.path.join(tmp, "mix%d" % i) for i in range(2)]
    recs = [record_mix(t) for t in traces]
    pages = [checkpoint_pages(t) for t in traces]
    shared = pages[0] & pages[1]
    print("checkpoint pages: %d in the first trace, %d in the second, %d in both" %
          (len(pages[0]), len(pages[1]), len(shared)))
    if not shared:
        fail("the two recordings share no checkpoint page, so this test shows nothing")

    r = pack(traces, "--pack-dir", store)
    print(r.stdout.strip())
    want = [(0, len(pages[0])), (len(shared), len(pages[1] - pages[0]))]
    if summary_pages(r.stdout) != want:
        fail("pack says %s pages (already there, added), not %s" % (summary_pages(r.stdout), want))
    store_packs = sorted(os.listdir(pages_dir))
    store_pages = sum(pack_file_pages(os.path.join(pages_dir, n)) for n in store_packs)
    print("the store: %d packs, %d pages; the traces apart: %d pages" %
          (len(store_packs), store_pages, len(pages[0]) + len(pages[1])))
    if store_pages != len(pages[0] | pages[1]):
        fail("the store holds %d pages, not each of the %d distinct ones once" %
             (store_pages, len(pages[0] | pages[1])))
    if store_pages >= len(pages[0]) + len(pages[1]):
        fail("the store holds as many pages as the two traces apart")
    linked = [links_into(t, pages_dir) for t in traces]
    if not linked[0] & linked[1]:
        fail("the second trace links none of the store packs the first one does")
    for t, before in zip(traces, pages):
        if checkpoint_pages(t) != before:
            fail("%s: its checkpoints name other pages after pack" % t)

    # Packing again writes nothing, in the traces or the store.
    before = [files_state(p) for p in traces + [store]]
    r = pack(traces, "--pack-dir", store)
    if r.stdout.count("already packed") != 2 or [files_state(p) for p in traces + [store]] != before:
        fail("packing again changed something: %s" % r.stdout)

    # Each trace moved alone, without the store or the original, replays
    # from each of its checkpoints.
    alone = [os.path.join(tmp, "alone", "mix%d" % i) for i in range(2)]
    os.makedirs(os.path.dirname(alone[0]))
    for t, a in zip(traces, alone):
        if run(["cp", "-a", t, a]).returncode != 0:
            fail("cp -a %s %s failed" % (t, a))
    shutil.rmtree(store)
    for t in traces:
        shutil.rmtree(t)
    for a, rec in zip(alone, recs):
        replay_from_checkpoints(a, rec, "%s, moved alone" % a)

    # Packed into a new store, the moved traces bring their packs back into
    # it and share them again: no page is written.
    store = os.path.join(tmp, "store2")
    pages_dir = os.path.join(store, "checkpoint-pages")
    r = pack(alone, "--pack-dir", store)
    print(r.stdout.strip())
    if [added for _, added in summary_pages(r.stdout)] != [0, 0]:
        fail("packing the moved traces into a new store wrote pages: %s" % r.stdout)
    if not links_into(alone[0], pages_dir) & links_into(alone[1], pages_dir):
        fail("the moved traces do not share their store packs again")

    # A damaged store pack is refused, by name: a byte changed in a block
    # (its index still reads), then the pack cut short.
    linked = sorted(n for n in os.listdir(os.path.join(alone[0], "checkpoints"))
                    if n.endswith(".pack"))
    victim = os.path.join(pages_dir, linked[0])
    with open(victim, "rb") as f:
        good = f.read()
    for what, damaged in (("a changed byte", good[:100] + bytes([good[100] ^ 0x40]) + good[101:]),
                          ("a truncated file", good[:len(good) - 100])):
        with open(victim, "r+b") as f:  # in place: the traces' links see it too
            f.write(damaged)
            f.truncate()
        r = pack([alone[0]], "--pack-dir", store, expect_ok=False)
        if r.returncode == 0 or victim not in r.stderr or "damaged" not in r.stderr:
            fail("a store pack with %s: pack exited %d: %s" % (what, r.returncode, r.stderr))
        print("a store pack with %s: %s" % (what, r.stderr.strip()))
    with open(victim, "r+b") as f:
        f.write(good)
        f.truncate()
    r = pack(alone, "--pack-dir", store)
    if r.stdout.count("already packed") != 2:
        fail("the repaired store pack: %s" % r.stdout)
    replay_from_checkpoints(alone[0], recs[0], "after the store pack was repaired")


def case_packdir_crash(tmp):
    base = os.path.join(tmp, "base")
    record_mix(base)
    full, ref_digest, base_digest = reference_pack(tmp, base, "--pack-dir",
                                                   os.path.join(tmp, "ref-store"))

    rng = random.Random(os.environ.get("REWIND_PACK_SEED", str(time.time_ns())))
    interrupted = 0
    rounds = 20
    stages = {s: 0 for s in ("no store pack yet", "store packs, no link", "links and own packs",
                             "links only")}
    for i in range(rounds):
        copy = os.path.join(tmp, "round%d" % i)
        store = os.path.join(tmp, "store%d" % i)
        link_copy(base, copy)
        p = subprocess.Popen([ARGS.rewind, "pack", "--pack-dir", store, copy],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        # The moment of the kill is random; this is not synchronisation.
        time.sleep(rng.uniform(0, full * 1.1))
        if p.poll() is None:
            interrupted += 1
        p.send_signal(signal.SIGKILL)
        p.wait()
        stages[kill_stage(copy, store)] += 1
        checkpoint_pages(copy)  # every checkpoint loads
        pack([copy], "--pack-dir", store)
        checkpoint_pages(copy)
        got = tree_digest(copy)
        if got != ref_digest:
            fail("round %d: the finished trace differs from an uninterrupted pack: %s" %
                 (i, sorted(set(got) ^ set(ref_digest))[:6]))
        shutil.rmtree(copy)
        shutil.rmtree(store)
    if tree_digest(base) != base_digest:
        fail("packing the copies changed the original trace")
    print("%d rounds, %d packs killed before they finished; where the checkpoint pages were: %s" %
          (rounds, interrupted, stages))
    if interrupted < rounds // 4:
        fail("only %d of %d packs were interrupted: the kills came too late to test anything" %
             (interrupted, rounds))


def kill_stage(trace, store):
    """How far a killed pack got with the checkpoint pages, for the log."""
    pages_dir = os.path.join(store, "checkpoint-pages")
    stored = os.path.isdir(pages_dir) and any(n.endswith(".pack") for n in os.listdir(pages_dir))
    names = [n for n in os.listdir(os.path.join(trace, "checkpoints")) if n.endswith(".pack")]
    links = [n for n in names if n.startswith("pages-h")]
    if not links:
        return "store packs, no link" if stored else "no store pack yet"
    return "links only" if len(links) == len(names) else "links and own packs"


def content_counts_tree(root):
    counts = {}
    for d, _, files in os.walk(root):
        for name in files:
            counts.setdefault(sha256(os.path.join(d, name)), []).append(name)
    return counts


def case_bad(tmp):
    def expect(args, rc_ok, pattern):
        r = run([ARGS.rewind, "pack"] + args)
        if not rc_ok(r.returncode) or not re.search(pattern, r.stderr):
            fail("pack %s: exit %d, stderr %r (wanted %r)" % (args, r.returncode, r.stderr, pattern))
        print("pack %s -> %d: %s" % (args, r.returncode, r.stderr.strip()))

    expect([os.path.join(tmp, "nonexistent")], lambda rc: rc == 1, "No such file")
    expect(["--frobnicate"], lambda rc: rc == 2, "unknown option")
    expect(["--pack-dir"], lambda rc: rc == 2, "needs a directory")
    empty = os.path.join(tmp, "empty")
    os.makedirs(empty)
    expect([empty], lambda rc: rc == 1, "not a rewind trace")
    trace = os.path.join(tmp, "trace")
    rec = record(trace, ["/bin/true"])
    partial = os.path.join(tmp, "partial")
    shutil.copytree(trace, partial, symlinks=True)
    os.rename(os.path.join(partial, "version"), os.path.join(partial, "incomplete"))
    expect([partial], lambda rc: rc == 1, "incomplete")
    missing = os.path.join(tmp, "missing")
    shutil.copytree(trace, missing, symlinks=True)
    victim = sorted(os.listdir(os.path.join(missing, "files")))[0]
    os.unlink(os.path.join(missing, "files", victim))
    before = tree_digest(missing)
    expect([missing], lambda rc: rc == 1, "missing")
    if tree_digest(missing) != before:
        fail("a refused pack changed the trace")
    # One bad trace among good ones: the good one is still packed.
    r = run([ARGS.rewind, "pack", missing, trace])
    if r.returncode != 1 or "already packed" in r.stdout or "->" not in r.stdout:
        fail("packing a bad and a good trace: exit %d, %r" % (r.returncode, r.stdout))
    replay_matches(trace, rec, "packed beside a bad trace")


def main():
    global ARGS
    ap = argparse.ArgumentParser()
    ap.add_argument("case")
    ap.add_argument("--rewind", required=True)
    ap.add_argument("--bin", required=True)
    ap.add_argument("--gdb", default="")
    ap.add_argument("--programs", default="", help="the folder of tests/programs, built")
    ARGS = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="rewind-pack-")
    try:
        globals()["case_" + ARGS.case](tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("PASS [pack.%s]" % ARGS.case)


if __name__ == "__main__":
    main()
