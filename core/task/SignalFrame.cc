#include "core/task/SignalFrame.h"

#include <vector>

namespace rwd {

Result<void> clear_signal_frame_area(Task& t) {
  auto regs = t.get_regs();
  if (!regs) return regs.error();
  constexpr uint64_t kRedZone = 128, kPage = 4096;
  const uint64_t end = regs->rsp - kRedZone;
  if (end < kSignalFrameArea) return ok_result();
  const uint64_t start = end - kSignalFrameArea;
  static const std::vector<uint8_t> zeros(kSignalFrameArea);
  // Page by page: the area may reach below the stack's mapping (a small
  // thread stack, its guard page), where there is nothing to clear.
  for (uint64_t a = start; a < end;) {
    const uint64_t next = std::min(end, (a & ~(kPage - 1)) + kPage);
    (void)t.write_mem(RemotePtr(a), zeros.data(), next - a);
    a = next;
  }
  return ok_result();
}

}  // namespace rwd
