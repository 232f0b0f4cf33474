// rewind record --checkpoint-interval: persistent checkpoints saved while
// recording, by a replay that follows the recording (docs/checkpoints.md,
// "Making them while recording").
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "core/base/Error.h"
#include "core/base/Fd.h"

namespace rwd::cli {

// `rewind checkpoint create TRACE --follow`, started beside a recording. It
// is not the recorder's child (the recorder waits for any child of its
// own), runs in a process group of its own (Ctrl-C at the terminal goes to
// the recorded program, never to the replay's tracees), on the recording's
// CPU at the lowest priority (SCHED_IDLE; RecordCheckpoints.cc says why).
class CheckpointFollower {
 public:
  static Result<std::unique_ptr<CheckpointFollower>> start(const std::filesystem::path& trace,
                                                           double interval, int record_cpu);
  // Stops the follower if it still runs, and waits for it.
  ~CheckpointFollower();
  CheckpointFollower(const CheckpointFollower&) = delete;
  CheckpointFollower& operator=(const CheckpointFollower&) = delete;

  // Once the recording is closed: waits for the follower to replay the
  // rest (Ctrl-C stops it, keeping what it saved) and prints its summary.
  // Returns whether it finished cleanly.
  bool finish();

 private:
  CheckpointFollower(pid_t pid, ScopedFd out) : pid_(pid), out_(std::move(out)) {}
  // Reads what the follower printed until it closes its end (its exit).
  // `interruptible`: Ctrl-C asks it to stop.
  void drain(bool interruptible);

  pid_t pid_;
  ScopedFd out_;                    // the follower's stdout
  std::vector<std::string> lines_;  // what it printed (stdout and stderr)
  bool done_ = false;
};

}  // namespace rwd::cli
