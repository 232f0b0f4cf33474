#include "core/trace/TraceReader.h"

#include "core/trace/CheckpointStore.h"

#include <capnp/serialize.h>
#include <fcntl.h>
#include <kj/exception.h>
#include <pwd.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <random>
#include <set>

#include "core/base/FileIo.h"
#include "core/base/Log.h"
#include "core/trace/trace.capnp.h"

namespace rwd::trace {

namespace fs = std::filesystem;

namespace {

// Bounds what one length field in a corrupt or hostile file can make us
// allocate. Real messages are far smaller: an event with a million MemWrites
// is about 2M words.
constexpr uint32_t kMaxFrameWords = 16u << 20;
constexpr size_t kMaxHeaderBytes = 64u << 20;

std::string to_string(capnp::Data::Reader d) {
  return std::string(reinterpret_cast<const char*>(d.begin()), d.size());
}

template <class ListReader>
std::vector<std::string> to_strings(ListReader list) {
  std::vector<std::string> v;
  v.reserve(list.size());
  for (auto d : list) v.push_back(to_string(d));
  return v;
}

// One Cap'n Proto message from a frame (see write_frame in TraceWriter.cc)
// or a whole file, decoded by `fn` into a plain value. capnp checks pointers
// lazily and throws kj::Exception on malformed data, so everything that
// touches the reader happens inside the try.
template <class Schema, class Fn>
auto decode(kj::ArrayPtr<const capnp::word> words, const std::string& what, Fn&& fn)
    -> decltype(fn(std::declval<typename Schema::Reader>())) {
  try {
    capnp::ReaderOptions options;
    // A message without shared pointers traverses each word once; the slack
    // covers small messages, the bound stops pointer-aliasing amplification.
    options.traversalLimitInWords = 4 * words.size() + 1024;
    options.nestingLimit = 16;
    capnp::FlatArrayMessageReader reader(words, options);
    return fn(reader.getRoot<Schema>());
  } catch (const kj::Exception& e) {
    return Error{"malformed " + what + ": " + e.getDescription().cStr()};
  } catch (const std::exception& e) {
    return Error{"malformed " + what + ": " + e.what()};
  }
}

// Reads one frame: u32 little-endian word count, then that many words.
// std::nullopt at the clean end of the stream.
Result<std::optional<kj::Array<capnp::word>>> read_frame(BlockReader& in, const fs::path& path) {
  uint8_t prefix[4];
  auto got = in.read(prefix, sizeof(prefix));
  if (!got) return got.error();
  if (!*got) return std::optional<kj::Array<capnp::word>>();
  const uint32_t n = uint32_t{prefix[0]} | uint32_t{prefix[1]} << 8 | uint32_t{prefix[2]} << 16 |
                     uint32_t{prefix[3]} << 24;
  if (n == 0 || n > kMaxFrameWords) {
    return Error{path.string() + ": message length of " + std::to_string(n) +
                 " words is out of range"};
  }
  // The length is the file's word, not yet a fact: a large frame is read a
  // MiB at a time, so that a few hostile bytes cannot make the reader
  // allocate up to kMaxFrameWords before the stream turns out to be short.
  constexpr uint32_t kChunkWords = (1u << 20) / sizeof(capnp::word);
  if (n <= kChunkWords) {
    auto words = kj::heapArray<capnp::word>(n);
    got = in.read(words.begin(), words.size() * sizeof(capnp::word));
    if (!got) return got.error();
    if (!*got) return Error{path.string() + ": stream ends inside a message"};
    return std::optional(std::move(words));
  }
  const size_t bytes = size_t{n} * sizeof(capnp::word);
  std::vector<uint8_t> grown;
  while (grown.size() < bytes) {
    const size_t at = grown.size();
    grown.resize(at + std::min<size_t>(kChunkWords * sizeof(capnp::word), bytes - at));
    got = in.read(grown.data() + at, grown.size() - at);
    if (!got) return got.error();
    if (!*got) return Error{path.string() + ": stream ends inside a message"};
  }
  auto words = kj::heapArray<capnp::word>(n);
  std::memcpy(words.begin(), grown.data(), bytes);
  return std::optional(std::move(words));
}

// A trace must not point outside itself: "files/x" yes, "/etc/passwd" or
// "../x" no.
Result<void> check_trace_file(const fs::path& dir, const std::string& trace_file,
                              const std::string& who) {
  const fs::path rel(trace_file);
  bool escapes = rel.is_absolute();
  for (const auto& part : rel) escapes = escapes || part == "..";
  if (escapes) return Error{who + ": captured file '" + trace_file + "' is outside the trace"};
  // lstat: a symbolic link could lead replay to any file on this machine,
  // and a FIFO or device would block or misbehave when replay copies or
  // maps it. The recorder and pack write only regular files.
  struct stat st {};
  if (::lstat((dir / rel).c_str(), &st) != 0) {
    return Error::from_errno(who + ": captured file " + (dir / rel).string() + " is missing");
  }
  if (!S_ISREG(st.st_mode)) {
    return Error{who + ": captured file " + (dir / rel).string() + " is " + file_kind(st.st_mode) +
                 ", not a regular file"};
  }
  return ok_result();
}

Result<TraceHeader> decode_header(kj::ArrayPtr<const capnp::word> words, const std::string& what) {
  return decode<schema::TraceHeader>(words, what, [&](auto r) -> Result<TraceHeader> {
    TraceHeader h;
    if (r.getUuid().size() != h.uuid.size()) return Error{what + ": uuid is not 16 bytes"};
    std::memcpy(h.uuid.data(), r.getUuid().begin(), h.uuid.size());
    h.format_version = r.getFormatVersion();
    if (h.format_version != kFormatVersion) {
      return Error{what + ": says format version " + std::to_string(h.format_version) +
                   ", the version file says " + std::to_string(kFormatVersion)};
    }
    h.arch = to_string(r.getArch());
    h.kernel = to_string(r.getKernel());
    for (auto c : r.getCpuid()) {
      h.cpuid.push_back(
          {c.getLeaf(), c.getSubleaf(), c.getEax(), c.getEbx(), c.getEcx(), c.getEdx()});
    }
    h.xcr0 = r.getXcr0();
    h.argv = to_strings(r.getArgv());
    h.env = to_strings(r.getEnv());
    h.cwd = to_string(r.getCwd());
    h.tick_source = to_string(r.getTickSource());
    h.start_time_ns = r.getStartTimeNs();
    h.cpuid_faulting = r.getCpuidFaulting();
    for (auto f : r.getWrittenFiles()) h.written_files.emplace_back(f.getDev(), f.getInode());
    h.cpu_features = to_strings(r.getCpuFeatures());
    h.record_cpu = r.getRecordCpu();
    h.syscall_filter = r.getSyscallFilter();
    h.clears_signal_frames = r.getClearsSignalFrames();
    h.ignored_signals = r.getIgnoredSignals();
    return h;
  });
}

// An event whose MemWrite bytes are still in the `data` stream: the caller
// reads `lengths[i]` bytes into writes[i].bytes.
struct EventWithoutData {
  Event event;
  std::vector<uint64_t> lengths;
  uint64_t syscallbuf_length = 0;
  std::vector<uint64_t> peer_lengths;
};

Result<EventWithoutData> decode_event(kj::ArrayPtr<const capnp::word> words,
                                      const std::string& what) {
  return decode<schema::Event>(words, what, [&](auto r) -> Result<EventWithoutData> {
    EventWithoutData out;
    Event& e = out.event;
    e.num = EventNum(r.getNum());
    e.tid = Tid(r.getTid());
    const auto kind = static_cast<uint16_t>(r.getKind());
    if (kind > static_cast<uint16_t>(EventKind::PtraceWrite)) {
      return Error{what + ": unknown event kind " + std::to_string(kind)};
    }
    e.kind = static_cast<EventKind>(kind);
    if (r.getRegs().size() != sizeof(e.regs)) {
      return Error{what + ": registers are " + std::to_string(r.getRegs().size()) +
                   " bytes, expected " + std::to_string(sizeof(e.regs))};
    }
    std::memcpy(&e.regs, r.getRegs().begin(), sizeof(e.regs));
    e.syscall_no = r.getSyscallNo();
    e.signo = r.getSigno();
    e.siginfo.assign(r.getSiginfo().begin(), r.getSiginfo().end());
    e.tsc = r.getTsc();
    e.tsc_aux = r.getTscAux();
    e.rdtscp = r.getRdtscp();
    if (r.getCpuidOut().size() != e.cpuid_out.size()) {
      return Error{what + ": cpuidOut must hold 4 values"};
    }
    for (unsigned i = 0; i < e.cpuid_out.size(); ++i) e.cpuid_out[i] = r.getCpuidOut()[i];
    e.random = r.getRandom();
    e.random_ok = r.getRandomOk();
    e.exit_status = r.getExitStatus();
    e.flags = r.getFlags();
    if (r.hasStateHash()) e.state_hash.assign(r.getStateHash().begin(), r.getStateHash().end());
    if (e.kind == EventKind::Preempt && e.state_hash.size() != 32)
      return Error{what + ": a preempt event must carry a 32-byte state hash"};
    for (auto w : r.getLoopWords()) e.loop_words.push_back(LoopWord{w.getAddr(), w.getValue()});
    e.loop_regs = r.getLoopRegs();
    e.user_time_ms = r.getUserTimeMs();
    e.time_ns = r.getTimeNs();
    if (e.flags & (kFlagFileWrite | kFlagFileTruncate)) {
      if (!r.hasFileWrite())
        return Error{what + ": an event flagged as a file write has no fileWrite"};
      e.file_write_dev = r.getFileWrite().getDev();
      e.file_write_inode = r.getFileWrite().getInode();
      e.file_write_offset = r.getFileWrite().getOffset();
    }
    for (auto w : r.getWrites()) {
      e.writes.push_back(MemWrite{w.getAddr(), {}});
      out.lengths.push_back(w.getLength());
    }
    out.syscallbuf_length = r.getSyscallbufLength();
    e.baton_releases = r.getBatonReleases();
    for (auto p : r.getPeerBuffers()) {
      e.peer_syscallbufs.push_back(Event::PeerRecords{Tid(p.getTid()), {}});
      out.peer_lengths.push_back(p.getLength());
    }
    return out;
  });
}

// Reads `len` bytes of one MemWrite. Grows the buffer as the bytes arrive, so
// a corrupt length costs no more memory than the data stream really holds.
// `what()` names the bytes in an error.
template <class What>
Result<void> read_write_bytes(BlockReader& data, uint64_t len, std::vector<uint8_t>& out,
                              const What& what) {
  constexpr uint64_t kChunk = 1 << 20;
  while (out.size() < len) {
    const size_t n = static_cast<size_t>(std::min(kChunk, len - out.size()));
    const size_t at = out.size();
    out.resize(at + n);
    auto got = data.read(out.data() + at, n);
    if (!got) return got.error().context(what());
    if (!*got) return Error{what() + ": the data stream ends before its bytes"};
  }
  return ok_result();
}

Result<MappingRecord> decode_mapping(kj::ArrayPtr<const capnp::word> words,
                                     const std::string& what) {
  return decode<schema::MappingRecord>(words, what, [&](auto r) -> Result<MappingRecord> {
    MappingRecord m;
    m.event = EventNum(r.getEvent());
    m.tid = Tid(r.getTid());
    m.start = r.getStart();
    m.end = r.getEnd();
    m.prot = r.getProt();
    m.flags = r.getFlags();
    m.file_offset = r.getFileOffset();
    m.orig_path = to_string(r.getOrigPath());
    m.trace_file = to_string(r.getTraceFile());
    const auto storage = static_cast<uint16_t>(r.getStorage());
    if (storage > static_cast<uint16_t>(FileStorage::Linked)) {
      return Error{what + ": unknown file storage " + std::to_string(storage)};
    }
    m.storage = static_cast<FileStorage>(storage);
    if (m.storage != FileStorage::None && m.trace_file.empty()) {
      return Error{what + ": a captured mapping of " + m.orig_path + " names no trace file"};
    }
    m.dev = r.getDev();
    m.inode = r.getInode();
    m.size = r.getSize();
    m.mtime_ns = r.getMtimeNs();
    return m;
  });
}

Result<TaskEvent> decode_task_event(kj::ArrayPtr<const capnp::word> words,
                                    const std::string& what) {
  return decode<schema::TaskEvent>(words, what, [&](auto r) -> Result<TaskEvent> {
    TaskEvent t;
    t.event = EventNum(r.getEvent());
    const auto kind = static_cast<uint16_t>(r.getKind());
    if (kind > static_cast<uint16_t>(TaskEventKind::Exit)) {
      return Error{what + ": unknown task event kind " + std::to_string(kind)};
    }
    t.kind = static_cast<TaskEventKind>(kind);
    t.tid = Tid(r.getTid());
    t.parent_tid = Tid(r.getParentTid());
    t.clone_flags = r.getCloneFlags();
    t.argv = to_strings(r.getArgv());
    t.exe_path = to_string(r.getExePath());
    t.exe_trace_file = to_string(r.getExeTraceFile());
    t.interp_trace_file = to_string(r.getInterpTraceFile());
    t.interp_path = to_string(r.getInterpPath());
    t.exit_status = r.getExitStatus();
    t.former_tid = Tid(r.getFormerTid());
    return t;
  });
}

// Reads a whole small stream of messages (mmaps, tasks). With `tail_may_be_cut`
// (an incomplete trace), a stream that ends in a torn block or record ends
// there: the records past the last complete event are dropped anyway.
template <class Value, class DecodeFn>
Result<std::vector<Value>> read_all(const fs::path& path, const char* kind, DecodeFn decode_fn,
                                    bool tail_may_be_cut) {
  auto in = BlockReader::open(path);
  if (!in) return in.error();
  std::vector<Value> out;
  for (;;) {
    auto frame = read_frame(**in, path);
    if (!frame) {
      if (tail_may_be_cut) return out;
      return frame.error();
    }
    if (!*frame) return out;
    const std::string what =
        path.string() + ": " + kind + " record " + std::to_string(out.size() + 1);
    auto v = decode_fn(**frame, what);
    if (!v) {
      if (tail_may_be_cut) return out;
      return v.error();
    }
    out.push_back(std::move(*v));
  }
}

Result<std::string> read_small_file(const fs::path& path) {
  auto opened = open_regular_file(path.string());
  if (!opened) return opened.error();
  ScopedFd fd = std::move(*opened);
  std::string s;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof(buf));
    if (n < 0) {
      if (errno == EINTR) continue;
      return Error::from_errno("reading " + path.string());
    }
    if (n == 0) return s;
    s.append(buf, static_cast<size_t>(n));
    if (s.size() > kMaxHeaderBytes) return Error{path.string() + ": file is too large"};
  }
}

