// Redirecting a process's syscall sites into the preload library
// (preload/abi.h), once the library has started and said where its entry
// is (kSysInitPreload).
//
// Each `syscall; cmp $imm32, %rax` in the private, executable file mappings
// (libc, ld.so, the program) becomes `jmp stub; nop...`. Its stub, in a page
// mapped within jmp range of the library it serves, sends the syscalls that
// must keep their own stack and return address (rt_sigreturn, clone, fork,
// vfork, clone3) through a plain `syscall`, calls the library's entry for
// the rest, then runs the displaced cmp and jumps back.
//
// Replay does none of this: the recorder writes the stub pages as mappings
// of the kSysInitPreload event and every byte it wrote as that event's
// memory writes, which replay applies as it applies any syscall's.
#pragma once

#include <cstdint>
#include <vector>

#include "core/base/Error.h"
#include "core/record/SyscallSiteCache.h"
#include "core/task/Task.h"
#include "core/trace/TraceTypes.h"

namespace rwd {

struct SyscallPatches {
  std::vector<trace::MappingRecord> stub_pages;  // start, end, prot, flags filled in
  std::vector<trace::MemWrite> writes;           // stubs and patched sites
  size_t sites = 0;
};

// A site rewind wrote itself, outside any file: `syscall; cmp $-4095,
// %rax` at `addr`, making syscall `nr` (the vDSO's functions, RecordVdso.cc).
struct OwnSyscallSite {
  uint64_t addr = 0;
  int32_t nr = -1;
};

// At the exit stop of the task's kSysInitPreload. `entry` is the library's
// rwd_syscall_entry; [skip_start, skip_end) its own code, left alone.
Result<SyscallPatches> patch_syscall_sites(Task& task, SyscallSiteCache& cache, uint64_t entry,
                                           uint64_t skip_start, uint64_t skip_end,
                                           const std::vector<OwnSyscallSite>& own = {});

}  // namespace rwd
