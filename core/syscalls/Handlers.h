// Output handlers for syscalls the table's generic SizeRules can't describe,
// one file per family. Private to core/syscalls/: the table (SyscallTable.cc)
// is the only user. Each handler is named after its syscall and appends the
// ranges the kernel wrote, beyond those of the entry's generic rules.
#pragma once

#include <cstdint>
#include <vector>

#include "core/syscalls/SyscallTable.h"

namespace rwd::sys {

// --- Helpers shared by the handlers -----------------------------------------

// The raw syscall ABI reports failure as -errno in [-4095, -1].
inline bool failed(int64_t ret) {
  return is_error(ret);
}

// Whether a signal cut the call short. At a ptrace syscall-exit stop the
// tracer sees the kernel-internal restart codes (include/linux/errno.h:
// ERESTARTSYS 512, ERESTARTNOINTR 513, ERESTARTNOHAND 514,
// ERESTART_RESTARTBLOCK 516) before signal delivery turns them into EINTR.
bool interrupted(int64_t ret);

// Appends the range unless it is empty or its pointer is null (a null
// pointer argument means "no output" throughout the syscall ABI).
inline void add(std::vector<OutRange>& out, uint64_t addr, uint64_t len) {
  if (addr != 0 && len != 0) out.push_back(OutRange{addr, len});
}

// Reads one plain value from the tracee; false if the memory isn't readable.
template <class T>
bool read_value(TraceeMemoryReader& mem, uint64_t addr, T& v) {
  return addr != 0 && mem.read(addr, &v, sizeof v).ok();
}

// Spreads `bytes` over the struct iovec array at `iov_addr` (`iovcnt`
// entries) in order, as the kernel's copy_to_iter() fills them, and appends
// one range per iovec touched.
void scatter_iovecs(TraceeMemoryReader& mem, uint64_t iov_addr, uint64_t iovcnt, uint64_t bytes,
                    std::vector<OutRange>& out);

// --- fs.cc -------------------------------------------------------------------
void readv_outputs(const SyscallArgs&, TraceeMemoryReader&, std::vector<OutRange>&);
void fcntl_outputs(const SyscallArgs&, TraceeMemoryReader&, std::vector<OutRange>&);
void name_to_handle_at_outputs(const SyscallArgs&, TraceeMemoryReader&, std::vector<OutRange>&);
void select_on_failure(const SyscallArgs&, TraceeMemoryReader&, std::vector<OutRange>&);
void poll_on_failure(const SyscallArgs&, TraceeMemoryReader&, std::vector<OutRange>&);

// --- mm.cc -------------------------------------------------------------------
void mincore_outputs(const SyscallArgs&, TraceeMemoryReader&, std::vector<OutRange>&);
void get_mempolicy_outputs(const SyscallArgs&, TraceeMemoryReader&, std::vector<OutRange>&);
void process_vm_readv_outputs(const SyscallArgs&, TraceeMemoryReader&, std::vector<OutRange>&);

// --- net.cc ------------------------------------------------------------------
void recvmsg_outputs(const SyscallArgs&, TraceeMemoryReader&, std::vector<OutRange>&);
void recvmmsg_outputs(const SyscallArgs&, TraceeMemoryReader&, std::vector<OutRange>&);
void sendmmsg_outputs(const SyscallArgs&, TraceeMemoryReader&, std::vector<OutRange>&);

// --- signals.cc --------------------------------------------------------------
void nanosleep_outputs(const SyscallArgs&, TraceeMemoryReader&, std::vector<OutRange>&);
void clock_nanosleep_outputs(const SyscallArgs&, TraceeMemoryReader&, std::vector<OutRange>&);

// --- ioctl.cc ----------------------------------------------------------------
void ioctl_outputs(const SyscallArgs&, TraceeMemoryReader&, std::vector<OutRange>&);

// --- process.cc --------------------------------------------------------------
void clone_outputs(const SyscallArgs&, TraceeMemoryReader&, std::vector<OutRange>&);
void clone3_outputs(const SyscallArgs&, TraceeMemoryReader&, std::vector<OutRange>&);
void capget_outputs(const SyscallArgs&, TraceeMemoryReader&, std::vector<OutRange>&);
void prctl_outputs(const SyscallArgs&, TraceeMemoryReader&, std::vector<OutRange>&);
void arch_prctl_outputs(const SyscallArgs&, TraceeMemoryReader&, std::vector<OutRange>&);
void futex_outputs(const SyscallArgs&, TraceeMemoryReader&, std::vector<OutRange>&);
void msgrcv_outputs(const SyscallArgs&, TraceeMemoryReader&, std::vector<OutRange>&);
void shmctl_outputs(const SyscallArgs&, TraceeMemoryReader&, std::vector<OutRange>&);
void quotactl_outputs(const SyscallArgs&, TraceeMemoryReader&, std::vector<OutRange>&);
void msgctl_outputs(const SyscallArgs&, TraceeMemoryReader&, std::vector<OutRange>&);
void ptrace_outputs(const SyscallArgs&, TraceeMemoryReader&, std::vector<OutRange>&);
void semctl_outputs(const SyscallArgs&, TraceeMemoryReader&, std::vector<OutRange>&);

}  // namespace rwd::sys