// How the recording of a trace ended.
enum class Recording { Finished, Killed, Live };

// "rewind-trace N\n", in `version` or, until the recorder finishes, in
// `incomplete`.
Result<void> check_version_line(const fs::path& path, const fs::path& dir) {
  auto text = read_small_file(path);
  if (!text) return text.error();
  static constexpr std::string_view kPrefix = "rewind-trace ";
  std::string_view v = *text;
  if (v.ends_with('\n')) v.remove_suffix(1);  // the writer adds one; a hand edit may not
  if (!v.starts_with(kPrefix) || v.size() > kPrefix.size() + 10) {
    return Error{path.string() + ": not a rewind trace version file"};
  }
  v.remove_prefix(kPrefix.size());
  if (v != std::to_string(kFormatVersion)) {
    return Error{dir.string() + ": trace format version " + std::string(v) +
                 ", this rewind reads " + std::to_string(kFormatVersion)};
  }
  return ok_result();
}

// `version` is missing: tell a live recording from a dead one by the flock
// the writer holds on `incomplete`.
Result<Recording> recording_state(const fs::path& dir) {
  const fs::path incomplete = dir / "incomplete";
  auto opened = open_regular_file(incomplete.string());
  if (!opened) {
    if (::access(incomplete.c_str(), F_OK) == 0) return opened.error();
    return Error{dir.string() + " is not a rewind trace: it has no version file"};
  }
  REWIND_TRY(check_version_line(incomplete, dir));
  if (::flock(opened->get(), LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK)
    return Recording::Live;
  return Recording::Killed;
}

Result<Recording> check_version(const fs::path& dir) {
  const fs::path path = dir / "version";
  if (::access(path.c_str(), F_OK) != 0 && errno == ENOENT) return recording_state(dir);
  REWIND_TRY(check_version_line(path, dir));
  return Recording::Finished;
}

// The lock that says a trace is in use: each reader holds it shared on
// the version file (on `incomplete` for a trace whose recorder died), and
// rm and mv take it exclusive (lock_trace_for_removal), so that neither
// pulls a trace from under a replay, nor a replay opens one half removed.
// A live recording's `incomplete` is the writer's, held exclusive: the
// reader then holds nothing, and rm refuses by that same lock.
Result<ScopedFd> hold_in_use(const fs::path& dir, Recording state) {
  if (state == Recording::Live) return ScopedFd();
  const fs::path path = dir / (state == Recording::Finished ? "version" : "incomplete");
  ScopedFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.is_open()) return Error::from_errno("trace " + path.string());
  if (::flock(fd.get(), LOCK_SH | LOCK_NB) != 0) {
    if (errno == EWOULDBLOCK)
      return Error{"trace " + dir.string() + " is being removed or renamed (rewind rm or mv)"};
    return Error::from_errno("locking " + path.string());
  }
  return fd;
}

