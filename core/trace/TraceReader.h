#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/base/Error.h"
#include "core/trace/BlockStream.h"
#include "core/trace/TraceTypes.h"

namespace rwd::trace {

// Reads a trace directory written by TraceWriter. Every failure (missing or
// wrong `version`, an `incomplete` trace, a truncated or corrupt block, a
// malformed message, a missing captured file) is an Error naming the file and
// the problem; nothing here aborts on bad input.
class TraceReader {
 public:
  static Result<std::unique_ptr<TraceReader>> open(const std::filesystem::path& dir);

  const std::filesystem::path& dir() const { return dir_; }
  const TraceHeader& header() const { return header_; }
  // Loaded eagerly by open(): they are small.
  const std::vector<MappingRecord>& mappings() const { return mappings_; }
  const std::vector<TaskEvent>& task_events() const { return task_events_; }

  // Streams events in order; std::nullopt at the clean end of the stream.
  Result<std::optional<Event>> next_event();
  // A reader of the same trace whose next event is this one's next event.
  Result<std::unique_ptr<TraceReader>> clone() const;

  // Absolute path of a captured file (trace_file is relative).
  std::filesystem::path file_path(const std::string& trace_file) const { return dir_ / trace_file; }

 private:
  TraceReader() = default;
  std::filesystem::path dir_;
  TraceHeader header_;
  std::vector<MappingRecord> mappings_;
  std::vector<TaskEvent> task_events_;
  std::unique_ptr<BlockReader> events_, data_;
  uint64_t events_read_ = 0;     // for error messages: "record N"
  uint64_t last_event_num_ = 0;  // event numbers must strictly increase
};

// Trace directory naming: $REWIND_TRACE_DIR, else ~/.local/share/rewind.
std::filesystem::path default_trace_root();
// Picks <root>/<basename(prog)>-<n> with the smallest unused n >= 0.
Result<std::filesystem::path> new_trace_dir(const std::filesystem::path& root,
                                            const std::string& prog);
// Points <root>/latest-trace at dir (atomically replaced symlink).
Result<void> update_latest_link(const std::filesystem::path& root,
                                const std::filesystem::path& dir);
// Resolves the TRACE argument of replay/info/dump/ps: empty means latest-trace.
Result<std::filesystem::path> resolve_trace_arg(const std::string& arg);

}  // namespace rwd::trace
