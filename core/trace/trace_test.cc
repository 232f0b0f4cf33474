// Unit tests for the trace library: round trips, and every way a block stream
// or trace directory can be broken that the reader promises to report.
#define BOOST_TEST_MODULE trace
#include <blake2.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <boost/test/unit_test.hpp>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include "core/trace/test_files.h"

#include "core/trace/BlockStream.h"
#include "core/trace/TraceReader.h"
#include "core/trace/TraceWriter.h"

namespace fs = std::filesystem;
using namespace rwd;
using namespace rwd::trace;

// Fails the test case with the Error's message when `r` is an Error.
#define REQUIRE_OK(r) \
  BOOST_REQUIRE_MESSAGE((r).ok(), ((r).ok() ? std::string() : (r).error().message))

namespace {

using test::read_file;
using test::write_file;
struct TempDir : test::TempDir {
  TempDir() : test::TempDir("rewind-trace-test") {}
};

std::vector<uint8_t> pattern(size_t n, uint32_t seed) {
  std::vector<uint8_t> v(n);
  // Low-entropy enough to compress, varied enough that an offset bug shows.
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<uint8_t>((i * 7 + seed) ^ (i >> 9));
  return v;
}

using test::check_error;

TraceHeader sample_header() {
  TraceHeader h;
  for (int i = 0; i < 16; ++i) h.uuid[i] = static_cast<uint8_t>(0xa0 + i);
  h.kernel = "6.1.0 #1 SMP";
  h.cpuid = {{0, 0, 0xd, 0x756e6547, 0x6c65746e, 0x49656e69}, {7, 1, 1, 2, 3, 4}};
  h.xcr0 = 0x2e7;
  h.argv = {"/bin/echo", "hi", std::string("\xff\xfe", 2)};
  h.env = {"A=1", "PATH=/usr/bin"};
  h.cwd = "/home/u/\x01odd";
  h.start_time_ns = 1700000000123456789;
  h.cpuid_faulting = true;
  h.cpu_features = {"sse4_2", "avx2"};
  h.record_cpu = 3;
  h.syscall_filter = true;
  h.clears_signal_frames = true;
  h.ignored_signals = 1ull << 12;  // SIGPIPE
  return h;
}

Event sample_event(uint64_t num, EventKind kind) {
  Event e;
  e.num = EventNum(num);
  e.time_ns = 5000 + num;
  e.tid = Tid(100 + static_cast<pid_t>(num % 3));
  e.kind = kind;
  e.regs.rax = num * 11;
  e.regs.rip = 0x401000 + num;
  e.regs.orig_rax = 0;
  e.regs.gs = 0x1234;
  e.syscall_no = kind == EventKind::SyscallExit ? 0 : -1;
  e.signo = kind == EventKind::Signal ? 11 : 0;
  if (kind == EventKind::Signal) e.siginfo = pattern(128, 3);
  e.tsc = 0x123456789abcull * num;
  e.tsc_aux = 7;
  e.rdtscp = num % 2;
  e.cpuid_out = {1, 2, 3, static_cast<uint32_t>(num)};
  e.exit_status = kind == EventKind::Exit ? 0x100 : 0;
  e.flags = kFlagExecutedInReplay;
  if (kind == EventKind::Preempt) {
    e.state_hash = pattern(32, 5);
    e.loop_words = {{0x4090 + num, num * 3}, {0x7ffff000, ~0ull}};
    e.loop_regs = 0x8041;
    e.flags |= kFlagHasUserTime;
    e.user_time_ms = 1234 + num;
  }
  if (kind == EventKind::SyscallExit && num % 2 == 1) {
    e.flags |= kFlagFileWrite;
    e.file_write_dev = 0x803;
    e.file_write_inode = 1000 + num;
    e.file_write_offset = 4096 * num;
  }
  return e;
}

void check_same_event(const Event& a, const Event& b) {
  BOOST_CHECK_EQUAL(a.num.value, b.num.value);
  BOOST_CHECK_EQUAL(a.tid.value, b.tid.value);
  BOOST_CHECK(a.kind == b.kind);
  BOOST_CHECK(std::memcmp(&a.regs, &b.regs, sizeof(a.regs)) == 0);
  BOOST_CHECK_EQUAL(a.syscall_no, b.syscall_no);
  BOOST_CHECK_EQUAL(a.signo, b.signo);
  BOOST_CHECK(a.siginfo == b.siginfo);
  BOOST_CHECK_EQUAL(a.tsc, b.tsc);
  BOOST_CHECK_EQUAL(a.tsc_aux, b.tsc_aux);
  BOOST_CHECK_EQUAL(a.rdtscp, b.rdtscp);
  BOOST_CHECK(a.cpuid_out == b.cpuid_out);
  BOOST_CHECK_EQUAL(a.exit_status, b.exit_status);
  BOOST_CHECK_EQUAL(a.flags, b.flags);
  BOOST_CHECK_EQUAL(a.file_write_dev, b.file_write_dev);
  BOOST_CHECK_EQUAL(a.file_write_inode, b.file_write_inode);
  BOOST_CHECK_EQUAL(a.file_write_offset, b.file_write_offset);
  BOOST_CHECK(a.state_hash == b.state_hash);
  BOOST_CHECK(a.loop_words == b.loop_words);
  BOOST_CHECK_EQUAL(a.loop_regs, b.loop_regs);
  BOOST_CHECK_EQUAL(a.user_time_ms, b.user_time_ms);
  BOOST_CHECK_EQUAL(a.time_ns, b.time_ns);
  BOOST_REQUIRE_EQUAL(a.writes.size(), b.writes.size());
  for (size_t i = 0; i < a.writes.size(); ++i) BOOST_CHECK(a.writes[i] == b.writes[i]);
}

// Writes a minimal closed trace; `fill` adds records before close().
template <class F>
void write_trace(const fs::path& dir, F&& fill) {
  auto w = TraceWriter::create(dir);
  REQUIRE_OK(w);
  BOOST_REQUIRE((*w)->write_header(sample_header()).ok());
  fill(**w);
  auto closed = (*w)->close();
  REQUIRE_OK(closed);
}

// Writes `n` bytes as one block stream and returns its bytes.
std::string block_file(const fs::path& path, size_t n) {
  auto w = BlockWriter::create(path);
  BOOST_REQUIRE(w.ok());
  auto data = pattern(n, 1);
  BOOST_REQUIRE((*w)->append(data.data(), data.size()).ok());
  BOOST_REQUIRE((*w)->finish().ok());
  return read_file(path);
}

// Reads the whole stream in odd-sized pieces; returns the first error.
Result<std::vector<uint8_t>> read_stream(const fs::path& path) {
  auto r = BlockReader::open(path);
  if (!r) return r.error();
  std::vector<uint8_t> all;
  uint8_t buf[4093];
  for (;;) {
    auto got = (*r)->read(buf, sizeof(buf));
    if (!got) return got.error();
    if (!*got) break;
    all.insert(all.end(), buf, buf + sizeof(buf));
  }
  return all;
}

}  // namespace

