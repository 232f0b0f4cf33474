#include "core/replay/StubCode.h"

#include <algorithm>

#include "core/task/ProcMaps.h"

namespace rwd {

std::vector<uint64_t> candidate_pages(pid_t tid, uint64_t pc,
                                      const std::vector<std::pair<uint64_t, uint64_t>>& reserved) {
  std::vector<uint64_t> out;
  auto maps = read_proc_maps(tid);
  if (!maps) return out;
  constexpr uint64_t kPage = 4096, kLow = 0x10000;
  // What is mapped now, and what the recording maps later: a stub page
  // there would be in the program's way (or taken for its memory).
  std::vector<std::pair<uint64_t, uint64_t>> taken = reserved;
  for (const KernelMapping& m : *maps) taken.emplace_back(m.start, m.end);
  std::sort(taken.begin(), taken.end());
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
  for (const auto& [start, end] : taken) {
    if (start > prev_end) consider(prev_end, start);
    prev_end = std::max(prev_end, end);
  }
  std::sort(out.begin(), out.end(), [pc](uint64_t a, uint64_t b) {
    return (a > pc ? a - pc : pc - a) < (b > pc ? b - pc : pc - b);
  });
  return out;
}

}  // namespace rwd
