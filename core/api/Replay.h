// Replays for front ends: a ready target to debug (Target.h), and the
// replays that run without a debugger (`rewind replay -a` and its
// checkpoint-based variants). A front end never holds a ReplaySession: it
// gets a target::Target, or an outcome.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <vector>

#include "core/api/Target.h"
#include "core/base/Error.h"

namespace rwd::api {

// How to replay, whatever the replay is for.
struct ReplayOptions {
  bool force_cpu = false;   // --force: replay even if this CPU lacks recorded features
  bool emit_output = true;  // re-emit the program's stdout/stderr writes
  int cpu = -1;             // the CPU to pin to; -1: the recording's, if it can
};

// replay -p PID (from its exec) or -f PID (from its fork).
enum class ProcessStart { Exec, Fork };

struct TargetRequest {
  ReplayOptions options;
  uint64_t goto_event = 0;  // -g: the event the target stands at when returned
  pid_t pid = 0;            // the recorded process to debug; 0: the first one
  ProcessStart start = ProcessStart::Exec;
};

// The trace at `dir` as a debugger's target, replayed to the first
// instruction (or to req.goto_event) before this returns. It is confined
// to a tracer thread of its own (ptrace answers only the thread that
// attached), so a server may call it from any thread. How an incomplete
// trace ends is a warning on stderr, before the replay starts.
Result<std::unique_ptr<target::Target>> open_replay_target(const std::filesystem::path& dir,
                                                           const TargetRequest& req);

// How a replay without a debugger ended.
struct ReplayEnd {
  // The recorded program's wait status; none when the trace is incomplete
  // (the recorder was killed, and PTRACE_O_EXITKILL took the program with
  // it: it never exited).
  std::optional<int> wait_status;
};

// replay -a: the whole trace, with the program's output. Warnings (an
// incomplete trace, a program killed while the kernel loaded it) go to
// stderr.
Result<ReplayEnd> replay_to_end(const std::filesystem::path& dir, const ReplayOptions& options);
// replay -a -g EVENT: from the newest usable persistent checkpoint at or
// before `event` (the start if none), without output up to `event`, then
// to the end with it.
Result<ReplayEnd> replay_to_end_from(const std::filesystem::path& dir, uint64_t event,
                                     const ReplayOptions& options);

// replay -a --jobs N checks a trace in stretches between its persistent
// checkpoints, one process each (the front end runs them); from 0 is the
// start, to 0 the end.
struct VerifyStretch {
  uint64_t from = 0, to = 0;
  // A program starts in it (an exec, or the start): ld.so keeps what CPUID
  // said in memory, and CPUID answers differ by CPU, so it replays on the
  // recording's CPU as a plain replay does.
  bool starts_program = false;
};
Result<std::vector<VerifyStretch>> plan_verify_stretches(const std::filesystem::path& dir);
// One stretch: replays from the checkpoint at `from` to the one at `to`
// and checks it arrives at that checkpoint's exact state. With to == 0 it
// replays to the end and returns the program's wait status (none: an
// incomplete trace).
Result<std::optional<int>> verify_stretch(const std::filesystem::path& dir, uint64_t from,
                                          uint64_t to, const ReplayOptions& options);

}  // namespace rwd::api