BOOST_AUTO_TEST_CASE(block_stream_roundtrip_spans_blocks) {
  TempDir t;
  const fs::path p = t.path / "s";
  const size_t n = 4093 * 700;  // about 2.7 MiB: three blocks, reads straddle them
  block_file(p, n);
  auto r = BlockReader::open(p);
  BOOST_REQUIRE(r.ok());
  std::vector<uint8_t> back(n);
  BOOST_REQUIRE(*(*r)->read(back.data(), 10));
  BOOST_REQUIRE(*(*r)->read(back.data() + 10, n - 10));  // one read across every block
  BOOST_CHECK(back == pattern(n, 1));
  BOOST_CHECK((*r)->at_end());
  uint8_t b;
  auto end = (*r)->read(&b, 1);
  BOOST_REQUIRE(end.ok());
  BOOST_CHECK(!*end);
  // A record cut by the end of the stream is an error, not a clean end.
  auto r2 = BlockReader::open(p);
  BOOST_REQUIRE((*r2)->read(back.data(), n - 1).ok());
  uint8_t two[2];
  check_error((*r2)->read(two, 2), {p.string(), "ends inside a record"});
}

BOOST_AUTO_TEST_CASE(block_stream_truncation) {
  TempDir t;
  const fs::path good = t.path / "good";
  const std::string bytes = block_file(good, (1 << 20) + 5000);  // two blocks
  const size_t first_block = 20 + (bytes[8] & 0xff) + ((bytes[9] & 0xff) << 8) +
                             ((bytes[10] & 0xff) << 16) + ((bytes[11] & 0xff) << 24);
  BOOST_REQUIRE_LT(first_block, bytes.size());
  struct Cut {
    size_t at;
    const char* says;
  } cuts[] = {
      {5, "truncated block header"},
      {19, "truncated block header"},
      {20, "truncated block body"},
      {100, "truncated block body"},
      {first_block - 1, "truncated block body"},
      {first_block + 3, "truncated block header"},
      {bytes.size() - 1, "truncated block body"},
  };
  for (const Cut& c : cuts) {
    const fs::path p = t.path / ("cut" + std::to_string(c.at));
    write_file(p, bytes.substr(0, c.at));
    const size_t block_at = c.at < first_block ? 0 : first_block;
    check_error(read_stream(p), {p.string(), c.says, "offset " + std::to_string(block_at)});
  }
  // Cut exactly between blocks: a clean, shorter stream.
  const fs::path p = t.path / "between";
  write_file(p, bytes.substr(0, first_block));
  auto r = BlockReader::open(p);
  std::vector<uint8_t> first(1 << 20);
  BOOST_REQUIRE(*(*r)->read(first.data(), first.size()));
  BOOST_CHECK((*r)->at_end());
}

