#include "core/task/ThreadCopy.h"

#include <elf.h>
#include <sched.h>
#include <sys/syscall.h>
#include <sys/uio.h>

#include "core/base/Log.h"
#include "core/task/ProcessState.h"
#include "core/task/RemoteSyscall.h"
#include "core/task/TrapSignals.h"

namespace rwd {

// Larger than any XSAVE area a CPU has today (AMX makes ~11 KiB); the
// kernel says in iov_len how much it filled.
constexpr size_t kXstateMax = 16384;

Result<ThreadImage> capture_thread(const Task& t) {
  ThreadImage image;
  auto regs = t.get_regs();
  if (!regs) return regs.error();
  image.regs = *regs;
  image.xstate.resize(kXstateMax);
  struct iovec iov = {image.xstate.data(), image.xstate.size()};
  REWIND_TRY(
      ptrace_request(PTRACE_GETREGSET, t.real_tid(), reinterpret_cast<void*>(NT_X86_XSTATE), &iov));
  image.xstate.resize(iov.iov_len);
  REWIND_TRY(ptrace_request(PTRACE_GETSIGMASK, t.real_tid(),
                            reinterpret_cast<void*>(sizeof image.sigmask), &image.sigmask));
  return image;
}

Result<void> apply_thread_image(const Task& t, const ThreadImage& image) {
  std::vector<uint8_t> xstate = image.xstate;  // the kernel takes a non-const buffer
  struct iovec iov = {xstate.data(), xstate.size()};
  REWIND_TRY(
      ptrace_request(PTRACE_SETREGSET, t.real_tid(), reinterpret_cast<void*>(NT_X86_XSTATE), &iov));
  uint64_t mask = image.sigmask;
  REWIND_TRY(
      ptrace_request(PTRACE_SETSIGMASK, t.real_tid(), reinterpret_cast<void*>(sizeof mask), &mask));
  return t.set_regs(image.regs);
}

Result<std::unique_ptr<Task>> clone_thread_into(Task& in, Tid rec_tid) {
  // What pthread_create asks for, less the tid and TLS flags: the new
  // thread gets its fs_base from its image, and its tid words hold
  // recorded tids already (the copy's memory is the original's).
  constexpr uint64_t kFlags =
      CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD | CLONE_SYSVSEM;
  in.injected_child = 0;
  {
    AutoRemoteSyscalls remote(in);
    // A new stack of 0 keeps the caller's; the thread runs no code of its
    // own before it takes its image.
    auto r = remote.syscall(SYS_clone, kFlags, 0, 0, 0, 0);
    if (!r) return r.error();
    if (*r < 0) return Error::from_errno("clone into a process copy", static_cast<int>(-*r));
  }
  const pid_t tid = std::exchange(in.injected_child, 0);
  if (!tid) return Error{"an injected clone reported no thread"};
  auto t = std::make_unique<Task>(rec_tid, tid, in.shared_as());
  auto w = t->wait();
  if (!w) return w.error();
  if (w->status.kind() != WaitStatus::Kind::SignalDeliveryStop || w->status.stop_sig() != SIGSTOP)
    return Error{"a cloned thread did not start with SIGSTOP"};
  REWIND_LOG(Replay, "cloned thread %d into %d for recorded tid %d", tid, in.real_tid(),
             rec_tid.value);
  return t;
}

bool restart_interrupted_syscall(user_regs_struct& r) {
  if (static_cast<int64_t>(r.orig_rax) < 0) return false;
  switch (static_cast<int64_t>(r.rax)) {
    case -512:  // ERESTARTSYS
    case -513:  // ERESTARTNOINTR
    case -514:  // ERESTARTNOHAND
      r.rax = r.orig_rax;
      break;
    case -516:  // ERESTART_RESTARTBLOCK
      r.rax = SYS_restart_syscall;
      break;
    default:
      return false;
  }
  r.rip -= 2;  // the `syscall` instruction is 2 bytes
  return true;
}

Result<void> reproduce_trap(Task& t, int trap) {
  if (!trap || trap == t.last_trap()) return ok_result();
  uint64_t insn = 0;
  int want = 0;
  ResumeRequest how = ResumeRequest::Cont;
  switch (trap) {
    case 6:
      insn = kStubUd2Insn, want = SIGILL;
      break;
    case 3:
      insn = kStubSyscallInsn + 2, want = SIGTRAP;  // the stub's int3
      break;
    case 1:
      insn = kStubNopInsn, want = SIGTRAP, how = ResumeRequest::SingleStep;
      break;
    case 13:
      insn = kStubRdtscInsn, want = SIGSEGV;
      break;
    default:
      return ok_result();
  }
  auto saved = t.get_regs();
  if (!saved) return saved.error();
  // The kernel unblocks and un-ignores the trap's signal to deliver it
  // (TrapSignals.h): the program's disposition and mask go back
  // afterwards, exactly (flags and restorer too).
  auto signals = read_trap_signals(t);
  if (!signals) return signals.error();
  std::optional<KernelSigaction> act;
  if (trap_changes(*signals, want)) {
    auto a = read_sigaction(t, want);
    if (!a) return a.error();
    act = *a;
  }
  user_regs_struct r = *saved;
  r.rip = insn;
  // Resumed from a signal-delivery-stop, the kernel would restart a
  // syscall that these registers show interrupted (a clone has its
  // creator's), moving rip back 2 bytes first.
  r.orig_rax = static_cast<uint64_t>(-1);
  REWIND_TRY(t.set_regs(r));
  REWIND_TRY(t.resume(how));
  auto w = t.wait();
  if (!w) return w.error();
  // Another stop first (a stray signal pending for the new thread): the
  // copy keeps the trap number it has, and the signal is dropped with the
  // stop, as replay drops unrecorded signals.
  if (w->status.kind() != WaitStatus::Kind::SignalDeliveryStop || w->status.stop_sig() != want) {
    REWIND_LOG(Replay, "tid %d: a stop (wait status %#x) instead of trap %d", t.real_tid(),
               static_cast<unsigned>(w->status.raw()), trap);
  } else if (act) {
    REWIND_TRY(set_sigaction(t, want, *act));
    REWIND_TRY(restore_trap_signal(t, want, TrapSignals{signals->blocked, 0}));
  }
  // It stands at a signal-delivery-stop, which its next resume drops.
  return t.set_regs(*saved);
}

Result<void> set_thread_exit_lists(Task& t, uint64_t robust_list_head, uint64_t clear_child_tid) {
  if (!robust_list_head && !clear_child_tid) return ok_result();
  AutoRemoteSyscalls remote(t);
  if (robust_list_head) {
    // 24: sizeof(struct robust_list_head), the only length the kernel takes.
    auto r = remote.syscall(SYS_set_robust_list, robust_list_head, 24);
    if (!r) return r.error();
    if (*r != 0) return Error::from_errno("set_robust_list in a copy", static_cast<int>(-*r));
  }
  if (clear_child_tid) {
    auto r = remote.syscall(SYS_set_tid_address, clear_child_tid);
    if (!r) return r.error();
  }
  return ok_result();
}

// Waits for `t`'s next syscall-stop of kind `want`, dropping signals the
// live kernel raises in between.
static Result<void> wait_syscall_stop(Task& t, SyscallStopKind want) {
  for (;;) {
    auto w = t.wait();
    if (!w) return w.error();
    if (w->status.kind() == WaitStatus::Kind::SignalDeliveryStop) {
      REWIND_TRY(t.resume(ResumeRequest::Syscall));
      continue;
    }
    if (w->status.kind() != WaitStatus::Kind::SyscallStop)
      return Error{"tid " + std::to_string(t.real_tid()) + ": unexpected stop (status 0x" +
                   std::to_string(w->status.raw()) + ") on the way to a syscall stop"};
    auto k = t.syscall_stop_kind();
    if (!k) return k.error();
    if (*k != want) return Error{"tid " + std::to_string(t.real_tid()) + ": wrong syscall stop"};
    return ok_result();
  }
}

Result<void> leave_skipped_syscall(Task& t) {
  REWIND_TRY(t.resume(ResumeRequest::Syscall));
  return wait_syscall_stop(t, SyscallStopKind::Exit);
}

Result<void> enter_syscall_stop(Task& t, const user_regs_struct& regs, EntryStop at) {
  if (!t.as().has_stub_page) return Error{"no stub page to enter a syscall from"};
  user_regs_struct r = regs;
  r.rip = kStubSyscallInsn;
  // Any syscall: the entry stop is where the caller puts `regs` (and with
  // them the syscall the kernel runs, or orig_rax -1 for none).
  r.rax = SYS_getpid;
  REWIND_TRY(t.set_regs(r));
  REWIND_TRY(t.resume(ResumeRequest::Syscall));
  REWIND_TRY(wait_syscall_stop(t, SyscallStopKind::Entry));
  REWIND_TRY(t.set_regs(regs));
  if (at == EntryStop::Syscall) return ok_result();
  // The kernel runs seccomp after ptrace's entry report, on the registers
  // the tracer left (syscall_trace_enter): the filter sees regs.rip now,
  // and stops the task again, before anything else can happen.
  REWIND_TRY(t.resume(ResumeRequest::Cont));
  auto w = t.wait();
  if (!w) return w.error();
  if (!t.at_seccomp_stop())
    return Error{"tid " + std::to_string(t.real_tid()) +
                 ": no seccomp stop after a syscall-entry stop (status 0x" +
                 std::to_string(w->status.raw()) + ")"};
  if (regs.orig_rax != static_cast<uint64_t>(-1)) return ok_result();
  return t.skip_syscall();
}

}  // namespace rwd
