// The engine's own state in a persistent checkpoint (core/trace/
// CheckpointStore.h keeps it as opaque bytes): what replay knows of each
// task (RepTaskState) and of the session, encoded with ByteCodec.h. The
// checkpoint file's checksum guards against corruption; decoding still
// checks every length, so a hostile file is an Error, never a crash.
#pragma once

#include <cstdint>
#include <vector>

#include "core/base/Error.h"
#include "core/replay/ReplaySession.h"

namespace rwd::persist {

// Bumped with any change to what is encoded; a checkpoint whose engine
// state has another version is refused like one of another format.
// 2: the patched sites are held by their original bytes (rdtsc, rdtscp,
//    cpuid, rdrand, rdseed), not by a flag for rdtscp.
// 3: a task's trap signals (core/task/TrapSignals.h).
constexpr uint32_t kEngineVersion = 4;

std::vector<uint8_t> encode_task(const RepTaskState& t);
Result<RepTaskState> decode_task(const std::vector<uint8_t>& bytes);

}  // namespace rwd::persist
