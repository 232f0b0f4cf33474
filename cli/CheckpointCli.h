// What the checkpoint commands share (CheckpointCommand.cc: list, rm, show;
// CheckpointCreate.cc: create, and the follower of record
// --checkpoint-interval).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "core/base/Error.h"
#include "core/trace/CheckpointStore.h"
#include "core/trace/TraceReader.h"

namespace rwd::cli {

extern const char kCheckpointUsage[];

bool parse_u64(const char* s, uint64_t& out);
std::string human_bytes(uint64_t b);
std::string seconds(double s);  // "1.5 s"

struct OpenedStore {
  std::unique_ptr<trace::TraceReader> reader;  // read up to the last complete event
  std::unique_ptr<trace::CheckpointStore> store;
  ScopedFd write_lock;  // held when opened to write (lock_trace_for_writing)
};
enum class StoreAccess { Read, Write };
// The trace named by `arg` (empty: the latest) and its checkpoints. To
// save or remove some, the trace's writer lock is taken first: an Error
// says the trace is busy.
Result<OpenedStore> open_store(const std::string& arg, StoreAccess access = StoreAccess::Read);

// rewind checkpoint create (argv after "create").
int create_checkpoints(int argc, char** argv);

}  // namespace rwd::cli
