// Output handlers for memory-management syscalls. The calls that change the
// address space itself (mmap, mprotect, ...) have no outputs: replay executes
// them.
#include "core/syscalls/Handlers.h"

namespace rwd::sys {

// mincore(addr, length, unsigned char* vec): one byte per page of the range.
// x86-64 user space always has 4 KiB base pages.
void mincore_outputs(const SyscallArgs& a, TraceeMemoryReader&, std::vector<OutRange>& out) {
  constexpr uint64_t kPage = 4096;
  add(out, a.a[2], (a.a[1] + kPage - 1) / kPage);
}

// get_mempolicy(int* mode, unsigned long* nmask, maxnode, addr, flags).
// mm/mempolicy.c copy_nodes_to_user() writes ALIGN(maxnode - 1, 64) / 8
// bytes, zero-filling what lies beyond the machine's node count.
void get_mempolicy_outputs(const SyscallArgs& a, TraceeMemoryReader&, std::vector<OutRange>& out) {
  add(out, a.a[0], sizeof(int));
  const uint64_t maxnode = a.a[2];
  if (maxnode > 0) add(out, a.a[1], (maxnode - 1 + 63) / 64 * 8);
}

// process_vm_readv(pid, local_iov, liovcnt, remote_iov, riovcnt, flags):
// the bytes read land in the local iovecs in order, like readv().
void process_vm_readv_outputs(const SyscallArgs& a, TraceeMemoryReader& mem,
                              std::vector<OutRange>& out) {
  if (a.ret > 0) scatter_iovecs(mem, a.a[1], a.a[2], uint64_t(a.ret), out);
}

}  // namespace rwd::sys
