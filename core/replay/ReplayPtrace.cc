// Replaying emulated ptrace (core/record/PtraceLink.h). The tracer's
// ptrace, wait4 and waitid are emulated from the trace like any syscall;
// what the tracer did to its tracee comes as the tracee's own events:
// where it stopped (a Signal with kFlagPtraceStop, or a PtraceStop), what
// was written into it (PtraceWrite), and how it was resumed
// (PtraceResume), which replay applies to the tracee, stopped where the
// recording held it.
#include <cstring>

#include "core/base/Log.h"
#include "core/replay/ReplaySession.h"

namespace rwd {

using trace::Event;

Result<EventProgress> ReplaySession::on_ptrace_stop(const Event& e) {
  RepTask* t = find(e.tid);
  if (!t) return divergence(e, "no such task in replay");
  Task& task = *t->task;
  t->ptrace_step = false;  // a step that ended at a syscall or a trapped instruction
  if (e.flags & trace::kFlagPtraceFork) {
    // In its fork: replay ran the fork at the syscall's entry and lets the
    // task run on to the exit (on_entry), where nothing of it is to check.
    return EventProgress{EventDone{}};
  }
  if (e.flags & (trace::kFlagPtraceEntry | trace::kFlagPtraceExitEvent)) {
    // At the entry of its next syscall, or at its PTRACE_EVENT_EXIT, before
    // replay looks at it: the stop is kept for that event (advance_task).
    const bool entry = e.flags & trace::kFlagPtraceEntry;
    auto st = advance(*t, entry ? Want::SyscallEntry : Want::ExitEvent, e, /*sysemu_ok=*/false);
    if (!st) return st.error();
    if (auto* stop = std::get_if<DebugStop>(&*st)) return EventProgress{*stop};
    t->early_stop = std::get<WaitStatus>(*st);
    if (!entry) return EventProgress{EventDone{}};  // (dying: its registers may be gone)
  } else if (t->initial_stop_pending) {
    // A new child's first stop, its tracer's (PTRACE_O_TRACEFORK and the
    // like): the SIGSTOP a new tracee starts with, before any instruction.
    auto w = task.wait();
    if (!w) return w.error();
    t->running = false;
    if (w->status.kind() != WaitStatus::Kind::SignalDeliveryStop || w->status.stop_sig() != SIGSTOP)
      return divergence(e, "a new task did not start with its SIGSTOP");
    REWIND_TRY(on_initial_stop(*t));
  } else if (t->running) {
    return divergence(e, "the task runs where the recording held it for its tracer");
  }
  auto regs = task.get_regs();
  if (!regs) return regs.error();
  REWIND_TRY(check_regs(e, *regs));
  return EventProgress{EventDone{}};
}

Result<EventProgress> ReplaySession::on_ptrace_resume(const Event& e) {
  RepTask* t = find(e.tid);
  if (!t) return divergence(e, "no such task in replay");
  Task& task = *t->task;
  t->ptrace_step = (e.flags & trace::kFlagPtraceStep) != 0;
  if (e.signo == SIGKILL) {
    REWIND_TRY(task.send_signal(SIGKILL));  // as the recorder did
    return EventProgress{EventDone{}};
  }
  // (From a fork's stop it runs on already: on_ptrace_stop.)
  if (t->running) return EventProgress{EventDone{}};
  if (e.signo && e.siginfo.size() == sizeof(siginfo_t)) {
    if (!task.signal_stop()) {
      // Syscalls injected since (a checkpoint's) took it off its
      // signal-delivery-stop, where alone a resume delivers a signal: it
      // is raised again, before any instruction of its own runs.
      REWIND_TRY(task.send_signal(e.signo));
      REWIND_TRY(task.resume(ResumeRequest::Cont));
      auto w = task.wait();
      if (!w) return w.error();
      if (task.signal_stop() != e.signo)
        return divergence(e, "raising the signal its tracer delivers stopped the task otherwise");
    }
    siginfo_t si;
    memcpy(&si, e.siginfo.data(), sizeof si);
    REWIND_TRY(task.set_siginfo(si));
  }
  t->inject_sig = e.signo;
  return EventProgress{EventDone{}};
}

// What a tracer wrote into its tracee, or any task into a process's memory
// (process_vm_writev, /proc/PID/mem). (The memory writes are applied as
// every event's are: process_event.)
Result<EventProgress> ReplaySession::on_ptrace_write(const Event& e) {
  RepTask* t = find(e.tid);
  if (!t) return divergence(e, "no such task in replay");
  // (Memory alone may go into a process whose threads run: another
  // thread's write through /proc/PID/mem.)
  const bool per_thread = (e.flags & trace::kFlagPtraceRegs) || !e.siginfo.empty();
  if (per_thread && t->running)
    return divergence(e, "the tracer changed a task that is not stopped");
  if (e.flags & trace::kFlagPtraceRegs) REWIND_TRY(t->task->set_regs(e.regs));
  if (e.siginfo.size() == sizeof(siginfo_t)) {
    siginfo_t si;
    memcpy(&si, e.siginfo.data(), sizeof si);
    REWIND_TRY(t->task->set_siginfo(si));
  }
  return EventProgress{EventDone{}};
}

}  // namespace rwd
