#include "core/trace/TraceWriter.h"

#include <capnp/message.h>
#include <capnp/serialize.h>
#include <dirent.h>
#include <fcntl.h>
#include <kj/exception.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <functional>
#include <string_view>
#include <thread>

#include "core/base/FileIo.h"
#include "core/base/Log.h"
#include "core/trace/trace.capnp.h"

namespace rwd::trace {

namespace fs = std::filesystem;

namespace {

capnp::Data::Reader as_data(const std::string& s) {
  return capnp::Data::Reader(reinterpret_cast<const kj::byte*>(s.data()), s.size());
}

template <class ListBuilder>
void set_strings(ListBuilder list, const std::vector<std::string>& v) {
  for (unsigned i = 0; i < v.size(); ++i) list.set(i, as_data(v[i]));
}

// Runs a capnp builder step. Building only throws on absurd sizes (a list of
// more than 2^29 elements), but no exception may leave the trace library.
template <class F>
Result<void> build_guarded(const char* what, F&& f) {
  try {
    f();
  } catch (const kj::Exception& e) {
    return Error{std::string("encoding ") + what + ": " + e.getDescription().cStr()};
  } catch (const std::exception& e) {
    return Error{std::string("encoding ") + what + ": " + e.what()};
  }
  return ok_result();
}

// Appends what capnp::writeMessage writes to a block stream. kj streams
// report errors by throwing; this one keeps the first one instead.
class BlockOutput final : public kj::OutputStream {
 public:
  explicit BlockOutput(BlockWriter& stream) : stream_(stream) {}
  void write(const void* buffer, size_t size) override {
    if (result_.ok()) result_ = stream_.append(buffer, size);
  }
  Result<void> result() const { return result_; }

