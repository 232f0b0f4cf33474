#pragma once

#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <tuple>

#include "core/base/Error.h"
#include "core/base/Fd.h"
#include "core/trace/BlockStream.h"
#include "core/trace/TraceTypes.h"

namespace rwd::trace {

// What the recorder knows about a file it wants captured.
struct FileToCapture {
  std::string orig_path;    // the name the tracee used / /proc/PID/maps shows
  std::string access_path;  // where to read it now, e.g. /proc/PID/fd/N or /proc/PID/map_files/A-B
  struct stat st {};
  bool mapped_shared_writable = false;
};

struct CapturedFile {
  std::string trace_file;  // relative to the trace directory, e.g. "files/libc.so.6-2049-1234"
  FileStorage storage = FileStorage::None;
};

// Writes one trace directory. Layout:
//   incomplete   exists (flock held) until close() renames it to `version`
//   version      "rewind-trace <kFormatVersion>\n" once the recording closed cleanly
//   header       one Cap'n Proto TraceHeader message
//   events       block stream of Event messages
//   data         block stream of the MemWrite bytes, in event order
//   mmaps        block stream of MappingRecord messages
//   tasks        block stream of TaskEvent messages
//   files/       captured mapped files (hard links or copies)
class TraceWriter {
 public:
  // Creates `dir` (mode 0700). An existing one must be an empty directory of
  // this user's; it is made 0700.
  static Result<std::unique_ptr<TraceWriter>> create(const std::filesystem::path& dir);
  ~TraceWriter();

  const std::filesystem::path& dir() const { return dir_; }

  Result<void> write_header(const TraceHeader& h);
  Result<void> write_event(const Event& e);
  Result<void> write_mapping(const MappingRecord& m);
  Result<void> write_task_event(const TaskEvent& t);

  // Captures a file into files/. Same (dev, inode, size, mtime) returns the
  // earlier capture. Hard-links files under /usr, /lib*, /bin, /sbin, /opt and
  // /etc when on the same filesystem; copies everything else (/tmp, tmpfs,
  // files mapped shared+writable, other filesystems).
  Result<CapturedFile> capture_file(const FileToCapture& f);

  // A recorder that is killed (kill -9, the OOM killer) loses what it has
  // not written out; TraceReader reads such a trace up to its last complete
  // event. So the streams are written out at least this often while
  // anything is pending: flush_if_due() is cheap enough for every event, and
  // flush_due_in() tells a recorder about to sleep how long it may.
  static constexpr std::chrono::milliseconds kFlushInterval{500};
  Result<void> flush_if_due();
  std::chrono::milliseconds flush_due_in() const;
  // Writes out every stream's pending block, `data` first and `events`
  // last: an event whose record reached the file has its data, mappings and
  // task events there too.
  Result<void> flush();

  // Flushes all streams, rewrites the header with the written files if there
  // were any, fsyncs, renames `incomplete` to `version`.
  Result<void> close();

 private:
  TraceWriter() = default;
  std::filesystem::path dir_;
  // When the recording started: events carry their time since (Event::time_ns).
  std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
  dev_t dir_dev_ = 0;                  // st_dev of dir_: only files on it can be hard-linked
  std::optional<TraceHeader> header_;  // rewritten by close() with written_files
  std::set<std::pair<uint64_t, uint64_t>> written_files_;  // from file-write events
  uint64_t next_file_id_ = 0;                              // makes names in files/ unique
  ScopedFd incomplete_fd_;                                 // holds the flock
  std::vector<std::filesystem::path> unsynced_files_;  // copied files and header: synced by close()
  std::unique_ptr<BlockWriter> events_, data_, mmaps_, tasks_;
  std::map<std::tuple<uint64_t, uint64_t, uint64_t, int64_t>, CapturedFile> captured_;
  bool closed_ = false;
  // When something was first appended after the last flush; nullopt when
  // nothing is pending.
  std::optional<std::chrono::steady_clock::time_point> pending_since_;
};

// Replaces the `header` of an existing trace: writes header.tmp, fsyncs it
// and renames it over `header`, so a crash leaves the old or the new header,
// never a torn one.
Result<void> replace_header(const std::filesystem::path& dir, const TraceHeader& h);

// Replaces the `mmaps` and then the `tasks` stream of a closed trace the same
// way (NAME.tmp, fsync, rename, fsync of the directory). `rewind pack` uses
// it to point the records at new files, which must already be durable.
Result<void> replace_records(const std::filesystem::path& dir,
                             const std::vector<MappingRecord>& mappings,
                             const std::vector<TaskEvent>& task_events);

}  // namespace rwd::trace
