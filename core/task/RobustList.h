// A thread's robust futex list (set_robust_list(2)), as the kernel walks it
// when the thread exits or execs: it marks every futex whose owner-tid bits
// name the dying thread FUTEX_OWNER_DIED and wakes a waiter.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <vector>

#include "core/base/Error.h"
#include "core/task/Task.h"

namespace rwd {

// The addresses of the futex words on the list whose head is at `head`: each
// entry's word at entry + futex_offset, and the pending one
// (include/uapi/linux/futex.h). Unreadable parts end the walk, as they do in
// the kernel, which also stops after ROBUST_LIST_LIMIT entries.
std::vector<uint64_t> robust_futex_words(const AddressSpace& as, uint64_t head);

// Replay runs a thread under a live tid but the program stores the recorded
// one as owner of its robust mutexes (it read it from struct pthread, which
// replay keeps as recorded). Rewrites the owner bits of those words to
// `live`, so that the kernel's exit-time walk, which compares with the live
// tid, marks them OWNER_DIED as it did in the recording. Returns how many
// words it changed.
Result<int> retarget_robust_futexes(const AddressSpace& as, uint64_t head, pid_t recorded,
                                    pid_t live);

}  // namespace rwd
