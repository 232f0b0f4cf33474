// Persistent checkpoints in a trace (docs/checkpoints.md), which replay -g,
// seek and reverse execution start from: making, listing, showing and
// removing them. Each function takes the TRACE argument as typed (empty:
// the latest trace). Those that change the checkpoints take the trace's
// writer lock first; an Error then says the trace is busy.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "core/base/Error.h"

namespace rwd::api {

struct CheckpointSummary {
  uint64_t event = 0;             // the events replayed before it
  uint64_t recorded_time_ns = 0;  // how far into the recording
  uint64_t bytes = 0;             // on disk: its metadata and the pages it added
  size_t pages = 0;
};
// Oldest first.
Result<std::vector<CheckpointSummary>> list_checkpoints(const std::string& trace_arg);

// Removes the checkpoints at `events`, or all of them; how many it removed.
Result<size_t> remove_checkpoints(const std::string& trace_arg,
                                  const std::vector<uint64_t>& events);
Result<size_t> remove_all_checkpoints(const std::string& trace_arg);

// checkpoint show, dump --checkpoint: prints to stdout what the checkpoint
// at `event` holds (processes, threads' registers, mappings); with
// CheckpointPages::List also each saved page's address and hash.
enum class CheckpointPages { Count, List };
Result<void> print_checkpoint(const std::string& trace_arg, uint64_t event, CheckpointPages pages);

// rewind checkpoint create: replays the trace once, saving a checkpoint
// whenever one is due.
enum class Follow {
  No,
  // The trace is still being recorded (record --checkpoint-interval):
  // keep up with the recorder until it finishes, and stop on SIGTERM.
  Yes,
};
struct CheckpointCreateRequest {
  std::string trace_arg;
  uint64_t every = 0;   // events between checkpoints; 0: by time
  double interval = 0;  // seconds of recorded time between them; both 0: 1 s
  Follow follow = Follow::No;
  int cpu = -1;  // the CPU to replay on (-1: the recording's)
};
struct CheckpointsMade {
  size_t count = 0;
  uint64_t bytes = 0;
  double seconds = 0;    // the replay's wall-clock time
  bool stopped = false;  // by SIGTERM, before the end
};
// A terminal gets a progress bar on stderr; otherwise each checkpoint is a
// line on stdout (but for a follower, which record reports on).
Result<CheckpointsMade> create_checkpoints(CheckpointCreateRequest req);

}  // namespace rwd::api
