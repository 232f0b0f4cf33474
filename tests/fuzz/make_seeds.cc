// Writes the seed corpus of the fuzzers (tests/fuzz/corpus/), the same bytes
// on every run:  make_seeds CORPUS_DIR RSP_SESSIONS
//   (scripts/fuzz.sh seeds runs it).
//
// trace/: traces written by TraceWriter, in fuzz_trace's input form: a
//   complete one, the same with its events split over three blocks, as raw
//   files (compressed, so mutations hit the block layer), unfinished, and
//   an empty one. Some of its events carry buffered syscall records
//   (preload/abi.h), which seed-buffered-edits edits (fuzz_trace's edits).
// rsp/: the client side of real gdb and lldb sessions, from RSP_SESSIONS
//   (rsp_sessions.txt says how they were captured), framed as fuzz_rsp reads
//   them; and G packets with every register, made here because they are
//   too long to write by hand.
// Only files named seed-* are written; other files (crash reproducers) stay.
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "core/trace/BlockStream.h"
#include "core/trace/TraceReader.h"
#include "core/trace/TraceWriter.h"
#include "gdbstub/PacketFraming.h"
#include "gdbstub/Registers.h"
#include "preload/abi.h"

namespace fs = std::filesystem;
using namespace rwd;
using namespace rwd::trace;

namespace {

[[noreturn]] void die(const std::string& what) {
  std::cerr << "make_seeds: " << what << "\n";
  std::exit(1);
}

template <class T>
T must(Result<T> r, const char* what) {
  if (!r) die(std::string(what) + ": " + r.error().message);
  return std::move(*r);
}
void must(Result<void> r, const char* what) {
  if (!r) die(std::string(what) + ": " + r.error().message);
}

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) die("cannot read " + p.string());
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void write_file(const fs::path& p, const std::string& bytes) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << bytes;
  if (!out) die("cannot write " + p.string());
}

// ---- trace seeds

// fuzz_trace's tags (fuzz_trace.cc).
enum Tag : uint8_t {
  kVersion = 0,
  kIncomplete = 1,
  kHeader = 2,
  kMmaps = 3,
  kTasks = 4,
  kEvents = 5,
  kData = 6,
  kCapturedFile = 7,
  kEdits = 0x40,
  kRaw = 0x80,
};

void put_record(std::string& out, uint8_t tag, std::string_view bytes) {
  if (bytes.size() > 0xffff) die("a seed record is over 64 KiB; make the sample trace smaller");
  out.push_back(static_cast<char>(tag));
  out.push_back(static_cast<char>(bytes.size() & 0xff));
  out.push_back(static_cast<char>(bytes.size() >> 8));
  out.append(bytes);
}

// A stream's bytes as the reader sees them, behind the blocks.
std::string uncompressed(const fs::path& p) {
  auto in = must(BlockReader::open(p), "opening a written stream");
  std::string all;
  char c;
  while (must(in->read(&c, 1), "reading a written stream")) all.push_back(c);
  return all;
}

std::vector<uint8_t> pattern(size_t n, uint8_t seed) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<uint8_t>(i * 7 + seed);
  return v;
}

// One buffered syscall record (preload/abi.h) with these outputs, as the
// library writes it.
std::vector<uint8_t> buffered(uint32_t nr, int64_t ret, uint32_t arg0,
                              const std::vector<std::pair<uint64_t, size_t>>& outs) {
  using namespace syscallbuf;
  BufRecord rec{0, nr, ret, static_cast<uint32_t>(outs.size()), arg0};
  std::vector<uint8_t> out(sizeof rec);
  for (auto [addr, len] : outs) {
    const OutHead h{addr, len};
    const auto* hp = reinterpret_cast<const uint8_t*>(&h);
    out.insert(out.end(), hp, hp + sizeof h);
    const std::vector<uint8_t> bytes = pattern(len, static_cast<uint8_t>(nr));
    out.insert(out.end(), bytes.begin(), bytes.end());
    out.resize(out.size() + (pad8(len) - len));
  }
  rec.size = static_cast<uint32_t>(out.size());
  std::memcpy(out.data(), &rec, sizeof rec);
  return out;
}

