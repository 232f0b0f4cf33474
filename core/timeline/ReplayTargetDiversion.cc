// Diversions: running code the recording never ran (gdb's `print f(3)`).
//
// The first write of registers or memory forks the replayed process (a
// fork() injected into it) and from then on the debugger sees the copy:
// reads, writes, breakpoints and forward execution go to it, and it runs
// live, with real syscalls. When the debugger writes back the registers the
// replay had (as gdb does after an inferior call), or moves the replay in
// any other way, the copy is killed and the replay resumes untouched.
#include <sys/syscall.h>
#include <sys/wait.h>

#include <cstring>

#include "core/base/Log.h"
#include "core/cpu/TrapAnswer.h"
#include "core/task/ForkCopy.h"
#include "core/task/RemoteSyscall.h"
#include "core/task/TrapPatch.h"
#include "core/timeline/ReplayTarget.h"

namespace rwd {

using target::StopInfo;
using target::StopKind;

namespace {
constexpr int kTrapTrace = 2;  // TRAP_TRACE
}  // namespace

Result<ReplayTarget::Diversion*> ReplayTarget::divert() {
  if (diversion_) return diversion_.get();
  RepTask* t = session_ ? session_->find(current_thread_) : nullptr;
  if (!t) return Error{"no thread to run code in"};
  if (t->in_syscall && !t->exec_pending)
    return Error{"cannot run code here: the thread is inside a syscall; step first"};
  Task& task = *t->task;
  auto regs = task.get_regs();
  if (!regs) return regs.error();
  auto copy = fork_stopped_copy(task);
  if (!copy) return copy.error();
  auto d = std::make_unique<Diversion>();
  d->task = std::move(*copy);
  d->replay_regs = *regs;
  for (uint64_t a : sw_breakpoints_) (void)d->task->as().add_breakpoint(a);
  REWIND_LOG(Replay, "diversion: process %d runs a copy of %d", d->task->real_tid(),
             task.real_tid());
  diversion_ = std::move(d);
  return diversion_.get();
}

void ReplayTarget::end_diversion() {
  if (!diversion_) return;
  pid_t pid = diversion_->task->real_tid();
  kill(pid, SIGKILL);
  while (waitpid(pid, nullptr, __WALL) < 0 && errno == EINTR) {
  }
  REWIND_LOG(Replay, "diversion: ended");
  diversion_.reset();
}

Result<void> ReplayTarget::diversion_set_registers(const target::RegisterFile& rf) {
  if (same_user_registers(rf.gp, diversion_->replay_regs)) {
    // The debugger put back what the replay had: the call is over.
    end_diversion();
    return ok_result();
  }
  REWIND_TRY(diversion_->task->set_regs(rf.gp));
  auto r = ptrace_request(PTRACE_SETFPREGS, diversion_->task->real_tid(), nullptr,
                          const_cast<user_fpregs_struct*>(&rf.fp));
  if (!r) return r.error();
  return ok_result();
}

Result<StopInfo> ReplayTarget::diversion_resume(const target::ResumeRequest& req) {
  Diversion& d = *diversion_;
  Task& task = *d.task;
  StopInfo stop;
  stop.thread = {debuggee_.value, current_thread_.value};
  stop.signo = SIGTRAP;
  const bool step = req.action == target::ResumeRequest::Action::Step;
  for (;;) {
    auto regs = task.get_regs();
    if (!regs) return regs.error();
    const bool over_bp = task.as().has_breakpoint(regs->rip) && d.stopped_at_bp == regs->rip;
    d.stopped_at_bp = 0;
    if (over_bp) REWIND_TRY(task.as().lift_breakpoint(regs->rip));
    REWIND_TRY(task.resume(step || over_bp ? ResumeRequest::SingleStep : ResumeRequest::Cont,
                           std::exchange(d.pending_sig, 0)));
    auto w = task.wait();
    if (!w) return w.error();
    if (over_bp) (void)task.as().relay_breakpoint(regs->rip);
    if (w->status.is_exit()) {
      diversion_.reset();
      stop.kind = StopKind::Killed;
      stop.signo = SIGKILL;
      return stop;
    }
    if (w->status.kind() != WaitStatus::Kind::SignalDeliveryStop) continue;  // events, exit stop
    const int sig = w->status.stop_sig();
    auto si = task.get_siginfo();
    if (!si) return si.error();
    auto now = task.get_regs();
    if (!now) return now.error();
    // As in ReplaySession::on_sigtrap: after a single-step, a trap that is
    // not an int3 is the step, whatever DR6 said.
    if (sig == SIGTRAP &&
        (si->si_code == kTrapTrace || ((step || over_bp) && si->si_code != SI_KERNEL))) {
      if (over_bp && !step) continue;
      stop.kind = StopKind::Step;
      return stop;
    }
    if (sig == SIGTRAP && si->si_code == SI_KERNEL && task.as().has_breakpoint(now->rip - 1)) {
      user_regs_struct r = *now;
      r.rip -= 1;
      REWIND_TRY(task.set_regs(r));
      d.stopped_at_bp = r.rip;
      stop.kind = StopKind::Breakpoint;
      return stop;
    }
    if (auto insn = trapped_insn_at(task, sig, *si, now->rip);
        insn && can_answer_here(insn->kind)) {
      // An rdtsc, cpuid or rdrand (TrapPatch.h): a diversion just gets this
      // machine's answer.
      REWIND_TRY(task.set_regs(apply_answer(*insn, answer_here(*insn, *now, {}), *now)));
      if (step) {
        stop.kind = StopKind::Step;
        return stop;
      }
      continue;
    }
    // A real signal (e.g. the called function crashed): show it; it is
    // delivered if execution goes on.
    d.pending_sig = sig;
    stop.kind = StopKind::Signal;
    stop.signo = sig;
    return stop;
  }
}

}  // namespace rwd
