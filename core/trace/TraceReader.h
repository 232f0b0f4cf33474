#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/base/Error.h"
#include "core/base/Fd.h"
#include "core/trace/BlockStream.h"
#include "core/trace/TraceTypes.h"

namespace rwd::trace {

// What to do with a trace whose recorder did not finish it: one it is still
// writing, or one it left behind when it was killed (kill -9, the OOM
// killer, a crashed CI job). Such a trace is often the one most worth
// debugging, and the recorder flushes its streams at least once a second
// (TraceWriter::kFlushInterval), so all but its last moments are there.
enum class IncompleteTraces {
  Refuse,      // an error, as for `rewind pack`, which must not seal a partial trace
  ReadPrefix,  // read it up to its last complete event
};

// Where an incomplete trace ends (TraceReader::open with ReadPrefix).
struct TraceEnd {
  bool still_recording = false;  // the recorder holds its lock: it may grow yet
  uint64_t events = 0;           // complete events, all readable
  uint64_t last_event = 0;       // the number of the last of them (0: none)
  std::string cut;               // what ends it: "events: truncated block body ...", or empty
};

// "the trace is incomplete (its recorder was killed): it ends after event
// 812, the last complete one (events: ...)", for warnings.
std::string describe(const TraceEnd& end);

// Reads a trace directory written by TraceWriter. Every failure (missing or
// wrong `version`, a truncated or corrupt block, a malformed message, a
// missing captured file, a file that is not a regular file) is an Error
// naming the file and the problem; nothing here aborts on bad input.
class TraceReader {
 public:
  static Result<std::unique_ptr<TraceReader>> open(
      const std::filesystem::path& dir, IncompleteTraces incomplete = IncompleteTraces::Refuse);

  // Set when the trace is incomplete: next_event() then ends cleanly after
  // its last complete event, and mappings() and task_events() hold nothing
  // past that event.
  const std::optional<TraceEnd>& incomplete() const { return incomplete_; }
  // For a trace still being recorded (incomplete()->still_recording):
  // takes in what the recorder has written out since, up to its last
  // complete event, with the mappings and task events that go with it.
  // Returns whether there are new events to read. Once the recorder has
  // finished (or died) and all it wrote is in, still_recording turns
  // false. A replay that follows a recording (record --checkpoint-interval)
  // calls it whenever it reaches the end.
  Result<bool> catch_up();

  const std::filesystem::path& dir() const { return dir_; }
  const TraceHeader& header() const { return header_; }
  // Loaded eagerly by open(): they are small.
  const std::vector<MappingRecord>& mappings() const { return mappings_; }
  const std::vector<TaskEvent>& task_events() const { return task_events_; }

  // Streams events in order; std::nullopt at the clean end of the stream.
  Result<std::optional<Event>> next_event();
  // A reader of the same trace whose next event is this one's next event.
  Result<std::unique_ptr<TraceReader>> clone() const;

  // Where this reader stands: after events_read complete events. Small and
  // plain, so that a persisted checkpoint (CheckpointStore.h) can keep it.
  ReaderPos position() const;
  // A reader of the same trace (header, mappings, task events, incomplete()
  // as this one's) whose next event is the one after `pos`, a position()
  // of a reader of this trace. It has its own files open. A position that
  // does not fit the files (past their end, not at a block, inside no
  // block) is an Error.
  Result<std::unique_ptr<TraceReader>> clone_at(const ReaderPos& pos) const;

  // Absolute path of a captured file (trace_file is relative).
  std::filesystem::path file_path(const std::string& trace_file) const { return dir_ / trace_file; }

 private:
  TraceReader() = default;
  // A reader with this one's header and records, and no streams.
  std::unique_ptr<TraceReader> copy_records() const;
  Result<void> open_streams();
  Result<void> scan_incomplete(bool still_recording);
  // Scans complete events from scan_end_ on into incomplete_ (count, last
  // number, files written, where it stops and why).
  Result<void> scan_more();
  void drop_records_past_end();
  Result<void> reload_records();
  Result<void> check_trace_files(size_t first_mapping, size_t first_task) const;
  // The next event as stored, or nullopt where the events stream ends.
  Result<std::optional<Event>> read_event();

  std::filesystem::path dir_;
  ScopedFd in_use_;                    // the shared "in use" lock (see lock_trace_for_removal)
  std::filesystem::path events_path_;  // dir_ / "events", for error messages
  std::optional<TraceEnd> incomplete_;
  ReaderPos scan_end_;  // after the last complete event scanned (incomplete traces)
  // A trace still being recorded: an event is taken only once the records
  // the recorder writes for it later have come too. Some records carry
  // the number of a syscall's entry event but are written at its exit (a
  // clone's TaskEvent, an mmap's MappingRecord): the events from such an
  // entry on wait for the same task's exit (or death).
  static bool recorded_at_exit(int64_t syscall_nr);
  struct OpenEntry {
    uint64_t index = 0;       // events scanned before the entry
    uint64_t num_before = 0;  // the number of the last of them
  };
  bool hold_back_ = false;
  std::map<int32_t, OpenEntry> open_entries_;  // by tid
  uint64_t scanned_events_ = 0, scanned_last_ = 0;
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
// Resolves the TRACE argument of replay/info/dump/ps: empty means
// latest-trace; a bare name that is not in the current directory, a trace
// in the trace root.
Result<std::filesystem::path> resolve_trace_arg(const std::string& arg);

// Held while a trace is removed or renamed: no recorder, no writer (pack,
// checkpoints) and no reader (each TraceReader holds the shared side) has
// it, and none can open it until the lock goes.
struct TraceRemovalLock {
  ScopedFd writers;  // lock_trace_for_writing (CheckpointStore.h)
  ScopedFd readers;  // exclusive on `version` (or a dead recording's `incomplete`)
};
Result<TraceRemovalLock> lock_trace_for_removal(const std::filesystem::path& dir);

}  // namespace rwd::trace