// The buffered syscalls of sample event n: a read, a close and a failed
// read; an mmap and a recvmsg's four outputs (odd lengths, padded).
std::vector<uint8_t> sample_buffered(uint64_t n) {
  std::vector<std::vector<uint8_t>> recs;
  if (n == 3) {
    recs = {buffered(0, 5, 3, {{0x7ffd2000, 5}}), buffered(3, 0, 4, {}), buffered(0, -11, 3, {})};
  } else if (n == 8) {
    recs = {
        buffered(9, 0x7f0000200000, syscallbuf::mmap_arg0(8192, 3), {}),
        buffered(47, 3, 5, {{0x7ffd3000, 56}, {0x7ffd3100, 16}, {0x7ffd3200, 3}, {0x7ffd3300, 1}})};
  }
  std::vector<uint8_t> run;
  for (const auto& r : recs) run.insert(run.end(), r.begin(), r.end());
  return run;
}

// A small recording of every record kind: a process that maps libc, forks
// a child that execs, gets a signal, is preempted and exits.
void write_sample_trace(const fs::path& dir, const fs::path& scratch) {
  auto w = must(TraceWriter::create(dir), "creating the sample trace");
  TraceHeader h;
  for (int i = 0; i < 16; ++i) h.uuid[i] = static_cast<uint8_t>(0x10 + i);
  h.kernel = "6.1.0-28-amd64 #1 SMP PREEMPT_DYNAMIC Debian 6.1.119-1";
  h.cpuid = {{0, 0, 0xd, 0x756e6547, 0x6c65746e, 0x49656e69}, {7, 0, 0, 0x29c67af, 0, 0}};
  h.xcr0 = 0x7;
  h.argv = {"/bin/sh", "-c", "ls"};
  h.env = {"PATH=/usr/bin:/bin", "HOME=/root"};
  h.cwd = "/root";
  h.start_time_ns = 1764600000000000000;
  h.cpu_features = {"sse4_2"};
  h.record_cpu = 1;
  must(w->write_header(h), "write_header");

  // A captured file for the mapping and the exec to name.
  write_file(scratch / "libc", "\177ELF");
  FileToCapture f{"/usr/lib/x86_64-linux-gnu/libc.so.6", (scratch / "libc").string()};
  if (::stat(f.access_path.c_str(), &f.st) != 0) die("stat " + f.access_path);
  const CapturedFile libc = must(w->capture_file(f), "capture_file");

  MappingRecord anon;
  anon.event = EventNum(2);
  anon.tid = Tid(1000);
  anon.start = 0x7f0000000000;
  anon.end = 0x7f0000002000;
  anon.prot = 3;
  anon.flags = 0x22;
  must(w->write_mapping(anon), "write_mapping");
  MappingRecord lib = anon;
  lib.event = EventNum(3);
  lib.start = 0x7f0000100000;
  lib.end = 0x7f0000128000;
  lib.prot = 5;
  lib.flags = 0x802;
  lib.file_offset = 0x1000;
  lib.orig_path = f.orig_path;
  lib.trace_file = libc.trace_file;
  lib.storage = libc.storage;
  lib.dev = 0x801;
  lib.inode = 1234;
  lib.size = 4;
  lib.mtime_ns = 1700000000000000000;
  must(w->write_mapping(lib), "write_mapping");

  TaskEvent clone;
  clone.event = EventNum(4);
  clone.tid = Tid(1001);
  clone.parent_tid = Tid(1000);
  clone.clone_flags = 0x1200011;
  TaskEvent exec;
  exec.event = EventNum(6);
  exec.kind = TaskEventKind::Exec;
  exec.tid = Tid(1001);
  exec.argv = {"ls"};
  exec.exe_path = "/usr/bin/ls";
  exec.exe_trace_file = libc.trace_file;
  exec.interp_path = "/lib64/ld-linux-x86-64.so.2";
  exec.interp_trace_file = libc.trace_file;
  TaskEvent exit;
  exit.event = EventNum(9);
  exit.kind = TaskEventKind::Exit;
  exit.tid = Tid(1001);
  for (const TaskEvent& t : {clone, exec, exit}) must(w->write_task_event(t), "write_task_event");

  for (uint64_t n = 1; n <= 13; ++n) {
    Event e;
    e.num = EventNum(n);
    e.tid = Tid(n < 4 ? 1000 : 1001);
    e.kind = static_cast<EventKind>(n % 12);  // every kind
    e.regs.rip = 0x401000 + n;
    e.regs.rax = n;
    switch (e.kind) {
      case EventKind::SyscallEntry:
        e.syscall_no = 0;
        break;
      case EventKind::SyscallExit:
        e.syscall_no = 0;
        e.flags = kFlagFileWrite | kFlagStdout;
        e.file_write_dev = 0x801;
        e.file_write_inode = 1234;
        e.file_write_offset = 4096;
        e.writes = {{0x7ffd0000, pattern(40, 1)}, {0x7ffd1000, pattern(3, 2)}};
        break;
      case EventKind::Signal:
        e.signo = 11;
        e.flags = kFlagAsyncSignal;
        e.siginfo = pattern(128, 3);
        break;
      case EventKind::Rdtsc:
        e.tsc = 0x123456789a;
        e.tsc_aux = 1;
        e.rdtscp = true;
        break;
      case EventKind::Cpuid:
        e.cpuid_out = {0xd, 0x756e6547, 0x6c65746e, 0x49656e69};
        break;
      case EventKind::Rdrand:
        e.random = 0x0123456789abcdef;
        break;
      case EventKind::Exit:
        e.exit_status = 0x100;
        break;
      case EventKind::BatonGive:
        break;
      case EventKind::Preempt:
        e.state_hash = pattern(32, 4);
        e.loop_words = {{0x601000, 7}};
        e.loop_regs = 0x3;
        e.flags = kFlagHasUserTime;
        e.user_time_ms = 12;
        break;
      case EventKind::PtraceStop:
        e.exit_status = 0x80137f >> 8;  // a seized tracee's group-stop
        e.flags = kFlagPtraceEntry;
        break;
      case EventKind::PtraceResume:
        e.signo = 10;
        e.flags = kFlagPtraceStep;
        e.siginfo = pattern(128, 5);
        break;
      case EventKind::PtraceWrite:
        e.flags = kFlagPtraceRegs;
        e.writes = {{0x601000, pattern(8, 6)}};
        break;
    }
    e.syscallbuf = sample_buffered(n);
    must(w->write_event(e), "write_event");
  }
  must(w->close(), "closing the sample trace");
}

