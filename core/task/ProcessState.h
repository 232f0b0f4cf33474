// Process-wide kernel state that rewind reads from a stopped tracee and
// rebuilds in a fresh one through injected syscalls (RemoteSyscall.h), for
// persistent checkpoints (core/replay/PersistSave.cc, PersistLoad.cc):
// signal dispositions, the alternate signal stack, and where the kernel
// thinks the heap, the stack, the arguments and the auxv are.
#pragma once

#include <signal.h>

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "core/base/Error.h"
#include "core/task/Spawn.h"
#include "core/task/Task.h"

namespace rwd {

// The kernel's struct sigaction as rt_sigaction(2) takes it on x86-64:
// handler, flags, restorer, mask (8 bytes each).
struct KernelSigaction {
  uint64_t handler = 0;
  uint64_t flags = 0;
  uint64_t restorer = 0;
  uint64_t mask = 0;
};
static_assert(sizeof(KernelSigaction) == 32);

// Every signal whose disposition is not SIG_DFL, by signal number.
Result<std::vector<std::pair<int, KernelSigaction>>> read_sigactions(Task& t);
// One signal's disposition, whatever it is.
Result<KernelSigaction> read_sigaction(Task& t, int sig);
Result<void> set_sigaction(Task& t, int sig, const KernelSigaction& act);

// The task's alternate signal stack, if it has one (sigaltstack(2)).
Result<std::optional<stack_t>> read_altstack(Task& t);
Result<void> set_altstack(Task& t, const stack_t& ss);

// struct prctl_mm_map's address fields, in its order, and the saved auxv.
struct MmLayout {
  std::array<uint64_t, 11> fields{};  // start_code, end_code, start_data, end_data, start_brk,
                                      // brk, start_stack, arg_start, arg_end, env_start, env_end
  std::vector<uint64_t> auxv;         // /proc/PID/auxv, as words
};
// Where the process's heap begins (start_brk, /proc/PID/stat): brk(2) grows
// it upwards from there, with no mapping record in a trace to announce it.
Result<uint64_t> heap_start(pid_t pid);
// From /proc/PID/stat and /proc/PID/auxv, and brk(0) injected into `t`.
Result<MmLayout> read_mm_layout(Task& t);
// prctl(PR_SET_MM, PR_SET_MM_MAP), which needs CAP_SYS_RESOURCE: brk(2)
// then grows and shrinks the restored heap as it did the original.
Result<void> set_mm_layout(Task& t, const MmLayout& layout);

// A traced process with nothing in its address space but rewind's stub
// mapping (RemoteSyscall.h) and the vsyscall page, stopped where syscalls
// can be injected, made to take the state of a checkpointed one. It is
// spawned as the first tracee is (Spawn.h: pinned to `cpu`, ASLR off,
// rdtsc trapping, under `filter`), from rewind's own executable, which it
// never runs: its image is unmapped at the execve's exit stop.
Result<std::unique_ptr<Task>> spawn_empty_process(Tid rec_tid, int cpu,
                                                  const std::optional<SeccompFilter>& filter,
                                                  uint32_t preload_mode);

}  // namespace rwd
