// The traces in the trace directory, as `rewind ls`, `rm` and `mv` manage
// them, and where a trace ends (`replay -e`).
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "core/base/Error.h"

namespace rwd::api {

enum class TraceState {
  Complete,    // the recorder finished it
  Recording,   // a recorder is writing it now
  Incomplete,  // its recorder died: it replays up to where it ends
  Unreadable,  // not a trace this rewind reads (problem says why)
};

struct TraceSummary {
  std::string name;  // the directory's name in the trace root
  std::filesystem::path dir;
  TraceState state = TraceState::Unreadable;
  std::string problem;            // Unreadable: why
  int64_t start_time_ns = 0;      // CLOCK_REALTIME when recording began
  std::vector<std::string> argv;  // what was recorded
  uint64_t bytes = 0;             // on disk, each inode once (packs hard-link)
  // The initial process's wait status, once it has exited.
  std::optional<int> exit_status;
  bool latest = false;  // latest-trace names it
};

// The trace directory: $REWIND_TRACE_DIR, else ~/.local/share/rewind.
std::filesystem::path trace_root();

// Every trace directory in the trace root, oldest first. A root that does
// not exist yet has none. With Names, only name, dir and latest are set,
// in name order: what the shell's completion asks for on every Tab, without
// opening each trace and walking its files.
enum class TraceDetail { Full, Names };
Result<std::vector<TraceSummary>> list_traces(TraceDetail detail = TraceDetail::Full);

// Deletes a trace: refused while it is recorded or in use (a replay, a
// pack, checkpoints being saved). If it was the latest, the newest trace
// left becomes the latest.
Result<void> remove_trace(const std::filesystem::path& dir);

// Renames a trace; `to` is a name in the trace root or a path on the same
// filesystem, and must not exist. Refused while the trace is recorded or in
// use. latest-trace follows it. Returns the new directory.
Result<std::filesystem::path> rename_trace(const std::filesystem::path& dir, const std::string& to);

// The number of the trace's last event (0: it has none).
Result<uint64_t> last_event(const std::filesystem::path& dir);

}  // namespace rwd::api