 private:
  BlockWriter& stream_;
  Result<void> result_;
};

using Segments = kj::ArrayPtr<const kj::ArrayPtr<const capnp::word>>;

// Frame in a block stream: u32 word count (little-endian) | the message as
// capnp's flat array (segment table included). The count lets the reader
// bound its allocation before it reads the message.
size_t frame_bytes(Segments segments) {
  return 4 + capnp::computeSerializedSizeInWords(segments) * sizeof(capnp::word);
}

// The segments go into the stream as they are: a flat copy of each message
// (messageToFlatArray) cost a heap allocation per event.
Result<void> write_frame(BlockWriter& stream, Segments segments) {
  const auto n = static_cast<uint32_t>(capnp::computeSerializedSizeInWords(segments));
  const uint8_t prefix[4] = {uint8_t(n), uint8_t(n >> 8), uint8_t(n >> 16), uint8_t(n >> 24)};
  REWIND_TRY(stream.append(prefix, sizeof(prefix)));
  BlockOutput out(stream);
  try {
    capnp::writeMessage(out, segments);
  } catch (const kj::Exception& e) {
    return Error{std::string("writing a record: ") + e.getDescription().cStr()};
  }
  return out.result();
}

Result<void> write_frame(BlockWriter& stream, capnp::MessageBuilder& msg) {
  return write_frame(stream, msg.getSegmentsForOutput());
}

// The first segment of every record message: capnp would otherwise calloc
// 8 KiB for each, and recording writes two events per syscall. The builder
// zeroes what it used when it is destroyed, as the next one needs. 512
// words (4 KiB) hold an event with up to ~200 memory writes (their bytes go
// to the data stream); a larger one continues in segments capnp allocates.
thread_local std::array<capnp::word, 512> first_segment{};

kj::ArrayPtr<capnp::word> reused_first_segment() {
  return kj::ArrayPtr<capnp::word>(first_segment.data(), first_segment.size());
}

void encode(schema::TraceHeader::Builder b, const TraceHeader& h) {
  b.setUuid(capnp::Data::Reader(h.uuid.data(), h.uuid.size()));
  b.setFormatVersion(h.format_version);
  b.setArch(as_data(h.arch));
  b.setKernel(as_data(h.kernel));
  auto cpuid = b.initCpuid(static_cast<unsigned>(h.cpuid.size()));
  for (unsigned i = 0; i < h.cpuid.size(); ++i) {
    const CpuidLeaf& l = h.cpuid[i];
    auto c = cpuid[i];
    c.setLeaf(l.leaf);
    c.setSubleaf(l.subleaf);
    c.setEax(l.eax);
    c.setEbx(l.ebx);
    c.setEcx(l.ecx);
    c.setEdx(l.edx);
  }
  b.setXcr0(h.xcr0);
  set_strings(b.initArgv(static_cast<unsigned>(h.argv.size())), h.argv);
  set_strings(b.initEnv(static_cast<unsigned>(h.env.size())), h.env);
  b.setCwd(as_data(h.cwd));
  b.setTickSource(as_data(h.tick_source));
  b.setStartTimeNs(h.start_time_ns);
  b.setCpuidFaulting(h.cpuid_faulting);
  auto written = b.initWrittenFiles(static_cast<unsigned>(h.written_files.size()));
  for (unsigned i = 0; i < h.written_files.size(); ++i) {
    written[i].setDev(h.written_files[i].first);
    written[i].setInode(h.written_files[i].second);
  }
  set_strings(b.initCpuFeatures(static_cast<unsigned>(h.cpu_features.size())), h.cpu_features);
  b.setRecordCpu(h.record_cpu);
  b.setSyscallFilter(h.syscall_filter);
  b.setClearsSignalFrames(h.clears_signal_frames);
  b.setIgnoredSignals(h.ignored_signals);
}

void encode(schema::Event::Builder b, const Event& e) {
  b.setNum(e.num.value);
  b.setTid(e.tid.value);
  b.setKind(static_cast<schema::EventKind>(e.kind));
  b.setRegs(capnp::Data::Reader(reinterpret_cast<const kj::byte*>(&e.regs), sizeof(e.regs)));
  b.setSyscallNo(e.syscall_no);
  b.setSigno(e.signo);
  b.setSiginfo(capnp::Data::Reader(e.siginfo.data(), e.siginfo.size()));
  b.setTsc(e.tsc);
  b.setTscAux(e.tsc_aux);
  b.setRdtscp(e.rdtscp);
  auto out = b.initCpuidOut(4);
  for (unsigned i = 0; i < 4; ++i) out.set(i, e.cpuid_out[i]);
  b.setRandom(e.random);
  b.setRandomOk(e.random_ok);
  b.setExitStatus(e.exit_status);
  if (!e.state_hash.empty())
    b.setStateHash(capnp::Data::Reader(e.state_hash.data(), e.state_hash.size()));
  b.setLoopRegs(e.loop_regs);
  b.setUserTimeMs(e.user_time_ms);
  b.setTimeNs(e.time_ns);
  if (!e.loop_words.empty()) {
    auto words = b.initLoopWords(static_cast<unsigned>(e.loop_words.size()));
    for (unsigned i = 0; i < e.loop_words.size(); ++i) {
      words[i].setAddr(e.loop_words[i].addr);
      words[i].setValue(e.loop_words[i].value);
    }
  }
  if (e.flags & (kFlagFileWrite | kFlagFileTruncate)) {
    auto fw = b.initFileWrite();
    fw.setDev(e.file_write_dev);
    fw.setInode(e.file_write_inode);
    fw.setOffset(e.file_write_offset);
  }
  b.setFlags(e.flags);
  b.setSyscallbufLength(e.syscallbuf.size());
  b.setBatonReleases(e.baton_releases);
  if (!e.peer_syscallbufs.empty()) {
    auto peers = b.initPeerBuffers(static_cast<unsigned>(e.peer_syscallbufs.size()));
    for (unsigned i = 0; i < e.peer_syscallbufs.size(); ++i) {
      peers[i].setTid(e.peer_syscallbufs[i].tid.value);
      peers[i].setLength(e.peer_syscallbufs[i].records.size());
    }
  }
  auto writes = b.initWrites(static_cast<unsigned>(e.writes.size()));
  for (unsigned i = 0; i < e.writes.size(); ++i) {
    writes[i].setAddr(e.writes[i].addr);
    writes[i].setLength(e.writes[i].bytes.size());
  }
}

void encode(schema::MappingRecord::Builder b, const MappingRecord& m) {
  b.setEvent(m.event.value);
  b.setTid(m.tid.value);
  b.setStart(m.start);
  b.setEnd(m.end);
  b.setProt(m.prot);
  b.setFlags(m.flags);
  b.setFileOffset(m.file_offset);
  b.setOrigPath(as_data(m.orig_path));
  b.setTraceFile(as_data(m.trace_file));
  b.setStorage(static_cast<schema::FileStorage>(m.storage));
  b.setDev(m.dev);
  b.setInode(m.inode);
  b.setSize(m.size);
  b.setMtimeNs(m.mtime_ns);
}

void encode(schema::TaskEvent::Builder b, const TaskEvent& t) {
  b.setEvent(t.event.value);
  b.setKind(static_cast<schema::TaskEventKind>(t.kind));
  b.setTid(t.tid.value);
  b.setParentTid(t.parent_tid.value);
  b.setCloneFlags(t.clone_flags);
  set_strings(b.initArgv(static_cast<unsigned>(t.argv.size())), t.argv);
  b.setExePath(as_data(t.exe_path));
  b.setExeTraceFile(as_data(t.exe_trace_file));
  b.setInterpTraceFile(as_data(t.interp_trace_file));
  b.setInterpPath(as_data(t.interp_path));
  b.setExitStatus(t.exit_status);
  b.setFormerTid(t.former_tid.value);
}

template <class Schema, class Value>
Result<void> write_record(BlockWriter* stream, const char* what, const Value& v) {
  REWIND_ASSERT(stream != nullptr, "trace writer used after close()");
  capnp::MallocMessageBuilder msg(reused_first_segment());
  REWIND_TRY(build_guarded(what, [&] { encode(msg.initRoot<Schema>(), v); }));
  return write_frame(*stream, msg);
}

// System files are hard-linked rather than copied: they are large, shared by
// every recording, and a package upgrade replaces them by rename, so the
// linked inode keeps the recorded content. Anything else (/tmp, $HOME, build
// outputs) may be rewritten in place, which would change a link under us.
bool is_system_path(std::string_view p) {
  for (std::string_view prefix : {"/usr/", "/lib", "/bin/", "/sbin/", "/opt/", "/etc/"}) {
    if (p.starts_with(prefix)) return true;
  }
  return false;
}

// Tries to hard-link the captured file to `dest`. Fails quietly: with
// fs.protected_hardlinks=1 (the default) an unprivileged user cannot link a
// root-owned file, and the caller then copies it.
bool link_file(const FileToCapture& f, const fs::path& dest) {
  bool linked = !f.access_path.empty() && ::linkat(AT_FDCWD, f.access_path.c_str(), AT_FDCWD,
                                                   dest.c_str(), AT_SYMLINK_FOLLOW) == 0;
  if (!linked) linked = ::link(f.orig_path.c_str(), dest.c_str()) == 0;
  if (!linked) return false;
  // orig_path may since have been replaced by another file; only the inode
  // the tracee mapped will do.
  struct stat st {};
  if (::stat(dest.c_str(), &st) == 0 && st.st_dev == f.st.st_dev && st.st_ino == f.st.st_ino) {
    return true;
  }
  ::unlink(dest.c_str());
  return false;
}

Result<void> copy_file(const FileToCapture& f, const fs::path& dest) {
  const std::string& src = f.access_path.empty() ? f.orig_path : f.access_path;
  const std::string what = src == f.orig_path ? f.orig_path : f.orig_path + " (via " + src + ")";
  ScopedFd in(::open(src.c_str(), O_RDONLY | O_CLOEXEC));
  if (!in.is_open()) return Error::from_errno("capturing " + what + ": open");
  // Replay may execve a captured executable, so keep it executable.
  const mode_t mode = (f.st.st_mode & 0111) ? 0700 : 0600;
  ScopedFd out(::open(dest.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode));
  if (!out.is_open()) return Error::from_errno("capturing " + what + ": creating " + dest.string());
  // Synced with the rest at close(), not here on the tracee's time.
  Result<void> r = copy_fd(in.get(), out.get(), what);
  if (!r.ok()) {
    ::unlink(dest.c_str());
    return r.error().context("capturing " + f.orig_path);
  }
  return ok_result();
}

// "files/libc.so.6-1f": the basename keeps listings readable, the counter
// keeps distinct captures of the same name apart.
std::string capture_name(const std::string& orig_path, uint64_t id) {
  std::string base = fs::path(orig_path).filename().string();
  if (base.empty() || base == "." || base == "..") base = "file";
  char suffix[24];
  std::snprintf(suffix, sizeof(suffix), "-%llx", static_cast<unsigned long long>(id));
  return "files/" + base + suffix;
}

// `record -o DIR` into a directory that exists already: it must be empty,
// ours, and end up 0700 like one we create, because a trace holds process
// memory and replay trusts its files. A directory others can write keeps
// its mode otherwise (mkdir never changes it), and anyone could swap files
// under the recorder.
Result<void> claim_existing_dir(const fs::path& dir) {
  ScopedFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd.is_open()) {
    if (errno == ENOTDIR || errno == ELOOP)
      return Error{"trace directory " + dir.string() + " exists and is not a directory"};
    return Error::from_errno("opening trace directory " + dir.string());
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return Error::from_errno("fstat " + dir.string());
  if (st.st_uid != ::geteuid()) {
    return Error{"trace directory " + dir.string() + " belongs to uid " +
                 std::to_string(st.st_uid) +
                 ", not to this user: its owner could replace trace files; use a new directory"};
  }
  std::error_code ec;
  if (!fs::is_empty(dir, ec) || ec)
    return Error{"trace directory " + dir.string() + " already exists and is not empty"};
  if ((st.st_mode & 07777) != 0700 && ::fchmod(fd.get(), 0700) != 0)
    return Error::from_errno("making " + dir.string() + " private (chmod 0700)");
  return ok_result();
}

}  // namespace

Result<std::unique_ptr<TraceWriter>> TraceWriter::create(const fs::path& dir) {
  if (::mkdir(dir.c_str(), 0700) != 0) {
    if (errno != EEXIST) return Error::from_errno("creating trace directory " + dir.string());
    REWIND_TRY(claim_existing_dir(dir));
  }
  std::unique_ptr<TraceWriter> w(new TraceWriter);
  w->dir_ = dir;
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0) return Error::from_errno("stat " + dir.string());
  w->dir_dev_ = st.st_dev;