BOOST_AUTO_TEST_CASE(block_stream_corruption) {
  TempDir t;
  const std::string bytes = block_file(t.path / "good", 300000);

  std::string flipped = bytes;
  flipped[40] ^= 0x10;  // inside the compressed data
  write_file(t.path / "flipped", flipped);
  check_error(read_stream(t.path / "flipped"), {(t.path / "flipped").string(), "checksum"});

  std::string magic = bytes;
  magic[0] = 'X';
  write_file(t.path / "magic", magic);
  check_error(read_stream(t.path / "magic"), {"bad block magic", "offset 0"});

  write_file(t.path / "garbage", "this is not a rewind block stream at all, just text\n");
  check_error(read_stream(t.path / "garbage"), {(t.path / "garbage").string(), "magic"});

  std::string big = bytes;
  big[6] = 0x20;  // uncompressed size += 2 MiB
  write_file(t.path / "big", big);
  check_error(read_stream(t.path / "big"), {"uncompressed size", "out of range"});

  std::string csize = bytes;
  csize[11] = 0x7f;
  write_file(t.path / "csize", csize);
  check_error(read_stream(t.path / "csize"), {"compressed size", "out of range"});

  // A block whose checksum is right but whose body is not LZ4.
  std::string body(64, '\xff');
  uint8_t sum[8];
  BOOST_REQUIRE_EQUAL(blake2b(sum, body.data(), nullptr, 8, body.size(), 0), 0);
  std::string bad = "RWB1";
  bad += std::string("\x00\x10\x00\x00", 4) + std::string("\x40\x00\x00\x00", 4);
  bad += std::string(reinterpret_cast<char*>(sum), 8) + body;
  write_file(t.path / "lz4", bad);
  check_error(read_stream(t.path / "lz4"), {"decompression failed"});
}

BOOST_AUTO_TEST_CASE(trace_roundtrip) {
  TempDir t;
  const fs::path dir = t.path / "trace";
  std::vector<Event> events;
  for (uint64_t i = 1; i <= 40; ++i) {
    Event e = sample_event(i, static_cast<EventKind>(i % 7));
    if (i % 6 == 1) e.writes.push_back({0x7ffd0000 + i, pattern(i * 13, i)});
    if (i == 7) {
      // Larger than a block, and several per event: bytes must stay in order.
      e.writes.push_back({0x10000, pattern(3 * (1 << 20) + 17, 9)});
      e.writes.push_back({0x20000, {}});
      e.writes.push_back({0x30000, pattern((1 << 20) + 1, 10)});
    }
    events.push_back(std::move(e));
  }
  MappingRecord m;
  m.event = EventNum(3);
  m.tid = Tid(100);
  m.start = 0x7f0000000000;
  m.end = 0x7f0000021000;
  m.prot = 5;
  m.flags = 2;
  m.file_offset = 0x1000;
  m.orig_path = "/usr/lib/\xe9t\xe9.so";
  m.storage = FileStorage::Copied;
  m.dev = 2049;
  m.inode = 77;
  m.size = 4;
  m.mtime_ns = 1600000000000000001;
  TaskEvent clone, exec, exit;
  clone.event = EventNum(5);
  clone.tid = Tid(101);
  clone.parent_tid = Tid(100);
  clone.clone_flags = 0x11;
  exec.event = EventNum(6);
  exec.kind = TaskEventKind::Exec;
  exec.tid = Tid(101);
  exec.argv = {"ls", "-l"};
  exec.exe_path = "/bin/ls";
  exec.interp_path = "/lib64/ld-linux-x86-64.so.2";
  exit.event = EventNum(40);
  exit.kind = TaskEventKind::Exit;
  exit.tid = Tid(101);
  exit.exit_status = 9;

  write_trace(dir, [&](TraceWriter& w) {
    write_file(t.path / "lib", "ELF!");
    FileToCapture f{m.orig_path, (t.path / "lib").string()};
    BOOST_REQUIRE(::stat(f.access_path.c_str(), &f.st) == 0);
    auto c = w.capture_file(f);
    BOOST_REQUIRE(c.ok());
    m.trace_file = c->trace_file;
    BOOST_REQUIRE(w.write_mapping(m).ok());
    for (const auto& te : {clone, exec, exit}) BOOST_REQUIRE(w.write_task_event(te).ok());
    for (const auto& e : events) BOOST_REQUIRE(w.write_event(e).ok());
  });

  BOOST_CHECK_EQUAL(read_file(dir / "version"),
                    "rewind-trace " + std::to_string(kFormatVersion) + "\n");
  BOOST_CHECK(!fs::exists(dir / "incomplete"));
  BOOST_CHECK((fs::status(dir).permissions() & fs::perms::all) == fs::perms::owner_all);
  auto r = TraceReader::open(dir);
  REQUIRE_OK(r);
  // close() added the mapped files the events wrote into to the header.
  TraceHeader want = sample_header();
  for (const auto& e : events)
    if (e.flags & kFlagFileWrite)
      want.written_files.emplace_back(e.file_write_dev, e.file_write_inode);
  std::sort(want.written_files.begin(), want.written_files.end());
  BOOST_CHECK(!want.written_files.empty());
  BOOST_CHECK((*r)->header() == want);
  BOOST_REQUIRE_EQUAL((*r)->mappings().size(), 1u);
  BOOST_CHECK((*r)->mappings()[0] == m);
  BOOST_CHECK_EQUAL(read_file((*r)->file_path(m.trace_file)), "ELF!");
  BOOST_REQUIRE_EQUAL((*r)->task_events().size(), 3u);
  BOOST_CHECK((*r)->task_events()[0] == clone);
  BOOST_CHECK((*r)->task_events()[1] == exec);
  BOOST_CHECK((*r)->task_events()[2] == exit);
  for (const Event& want : events) {
    auto got = (*r)->next_event();
    REQUIRE_OK(got);
    BOOST_REQUIRE(got->has_value());
    check_same_event(**got, want);
  }
  auto end = (*r)->next_event();
  BOOST_REQUIRE(end.ok());
  BOOST_CHECK(!end->has_value());
}