// The trace at `dir` as one fuzz_trace input. `events_pieces` > 1 splits
// the events stream over that many blocks; `raw` copies the files as they
// are; `marker` is version or incomplete.
std::string trace_input(const fs::path& dir, Tag marker, int events_pieces, bool raw) {
  std::string out;
  put_record(out, marker, read_file(dir / "version"));
  for (auto [tag, name] : {std::pair{kHeader, "header"},
                           {kMmaps, "mmaps"},
                           {kTasks, "tasks"},
                           {kEvents, "events"},
                           {kData, "data"}}) {
    if (raw) {
      put_record(out, tag | kRaw, read_file(dir / name));
      continue;
    }
    const std::string bytes = uncompressed(dir / name);
    const int pieces = tag == kEvents ? events_pieces : 1;
    for (int i = 0; i < pieces; ++i) {
      const size_t from = bytes.size() * i / pieces, to = bytes.size() * (i + 1) / pieces;
      put_record(out, tag, std::string_view(bytes).substr(from, to - from));
    }
  }
  for (const auto& entry : fs::directory_iterator(dir / "files"))
    put_record(out, kCapturedFile, entry.path().filename().string());
  return out;
}

void write_trace_seeds(const fs::path& out) {
  char tmpl[] = "/tmp/rewind-make-seeds-XXXXXX";
  if (!::mkdtemp(tmpl)) die("mkdtemp");
  const fs::path tmp = tmpl;
  write_sample_trace(tmp / "sample", tmp);
  write_file(out / "seed-complete", trace_input(tmp / "sample", kVersion, 1, false));
  write_file(out / "seed-events-in-3-blocks", trace_input(tmp / "sample", kVersion, 3, false));
  write_file(out / "seed-raw-files", trace_input(tmp / "sample", kVersion, 1, true));
  write_file(out / "seed-incomplete", trace_input(tmp / "sample", kIncomplete, 1, false));
  // Edits (fuzz_trace.cc, apply_edit) that keep event 3's first record
  // well formed, or not: its size + 8, its first output's length 0x2000,
  // event 8's second record's nouts + 1, its third output's address
  // 0x7fffffff. libFuzzer's mutations of these reach the other fields.
  const std::string edits(
      "\x03\x00\x08\x40"
      "\x03\x06\x00\xe0"
      "\x08\x0b\x01\x40"
      "\x08\x35\x05\x00",
      16);
  std::string with_edits = trace_input(tmp / "sample", kVersion, 1, false);
  put_record(with_edits, kEdits, edits);
  write_file(out / "seed-buffered-edits", with_edits);

  auto w = must(TraceWriter::create(tmp / "empty"), "creating the empty trace");
  must(w->write_header(TraceHeader{}), "write_header");
  must(w->close(), "closing the empty trace");
  write_file(out / "seed-empty", trace_input(tmp / "empty", kVersion, 1, false));
  fs::remove_all(tmp);
}

