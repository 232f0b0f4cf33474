// Threads as data, for checkpoints of threaded processes. A fork copies only
// the thread that calls it (fork(2)), so a copy of a process with threads
// keeps every other thread's state as a ThreadImage and recreates the thread
// in the copy: a clone injected through the copy's first thread, then the
// image put into the new thread (no-pmu.md, last paragraph).
#pragma once

#include <sys/user.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "core/base/Error.h"
#include "core/task/Task.h"

namespace rwd {

// What user space can see of a stopped thread, beyond memory: the general
// registers (fs_base and gs_base among them), the XSAVE area (x87, SSE,
// AVX, ...) and the blocked-signal mask. The robust-list head and the
// clear_child_tid address are kernel state the replay engine tracks itself
// (RepTaskState), so they travel there.
struct ThreadImage {
  user_regs_struct regs{};
  std::vector<uint8_t> xstate;  // PTRACE_GETREGSET NT_X86_XSTATE, standard format
  uint64_t sigmask = 0;         // PTRACE_GETSIGMASK
};

Result<ThreadImage> capture_thread(const Task& t);
// Puts the XSAVE area, the signal mask and the registers into stopped `t`.
Result<void> apply_thread_image(const Task& t, const ThreadImage& image);

// A new thread in `in`'s process (CLONE_THREAD and the sharing it needs, no
// SETTID/CLEARTID/SETTLS: the caller sets those up), made by a clone
// injected into `in`, which must stand where syscalls can be injected. The
// new thread is auto-attached (PTRACE_O_TRACECLONE) and stands at its
// initial SIGSTOP, with `in`'s registers; it shares `in`'s AddressSpace and
// takes `rec_tid` as its recorded tid.
Result<std::unique_ptr<Task>> clone_thread_into(Task& in, Tid rec_tid);

// A thread stopped (by a SIGSTOP replay never delivers) inside a syscall
// the tracer does not see, such as the preload library's untraced futex
// wait of a baton hand-off, stands with rax -ERESTART* and orig_rax the
// syscall: resumed from that signal-delivery-stop, the kernel restarts the
// syscall on its way out (arch_do_signal_or_restart). A thread given such
// registers at any other stop (a restored process's leader stands at a
// syscall-exit stop) would see -ERESTARTSYS instead. This makes the
// restart in `regs`, as the kernel would: rip back onto the `syscall`, rax
// the syscall (restart_syscall for -ERESTART_RESTARTBLOCK). Returns
// whether it changed them.
bool restart_interrupted_syscall(user_regs_struct& regs);

// Makes stopped `t` take trap `trap` (Task::last_trap) once, from an
// instruction in the stub page, so that the kernel's trap number for it is
// what the thread it copies had; its registers are put back. 0: nothing.
Result<void> reproduce_trap(Task& t, int trap);

// Runs set_robust_list(2) and set_tid_address(2) in stopped `t` (either may
// be 0: nothing to set).
Result<void> set_thread_exit_lists(Task& t, uint64_t robust_list_head, uint64_t clear_child_tid);

// From a syscall-entry stop whose syscall is skipped (orig_rax -1), runs
// the task to that syscall's exit stop, where syscalls can be injected.
// Signals that arrive on the way are dropped: replay delivers only recorded
// ones.
Result<void> leave_skipped_syscall(Task& t);

// Which stop enter_syscall_stop() leaves a task at.
enum class EntryStop {
  Syscall,  // the syscall-entry stop
  // The PTRACE_EVENT_SECCOMP stop that follows it, for a task under a
  // seccomp filter that traces a syscall made at regs.rip (replay's,
  // core/task/Spawn.h): where such a task waits by itself. A skipped
  // syscall (orig_rax -1) stays skipped there (Task::skip_syscall).
  Seccomp,
};

// Makes stopped `t` stand at a syscall-entry stop with registers `regs`, as
// if it had just entered the syscall `regs` describe: the state replay
// keeps a task in between the entry and the exit of a syscall it emulates.
// It enters by the stub page's `syscall` (RemoteSyscall.h), so the
// program's code is not touched.
Result<void> enter_syscall_stop(Task& t, const user_regs_struct& regs,
                                EntryStop at = EntryStop::Syscall);

}  // namespace rwd