// A record over 1 MiB (an event with 150,000 writes) is read in pieces and
// must come back whole.
BOOST_AUTO_TEST_CASE(large_record_round_trip) {
  TempDir t;
  Event e = sample_event(1, EventKind::SyscallExit);
  for (uint64_t i = 0; i < 150000; ++i) e.writes.push_back({0x10000 + 2 * i, {uint8_t(i)}});
  write_trace(t.path / "big", [&](TraceWriter& w) { BOOST_REQUIRE(w.write_event(e).ok()); });
  auto r = TraceReader::open(t.path / "big");
  REQUIRE_OK(r);
  auto got = (*r)->next_event();
  REQUIRE_OK(got);
  BOOST_REQUIRE(got->has_value());
  BOOST_REQUIRE((*got)->writes.size() == e.writes.size());
  BOOST_TEST((*got)->writes.back().addr == e.writes.back().addr);
  BOOST_TEST((*got)->writes.back().bytes == e.writes.back().bytes);
}

// Event n of the streamed-trace tests, with one write of its own, and the
// mapping recorded with it.
static Event numbered_event(uint64_t n, size_t base) {
  Event e = sample_event(n, EventKind::SyscallExit);
  e.writes.push_back({0x7000 + n, pattern(base + n, static_cast<uint32_t>(n))});
  return e;
}
static MappingRecord mapping_of_event(uint64_t n) {
  MappingRecord m;
  m.event = EventNum(n);
  m.start = 0x10000 * n;
  m.end = m.start + 0x1000;
  return m;
}

// What a recorder killed at any point leaves: the streams as flush() wrote
// them, cut anywhere in the last bytes. ReadPrefix must give back exactly the
// events whose record and data are complete, in order, and the mappings up
// to the last of them.
BOOST_AUTO_TEST_CASE(killed_recording_reads_to_last_complete_event) {
  TempDir t;
  const fs::path dir = t.path / "killed";
  auto w = TraceWriter::create(dir);
  REQUIRE_OK(w);
  BOOST_REQUIRE((*w)->write_header(sample_header()).ok());
  auto event = [](uint64_t n) { return numbered_event(n, 3000); };
  for (uint64_t n = 1; n <= 40; ++n) {
    BOOST_REQUIRE((*w)->write_event(event(n)).ok());
    BOOST_REQUIRE((*w)->write_mapping(mapping_of_event(n)).ok());
    if (n == 25) BOOST_REQUIRE((*w)->flush().ok());
  }
  BOOST_REQUIRE((*w)->flush().ok());
  // Events 41.. are only in memory when the recorder dies.
  BOOST_REQUIRE((*w)->write_event(event(41)).ok());

  // While the writer lives, the trace is still being recorded.
  check_error(TraceReader::open(dir), {"still being recorded"});
  auto live = TraceReader::open(dir, IncompleteTraces::ReadPrefix);
  REQUIRE_OK(live);
  BOOST_REQUIRE((*live)->incomplete().has_value());
  BOOST_TEST((*live)->incomplete()->still_recording);
  BOOST_TEST((*live)->incomplete()->last_event == 40u);

  // Snapshots of the streams with their ends cut, as a kill mid-write would.
  const std::string events = read_file(dir / "events"), data = read_file(dir / "data");
  for (size_t cut : {size_t{1}, size_t{7}, size_t{100}, events.size() / 3}) {
    const fs::path snap = t.path / ("cut" + std::to_string(cut));
    fs::create_directory(snap);
    for (const char* f : {"header", "incomplete", "mmaps", "tasks"})
      fs::copy_file(dir / f, snap / f);
    fs::create_directory(snap / "files");
    write_file(snap / "events", events.substr(0, events.size() - cut));
    write_file(snap / "data", data.substr(0, data.size() - cut / 2));
    auto r = TraceReader::open(snap, IncompleteTraces::ReadPrefix);
    REQUIRE_OK(r);
    const auto& end = (*r)->incomplete();
    BOOST_REQUIRE(end.has_value());
    BOOST_TEST(!end->still_recording);
    BOOST_TEST_MESSAGE("cut " << cut << ": " << describe(*end));
    uint64_t n = 0;
    for (;;) {
      auto e = (*r)->next_event();
      REQUIRE_OK(e);
      if (!*e) break;
      ++n;
      BOOST_REQUIRE((*e)->num.value == n);
      BOOST_REQUIRE((*e)->writes.size() == 1);
      BOOST_REQUIRE((*e)->writes[0].bytes == event(n).writes[0].bytes);
    }
    BOOST_TEST(n == end->events);
    BOOST_TEST(end->last_event == n);
    // The flush after event 25 wrote a block boundary: at least that much
    // survives a cut inside the last block.
    BOOST_TEST(n >= 25u);
    BOOST_TEST(n < 40u);
    for (const MappingRecord& m : (*r)->mappings()) BOOST_TEST(m.event.value <= n);
    check_error(TraceReader::open(snap), {"did not finish cleanly"});
  }

  // `data` behind `events` (a full events block went out on its own): the
  // events whose bytes are missing are not part of the trace.
  const fs::path behind = t.path / "behind";
  fs::create_directory(behind);
  for (const char* f : {"header", "incomplete", "mmaps", "tasks", "events"})
    fs::copy_file(dir / f, behind / f);
  fs::create_directory(behind / "files");
  write_file(behind / "data", data.substr(0, data.size() / 3));
  auto r = TraceReader::open(behind, IncompleteTraces::ReadPrefix);
  REQUIRE_OK(r);
  uint64_t n = 0;
  for (;;) {
    auto e = (*r)->next_event();
    REQUIRE_OK(e);
    if (!*e) break;
    BOOST_REQUIRE((*e)->writes[0].bytes == event(++n).writes[0].bytes);
  }
  BOOST_TEST(n == (*r)->incomplete()->events);
  BOOST_TEST(n < 25u);
}

