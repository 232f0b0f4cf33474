// SysV shared memory in replay: shmat maps the per-replay copy of the
// segment the recorder captured (RecordShm.cc) where the recording had it,
// shared, so that every process that attached the segment sees the others'
// writes; shmdt unmaps it. Neither runs in the kernel: replay has no
// segment of the recorded id.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#include "core/replay/ReplaySession.h"
#include "core/task/ProcMaps.h"
#include "core/task/RemoteSyscall.h"

namespace rwd {

Result<void> ReplaySession::replay_shmat(RepTask& t, const trace::Event& e) {
  const uint64_t addr = e.regs.rax;
  const trace::MappingRecord* rec = nullptr;
  auto [lo, hi] = mappings_.equal_range(t.entry_event.value);
  for (auto it = lo; it != hi; ++it)
    if (it->second->tid == e.tid && it->second->start == addr) rec = it->second;
  if (!rec || rec->trace_file.empty())
    return divergence(e, "the trace holds no copy of the segment shmat attached");
  auto copy = live_copy(*rec);
  if (!copy) return copy.error();
  AutoRemoteSyscalls remote(*t.task);
  auto r = remote.map_file(
      *copy, O_RDWR,
      {addr, rec->end - rec->start, static_cast<uint64_t>(rec->prot), MAP_SHARED | MAP_FIXED, 0});
  if (!r) return r.error().context("replay");
  if (static_cast<uint64_t>(*r) != addr)
    return divergence(e, "shmat's segment could not be mapped");
  return ok_result();
}

// shmdt(addr) detaches the segment attached at addr: every mapping of its
// file from there on, as far as the offsets follow the attach (an mprotect
// may have split it).
Result<void> ReplaySession::replay_shmdt(RepTask& t, const trace::Event& e) {
  const uint64_t addr = t.entry_regs.rdi;
  auto maps = read_proc_maps(t.task->real_tid());
  if (!maps) return maps.error();
  uint64_t end = addr;
  const KernelMapping* first = nullptr;
  for (const KernelMapping& k : *maps) {
    if (!first && k.start == addr && k.offset == 0 && k.shared) first = &k;
    if (first && k.start == end && k.inode == first->inode && k.name == first->name &&
        k.offset == k.start - addr)
      end = k.end;
  }
  if (!first) return divergence(e, "shmdt: no segment is attached there in replay");
  AutoRemoteSyscalls remote(*t.task);
  auto r = remote.syscall(SYS_munmap, addr, end - addr);
  if (!r) return r.error();
  if (*r != 0) return divergence(e, "shmdt: the segment could not be unmapped");
  return ok_result();
}

}  // namespace rwd
