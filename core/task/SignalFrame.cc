#include "core/task/SignalFrame.h"

#include <elf.h>
#include <sys/uio.h>

#include <algorithm>
#include <vector>

#include "core/task/Ptrace.h"

namespace rwd {

namespace {

// The XSAVE area's size in a signal frame: what PTRACE_GETREGSET gives for
// NT_X86_XSTATE, the kernel's user xstate size (fpu_user_cfg.max_size),
// the same for every thread.
size_t xstate_size(const Task& t) {
  static size_t size = 0;
  if (size) return size;
  std::vector<uint8_t> buf(16384);
  struct iovec iov = {buf.data(), buf.size()};
  if (ptrace_request(PTRACE_GETREGSET, t.real_tid(), reinterpret_cast<void*>(NT_X86_XSTATE), &iov))
    size = iov.iov_len;
  return size ? size : 4096;
}

}  // namespace

Result<void> clear_signal_frame_area(Task& t) {
  auto regs = t.get_regs();
  if (!regs) return regs.error();
  // Where the kernel puts the XSAVE area of a frame on the current stack
  // (get_sigframe, fpu__alloc_mathframe): below the red zone, with 4 bytes
  // of FP_XSTATE_MAGIC2 after it, aligned to 64.
  constexpr uint64_t kRedZone = 128, kPage = 4096;
  const uint64_t end = regs->rsp - kRedZone;
  const uint64_t start = (end - xstate_size(t) - 4) & ~uint64_t{63};
  if (start >= end) return ok_result();
  static const std::vector<uint8_t> zeros(kPage);
  // Downwards, a page at a time, with process_vm_writev, which respects
  // protections: a guard page below an exhausted stack stays untouched
  // (and faults for the program as it should), and nothing beyond it is.
  for (uint64_t hi = end; hi > start;) {
    const uint64_t lo = std::max(start, (hi - 1) & ~(kPage - 1));
    struct iovec local = {const_cast<uint8_t*>(zeros.data()), hi - lo};
    struct iovec remote = {reinterpret_cast<void*>(lo), hi - lo};
    if (process_vm_writev(t.real_tid(), &local, 1, &remote, 1, 0) != static_cast<ssize_t>(hi - lo))
      break;
    hi = lo;
  }
  return ok_result();
}

}  // namespace rwd