Error incomplete_error(const fs::path& dir, Recording state) {
  if (state == Recording::Live)
    return Error{"trace " + dir.string() + " is incomplete: it is still being recorded"};
  return Error{"trace " + dir.string() + " is incomplete: the recording did not finish cleanly"};
}

}  // namespace

Result<std::unique_ptr<TraceReader>> TraceReader::open(const fs::path& dir,
                                                       IncompleteTraces incomplete) {
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0) return Error::from_errno("trace " + dir.string());
  if (!S_ISDIR(st.st_mode)) return Error{"trace " + dir.string() + " is not a directory"};
  auto state = check_version(dir);
  if (!state) return state.error();
  const bool finished = *state == Recording::Finished;
  if (!finished && incomplete == IncompleteTraces::Refuse) return incomplete_error(dir, *state);

  std::unique_ptr<TraceReader> r(new TraceReader);
  auto in_use = hold_in_use(dir, *state);
  if (!in_use) return in_use.error();
  r->in_use_ = std::move(*in_use);
  // Absolute: replay execs and maps files by these paths, and compares them
  // with what /proc shows, whatever the current directory.
  std::error_code ec;
  r->dir_ = fs::absolute(dir, ec).lexically_normal();
  if (ec) r->dir_ = dir;
  const fs::path header_path = dir / "header";
  auto header_stream = BlockReader::open(header_path);
  if (!header_stream) return header_stream.error();
  auto frame = read_frame(**header_stream, header_path);
  if (!frame) return frame.error();
  if (!*frame) return Error{header_path.string() + ": empty: the trace has no header"};
  if (!(*header_stream)->at_end())
    return Error{header_path.string() + ": unexpected data after the header record"};
  auto header = decode_header(**frame, header_path.string());
  if (!header) return header.error();
  r->header_ = std::move(*header);

  auto mappings = read_all<MappingRecord>(dir / "mmaps", "mapping", decode_mapping, !finished);
  if (!mappings) return mappings.error();
  r->mappings_ = std::move(*mappings);
  auto tasks = read_all<TaskEvent>(dir / "tasks", "task event", decode_task_event, !finished);
  if (!tasks) return tasks.error();
  r->task_events_ = std::move(*tasks);
  REWIND_TRY(r->open_streams());
  if (!finished) REWIND_TRY(r->scan_incomplete(*state == Recording::Live));
  // A recorder still at work wrote more events while the records above
  // were read: read them again, now that the scan says which events count.
  if (*state == Recording::Live) REWIND_TRY(r->reload_records());

  REWIND_TRY(r->check_trace_files(0, 0));
  return r;
}

