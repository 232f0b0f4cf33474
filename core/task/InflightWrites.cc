#include "core/task/InflightWrites.h"

#include <algorithm>

namespace rwd {

void merge_ranges(std::vector<sys::OutRange>& into, const std::vector<sys::OutRange>& more) {
  into.insert(into.end(), more.begin(), more.end());
  std::sort(into.begin(), into.end(),
            [](const sys::OutRange& a, const sys::OutRange& b) { return a.addr < b.addr; });
  std::vector<sys::OutRange> merged;
  for (const sys::OutRange& r : into) {
    if (r.len == 0) continue;
    // Saturate: a range the arguments make absurd must not wrap around.
    const uint64_t end = r.addr + std::min(r.len, UINT64_MAX - r.addr);
    if (!merged.empty() && r.addr <= merged.back().addr + merged.back().len) {
      sys::OutRange& last = merged.back();
      last.len = std::max(last.addr + last.len, end) - last.addr;
    } else {
      merged.push_back(sys::OutRange{r.addr, end - r.addr});
    }
  }
  into = std::move(merged);
}

std::vector<sys::OutRange> inflight_writes(const Task& task, int64_t nr,
                                           const user_regs_struct& entry) {
  std::vector<sys::OutRange> out;
  const sys::SyscallDesc* d = sys::find(nr);
  if (!d) return out;
  sys::SyscallArgs a;
  a.nr = nr;
  const uint64_t args[6] = {entry.rdi, entry.rsi, entry.rdx, entry.r10, entry.r8, entry.r9};
  std::copy(args, args + 6, a.a);
  TaskMemoryReader reader(task);
  merge_ranges(out, sys::possible_outputs(*d, a, reader));
  return out;
}

}  // namespace rwd
