#include "core/replay/StubCode.h"

#include <sys/mman.h>
#include <sys/syscall.h>

#include <algorithm>

#include "core/task/ProcMaps.h"
#include "core/task/ProcessState.h"
#include "core/task/RemoteSyscall.h"

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
  // And the gap the heap grows into, up to the next mapping: brk(2) takes
  // it as far as the program likes. A preemption stub put just above a
  // freshly exec'd cc1's data made its first brk fail in replay, where the
  // recording's had succeeded, and replay went astray. (Below a non-PIE
  // program there is room; a PIE's heap is far below its libraries.)
  if (auto heap = heap_start(tid); heap && *heap) {
    uint64_t next = uint64_t{1} << 47;
    for (const KernelMapping& m : *maps)
      if (m.start > *heap && m.name != "[heap]") next = std::min(next, m.start);
    taken.emplace_back(*heap, next);
  }
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

Result<uint64_t> map_stub_page(Task& task, uint64_t pc,
                               const std::vector<std::pair<uint64_t, uint64_t>>& reserved) {
  constexpr uint64_t kPage = 4096;
  AutoRemoteSyscalls remote(task);
  for (uint64_t candidate : candidate_pages(task.real_tid(), pc, reserved)) {
    auto r = remote.syscall(SYS_mmap, candidate, kPage, PROT_READ | PROT_WRITE | PROT_EXEC,
                            MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE,
                            static_cast<uint64_t>(-1), 0);
    if (!r) return r.error();
    if (static_cast<uint64_t>(*r) == candidate) return candidate;
    if (*r >= 0) (void)remote.syscall(SYS_munmap, static_cast<uint64_t>(*r), kPage);
  }
  return uint64_t{0};
}

}  // namespace rwd
