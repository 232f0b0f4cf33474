#include "core/task/RobustList.h"

#include <linux/futex.h>

namespace rwd {

namespace {
constexpr int kRobustListLimit = 2048;  // the kernel's ROBUST_LIST_LIMIT

struct RobustListHead {  // struct robust_list_head, 64-bit
  uint64_t next;
  int64_t futex_offset;
  uint64_t list_op_pending;
};
}  // namespace

std::vector<uint64_t> robust_futex_words(const AddressSpace& as, uint64_t head_addr) {
  std::vector<uint64_t> out;
  if (!head_addr) return out;
  RobustListHead head;
  if (as.read_partial(RemotePtr(head_addr), &head, sizeof head) != sizeof head) return out;
  // Bit 0 of an entry pointer flags a PI futex; the entry is the rest.
  uint64_t entry = head.next & ~uint64_t{1};
  for (int n = 0; entry && entry != head_addr && n < kRobustListLimit; ++n) {
    out.push_back(entry + head.futex_offset);
    uint64_t next = 0;
    if (as.read_partial(RemotePtr(entry), &next, sizeof next) != sizeof next) break;
    entry = next & ~uint64_t{1};
  }
  const uint64_t pending = head.list_op_pending & ~uint64_t{1};
  if (pending) out.push_back(pending + head.futex_offset);
  return out;
}

Result<int> retarget_robust_futexes(const AddressSpace& as, uint64_t head, pid_t recorded,
                                    pid_t live) {
  int changed = 0;
  if (recorded == live) return changed;
  for (uint64_t addr : robust_futex_words(as, head)) {
    uint32_t word = 0;
    if (as.read_partial(RemotePtr(addr), &word, sizeof word) != sizeof word) continue;
    if ((word & FUTEX_TID_MASK) != static_cast<uint32_t>(recorded)) continue;
    word = (word & ~uint32_t{FUTEX_TID_MASK}) | static_cast<uint32_t>(live);
    REWIND_TRY(as.write(RemotePtr(addr), &word, sizeof word));
    ++changed;
  }
  return changed;
}

}  // namespace rwd