// A reader that follows a recording (record --checkpoint-interval):
// catch_up() takes in each flush, events with their data and mappings, a
// torn tail stays out until it is whole, and once the writer closes the
// trace the reader says the recording is over.
BOOST_AUTO_TEST_CASE(reader_catches_up_with_a_live_recording) {
  TempDir t;
  const fs::path dir = t.path / "live";
  auto w = TraceWriter::create(dir);
  REQUIRE_OK(w);
  BOOST_REQUIRE((*w)->write_header(sample_header()).ok());
  auto event = [](uint64_t n) { return numbered_event(n, 5000); };
  auto write = [&](uint64_t from, uint64_t to) {
    for (uint64_t n = from; n <= to; ++n) {
      BOOST_REQUIRE((*w)->write_event(event(n)).ok());
      BOOST_REQUIRE((*w)->write_mapping(mapping_of_event(n)).ok());
    }
  };
  uint64_t read = 0;
  auto read_all_now = [&](TraceReader& r) {
    for (;;) {
      auto e = r.next_event();
      REQUIRE_OK(e);
      if (!*e) break;
      BOOST_REQUIRE((*e)->num.value == ++read);
      BOOST_REQUIRE((*e)->writes.at(0).bytes == event(read).writes[0].bytes);
    }
  };

  auto r = TraceReader::open(dir, IncompleteTraces::ReadPrefix);  // nothing written yet
  REQUIRE_OK(r);
  BOOST_TEST((*r)->incomplete()->events == 0u);
  auto grew = (*r)->catch_up();
  REQUIRE_OK(grew);
  BOOST_TEST(!*grew);

  write(1, 30);
  BOOST_REQUIRE((*w)->flush().ok());
  grew = (*r)->catch_up();
  REQUIRE_OK(grew);
  BOOST_TEST(*grew);
  read_all_now(**r);
  BOOST_TEST(read == 30u);
  BOOST_TEST((*r)->mappings().size() == 30u);
  BOOST_TEST((*r)->incomplete()->still_recording);

  // A torn block at the end (a flush half written): not taken in yet.
  write(31, 60);
  BOOST_REQUIRE((*w)->flush().ok());
  // (In place, as the recorder appends: the reader holds the file open.)
  const std::string events = read_file(dir / "events");
  write_file(dir / "events", events.substr(0, events.size() - 9));
  grew = (*r)->catch_up();
  REQUIRE_OK(grew);
  BOOST_TEST(!*grew);
  write_file(dir / "events", events);
  grew = (*r)->catch_up();
  REQUIRE_OK(grew);
  BOOST_TEST(*grew);
  read_all_now(**r);
  BOOST_TEST(read == 60u);
  for (const MappingRecord& m : (*r)->mappings()) BOOST_TEST(m.event.value <= 60u);

  // The recording ends: the rest, and then no more.
  write(61, 70);
  BOOST_REQUIRE((*w)->close().ok());
  grew = (*r)->catch_up();
  REQUIRE_OK(grew);
  BOOST_TEST(*grew);
  BOOST_TEST(!(*r)->incomplete()->still_recording);
  read_all_now(**r);
  BOOST_TEST(read == 70u);
  BOOST_TEST((*r)->mappings().size() == 70u);
  grew = (*r)->catch_up();
  REQUIRE_OK(grew);
  BOOST_TEST(!*grew);
}

BOOST_AUTO_TEST_CASE(trace_version_and_incomplete) {
  TempDir t;
  const std::string newer = std::to_string(kFormatVersion + 1);
  write_trace(t.path / "v2", [](TraceWriter&) {});
  write_file(t.path / "v2" / "version", "rewind-trace " + newer + "\n");
  check_error(
      TraceReader::open(t.path / "v2"),
      {"trace format version " + newer + ", this rewind reads " + std::to_string(kFormatVersion)});

  check_error(TraceReader::open(t.path / "nope"), {(t.path / "nope").string()});

  {
    auto w = TraceWriter::create(t.path / "live");
    BOOST_REQUIRE(w.ok());
    BOOST_REQUIRE((*w)->write_header(sample_header()).ok());
    check_error(TraceReader::open(t.path / "live"), {"still being recorded"});
  }  // destroyed without close(), as when the recorder dies
  check_error(TraceReader::open(t.path / "live"),
              {"trace " + (t.path / "live").string() +
               " is incomplete: the recording did not finish cleanly"});

  // create() accepts an empty directory and refuses a used one.
  fs::create_directory(t.path / "empty");
  BOOST_CHECK(TraceWriter::create(t.path / "empty").ok());
  check_error(TraceWriter::create(t.path / "v2"), {"not empty"});
}

