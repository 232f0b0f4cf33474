// replay -a -g EVENT and replay -a --jobs N (ReplayVerify.cc).
#pragma once

#include <cstdint>
#include <filesystem>

#include "core/replay/ReplaySession.h"

namespace rwd::cli {

// Replays from the newest persistent checkpoint at or before `event` (the
// start if none), without output up to `event`, then to the end with it.
int replay_autopilot_from(const std::filesystem::path& dir, uint64_t event,
                          const ReplayOptions& options);
// The whole trace, in stretches between checkpoints, `jobs` at a time.
int replay_verify_jobs(const std::filesystem::path& dir, unsigned jobs,
                       const ReplayOptions& options);
// One stretch (a worker of replay_verify_jobs): from the checkpoint at
// event `from` (0: the start) to the one at `to` (0: the end).
int replay_verify_stretch(const std::filesystem::path& dir, uint64_t from, uint64_t to,
                          const ReplayOptions& options);

}  // namespace rwd::cli
