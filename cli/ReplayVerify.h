// replay -a --jobs N (ReplayVerify.cc).
#pragma once

#include <cstdint>
#include <filesystem>

#include "core/api/Replay.h"

namespace rwd::cli {

// The whole trace, in stretches between checkpoints, `jobs` at a time.
int replay_verify_jobs(const std::filesystem::path& dir, unsigned jobs,
                       const api::ReplayOptions& options);

}  // namespace rwd::cli