std::string describe(const TraceEnd& end) {
  std::string s = end.still_recording
                      ? "the trace is incomplete (it is still being recorded)"
                      : "the trace is incomplete (its recorder was killed or crashed)";
  if (end.events == 0) return s + ": it holds no complete event";
  s += ": it ends after event " + std::to_string(end.last_event) + ", the last complete one";
  if (!end.cut.empty()) s += " (" + end.cut + ")";
  return s;
}

Result<void> TraceReader::open_streams() {
  events_path_ = dir_ / "events";
  auto events = BlockReader::open(events_path_);
  if (!events) return events.error();
  events_ = std::move(*events);
  auto data = BlockReader::open(dir_ / "data");
  if (!data) return data.error();
  data_ = std::move(*data);
  events_read_ = 0;
  last_event_num_ = 0;
  return ok_result();
}

// Reads the incomplete trace once to find its last complete event: one whose
// record and every byte of its data are there. A killed recorder leaves the
// streams cut anywhere: in a block, in a record, or with `data` behind
// `events` (TraceWriter::flush writes `data` first, but a full events block
// goes out on its own). Also gathers the files the program wrote, which a
// finished recording lists in the header.
Result<void> TraceReader::scan_incomplete(bool still_recording) {
  TraceEnd end;
  end.still_recording = still_recording;
  incomplete_ = std::move(end);
  scan_end_ = ReaderPos{};
  hold_back_ = still_recording;
  REWIND_TRY(scan_more());
  drop_records_past_end();
  REWIND_TRY(open_streams());
  return ok_result();
}

