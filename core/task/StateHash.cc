#include "core/task/StateHash.h"

#include <blake2.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/user.h>
#include <unistd.h>

#include <algorithm>
#include <vector>

#include "core/base/Fd.h"
#include "core/task/ProcMaps.h"
#include "core/task/Ptrace.h"
#include "core/task/RemoteSyscall.h"

namespace rwd {

namespace {
constexpr uint64_t kPage = 4096;

bool all_zero(const uint8_t* p, size_t n) {
  for (size_t i = 0; i < n; ++i)
    if (p[i]) return false;
  return true;
}

// Zeroes the bytes of page [addr, addr+len) that lie in `skip`.
void clear_skipped(const std::vector<sys::OutRange>& skip, uint64_t addr, uint8_t* page,
                   size_t len) {
  auto it = std::upper_bound(skip.begin(), skip.end(), addr,
                             [](uint64_t a, const sys::OutRange& r) { return a < r.addr; });
  if (it != skip.begin()) --it;
  for (; it != skip.end() && it->addr < addr + len; ++it) {
    const uint64_t from = std::max(it->addr, addr);
    const uint64_t to = std::min(it->addr + it->len, addr + len);
    if (from < to) std::fill(page + (from - addr), page + (to - addr), 0);
  }
}
}  // namespace

Result<std::array<uint8_t, 32>> hash_task_state(Task& task,
                                                const std::vector<sys::OutRange>& skip) {
  std::array<uint8_t, 32> out{};
  blake2b_state st;
  blake2b_init(&st, out.size());
  auto maps = read_proc_maps(task.real_tid());
  if (!maps) return maps.error();
  // Pages that hold only zeros contribute nothing, whether present or not,
  // so never-touched memory (thread stacks are 8 MiB each) costs only its
  // pagemap entries: an anonymous page that is neither present nor swapped
  // out is zero without being read (pagemap bits 63 and 62).
  ScopedFd pagemap(::open(("/proc/" + std::to_string(task.real_tid()) + "/pagemap").c_str(),
                          O_RDONLY | O_CLOEXEC));
  // The task's stack below its red zone is dead: whatever lies there (old
  // frames, signal frames with the kernel's trap number and fault address)
  // cannot affect its future unless it reads uninitialised memory. Leave it
  // out, so a point matches even when recording single-stepped the task
  // (which changes what the kernel writes into later signal frames).
  auto regs = task.get_regs();
  if (!regs) return regs.error();
  const uint64_t live_from = regs->rsp - 128;
  std::vector<uint64_t> entries;
  uint8_t page[kPage];
  for (const KernelMapping& m : *maps) {
    const bool ours = m.start >= kStubPageAddr && m.end <= kStubPageAddr + kStubMappingSize;
    if (!(m.prot & PROT_WRITE) || ours || m.name == "[vvar]") continue;
    const uint64_t pages = (m.end - m.start) / kPage;
    const bool anonymous = m.inode == 0;
    bool have_entries = false;
    if (anonymous && pagemap.is_open()) {
      entries.resize(pages);
      ssize_t want = static_cast<ssize_t>(pages * sizeof(uint64_t));
      have_entries = pread(pagemap.get(), entries.data(), want,
                           static_cast<off_t>(m.start / kPage * sizeof(uint64_t))) == want;
    }
    for (uint64_t i = 0; i < pages; ++i) {
      if (have_entries && !(entries[i] >> 62)) continue;  // never touched: zero
      const uint64_t addr = m.start + i * kPage;
      if (addr == task.as().preempt_stub_page || task.as().count_pages.count(addr)) continue;
      if (addr + kPage <= live_from && m.start <= regs->rsp && regs->rsp < m.end) continue;
      size_t got = task.as().read_partial(RemotePtr(addr), page, kPage);
      if (addr < live_from && live_from < addr + got && m.start <= regs->rsp && regs->rsp < m.end)
        std::fill(page, page + (live_from - addr), 0);
      if (!skip.empty()) clear_skipped(skip, addr, page, got);
      if (got == 0 || all_zero(page, got)) continue;
      blake2b_update(&st, reinterpret_cast<const uint8_t*>(&addr), sizeof addr);
      blake2b_update(&st, page, got);
    }
  }
  user_fpregs_struct fp;
  auto r = ptrace_request(PTRACE_GETFPREGS, task.real_tid(), nullptr, &fp);
  if (!r) return r.error();
  blake2b_update(&st, reinterpret_cast<const uint8_t*>(&fp), sizeof fp);
  blake2b_final(&st, out.data(), out.size());
  return out;
}

}  // namespace rwd