BOOST_AUTO_TEST_CASE(trace_corrupt_records) {
  TempDir t;
  // A block-valid frame holding garbage instead of a capnp message.
  write_trace(t.path / "bad", [](TraceWriter&) {});
  {
    auto w = BlockWriter::create(t.path / "bad" / "events");
    const uint8_t frame[4 + 32] = {4, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    BOOST_REQUIRE((*w)->append(frame, sizeof(frame)).ok());
    BOOST_REQUIRE((*w)->finish().ok());
  }
  auto r = TraceReader::open(t.path / "bad");
  BOOST_REQUIRE(r.ok());
  check_error((*r)->next_event(), {"events", "record 1"});

  // A frame length beyond any real message.
  write_trace(t.path / "long", [](TraceWriter&) {});
  {
    auto w = BlockWriter::create(t.path / "long" / "tasks");
    const uint8_t frame[4] = {0xff, 0xff, 0xff, 0x7f};
    BOOST_REQUIRE((*w)->append(frame, sizeof(frame)).ok());
    BOOST_REQUIRE((*w)->finish().ok());
  }
  check_error(TraceReader::open(t.path / "long"), {"tasks", "out of range"});

  // Garbage header: an error, never a crash.
  write_trace(t.path / "hdr", [](TraceWriter&) {});
  write_file(t.path / "hdr" / "header", std::string(64, '\x7f'));
  check_error(TraceReader::open(t.path / "hdr"), {"header"});

  // Bytes in `data` that no event claims.
  write_trace(t.path / "extra", [](TraceWriter& w) {
    Event e = sample_event(1, EventKind::SyscallExit);
    e.writes.push_back({0x1000, pattern(100, 1)});
    BOOST_REQUIRE(w.write_event(e).ok());
  });
  std::string data = read_file(t.path / "extra" / "data");
  write_file(t.path / "extra" / "data", data + block_file(t.path / "more", 10));
  auto rx = TraceReader::open(t.path / "extra");
  BOOST_REQUIRE(rx.ok());
  BOOST_REQUIRE((*rx)->next_event().ok());
  check_error((*rx)->next_event(), {"past the last event"});
}

// Mutated messages behind valid block checksums (a buggy writer, or a
// hostile file) must come back as Errors or as values, never as a crash.
BOOST_AUTO_TEST_CASE(trace_mutated_messages_do_not_crash) {
  TempDir t;
  const fs::path dir = t.path / "tr";
  write_trace(dir, [](TraceWriter& w) {
    for (uint64_t i = 1; i <= 3; ++i) {
      Event e = sample_event(i, EventKind::SyscallExit);
      e.writes.push_back({0x1000 * i, pattern(50, 1)});
      BOOST_REQUIRE(w.write_event(e).ok());
    }
    TaskEvent te;
    te.argv = {"a", "b"};
    BOOST_REQUIRE(w.write_task_event(te).ok());
  });
  auto uncompressed = [](const fs::path& p) {
    auto r = BlockReader::open(p);
    std::vector<uint8_t> all;
    uint8_t b;
    while (*(*r)->read(&b, 1)) all.push_back(b);
    return all;
  };
  const std::vector<uint8_t> events = uncompressed(dir / "events");
  const std::vector<uint8_t> tasks = uncompressed(dir / "tasks");
  const std::string header = read_file(dir / "header");
  uint32_t seed = 12345;
  auto next = [&] { return seed = seed * 1103515245 + 12345; };
  int errors = 0;
  for (int round = 0; round < 300; ++round) {
    // Leaves the first frame's length alone, so that capnp sees the damage.
    auto mutate = [&](std::vector<uint8_t> v, const fs::path& p) {
      for (int k = 0; k < 3; ++k) v[4 + next() % (v.size() - 4)] = uint8_t(next() >> 16);
      auto w = BlockWriter::create(p);
      BOOST_REQUIRE((*w)->append(v.data(), v.size()).ok());
      BOOST_REQUIRE((*w)->finish().ok());
    };
    mutate(events, dir / "events");
    mutate(tasks, dir / "tasks");
    std::string h = header;
    h[next() % h.size()] ^= static_cast<char>(1 + next() % 255);
    write_file(dir / "header", round % 2 ? h : header);
    auto r = TraceReader::open(dir);
    if (!r.ok()) {
      ++errors;
      continue;
    }
    for (int i = 0; i < 10; ++i) {
      auto e = (*r)->next_event();
      if (!e.ok()) ++errors;
      if (!e.ok() || !e->has_value()) break;
    }
  }
  BOOST_CHECK_GT(errors, 0);  // the mutations were noticed at least sometimes
}

BOOST_AUTO_TEST_CASE(trace_missing_captured_file) {
  TempDir t;
  std::string name;
  write_trace(t.path / "tr", [&](TraceWriter& w) {
    write_file(t.path / "f", "x");
    FileToCapture f{"/tmp/f", (t.path / "f").string()};
    BOOST_REQUIRE(::stat(f.access_path.c_str(), &f.st) == 0);
    MappingRecord m;
    auto c = w.capture_file(f);
    BOOST_REQUIRE(c.ok());
    name = m.trace_file = c->trace_file;
    m.storage = c->storage;
    BOOST_REQUIRE(w.write_mapping(m).ok());
  });
  BOOST_REQUIRE(TraceReader::open(t.path / "tr").ok());
  fs::remove(t.path / "tr" / name);
  check_error(TraceReader::open(t.path / "tr"), {(t.path / "tr" / name).string(), "missing"});

  // A trace may not point outside itself.
  write_trace(t.path / "out", [&](TraceWriter& w) {
    MappingRecord m;
    m.trace_file = "../tr/version";
    m.storage = FileStorage::Copied;
    BOOST_REQUIRE(w.write_mapping(m).ok());
  });
  check_error(TraceReader::open(t.path / "out"), {"outside the trace"});
}

BOOST_AUTO_TEST_CASE(capture_file_policy_and_dedupe) {
  TempDir t;
  auto w = TraceWriter::create(t.path / "tr");
  BOOST_REQUIRE(w.ok());
  // The source sits on the trace's filesystem and belongs to us, so a link
  // is possible; only the policy decides.
  const fs::path src = t.path / "libfake.so";
  write_file(src, "content");
  FileToCapture f{"/usr/lib/x86_64-linux-gnu/libfake.so", src.string()};
  BOOST_REQUIRE(::stat(src.c_str(), &f.st) == 0);
  auto inode_of = [&](const CapturedFile& c) {
    struct stat st {};
    BOOST_REQUIRE(::stat(((*w)->dir() / c.trace_file).c_str(), &st) == 0);
    BOOST_CHECK_EQUAL(read_file((*w)->dir() / c.trace_file), "content");
    return st.st_ino;
  };

  auto linked = (*w)->capture_file(f);
  REQUIRE_OK(linked);
  BOOST_CHECK(linked->storage == FileStorage::Linked);
  BOOST_CHECK(linked->trace_file.starts_with("files/libfake.so-"));
  BOOST_CHECK_EQUAL(inode_of(*linked), f.st.st_ino);

  auto again = (*w)->capture_file(f);  // same (dev, inode, size, mtime)
  BOOST_REQUIRE(again.ok());
  BOOST_CHECK_EQUAL(again->trace_file, linked->trace_file);

  auto expect_copy = [&](FileToCapture g) {
    g.st.st_mtim.tv_nsec += 1 + static_cast<long>(fs::directory_entry(src).file_size());
    auto c = (*w)->capture_file(g);
    REQUIRE_OK(c);
    BOOST_CHECK(c->storage == FileStorage::Copied);
    BOOST_CHECK_NE(c->trace_file, linked->trace_file);
    BOOST_CHECK_NE(inode_of(*c), f.st.st_ino);
    return *c;
  };
  FileToCapture tmp = f;
  tmp.orig_path = "/tmp/libfake.so";
  auto copied = expect_copy(tmp);
  FileToCapture shared = f;
  shared.mapped_shared_writable = true;
  shared.st.st_mtim.tv_sec += 1;
  expect_copy(shared);
  FileToCapture other_fs = f;
  other_fs.st.st_dev += 1;
  expect_copy(other_fs);
  // Only the owner may read a copy; it is executable iff the original was.
  BOOST_CHECK((fs::status((*w)->dir() / copied.trace_file).permissions() & fs::perms::all) ==
              (fs::perms::owner_read | fs::perms::owner_write));

  FileToCapture gone{"/tmp/does-not-exist", (t.path / "does-not-exist").string()};
  gone.st.st_ino = 1;
  check_error((*w)->capture_file(gone), {"/tmp/does-not-exist", "No such file"});
}

BOOST_AUTO_TEST_CASE(trace_dir_naming_and_latest_link) {
  TempDir t;
  const fs::path root = t.path / "a" / "b";
  auto d0 = new_trace_dir(root, "/usr/bin/ls");
  BOOST_REQUIRE(d0.ok());
  BOOST_CHECK_EQUAL(*d0, root / "ls-0");
  BOOST_CHECK_EQUAL(*new_trace_dir(root, "ls"), root / "ls-1");
  BOOST_CHECK_EQUAL(*new_trace_dir(root, "./ls"), root / "ls-2");
  BOOST_CHECK_EQUAL(*new_trace_dir(root, "cat"), root / "cat-0");
  fs::remove(root / "ls-1");
  BOOST_CHECK_EQUAL(*new_trace_dir(root, "ls"), root / "ls-1");  // lowest unused
  for (const fs::path& p : {t.path / "a", root, root / "ls-0"}) {
    BOOST_CHECK_MESSAGE((fs::status(p).permissions() & fs::perms::all) == fs::perms::owner_all,
                        p << " is not mode 0700");
  }

  BOOST_REQUIRE(::setenv("REWIND_TRACE_DIR", root.c_str(), 1) == 0);
  BOOST_CHECK_EQUAL(default_trace_root(), root);
  check_error(resolve_trace_arg(""), {(root / "latest-trace").string()});
  BOOST_REQUIRE(update_latest_link(root, root / "ls-0").ok());
  BOOST_CHECK_EQUAL(fs::read_symlink(root / "latest-trace"), "ls-0");
  BOOST_REQUIRE(update_latest_link(root, root / "cat-0").ok());
  BOOST_CHECK_EQUAL(fs::read_symlink(root / "latest-trace"), "cat-0");
  BOOST_CHECK_EQUAL(*resolve_trace_arg(""), fs::canonical(root / "cat-0"));
  // Nothing but the link is left behind by the temporary names.
  for (const auto& e : fs::directory_iterator(root)) {
    BOOST_CHECK_MESSAGE(!e.path().filename().string().starts_with(".latest"), e.path());
  }

  BOOST_CHECK_EQUAL(*resolve_trace_arg((root / "ls-1").string()), root / "ls-1");
  check_error(resolve_trace_arg((root / "ls-9").string()), {(root / "ls-9").string()});
  write_file(root / "file", "");
  check_error(resolve_trace_arg((root / "file").string()), {"not a directory"});
  fs::remove(root / "cat-0");
  check_error(resolve_trace_arg(""), {"latest-trace"});
  ::unsetenv("REWIND_TRACE_DIR");
}

// The header is checksummed like every other record: any flipped byte,
// in its structure or in the middle of a string, is refused.
BOOST_AUTO_TEST_CASE(header_every_flipped_byte_is_refused) {
  TempDir t;
  write_trace(t.path / "tr", [](TraceWriter&) {});
  const fs::path header = t.path / "tr" / "header";
  std::vector<char> bytes;
  {
    std::ifstream in(header, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  BOOST_REQUIRE(bytes.size() > 64);
  BOOST_REQUIRE(TraceReader::open(t.path / "tr").ok());
  size_t accepted = 0;
  for (size_t i = 0; i < bytes.size(); ++i) {
    std::vector<char> bad = bytes;
    bad[i] ^= 0x20;
    {
      std::ofstream out(header, std::ios::binary | std::ios::trunc);
      out.write(bad.data(), static_cast<std::streamsize>(bad.size()));
    }
    if (TraceReader::open(t.path / "tr").ok()) ++accepted;
  }
  BOOST_TEST(accepted == 0u);
}

// A reader's position() after every event, turned back into a reader by
// clone_at(), reads exactly what the sequential reader read from there:
// at block boundaries of either stream, inside blocks, and inside writes
// that span blocks.
BOOST_AUTO_TEST_CASE(positions_resume_exactly) {
  TempDir t;
  const fs::path dir = t.path / "tr";
  write_trace(dir, [&](TraceWriter& w) {
    for (uint64_t i = 1; i <= 300; ++i) {
      Event e = sample_event(i, static_cast<EventKind>(i % 8));
      if (i % 3 == 0) e.writes.push_back({0x1000 * i, pattern(i * 97 % 5000, uint32_t(i))});
      if (i % 50 == 7) e.writes.push_back({0x2000, pattern((1 << 20) + 333, uint32_t(i))});
      BOOST_REQUIRE(w.write_event(e).ok());
      // Partial blocks: positions land at the ends of events blocks.
      if (i % 40 == 0 || i == 3) BOOST_REQUIRE(w.flush().ok());
    }
  });
  auto r = TraceReader::open(dir);
  REQUIRE_OK(r);
  std::vector<ReaderPos> positions{(*r)->position()};
  std::vector<Event> events;
  for (;;) {
    auto e = (*r)->next_event();
    REQUIRE_OK(e);
    if (!*e) break;
    events.push_back(std::move(**e));
    positions.push_back((*r)->position());
  }
  BOOST_REQUIRE_EQUAL(events.size(), 300u);
  BOOST_TEST((positions[0] == ReaderPos{}));
  BOOST_TEST(positions[3].events.in_block > 0u);  // the end of the first events block
  BOOST_TEST(positions.back().events.block_offset > 0u);
  BOOST_TEST(positions.back().data.block_offset > 0u);

  size_t checked = 0;
  for (size_t i = 0; i < positions.size(); i += i < 50 ? 1 : 7) {
    auto c = (*r)->clone_at(positions[i]);
    REQUIRE_OK(c);
    BOOST_TEST(((*c)->position() == positions[i]));
    BOOST_TEST(((*c)->header() == (*r)->header()));
    for (size_t j = i; j < events.size(); ++j) {
      auto e = (*c)->next_event();
      REQUIRE_OK(e);
      BOOST_REQUIRE(e->has_value());
      check_same_event(**e, events[j]);
      BOOST_REQUIRE((*c)->position() == positions[j + 1]);
    }
    auto end = (*c)->next_event();
    REQUIRE_OK(end);
    BOOST_TEST(!end->has_value());
    ++checked;
  }
  BOOST_TEST(checked > 80u);

  // Positions that do not fit the files are Errors.
  ReaderPos bad = positions[100];
  bad.events.block_offset = fs::file_size(dir / "events") + 10;
  check_error((*r)->clone_at(bad), {(dir / "events").string(), "past the end"});
  bad = positions[100];
  bad.events.block_offset += 1;
  check_error((*r)->clone_at(bad), {(dir / "events").string(), "bad block magic"});
  bad = positions[100];
  bad.data.in_block = kMaxBlock + 1;
  check_error((*r)->clone_at(bad), {(dir / "data").string(), "holds only"});
  bad = positions[100];
  bad.data.block_offset = 5;
  check_error((*r)->clone_at(bad), {(dir / "data").string(), "offset 5"});

  // A trace without events: the position before the first one.
  write_trace(t.path / "empty", [](TraceWriter&) {});
  auto er = TraceReader::open(t.path / "empty");
  REQUIRE_OK(er);
  auto ec = (*er)->clone_at((*er)->position());
  REQUIRE_OK(ec);
  auto none = (*ec)->next_event();
  REQUIRE_OK(none);
  BOOST_TEST(!none->has_value());
}