Result<void> TraceReader::scan_more() {
  TraceEnd& end = *incomplete_;
  end.cut.clear();
  std::set<std::pair<uint64_t, uint64_t>> written(header_.written_files.begin(),
                                                  header_.written_files.end());
  // A reader of its own from where the last scan stopped: the bytes after
  // it may be torn, and reading them must not disturb next_event().
  std::unique_ptr<TraceReader> s(new TraceReader);
  s->dir_ = dir_;
  s->events_path_ = dir_ / "events";
  auto events = BlockReader::open_at(s->events_path_, scan_end_.events);
  auto data = events ? BlockReader::open_at(dir_ / "data", scan_end_.data) : events.error();
  if (!events || !data) {
    // The block the last scan ended in was whole; what is not is a first
    // block still being written, or damage. Either way the trace ends here
    // for now, and a later scan tries again.
    end.cut = (!events ? events.error() : data.error()).message;
    return ok_result();
  }
  s->events_ = std::move(*events);
  s->data_ = std::move(*data);
  s->events_read_ = scan_end_.events_read;
  s->last_event_num_ = scan_end_.last_event_num;
  for (;;) {
    auto e = s->read_event();
    if (!e) {
      end.cut = e.error().message;
      break;
    }
    if (!*e) break;
    const Event& ev = **e;
    if (hold_back_ && ev.kind == EventKind::SyscallEntry && recorded_at_exit(ev.syscall_no))
      open_entries_.emplace(ev.tid.value, OpenEntry{scanned_events_, scanned_last_});
    else if (ev.kind == EventKind::SyscallExit || ev.kind == EventKind::Exit)
      open_entries_.erase(ev.tid.value);
    ++scanned_events_;
    scanned_last_ = ev.num.value;
    if (ev.flags & (kFlagFileWrite | kFlagFileTruncate))
      written.emplace(ev.file_write_dev, ev.file_write_inode);
    scan_end_ = s->position();
  }
  header_.written_files.assign(written.begin(), written.end());
  // What a reader may take: every event scanned, but those from a syscall
  // entry whose records are still to come on.
  end.events = scanned_events_;
  end.last_event = scanned_last_;
  for (const auto& [tid, open] : open_entries_) {
    if (open.index >= end.events) continue;
    end.events = open.index;
    end.last_event = open.num_before;
  }
  return ok_result();
}

