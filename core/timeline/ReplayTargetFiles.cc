// ReplayTarget's view of the recorded files: the trace's copies of what
// the recording executed or mapped, served to the debugger (vFile), and
// nothing else of this machine (RecordedFiles.h).
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <climits>
#include <cstdio>
#include <fstream>
#include <set>
#include <sstream>

#include "core/timeline/RecordedFiles.h"
#include "core/timeline/ReplayTarget.h"

namespace rwd {

// The trace's copy of a file the recording mapped or executed, looked up by
// the path the debugger asks for (which may go through symlinks, such as
// /lib64 or /lib on merged-/usr systems).
std::optional<std::string> ReplayTarget::trace_copy_of(const std::string& path) {
  std::error_code ec;
  const std::string canon = std::filesystem::weakly_canonical(path, ec).string();
  auto same = [&](const std::string& recorded) {
    if (recorded == path || recorded == canon) return true;
    std::error_code ec2;
    return std::filesystem::weakly_canonical(recorded, ec2).string() == canon;
  };
  const trace::TraceReader& r = session_->reader();
  for (const auto& te : r.task_events()) {
    if (te.kind != trace::TaskEventKind::Exec) continue;
    if (same(te.exe_path)) return r.file_path(te.exe_trace_file).string();
    if (!te.interp_trace_file.empty() && same(te.interp_path))
      return r.file_path(te.interp_trace_file).string();
  }
  for (const auto& m : r.mappings())
    if (!m.trace_file.empty() && same(m.orig_path)) return r.file_path(m.trace_file).string();
  return std::nullopt;
}

std::vector<std::pair<std::string, std::string>> ReplayTarget::recorded_file_copies() {
  std::vector<std::pair<std::string, std::string>> out;
  std::set<std::string> seen;
  auto add = [&](const std::string& recorded, const std::string& file) {
    if (recorded.empty() || file.empty() || !seen.insert(recorded).second) return;
    out.emplace_back(recorded, reader_->file_path(file).string());
  };
  for (const auto& te : reader_->task_events()) {
    if (te.kind != trace::TaskEventKind::Exec) continue;
    add(te.exe_path, te.exe_trace_file);
    add(te.interp_path, te.interp_trace_file);
  }
  for (const auto& m : reader_->mappings()) add(m.orig_path, m.trace_file);
  return out;
}

// Only what the trace holds, and separate debug info by build-id, which
// the program never mapped (RecordedFiles.h): never any other file of this
// machine, such as /etc/shadow or /proc/self/mem of rewind itself.
// gdb reads /proc/PID/task/TID/maps of the process it debugs (for the
// vDSO's range, and `info proc mappings`), and warns on every attach when
// it cannot. Those of a replayed thread are served, by its recorded ids,
// from the replay's own task: its address space is the recorded one. A
// copy in a memfd, since a /proc file has no size for vFile:fstat.
std::optional<Result<ScopedFd>> ReplayTarget::open_proc_maps(const std::string& path) {
  unsigned long pid = 0, tid = 0;
  char tail[8] = {};
  int used = 0;
  if (sscanf(path.c_str(), "/proc/%lu/task/%lu/%7s%n", &pid, &tid, tail, &used) == 3 &&
      static_cast<size_t>(used) == path.size()) {
  } else if (sscanf(path.c_str(), "/proc/%lu/%7s%n", &pid, tail, &used) == 2 &&
             static_cast<size_t>(used) == path.size()) {
    tid = pid;
  } else {
    return std::nullopt;
  }
  if (std::string(tail) != "maps" || pid > INT32_MAX || tid > INT32_MAX) return std::nullopt;
  RepTask* rt = task({static_cast<int32_t>(pid), static_cast<int32_t>(tid)});
  if (!rt || rt->task->rec_tid().value != static_cast<int32_t>(tid)) return std::nullopt;
  const Task& live = diversion_ ? *diversion_->task : *rt->task;
  std::ifstream in("/proc/" + std::to_string(live.real_tid()) + "/maps");
  std::ostringstream text;
  text << in.rdbuf();
  if (!in) return Result<ScopedFd>(Error{"reading the maps of thread " + std::to_string(tid)});
  const std::string bytes = text.str();
  ScopedFd fd(::memfd_create("rewind-maps", MFD_CLOEXEC));
  if (!fd.is_open() ||
      ::write(fd.get(), bytes.data(), bytes.size()) != static_cast<ssize_t>(bytes.size()))
    return Result<ScopedFd>(Error::from_errno("memfd for " + path));
  return Result<ScopedFd>(std::move(fd));
}

Result<ScopedFd> ReplayTarget::open_recorded_file(const std::string& path) {
  if (auto maps = open_proc_maps(path)) return std::move(*maps);
  if (std::optional<std::string> copy = trace_copy_of(path)) {
    ScopedFd fd(::open(copy->c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.is_open())
      return Error::from_errno("open " + *copy + " (the trace's copy of " + path + ")");
    return fd;
  }
  return open_file_beneath(kBuildIdDebugDir, path);
}

Result<std::vector<uint8_t>> ReplayTarget::read_recorded_file(const std::string& path,
                                                              uint64_t offset, size_t len) {
  Result<ScopedFd> fd = open_recorded_file(path);
  if (!fd) return fd.error();
  std::vector<uint8_t> out(len);
  size_t done = 0;
  // Past the largest off_t nothing can be read.
  while (done < len && offset + done <= static_cast<uint64_t>(INT64_MAX)) {
    ssize_t n =
        ::pread(fd->get(), out.data() + done, len - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Error::from_errno("read " + path);
    if (n == 0) break;
    done += static_cast<size_t>(n);
  }
  out.resize(done);
  return out;
}

Result<uint64_t> ReplayTarget::recorded_file_size(const std::string& path) {
  Result<ScopedFd> fd = open_recorded_file(path);
  if (!fd) return fd.error();
  struct stat st;
  if (::fstat(fd->get(), &st) < 0) return Error::from_errno("fstat " + path);
  return static_cast<uint64_t>(st.st_size);
}

}  // namespace rwd