// ---- RSP seeds

// "\xNN" escapes to bytes; the rest as it is.
std::string unescape_line(const std::string& line) {
  std::string out;
  for (size_t i = 0; i < line.size(); ++i) {
    if (line.compare(i, 2, "\\x") == 0 && i + 3 < line.size()) {
      out.push_back(static_cast<char>(std::stoi(line.substr(i + 2, 2), nullptr, 16)));
      i += 3;
    } else {
      out.push_back(line[i]);
    }
  }
  return out;
}

// rsp_sessions.txt: "== NAME FLAGS" starts a session, each further line is
// a packet body as the client sent it ("\xNN" for other bytes), "^C" for
// the interrupt byte, or "!" and bytes to send unframed (acks, line noise,
// broken frames). The client acks each reply until the session has asked
// for no-ack mode.
void write_rsp_seeds(const fs::path& out, const fs::path& sessions) {
  std::ifstream in(sessions);
  if (!in) die("cannot read " + sessions.string());
  std::string name, seed;
  bool acks = true;
  auto flush = [&] {
    if (!name.empty()) write_file(out / ("seed-" + name), seed);
  };
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line.starts_with('#')) continue;
    if (line.starts_with("== ")) {
      flush();
      const size_t space = line.find(' ', 3);
      name = line.substr(3, space - 3);
      const int flags = space == std::string::npos ? 0 : std::stoi(line.substr(space + 1));
      seed = std::string(1, static_cast<char>(flags));
      acks = !(flags & 1);
      continue;
    }
    if (name.empty()) die(sessions.string() + ": a packet before the first '== NAME' line");
    if (line == "^C") {
      seed += "\x03\n";
      continue;
    }
    if (line.starts_with('!')) {
      seed += unescape_line(line.substr(1)) + "\n";
      continue;
    }
    const std::string body = unescape_line(line);
    seed += gdbstub::frame_packet(body);
    if (acks) seed += "+";
    seed += "\n";
    if (body == "QStartNoAckMode") acks = false;
  }
  flush();
}

// Writes of the whole register file, the right size and too short: too
// long to write by hand.
//
// No seed holds a frame over PacketSize (64 KiB): libFuzzer would then make
// inputs up to that size, which halved fuzz_rsp's speed. The unit test
// oversize_packet_is_rejected_not_buffered covers such frames.
void write_generated_rsp_seeds(const fs::path& out) {
  using gdbstub::frame_packet;
  target::RegisterFile regs;
  regs.gp.rip = 0x401004;
  regs.gp.rsp = 0x7ffd0000;
  regs.fp.mxcsr = 0x1f80;
  regs.has_avx = true;
  const std::string all = gdbstub::encode_all_registers(regs, /*with_avx=*/true);
  std::string seed(1, '\1');  // no-ack: the server's acks are not the point here
  for (const std::string& body :
       {std::string("Hg101"), "G" + all, std::string("g"), "G" + all.substr(0, all.size() / 2)})
    seed += frame_packet(body) + "\n";
  write_file(out / "seed-all-registers", seed);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) die("usage: make_seeds CORPUS_DIR RSP_SESSIONS");
  const fs::path corpus = argv[1];
  fs::create_directories(corpus / "trace");
  fs::create_directories(corpus / "rsp");
  write_trace_seeds(corpus / "trace");
  write_rsp_seeds(corpus / "rsp", argv[2]);
  write_generated_rsp_seeds(corpus / "rsp");
  return 0;
}