// Syscalls whose records (MappingRecord, TaskEvent) carry the number of
// their entry event but are written at their exit, or at a ptrace event
// before it (RecordSyscall.cc, RecordSession.cc): mmap, the clones, execve,
// and the preload library's init (its stub pages).
bool TraceReader::recorded_at_exit(int64_t nr) {
  switch (nr) {
    case 9:           // mmap
    case 56:          // clone
    case 57:          // fork
    case 58:          // vfork
    case 59:          // execve
    case 322:         // execveat
    case 435:         // clone3
    case 0x52570000:  // kSysInitPreload (preload/abi.h)
      return true;
    default:
      return false;
  }
}

void TraceReader::drop_records_past_end() {
  const uint64_t last = incomplete_->last_event;
  std::erase_if(mappings_, [&](const MappingRecord& m) { return m.event.value > last; });
  std::erase_if(task_events_, [&](const TaskEvent& t) { return t.event.value > last; });
}

Result<bool> TraceReader::catch_up() {
  if (!incomplete_ || !incomplete_->still_recording) return false;
  // The state first: a recorder that has finished wrote everything out
  // before it renamed `incomplete`, so the scan after sees all of it.
  auto state = check_version(dir_);
  if (!state) return state.error();
  const uint64_t before = incomplete_->events;
  if (*state != Recording::Live) {
    // Finished (or killed): nothing more will come for any entry.
    hold_back_ = false;
    open_entries_.clear();
  }
  REWIND_TRY(scan_more());
  if (*state != Recording::Live) incomplete_->still_recording = false;
  REWIND_LOG(Trace, "caught up: %llu of %llu events scanned, %zu syscalls to finish",
             (unsigned long long)incomplete_->events, (unsigned long long)scanned_events_,
             open_entries_.size());
  if (incomplete_->events == before) return false;
  REWIND_TRY(reload_records());
  return true;
}

// Reads the mappings and task events again, up to the last event a reader
// may take. After the scan: records are written out before their events
// (TraceWriter::flush), so those of every event scanned are whole; later
// ones may be torn, and are dropped.
Result<void> TraceReader::reload_records() {
  auto mappings = read_all<MappingRecord>(dir_ / "mmaps", "mapping", decode_mapping, true);
  if (!mappings) return mappings.error();
  auto tasks = read_all<TaskEvent>(dir_ / "tasks", "task event", decode_task_event, true);
  if (!tasks) return tasks.error();
  const size_t old_mappings = mappings_.size(), old_tasks = task_events_.size();
  mappings_ = std::move(*mappings);
  task_events_ = std::move(*tasks);
  drop_records_past_end();
  return check_trace_files(std::min(old_mappings, mappings_.size()),
                           std::min(old_tasks, task_events_.size()));
}

// Replay needs every captured file; better to say so now than at the mmap.
Result<void> TraceReader::check_trace_files(size_t first_mapping, size_t first_task) const {
  for (size_t i = first_mapping; i < mappings_.size(); ++i) {
    const MappingRecord& m = mappings_[i];
    if (m.trace_file.empty()) continue;
    REWIND_TRY(check_trace_file(dir_, m.trace_file,
                                (dir_ / "mmaps").string() + ": mapping of '" + m.orig_path + "'"));
  }
  for (size_t i = first_task; i < task_events_.size(); ++i) {
    const TaskEvent& t = task_events_[i];
    for (const std::string* f : {&t.exe_trace_file, &t.interp_trace_file}) {
      if (f->empty()) continue;
      REWIND_TRY(
          check_trace_file(dir_, *f, (dir_ / "tasks").string() + ": exec of '" + t.exe_path + "'"));
    }
  }
  return ok_result();
}

