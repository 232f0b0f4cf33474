// rewind ls, rm and mv, and replay -e's last event (TraceList.h).
#include "core/api/TraceList.h"

#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <set>
#include <utility>

#include "core/trace/TraceReader.h"

namespace rwd::api {
namespace {

namespace fs = std::filesystem;

// Disk use of a tree, each inode once: a packed trace hard-links its files
// into a shared store, and a trace copied with `cp -al` shares them all.
uint64_t disk_use(const fs::path& dir) {
  std::set<std::pair<dev_t, ino_t>> seen;
  uint64_t bytes = 0;
  std::error_code ec;
  auto add = [&](const fs::path& p) {
    struct stat st {};
    if (::lstat(p.c_str(), &st) == 0 && seen.insert({st.st_dev, st.st_ino}).second)
      bytes += static_cast<uint64_t>(st.st_blocks) * 512;
  };
  add(dir);
  for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
    add(it->path());
  return bytes;
}

// What `latest-trace` in the root names, resolved; empty if nothing.
fs::path latest_of(const fs::path& root) {
  std::error_code ec;
  fs::path p = fs::canonical(root / "latest-trace", ec);
  return ec ? fs::path() : p;
}

TraceSummary summarise(const fs::path& dir) {
  TraceSummary s;
  s.name = dir.filename().string();
  s.dir = dir;
  s.bytes = disk_use(dir);
  auto reader = trace::TraceReader::open(dir, trace::IncompleteTraces::ReadPrefix);
  if (!reader) {
    s.problem = reader.error().message;
    return s;
  }
  const trace::TraceReader& r = **reader;
  s.state = !r.incomplete()                   ? TraceState::Complete
            : r.incomplete()->still_recording ? TraceState::Recording
                                              : TraceState::Incomplete;
  s.start_time_ns = r.header().start_time_ns;
  s.argv = r.header().argv;
  // The initial process is the first to exec (the recorded program); its
  // leader's death is its exit status.
  int32_t root = 0;
  for (const auto& te : r.task_events()) {
    if (te.kind == trace::TaskEventKind::Exec && !root) root = te.tid.value;
    if (te.kind == trace::TaskEventKind::Exit && root && te.tid.value == root)
      s.exit_status = te.exit_status;
  }
  return s;
}

// A trace directory of the root: not latest-trace, not the hidden
// leftovers of rm and update_latest_link, nothing but directories.
bool is_trace_entry(const fs::directory_entry& e) {
  std::error_code ec;
  const std::string name = e.path().filename().string();
  return !name.empty() && name[0] != '.' && !e.is_symlink(ec) && e.is_directory(ec);
}

// latest-trace after `gone` went: the newest trace left, or no link.
void repoint_latest(const fs::path& root, const fs::path& gone) {
  if (latest_of(root) != gone && fs::exists(root / "latest-trace")) return;
  auto traces = list_traces();
  if (traces && !traces->empty()) {
    (void)trace::update_latest_link(root, traces->back().dir);
    return;
  }
  ::unlink((root / "latest-trace").c_str());
}

}  // namespace

fs::path trace_root() {
  return trace::default_trace_root();
}

Result<std::vector<TraceSummary>> list_traces(TraceDetail detail) {
  const fs::path root = trace_root();
  std::vector<TraceSummary> out;
  std::error_code ec;
  if (!fs::exists(root, ec)) return out;
  fs::directory_iterator it(root, ec);
  if (ec) return Error{"listing " + root.string() + ": " + ec.message()};
  const fs::path latest = latest_of(root);
  for (const auto& e : it) {
    if (!is_trace_entry(e)) continue;
    if (detail == TraceDetail::Names) {
      TraceSummary named;
      named.name = e.path().filename().string();
      named.dir = e.path();
      out.push_back(std::move(named));
    } else {
      out.push_back(summarise(e.path()));
    }
    out.back().latest = fs::canonical(e.path(), ec) == latest;
  }
  // (Names: every start time is 0, so this is name order.)
  std::sort(out.begin(), out.end(), [](const TraceSummary& a, const TraceSummary& b) {
    return std::tie(a.start_time_ns, a.name) < std::tie(b.start_time_ns, b.name);
  });
  return out;
}

Result<void> remove_trace(const fs::path& given) {
  std::error_code ec;
  const fs::path dir = fs::canonical(given, ec);
  if (ec) return Error{"trace " + given.string() + ": " + ec.message()};
  auto lock = trace::lock_trace_for_removal(dir);
  if (!lock) return lock.error();
  // Out of sight first, atomically: a replay started now finds no trace,
  // rather than half of one; then delete at leisure.
  const fs::path doomed =
      dir.parent_path() / (".rm-" + dir.filename().string() + "." + std::to_string(::getpid()));
  if (::rename(dir.c_str(), doomed.c_str()) != 0)
    return Error::from_errno("renaming " + dir.string() + " to remove it");
  fs::remove_all(doomed, ec);
  if (ec) return Error{"removing " + doomed.string() + ": " + ec.message()};
  repoint_latest(trace_root(), dir);
  return ok_result();
}

Result<fs::path> rename_trace(const fs::path& given, const std::string& to) {
  std::error_code ec;
  const fs::path dir = fs::canonical(given, ec);
  if (ec) return Error{"trace " + given.string() + ": " + ec.message()};
  if (to.empty()) return Error{"no new name given"};
  const fs::path target = to.find('/') == std::string::npos ? dir.parent_path() / to : fs::path(to);
  auto lock = trace::lock_trace_for_removal(dir);
  if (!lock) return lock.error();
  if (::renameat2(AT_FDCWD, dir.c_str(), AT_FDCWD, target.c_str(), RENAME_NOREPLACE) != 0) {
    if (errno == EXDEV)
      return Error{target.string() +
                   " is on another filesystem: copy the trace (rewind bundle) "
                   "instead"};
    return Error::from_errno("renaming " + dir.string() + " to " + target.string());
  }
  const fs::path moved = fs::canonical(target, ec);
  const fs::path root = trace_root();
  if (latest_of(root).empty() && fs::is_symlink(root / "latest-trace", ec)) {
    // It named the trace just moved: follow it, if it stays in the root.
    if (moved.parent_path() == fs::canonical(root, ec))
      (void)trace::update_latest_link(root, moved);
    else
      repoint_latest(root, dir);
  }
  return moved;
}

Result<uint64_t> last_event(const fs::path& dir) {
  auto reader = trace::TraceReader::open(dir, trace::IncompleteTraces::ReadPrefix);
  if (!reader) return reader.error();
  if ((*reader)->incomplete()) return (*reader)->incomplete()->last_event;
  uint64_t last = 0;
  for (;;) {
    auto e = (*reader)->next_event();
    if (!e) return e.error();
    if (!*e) return last;
    last = (*e)->num.value;
  }
}

}  // namespace rwd::api
