// A stopped copy of a traced process, made by injecting fork() into it:
// memory copy-on-write, the same registers, the same fds. rewind uses such
// copies for checkpoints (frozen copies that never run) and for diversions
// (throw-away copies that run code the recording never ran).
#pragma once

#include <memory>

#include "core/base/Error.h"
#include "core/task/Task.h"

namespace rwd {

// `from` must be at a stop where syscalls can be injected (not a
// syscall-entry stop). The copy stands where `from` stands, stopped, with
// its own AddressSpace; the software breakpoints of `from`'s address space
// are removed from the copy's memory. Its recorded tid is `from`'s.
Result<std::unique_ptr<Task>> fork_stopped_copy(Task& from);

}  // namespace rwd