std::unique_ptr<TraceReader> TraceReader::copy_records() const {
  std::unique_ptr<TraceReader> r(new TraceReader());
  r->dir_ = dir_;
  r->events_path_ = events_path_;
  r->incomplete_ = incomplete_;
  r->scan_end_ = scan_end_;
  r->hold_back_ = hold_back_;
  r->open_entries_ = open_entries_;
  r->scanned_events_ = scanned_events_;
  r->scanned_last_ = scanned_last_;
  r->header_ = header_;
  r->mappings_ = mappings_;
  r->task_events_ = task_events_;
  return r;
}

Result<std::unique_ptr<TraceReader>> TraceReader::clone() const {
  auto r = copy_records();
  auto events = events_->clone();
  if (!events) return events.error();
  auto data = data_->clone();
  if (!data) return data.error();
  r->events_ = std::move(*events);
  r->data_ = std::move(*data);
  r->events_read_ = events_read_;
  r->last_event_num_ = last_event_num_;
  return r;
}

ReaderPos TraceReader::position() const {
  return ReaderPos{events_->position(), data_->position(), events_read_, last_event_num_};
}

Result<std::unique_ptr<TraceReader>> TraceReader::clone_at(const ReaderPos& pos) const {
  // An incomplete trace ends after its last complete event; a position
  // beyond it would read the torn records next_event() must not return.
  if (incomplete_ && pos.events_read > incomplete_->events) {
    return Error{"trace " + dir_.string() + ": cannot resume after event record " +
                 std::to_string(pos.events_read) + ": the trace holds " +
                 std::to_string(incomplete_->events) + " complete events"};
  }
  auto r = copy_records();
  auto events = BlockReader::open_at(events_path_, pos.events);
  if (!events) return events.error();
  auto data = BlockReader::open_at(dir_ / "data", pos.data);
  if (!data) return data.error();
  r->events_ = std::move(*events);
  r->data_ = std::move(*data);
  r->events_read_ = pos.events_read;
  r->last_event_num_ = pos.last_event_num;
  return r;
}

Result<std::optional<Event>> TraceReader::next_event() {
  if (incomplete_) {
    if (events_read_ >= incomplete_->events) return std::optional<Event>();
    return read_event();
  }
  auto e = read_event();
  if (e && !*e && !data_->at_end()) {
    // Every byte of `data` belongs to some event; leftovers mean the two
    // streams disagree.
    return Error{(dir_ / "data").string() + ": has bytes past the last event"};
  }
  return e;
}

Result<std::optional<Event>> TraceReader::read_event() {
  auto frame = read_frame(*events_, events_path_);
  if (!frame) return frame.error();
  if (!*frame) return std::optional<Event>();
  ++events_read_;
  // The record's name goes only into errors: built for every event, it cost
  // more than decoding the event (a path and several strings).
  auto what = [&] {
    return events_path_.string() + ": event record " + std::to_string(events_read_);
  };
  auto decoded = decode_event(**frame, std::string());
  if (!decoded) decoded = decode_event(**frame, what());  // the same failure, named
  if (!decoded) return decoded.error();
  Event& e = decoded->event;
  if (e.num.value <= last_event_num_) {
    return Error{what() + ": event number " + std::to_string(e.num.value) + " after " +
                 std::to_string(last_event_num_)};
  }
  last_event_num_ = e.num.value;
  for (size_t i = 0; i < e.writes.size(); ++i) {
    REWIND_TRY(read_write_bytes(*data_, decoded->lengths[i], e.writes[i].bytes,
                                [&] { return what() + ": write " + std::to_string(i + 1); }));
  }
  REWIND_TRY(read_write_bytes(*data_, decoded->syscallbuf_length, e.syscallbuf,
                              [&] { return what() + ": buffered syscalls"; }));
  for (size_t i = 0; i < e.peer_syscallbufs.size(); ++i) {
    REWIND_TRY(read_write_bytes(*data_, decoded->peer_lengths[i], e.peer_syscallbufs[i].records,
                                [&] { return what() + ": another thread's buffered syscalls"; }));
  }
  return std::optional(std::move(e));
}

// ---- Where traces live ----

fs::path default_trace_root() {
  if (const char* dir = std::getenv("REWIND_TRACE_DIR"); dir && *dir) return dir;
  const char* home = std::getenv("HOME");
  if (!home || !*home) {
    const passwd* pw = ::getpwuid(::getuid());
    home = pw ? pw->pw_dir : "/";
  }
  return fs::path(home) / ".local" / "share" / "rewind";
}

