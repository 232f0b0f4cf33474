// What the checkpoint commands share (CheckpointCommand.cc: list, rm, show;
// CheckpointCreate.cc: create, also as the follower of record
// --checkpoint-interval). The checkpoints themselves are core/api/Checkpoints.h.
#pragma once

#include <cstdint>
#include <string>

namespace rwd::cli {

extern const char kCheckpointUsage[];

bool parse_u64(const char* s, uint64_t& out);

// rewind checkpoint create (argv after "create").
int create_checkpoints(int argc, char** argv);

}  // namespace rwd::cli
