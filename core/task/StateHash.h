// A digest of a task's user-visible state besides its general registers:
// its process's writable memory and its x87/SSE registers. Two points of a
// task's execution with equal registers and equal state hashes cannot be
// told apart, so replay may stop at either (no-pmu.md, "State matching").
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "core/base/Error.h"
#include "core/syscalls/SyscallTable.h"
#include "core/task/Task.h"

namespace rwd {

// BLAKE2b-256 over every writable mapping (not rewind's own stub and
// scratch pages, whose contents differ between replays, nor the dead part of
// the task's stack below its red zone) and the FXSAVE image of the task's
// FP/SSE state. Bytes in `skip` (sorted, disjoint: see InflightWrites.h)
// count as zero.
Result<std::array<uint8_t, 32>> hash_task_state(Task& task,
                                                const std::vector<sys::OutRange>& skip = {});

}  // namespace rwd
