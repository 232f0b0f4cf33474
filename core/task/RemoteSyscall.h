// Running syscalls inside a tracee on rewind's behalf (rr's
// AutoRemoteSyscalls). rewind maps a small "stub page" at a fixed address in
// every process right after execve, in recording and in replay alike, so the
// layout of the address space is the same in both:
//   kStubPageAddr          r-x  "syscall; int3"; the preload library's
//                               untraced syscall and mode (preload/abi.h)
//   kScratchAddr (2 pages) rw-  scratch for paths and structs passed to injected syscalls
//   kBatonPage             rw-  the threads' baton (preload/abi.h); in a
//                               recording with threads, a memfd the
//                               recorder maps too (core/record/Baton.cc)
// The fixed address keeps it out of the way of mmap(NULL) (which allocates
// top-down from below the stack) and of a non-PIE heap unless it grows past 1.5 GiB.
#pragma once

#include <sys/user.h>

#include <cstdint>
#include <string>

#include "core/base/Error.h"
#include "core/task/Task.h"
#include "preload/abi.h"

namespace rwd {

constexpr uint64_t kStubPageAddr = 0x70000000;
constexpr uint64_t kStubSyscallInsn = kStubPageAddr;
constexpr uint64_t kScratchAddr = kStubPageAddr + 4096;
constexpr uint64_t kScratchSize = 8192;
constexpr uint64_t kStubMappingSize = 4096 + kScratchSize + 4096;
// Instructions that trap, for reproduce_trap (ThreadCopy.h): ud2, nop (to
// single-step), rdtsc (which faults under PR_SET_TSC).
constexpr uint64_t kStubUd2Insn = kStubPageAddr + 0x60;
constexpr uint64_t kStubNopInsn = kStubPageAddr + 0x62;
constexpr uint64_t kStubRdtscInsn = kStubPageAddr + 0x63;
static_assert(syscallbuf::kBatonPage == kScratchAddr + kScratchSize);

// Saves the task's registers when constructed and puts them back when
// destroyed, so injected syscalls leave no trace in the task's state. The
// task must be at a syscall-exit stop, a signal-delivery-stop or the
// execve-exit stop (never at a syscall-entry stop: there the kernel would
// run the pending syscall first).
class AutoRemoteSyscalls {
 public:
  // syscall_insn: the address of a `syscall` instruction in the tracee; the
  // stub page's by default.
  explicit AutoRemoteSyscalls(Task& t, uint64_t syscall_insn = kStubSyscallInsn);
  ~AutoRemoteSyscalls();
  AutoRemoteSyscalls(const AutoRemoteSyscalls&) = delete;
  AutoRemoteSyscalls& operator=(const AutoRemoteSyscalls&) = delete;

  // Returns the raw result (-errno on failure, as the kernel returns it).
  Result<int64_t> syscall(long nr, uint64_t a0 = 0, uint64_t a1 = 0, uint64_t a2 = 0,
                          uint64_t a3 = 0, uint64_t a4 = 0, uint64_t a5 = 0);
  // Copies a NUL-terminated string into the scratch area; returns its address.
  Result<uint64_t> push_string(const std::string& s);
  // A file of this machine mapped in the tracee: opens `path` there
  // (open_flags | O_CLOEXEC), mmaps it as asked, and closes it again.
  // Returns what mmap returned (the address, or -errno); an Error if the
  // file does not open.
  struct FileMapping {
    uint64_t addr = 0, len = 0;
    uint64_t prot = 0, flags = 0;
    uint64_t offset = 0;
  };
  Result<int64_t> map_file(const std::string& path, int open_flags, const FileMapping& m);

  const user_regs_struct& saved_regs() const { return saved_; }

 private:
  Task& t_;
  uint64_t syscall_insn_;
  user_regs_struct saved_{};
  bool have_saved_ = false;
};

// Maps the stub page into a task that has just completed execve (at its
// syscall-exit stop), borrowing two bytes at the current rip for a
// temporary `syscall` instruction. `preload_mode` tells the preload library
// whether it records or replays (syscallbuf::kModeRecord, kModeReplay).
Result<void> install_stub_page(Task& t, uint32_t preload_mode);

// Makes cpuid fault in the task (arch_prctl ARCH_SET_CPUID, 0), through the
// stub page's `syscall`, right after install_stub_page: the kernel turns
// CPUID faulting off at every execve, and threads and forks inherit it.
// Returns whether the kernel agreed (it needs the CPU's support: Intel, and
// some VMs).
Result<bool> make_cpuid_fault(Task& t);

}  // namespace rwd
