#include "core/replay/StubCode.h"

#include <algorithm>

#include "core/task/ProcMaps.h"

namespace rwd {

std::vector<uint64_t> candidate_pages(pid_t tid, uint64_t pc) {
  std::vector<uint64_t> out;
  auto maps = read_proc_maps(tid);
  if (!maps) return out;
  constexpr uint64_t kPage = 4096, kLow = 0x10000;
  uint64_t prev_end = kLow;
  auto consider = [&](uint64_t lo, uint64_t hi) {  // the gap [lo, hi)
    // Keep a page clear on either side: no merging with neighbours, and
    // no trouble with a stack's guard gap below it.
    lo += kPage;
    if (hi < lo + 2 * kPage) return;
    hi -= kPage;
    uint64_t a = std::clamp(pc & ~(kPage - 1), lo, hi - kPage);
    uint64_t dist = a > pc ? a - pc : pc - a;
    if (dist < kMaxStubDistance) out.push_back(a);
  };
  for (const KernelMapping& m : *maps) {
    if (m.start > prev_end) consider(prev_end, m.start);
    prev_end = std::max(prev_end, m.end);
  }
  std::sort(out.begin(), out.end(), [pc](uint64_t a, uint64_t b) {
    return (a > pc ? a - pc : pc - a) < (b > pc ? b - pc : pc - b);
  });
  return out;
}

}  // namespace rwd
