// Private to rewind_api (Recorder.cc). rewind record --checkpoint-interval:
// persistent checkpoints saved while recording, by a replay that follows
// the recording (docs/checkpoints.md, "Making them while recording").
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <memory>

#include "core/base/Error.h"
#include "core/base/Fd.h"

namespace rwd::api {

// `rewind checkpoint create TRACE --follow`, started beside a recording. It
// is not the recorder's child (the recorder waits for any child of its
// own), runs in a process group of its own (Ctrl-C at the terminal goes to
// the recorded program, never to the replay's tracees), on the recording's
// CPU at the lowest priority (SCHED_IDLE; RecordCheckpoints.cc says why).
// What it prints goes to TRACE/checkpoints/follow.log; while it runs it
// holds the trace's writer lock (lock_trace_for_writing).
class CheckpointFollower {
 public:
  static Result<std::unique_ptr<CheckpointFollower>> start(const std::filesystem::path& trace,
                                                           double interval, int record_cpu);
  // Stops the follower if it still runs (unless it was left to finish in
  // the background), and waits for it.
  ~CheckpointFollower();
  CheckpointFollower(const CheckpointFollower&) = delete;
  CheckpointFollower& operator=(const CheckpointFollower&) = delete;

  // Once the recording is closed. `wait`: until the follower has replayed
  // the rest (Ctrl-C stops it, keeping what it saved). Otherwise a moment
  // only, for the tail of a recording it kept up with; if it is not done
  // then, it is left to finish in the background, and this says so.
  // Prints its summary and returns whether it finished cleanly (true when
  // it goes on in the background).
  bool finish(bool wait);

 private:
  CheckpointFollower(pid_t pid, ScopedFd pidfd, std::filesystem::path trace)
      : pid_(pid), pidfd_(std::move(pidfd)), trace_(std::move(trace)) {}
  // Waits for the follower's exit, at most `timeout_ms` (-1: no limit);
  // whether it exited. `interruptible`: Ctrl-C asks it to stop.
  bool wait_exit(int timeout_ms, bool interruptible);
  // Prints what it logged; whether it ended with its summary.
  bool report(double waited) const;

  pid_t pid_;
  ScopedFd pidfd_;  // pidfd_open(2): it is not our child
  std::filesystem::path trace_;
  bool done_ = false;
  bool detached_ = false;
};

}  // namespace rwd::api