  // `incomplete` is created first and holds the version line already, so
  // close() only has to rename it. The flock tells a reader whether a
  // recorder is still writing this trace or died without finishing.
  const fs::path incomplete = dir / "incomplete";
  w->incomplete_fd_ =
      ScopedFd(::open(incomplete.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  if (!w->incomplete_fd_.is_open()) return Error::from_errno("creating " + incomplete.string());
  if (::flock(w->incomplete_fd_.get(), LOCK_EX | LOCK_NB) != 0) {
    return Error::from_errno("locking " + incomplete.string());
  }
  const std::string version = "rewind-trace " + std::to_string(kFormatVersion) + "\n";
  REWIND_TRY(
      write_all(w->incomplete_fd_.get(), version.data(), version.size(), incomplete.string()));

  if (::mkdir((dir / "files").c_str(), 0700) != 0) {
    return Error::from_errno("creating " + (dir / "files").string());
  }
  struct {
    const char* name;
    std::unique_ptr<BlockWriter>* stream;
  } streams[] = {
      {"events", &w->events_}, {"data", &w->data_}, {"mmaps", &w->mmaps_}, {"tasks", &w->tasks_}};
  for (auto& s : streams) {
    auto bw = BlockWriter::create(dir / s.name);
    if (!bw) return bw.error();
    *s.stream = std::move(*bw);
  }
  REWIND_LOG(Trace, "recording into %s", dir.c_str());
  return w;
}

TraceWriter::~TraceWriter() {
  if (closed_) return;
  // Keep what was recorded for a post-mortem look; `incomplete` stays, so no
  // reader mistakes this for a finished trace. `data` first, as flush() does.
  for (auto* s : {&data_, &mmaps_, &tasks_, &events_}) {
    if (!*s) continue;
    auto r = (*s)->finish();
    if (!r.ok()) REWIND_LOG(Trace, "flushing unfinished trace: %s", r.error().message.c_str());
  }
}

namespace {
// The header is one frame in a block stream of its own, so it has the same
// checksum as every other record: a flipped byte in a string is caught.
Result<void> write_header_file(const fs::path& path, const TraceHeader& h, bool sync = true) {
  capnp::MallocMessageBuilder msg;
  REWIND_TRY(
      build_guarded("trace header", [&] { encode(msg.initRoot<schema::TraceHeader>(), h); }));
  auto w = BlockWriter::create(path);
  if (!w) return w.error();
  REWIND_TRY(write_frame(**w, msg));
  return (*w)->finish(sync);
}
}  // namespace

Result<void> replace_header(const fs::path& dir, const TraceHeader& h) {
  const fs::path tmp = dir / "header.tmp";
  REWIND_TRY(write_header_file(tmp, h));
  if (::rename(tmp.c_str(), (dir / "header").c_str()) != 0)
    return Error::from_errno("renaming " + tmp.string());
  ScopedFd d(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (d.is_open()) ::fsync(d.get());
  return ok_result();
}

namespace {
template <class Schema, class Value>
Result<void> replace_stream(const fs::path& dir, const char* name, const char* what,
                            const std::vector<Value>& values) {
  const fs::path tmp = dir / (std::string(name) + ".tmp");
  const fs::path dest = dir / name;
  {
    ::unlink(tmp.c_str());  // left by an interrupted earlier run
    auto w = BlockWriter::create(tmp);
    if (!w) return w.error();
    for (const Value& v : values) REWIND_TRY(write_record<Schema>(w->get(), what, v));
    REWIND_TRY((*w)->finish());  // fsyncs
  }
  if (::rename(tmp.c_str(), dest.c_str()) != 0)
    return Error::from_errno("renaming " + tmp.string() + " to " + dest.string());
  return fsync_path(dir);
}
}  // namespace

Result<void> replace_records(const fs::path& dir, const std::vector<MappingRecord>& mappings,
                             const std::vector<TaskEvent>& task_events) {
  REWIND_TRY(replace_stream<schema::MappingRecord>(dir, "mmaps", "mapping", mappings));
  return replace_stream<schema::TaskEvent>(dir, "tasks", "task event", task_events);
}

Result<void> TraceWriter::write_header(const TraceHeader& h) {
  REWIND_TRY(write_header_file(dir_ / "header", h, /*sync=*/false));  // close() syncs it
  unsynced_files_.push_back(dir_ / "header");
  header_ = h;
  return ok_result();
}

Result<void> TraceWriter::write_event(const Event& e) {
  REWIND_ASSERT(events_ != nullptr, "trace writer used after close()");
  capnp::MallocMessageBuilder msg(reused_first_segment());
  const uint64_t time_ns =
      e.time_ns ? e.time_ns
                : static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                            std::chrono::steady_clock::now() - started_)
                                            .count());
  REWIND_TRY(build_guarded("event", [&] {
    auto root = msg.initRoot<schema::Event>();
    encode(root, e);
    root.setTimeNs(time_ns);
  }));
  const Segments segments = msg.getSegmentsForOutput();
  // An events block that fills up is written out by append(); flush the
  // other streams before, so that no event reaches the file ahead of its
  // data, mappings or task events.
  if (events_->pending_bytes() + frame_bytes(segments) > kMaxBlock) REWIND_TRY(flush());
  REWIND_TRY(write_frame(*events_, segments));
  if (!pending_since_) pending_since_ = std::chrono::steady_clock::now();
  if (e.flags & (kFlagFileWrite | kFlagFileTruncate))
    written_files_.emplace(e.file_write_dev, e.file_write_inode);
  for (const MemWrite& w : e.writes) REWIND_TRY(data_->append(w.bytes.data(), w.bytes.size()));
  if (!e.syscallbuf.empty()) REWIND_TRY(data_->append(e.syscallbuf.data(), e.syscallbuf.size()));
  for (const Event::PeerRecords& p : e.peer_syscallbufs)
    REWIND_TRY(data_->append(p.records.data(), p.records.size()));
  return ok_result();
}

Result<void> TraceWriter::write_mapping(const MappingRecord& m) {
  if (!pending_since_) pending_since_ = std::chrono::steady_clock::now();
  return write_record<schema::MappingRecord>(mmaps_.get(), "mapping", m);
}

Result<void> TraceWriter::write_task_event(const TaskEvent& t) {
  if (!pending_since_) pending_since_ = std::chrono::steady_clock::now();
  return write_record<schema::TaskEvent>(tasks_.get(), "task event", t);
}

Result<void> TraceWriter::flush() {
  REWIND_ASSERT(events_ != nullptr, "trace writer used after close()");
  for (auto* s : {&data_, &mmaps_, &tasks_, &events_}) REWIND_TRY((*s)->flush());
  pending_since_.reset();
  return ok_result();
}

Result<void> TraceWriter::flush_if_due() {
  if (pending_since_ && std::chrono::steady_clock::now() - *pending_since_ >= kFlushInterval)
    return flush();
  return ok_result();
}

std::chrono::milliseconds TraceWriter::flush_due_in() const {
  if (!pending_since_) return std::chrono::milliseconds::max();
  auto left = std::chrono::ceil<std::chrono::milliseconds>(*pending_since_ + kFlushInterval -
                                                           std::chrono::steady_clock::now());
  return std::max(left, std::chrono::milliseconds(0));
}

Result<CapturedFile> TraceWriter::capture_file(const FileToCapture& f) {
  const auto key = std::make_tuple(
      uint64_t{f.st.st_dev}, uint64_t{f.st.st_ino}, static_cast<uint64_t>(f.st.st_size),
      int64_t{f.st.st_mtim.tv_sec} * 1000000000 + f.st.st_mtim.tv_nsec);
  if (auto it = captured_.find(key); it != captured_.end()) return it->second;

  CapturedFile c;
  c.trace_file = capture_name(f.orig_path, next_file_id_++);
  const fs::path dest = dir_ / c.trace_file;
  // A link shares later writes to the file, so a file the tracee can write
  // through a shared mapping must be copied even when it is a system file.
  if (is_system_path(f.orig_path) && f.st.st_dev == dir_dev_ && !f.mapped_shared_writable &&
      link_file(f, dest)) {
    c.storage = FileStorage::Linked;
  } else {
    REWIND_TRY(copy_file(f, dest));
    unsynced_files_.push_back(dest);
    c.storage = FileStorage::Copied;
  }
  REWIND_LOG(Trace, "captured %s as %s (%s)", f.orig_path.c_str(), c.trace_file.c_str(),
             c.storage == FileStorage::Linked ? "linked" : "copied");
  captured_.emplace(key, c);
  return c;
}

namespace {
// Runs the jobs on threads of their own, a batch at a time, and returns the
// first error. For fsyncs: each waits ~1.3 ms for the disk here, and the
// filesystem commits concurrent ones together.
Result<void> run_parallel(std::vector<std::function<Result<void>()>>& jobs) {
  constexpr size_t kBatch = 16;
  std::vector<Result<void>> results(jobs.size(), ok_result());
  for (size_t first = 0; first < jobs.size(); first += kBatch) {
    std::vector<std::thread> threads;
    for (size_t i = first; i < std::min(jobs.size(), first + kBatch); ++i)
      threads.emplace_back([&, i] { results[i] = jobs[i](); });
    for (std::thread& t : threads) t.join();
  }
  for (Result<void>& r : results) REWIND_TRY(std::move(r));
  return ok_result();
}
}  // namespace

Result<void> TraceWriter::close() {
  if (closed_) return ok_result();
  if (!header_) return Error{dir_.string() + ": closing a trace without a header"};
  if (!written_files_.empty())
    header_->written_files.assign(written_files_.begin(), written_files_.end());
  // Every file must be durable before `version` says the trace is whole:
  // the streams' last blocks, the header if it changed, the copied files
  // and both directories' entries, all synced at once.
  const fs::path incomplete = dir_ / "incomplete";
  std::vector<std::function<Result<void>()>> jobs;
  for (auto* s : {&data_, &mmaps_, &tasks_, &events_})
    jobs.push_back([s] { return (*s)->finish(); });
  if (!written_files_.empty()) jobs.push_back([this] { return replace_header(dir_, *header_); });
  for (const fs::path& p : unsynced_files_) jobs.push_back([p] { return fsync_path(p.string()); });
  jobs.push_back([&]() -> Result<void> {
    if (::fsync(incomplete_fd_.get()) != 0)
      return Error::from_errno("fsync " + incomplete.string());
    return ok_result();
  });
  jobs.push_back([this] { return fsync_path(dir_ / "files"); });
  jobs.push_back([this] { return fsync_path(dir_); });
  REWIND_TRY(run_parallel(jobs));
  for (auto* s : {&data_, &mmaps_, &tasks_, &events_}) s->reset();
  unsynced_files_.clear();
  // Not synced after: a crash now leaves a trace that reads as incomplete,
  // which is the safe side.
  if (::rename(incomplete.c_str(), (dir_ / "version").c_str()) != 0) {
    return Error::from_errno("renaming " + incomplete.string() + " to version");
  }
  incomplete_fd_.reset();  // drops the flock
  closed_ = true;
  return ok_result();
}

}  // namespace rwd::trace
