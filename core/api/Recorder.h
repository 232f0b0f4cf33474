// The recorder's entry point for front ends: everything `rewind record`
// does once its options are parsed. The front end says what to run and
// how; this owns the rest (the trace directory and its header, pinning to
// one CPU, the CPU-feature masks, the preload library, spawning and running
// the RecordSession, the checkpoint follower), so that a second front end
// records exactly as the command line does.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "core/base/Error.h"

namespace rwd::api {

// -n: without the preload library every syscall is a ptrace stop (rr -n).
enum class SyscallBuffering { On, Off };
// record --checkpoint-wait: whether record waits for the follower's last
// checkpoints, or leaves it to finish in the background.
enum class CheckpointWait { Background, Wait };
// When the recording ends: when the initial process exits, killing what it
// left running (as rr record does), or when every process has (record -w).
enum class WaitFor { Initial, All };

struct RecordRequest {
  // The program as typed (looked up in $PATH unless it has a '/') and its
  // arguments; argv[0] also names the trace directory.
  std::vector<std::string> argv;
  // The program's environment before rewind adds to it (LD_PRELOAD and the
  // --cpu-features masks); the trace header keeps the result for replay.
  std::vector<std::string> env;
  // Where the trace goes. Empty: a new directory under the default trace
  // root, which the root's "latest" link then names.
  std::filesystem::path out_dir;
  // expand_cpu_features() of --cpu-features; empty: all this CPU has.
  std::vector<std::string> cpu_features;
  SyscallBuffering syscall_buffering = SyscallBuffering::On;
  // Seconds of recording between persistent checkpoints, saved meanwhile
  // by a replay that follows the recording; 0: none. That replay is
  // `checkpoint create --follow` run as /proc/self/exe, so only the rewind
  // command can ask for it today.
  double checkpoint_interval = 0;
  CheckpointWait checkpoint_wait = CheckpointWait::Background;
  WaitFor wait_for_all = WaitFor::Initial;
};

struct RecordOutcome {
  std::filesystem::path trace_dir;
  // The recorded program's wait status; an Error when recording stopped
  // before the program ended (the trace in trace_dir is then incomplete,
  // and still the one to debug).
  Result<int> wait_status = Error{"not recorded"};
};

// Records req.argv to its end. An Error means nothing was recorded (no such
// program, no trace directory, no CPU to pin to); warnings go to stderr.
// Ctrl-C and Ctrl-\ are left to the recorded program from here on.
Result<RecordOutcome> record(const RecordRequest& req);

// What --cpu-features accepts (`rewind record --cpu-features list`).
std::string describe_cpu_feature_choices();
// A --cpu-features LEVEL as the feature names it allows, or why not.
Result<std::vector<std::string>> expand_cpu_features(const std::string& spec);

}  // namespace rwd::api