namespace {

// mkdir -p with mode 0700 for the directories it creates: traces hold the
// recorded program's environment and memory, so only their owner may read.
Result<void> make_dirs(const fs::path& dir) {
  fs::path partial;
  for (const auto& part : dir) {
    partial /= part;
    if (::mkdir(partial.c_str(), 0700) == 0 || errno == EEXIST) continue;
    return Error::from_errno("creating " + partial.string());
  }
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0) return Error::from_errno("creating " + dir.string());
  if (!S_ISDIR(st.st_mode)) return Error{dir.string() + " is not a directory"};
  return ok_result();
}

}  // namespace

Result<fs::path> new_trace_dir(const fs::path& root, const std::string& prog) {
  REWIND_TRY(make_dirs(root));
  std::string base = fs::path(prog).filename().string();
  if (base.empty() || base == "." || base == "..") base = "trace";
  // mkdir is the claim: two recorders starting at once both see n free, and
  // only one mkdir succeeds; the other moves on to n+1.
  for (unsigned n = 0;; ++n) {
    fs::path dir = root / (base + "-" + std::to_string(n));
    if (::mkdir(dir.c_str(), 0700) == 0) return dir;
    if (errno != EEXIST) return Error::from_errno("creating trace directory " + dir.string());
  }
}

Result<void> update_latest_link(const fs::path& root, const fs::path& dir) {
  // A relative link keeps working when the whole root is moved.
  const fs::path target = dir.parent_path() == root ? dir.filename() : dir;
  const fs::path link = root / "latest-trace";
  std::random_device rd;
  // rename() over the old link is atomic: a concurrent reader sees the old
  // trace or the new one, never a missing link.
  for (int attempt = 0; attempt < 100; ++attempt) {
    const fs::path tmp =
        root / (".latest-trace." + std::to_string(::getpid()) + "." + std::to_string(rd()));
    if (::symlink(target.c_str(), tmp.c_str()) != 0) {
      if (errno == EEXIST) continue;
      return Error::from_errno("creating symlink " + tmp.string());
    }
    if (::rename(tmp.c_str(), link.c_str()) != 0) {
      Error e = Error::from_errno("replacing " + link.string());
      ::unlink(tmp.c_str());
      return e;
    }
    return ok_result();
  }
  return Error{"creating a temporary symlink in " + root.string() + ": too many name clashes"};
}

Result<fs::path> resolve_trace_arg(const std::string& arg) {
  fs::path path(arg);
  if (arg.empty()) {
    const fs::path link = default_trace_root() / "latest-trace";
    struct stat st {};
    if (::lstat(link.c_str(), &st) != 0) {
      return Error{"no trace given and " + link.string() +
                   " does not exist: record one first, or name a trace directory"};
    }
    std::error_code ec;
    path = fs::canonical(link, ec);
    if (ec) return Error{link.string() + " points to a trace that no longer exists"};
  }
  struct stat st {};
  // A bare name not in the current directory: a trace of the trace root,
  // as `rewind ls` lists them.
  if (!arg.empty() && arg.find('/') == std::string::npos && arg != "." && arg != ".." &&
      ::lstat(path.c_str(), &st) != 0 && errno == ENOENT) {
    const fs::path named = default_trace_root() / arg;
    if (::lstat(named.c_str(), &st) == 0) path = named;
  }
  if (::stat(path.c_str(), &st) != 0) return Error::from_errno("trace " + path.string());
  if (!S_ISDIR(st.st_mode)) return Error{"trace " + path.string() + " is not a directory"};
  return path;
}

Result<TraceRemovalLock> lock_trace_for_removal(const fs::path& dir) {
  // Only a trace: `rewind rm ~` must not delete a home directory.
  auto state = check_version(dir);
  if (!state) return state.error();
  if (*state == Recording::Live) return Error{"trace " + dir.string() + " is still being recorded"};
  TraceRemovalLock lock;
  auto writers = lock_trace_for_writing(dir);
  if (!writers) return writers.error();
  lock.writers = std::move(*writers);
  for (const char* name : {"version", "incomplete"}) {
    const fs::path path = dir / name;
    ScopedFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.is_open()) continue;
    if (::flock(fd.get(), LOCK_EX | LOCK_NB) == 0) {
      lock.readers = std::move(fd);
      return lock;
    }
    if (errno != EWOULDBLOCK) return Error::from_errno("locking " + path.string());
    if (std::string(name) == "incomplete")
      return Error{"trace " + dir.string() + " is still being recorded"};
    return Error{"trace " + dir.string() +
                 " is in use by another rewind (a replay, or a command reading it); try again "
                 "when it is done"};
  }
  return Error{dir.string() +
               " is not a rewind trace: it has neither a version file nor an "
               "incomplete one"};
}

}  // namespace rwd::trace
