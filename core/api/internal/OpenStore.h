// Private to rewind_api: a trace and its checkpoint store, opened together
// (Checkpoints.cc, CheckpointCreate.cc).
#pragma once

#include <memory>
#include <string>

#include "core/base/Error.h"
#include "core/base/Fd.h"
#include "core/trace/CheckpointStore.h"
#include "core/trace/TraceReader.h"

namespace rwd::api::internal {

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

}  // namespace rwd::api::internal
