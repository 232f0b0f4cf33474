// Replaying under a debugger: running to breakpoints, watchpoints and
// single-steps inside the stretches of user code between recorded events.
//
// A task only runs user code while replay advances it to its next event
// (ReplaySession::advance). Here that resume is made debugger-aware: a
// breakpoint under the pc is stepped over first, a task being stepped runs
// one instruction, and the SIGTRAPs those produce become DebugStops. A stop
// inside an event leaves the event pending: the next run() resumes it.
#include <sys/syscall.h>

#include "core/base/Log.h"
#include "core/cpu/Insn.h"
#include "core/replay/ReplaySession.h"

namespace rwd {

using target::StopKind;
using trace::Event;
using trace::EventKind;

// SIGTRAP si_codes (asm-generic/siginfo.h): how the kernel says why.
constexpr int kTrapTrace = 2;   // TRAP_TRACE: a single-step finished
constexpr int kTrapHwBkpt = 4;  // TRAP_HWBKPT: a debug register matched

// What the kernel does on the way out of a syscall that returned -ERESTART*
// when no signal handler runs (arch_do_signal_or_restart): back up to the
// syscall instruction and run it again. It does so only when a signal is
// pending, which in replay it is not (the recording's was held back), and
// replay skipped the syscall anyway.
static Result<void> restart_syscall_as_kernel_would(Task& task) {
  auto regs = task.get_regs();
  if (!regs) return regs.error();
  user_regs_struct r = *regs;
  const int64_t ret = static_cast<int64_t>(r.rax);
  r.rax = ret == sys::kErestartRestartBlock ? SYS_restart_syscall : r.orig_rax;
  r.rip -= 2;
  return task.set_regs(r);
}

Result<void> ReplaySession::resume_task(RepTask& t, bool emulate) {
  Task& task = *t.task;
  if (std::exchange(t.restart_pending, false)) REWIND_TRY(restart_syscall_as_kernel_would(task));
  REWIND_TRY(sync_counted(t));
  const int sig = std::exchange(t.inject_sig, 0);
  if (sig && reader_->header().clears_signal_frames) REWIND_TRY(clear_signal_frame_area(task));
  const bool user_step = stepping_ && *stepping_ == task.rec_tid();
  ResumeRequest req = ResumeRequest::Syscall;
  auto regs = task.get_regs();
  if (!regs) return regs.error();
  REWIND_TRY(leave_counted_site(t, *regs, user_step));
  const uint64_t pc = regs->rip;
  // Step over a breakpoint only if it is the one that stopped the task; one
  // the task merely stands on (after a step or a watchpoint) must still fire.
  const bool bp_here = task.as().has_breakpoint(pc) && t.stopped_at_bp == pc;
  t.stopped_at_bp = 0;
  // Never single-step a `syscall` instruction: PTRACE_SINGLESTEP would let
  // the kernel run it for real, and replay must emulate it. Resuming with
  // PTRACE_SYSCALL reaches its entry stop, the task's next event.
  const bool syscall_next = (user_step || bp_here) && at_syscall_insn(task, pc);
  if (bp_here) {
    REWIND_TRY(task.as().lift_breakpoint(pc));
    t.lifted_bp = pc;
  }
  // Where the debug registers do not trap, a task with watchpoints runs an
  // instruction at a time, and each is checked against the slots first.
  // (Not from inside a syscall: only PTRACE_SYSCALL reaches its exit stop.)
  // (Or to finish a rep string instruction that made a watched access.)
  const bool watch_step =
      (t.rep_watch_slot >= 0 ||
       (steps_for_watches() && (!step_to_watch_in_ || step_to_watch_in_(events_completed_)))) &&
      !t.in_syscall && watch_slots(t) && !at_syscall_insn(task, pc);
  t.watch_step = watch_step;
  t.watch_step_pc = pc;
  if (watch_step && control_ && control_->max_watch_steps &&
      ++watch_steps_ > control_->max_watch_steps)
    return Error{"no watched access within " + std::to_string(control_->max_watch_steps) +
                 " single-steps"};
  // (A signal delivered with the step runs its handler instead; replay's
  // preemption stub is not the program's code.)
  const uint64_t stub = task.as().preempt_stub_page;
  const bool in_stub = stub && pc >= stub && pc < stub + 4096;
  t.watch_hit = watch_step && sig == 0 && !in_stub ? watch_slot_hit(t, *regs) : -1;
  // An interrupt is due while the task is inside a stub: out of it an
  // instruction at a time, to stop in the program's code.
  const bool leave_stub = !user_step && interrupt_due() && in_any_stub(t, pc);
  // (Nor from inside a syscall the step began at: its exit stop completes
  // the step, or reports the exec an execve makes of it.)
  const bool step_here = (user_step || bp_here) && !syscall_next && !t.in_syscall;
  // A step for the program's own tracer (ReplayPtrace.cc), as the recorder
  // made it: not of a `syscall` without the filter (its entry stop ends it).
  const bool ptrace_step =
      t.ptrace_step && !t.in_syscall && (under_filter() || !at_syscall_insn(task, pc));
  t.ptrace_stepped = ptrace_step;
  if (step_here || watch_step || leave_stub || ptrace_step)
    req = ResumeRequest::SingleStep;
  else if (emulate)
    req = ResumeRequest::Sysemu;
  else if (under_filter() && !t.in_syscall && !untraced_in_replay(pc))
    // Under replay's seccomp filter a syscall replay must see stops the task
    // by itself, at its PTRACE_EVENT_SECCOMP stop; PTRACE_SYSCALL would
    // add a syscall-entry stop before that (seccomp runs after ptrace's
    // entry report) and stop the library's untraced syscalls too. Kept at
    // an untraced instruction, where a debugger's step must stop once the
    // syscall is made (advance passes its entry stop).
    req = ResumeRequest::Cont;
  t.internal_step = bp_here && !user_step && !syscall_next;
  t.single_stepped = req == ResumeRequest::SingleStep;
  REWIND_TRY(task.resume(req, sig));
  t.running = true;
  return ok_result();
}

// Whether the instruction at regs.rip is a rep-prefixed string instruction
// with iterations left.
static bool at_unfinished_rep(Task& task, const user_regs_struct& regs) {
  uint8_t code[16];
  const size_t got = task.as().read_partial(RemotePtr(regs.rip), code, sizeof code);
  auto insn = decode_insn(code, got);
  return insn && insn->rep_string && regs.rcx != 0;
}

// The debugger's slots in the task's process, if any is enabled.
const DebugRegSlots* ReplaySession::watch_slots(const RepTask& t) const {
  auto it = debug_regs_.find(t.rec_tgid.value);
  if (it == debug_regs_.end()) return nullptr;
  for (const DebugRegSlot& s : it->second)
    if (s.enabled) return &it->second;
  return nullptr;
}

// The watch slot the instruction at regs.rip accesses as the slot's
// condition says, or -1: what DR6 would report after it ran.
int ReplaySession::watch_slot_hit(RepTask& t, const user_regs_struct& regs) const {
  const DebugRegSlots* slots = watch_slots(t);
  if (!slots) return -1;
  uint8_t code[16] = {};
  const size_t n = t.task->as().read_partial(RemotePtr(regs.rip), code, sizeof code);
  t.task->as().hide_breakpoints(regs.rip, code, n);
  for (const MemoryAccess& a : memory_accesses(code, n, regs)) {
    for (int i = 0; i < 4; ++i) {
      const DebugRegSlot& s = (*slots)[i];
      if (!s.enabled || s.condition == DebugRegSlot::Condition::Execute) continue;
      if (s.condition == DebugRegSlot::Condition::Write && !a.write) continue;
      if (a.addr < s.addr + s.len && s.addr < a.addr + a.size) return i;
    }
  }
  return -1;
}

DebugStop ReplaySession::slot_stop(const RepTask& t, int i) const {
  const DebugRegSlot& slot = (*watch_slots(t))[i];
  DebugStop stop;
  stop.tid = t.task->rec_tid();
  if (slot.condition == DebugRegSlot::Condition::Execute) {
    stop.kind = StopKind::HwBreakpoint;
  } else {
    stop.kind = StopKind::Watchpoint;
    stop.watch_addr = slot.addr;
    stop.watch_type = slot.condition == DebugRegSlot::Condition::Write
                          ? target::BreakpointType::WriteWatch
                          : target::BreakpointType::AccessWatch;
  }
  return stop;
}

Result<ReplaySession::Trap> ReplaySession::on_sigtrap(RepTask& t) {
  Task& task = *t.task;
  auto si = task.get_siginfo();
  if (!si) return si.error();
  auto regs = task.get_regs();
  if (!regs) return regs.error();
  DebugStop stop;
  stop.tid = task.rec_tid();

  // The kernel tells a finished single-step by DR6's BS bit (TRAP_TRACE);
  // under some hypervisors that bit is not always set and the trap comes as
  // TRAP_BRKPT, or TRAP_HWBKPT when a debug register matched too. rewind
  // knows when it asked for a step, so any trap after one that is not an
  // int3 is the step.
  const bool step_done =
      si->si_code == kTrapTrace || (t.single_stepped && si->si_code != SI_KERNEL);
  t.single_stepped = false;
  if (!step_done && si->si_code == SI_KERNEL) {
    auto counted = on_count_trap(t, *regs);  // ReplayCount.cc
    if (!counted) return counted.error();
    if (*counted) return **counted;
  }
  // A step whose instruction also trips a debug register gives one trap,
  // which the kernel calls a step (TRAP_TRACE) whenever BS is set: only
  // DR6's B0-B3 tell of the write. Read them after every step then, or the
  // write made while the debugger steps over a breakpoint goes unreported.
  // (Where the debug registers never fire, stepping to watch finds it.)
  if ((si->si_code == kTrapHwBkpt || (step_done && !steps_for_watches())) && watch_slots(t)) {
    auto dr6 = take_dr6(task.real_tid());
    if (!dr6) return dr6.error();
    const DebugRegSlots& slots = *watch_slots(t);
    for (int i = 0; i < 4; ++i) {
      if (!((*dr6 >> i) & 1) || !slots[i].enabled) continue;
      t.watch_step = false;
      t.watch_hit = -1;
      if (at_unfinished_rep(task, *regs)) {  // see below: stepped to its end
        t.rep_watch_slot = i;
        return Trap{TrapAction::Continue, {}};
      }
      t.internal_step = false;
      t.rep_watch_slot = -1;
      return Trap{TrapAction::Stop, slot_stop(t, i)};
    }
  }
  if (step_done && std::exchange(t.watch_step, false)) {
    // Stepping to watch: a watched access happened in the instruction just
    // stepped, or the next one is at a hardware breakpoint, as the debug
    // registers would have said.
    int slot = std::exchange(t.watch_hit, -1);
    if (slot < 0) {
      const DebugRegSlots* slots = watch_slots(t);
      for (int i = 0; i < 4 && slots && slot < 0; ++i) {
        const DebugRegSlot& s = (*slots)[i];
        if (s.enabled && s.condition == DebugRegSlot::Condition::Execute && s.addr == regs->rip)
          slot = i;
      }
    }
    // A rep movs/stos that has iterations left stands at itself again:
    // report its access once it is done, as a syscall's write is seen
    // whole (the preload library copies a buffered read's bytes so).
    if (slot >= 0 && regs->rip == t.watch_step_pc && at_unfinished_rep(task, *regs)) {
      t.rep_watch_slot = slot;
      return Trap{TrapAction::Continue, {}};
    }
    if (t.rep_watch_slot >= 0) {
      if (regs->rip == t.watch_step_pc) return Trap{TrapAction::Continue, {}};
      if (slot < 0) slot = t.rep_watch_slot;
      t.rep_watch_slot = -1;
    }
    if (slot >= 0) {
      t.internal_step = false;
      t.rep_watch_slot = -1;
      DebugStop hit = slot_stop(t, slot);
      hit.access_pc = t.watch_step_pc;
      return Trap{TrapAction::Stop, hit};
    }
  }
  if (step_done) {
    if (t.internal_step) {  // stepped over a breakpoint for ourselves
      t.internal_step = false;
      return Trap{TrapAction::Continue, {}};
    }
    if (stepping_ && *stepping_ == task.rec_tid()) {
      stop.kind = StopKind::Step;
      return Trap{TrapAction::Stop, stop};
    }
    return Trap{TrapAction::Continue, {}};
  }
  if (si->si_code == kTrapHwBkpt) return Trap{TrapAction::Continue, {}};  // no slot of ours matched
  if (si->si_code == SI_KERNEL && task.as().has_breakpoint(regs->rip - 1)) {
    // Our int3: report the breakpoint's address as the pc, as gdb expects
    // with swbreak+.
    user_regs_struct r = *regs;
    r.rip -= 1;
    REWIND_TRY(task.set_regs(r));
    t.stopped_at_bp = r.rip;
    stop.kind = StopKind::Breakpoint;
    return Trap{TrapAction::Stop, stop};
  }
  return Trap{TrapAction::NotOurs, {}};  // the program's own SIGTRAP: a recorded event
}

Result<DebugStop> ReplaySession::run(const RunControl& control) {
  auto stop = run_inner(control);
  // The state check must not outlive the run that asked for it.
  auto cleared = clear_state_target();
  stepping_.reset();
  step_to_watch_in_ = nullptr;
  control_ = nullptr;
  if (!stop) return stop;
  if (!cleared) return cleared.error();
  return stop;
}

Result<DebugStop> ReplaySession::run_inner(const RunControl& control) {
  stepping_ = control.step;
  step_to_watch_in_ = control.step_to_watch_in;
  control_ = &control;
  running_since_ = std::chrono::steady_clock::now();
  watch_steps_ = 0;
  if (control.stop_at_state) {
    if (RepTask* t = find(control.stop_at_state->tid)) {
      if (!t->running && !t->initial_stop_pending) {
        auto here = at_state(*t);
        if (!here) return here.error();
        if (*here) {
          DebugStop stop;
          stop.kind = StopKind::Interrupted;
          stop.tid = t->task->rec_tid();
          stop.signo = 0;
          stop.why = DebugStop::Why::AtState;
          return stop;
        }
      }
      unplace_counted(*t);
    }
  }
  for (;;) {
    if (control.interrupt && control.interrupt->load()) {
      DebugStop stop;
      stop.kind = StopKind::Interrupted;
      stop.why = DebugStop::Why::Interrupt;
      stop.tid = control.step ? *control.step : control.debuggee;
      stop.signo = SIGINT;
      return stop;
    }
    if (!pending_ && events_completed_ >= control.stop_at_events) {
      DebugStop stop;
      stop.kind = StopKind::Interrupted;
      stop.tid = control.debuggee;
      stop.signo = 0;
      return stop;
    }
    if (!pending_) {
      auto next = reader_->next_event();
      if (!next) return next.error();
      if (!*next) {
        DebugStop stop;
        stop.kind = StopKind::HistoryEnd;
        stop.tid = control.debuggee;
        return stop;
      }
      pending_ = std::move(**next);
    }
    if (control.stop_before_first_event_of &&
        pending_->tid == *control.stop_before_first_event_of) {
      if (RepTask* t = find(pending_->tid)) {
        REWIND_TRY(wait_until_stopped(*t));
        DebugStop stop;
        stop.kind = StopKind::Interrupted;
        stop.tid = pending_->tid;
        stop.signo = 0;
        return stop;
      }
    }
    if (pending_->kind == EventKind::Exit && pending_->tid == control.debuggee) {
      // The end of the debugged process's history: stop before its exit,
      // with the process still there, so the debugger can look at it and
      // go back (as rr does) instead of losing it to an exit.
      DebugStop stop;
      stop.kind = StopKind::HistoryEnd;
      stop.tid = pending_->tid;
      return stop;
    }
    const uint64_t before = events_completed_;
    auto r = process_event(*pending_);
    if (!r) return r.error();
    if (auto* stop = std::get_if<DebugStop>(&*r)) return *stop;
    Event done = std::move(*pending_);
    pending_.reset();
    ++events_completed_;
    recorded_time_ns_ = done.time_ns;
    running_since_ = std::chrono::steady_clock::now();
    if (done.kind == EventKind::SyscallEntry || done.kind == EventKind::Rdtsc ||
        done.kind == EventKind::Cpuid || done.kind == EventKind::Rdrand)
      last_event_[done.tid.value] = LastEvent{before, done.kind, done.regs};
    if (done.kind == EventKind::SyscallExit &&
        (done.syscall_no == SYS_mmap || done.syscall_no == SYS_mremap ||
         done.syscall_no == SYS_mprotect || done.syscall_no == SYS_execve ||
         done.syscall_no == SYS_execveat)) {
      if (RepTask* t = find(done.tid)) {
        if (const size_t n = t->task->as().reinsert_replaced_breakpoints())
          REWIND_LOG(Replay, "%zu int3s replaced by a mapping: inserted again", n);
        REWIND_TRY(sync_breakpoints(*t));
        unplace_counted(*t);
      }
    }
    // Before the step check: a step over a successful execve ends in a new
    // image, which the debugger must hear about as an exec.
    if (control.stop_after_exec_of && done.tid == *control.stop_after_exec_of &&
        done.kind == EventKind::SyscallExit &&
        (done.syscall_no == SYS_execve || done.syscall_no == SYS_execveat) && done.regs.rax == 0) {
      DebugStop stop;
      stop.kind = StopKind::Exec;
      stop.tid = done.tid;
      stop.signo = SIGTRAP;
      return stop;
    }
    if (stepping_ && done.tid == *stepping_ &&
        (done.kind == EventKind::SyscallExit || done.kind == EventKind::Rdtsc ||
         done.kind == EventKind::Cpuid || done.kind == EventKind::Rdrand ||
         done.kind == EventKind::Signal)) {
      // The stepped instruction was a syscall, a trapped rdtsc, cpuid or rdrand, or the step
      // ran into a signal: it is complete now.
      DebugStop stop;
      stop.kind = StopKind::Step;
      stop.tid = done.tid;
      return stop;
    }
    if (control.on_boundary) control.on_boundary(*this);
    if ((done.kind == EventKind::SyscallExit || done.kind == EventKind::PtraceWrite) &&
        !done.writes.empty()) {
      // Memory the kernel wrote (a read() into a watched buffer), or a
      // recorded tracer (PTRACE_POKEDATA), never trips the debug registers,
      // and replay writes it through /proc/PID/mem: report watchpoints on
      // it here.
      if (auto stop = kernel_write_watch_hit(done)) return *stop;
    }
    if (done.kind == EventKind::Exit && done.tid == control.debuggee) {
      DebugStop stop;
      stop.tid = done.tid;
      stop.exit_status = done.exit_status;
      if (WIFSIGNALED(done.exit_status)) {
        stop.kind = StopKind::Killed;
        stop.signo = WTERMSIG(done.exit_status);
      } else {
        stop.kind = StopKind::Exited;
      }
      return stop;
    }
  }
}

std::optional<DebugStop> ReplaySession::kernel_write_watch_hit(const Event& e) {
  RepTask* t = find(e.tid);
  if (!t) return std::nullopt;
  auto slots = debug_regs_.find(t->rec_tgid.value);
  if (slots == debug_regs_.end()) return std::nullopt;
  for (const DebugRegSlot& slot : slots->second) {
    if (!slot.enabled || slot.condition == DebugRegSlot::Condition::Execute) continue;
    for (const trace::MemWrite& w : e.writes) {
      if (w.addr < slot.addr + slot.len && slot.addr < w.addr + w.bytes.size()) {
        DebugStop stop;
        stop.kind = StopKind::Watchpoint;
        stop.tid = e.tid;
        stop.watch_addr = slot.addr;
        stop.watch_type = slot.condition == DebugRegSlot::Condition::Write
                              ? target::BreakpointType::WriteWatch
                              : target::BreakpointType::AccessWatch;
        return stop;
      }
    }
  }
  return std::nullopt;
}

Result<void> ReplaySession::wait_until_stopped(RepTask& t) {
  if (!t.running || !t.initial_stop_pending) return ok_result();
  auto w = t.task->wait();
  if (!w) return w.error();
  t.running = false;
  if (w->status.kind() != WaitStatus::Kind::SignalDeliveryStop || w->status.stop_sig() != SIGSTOP)
    return Error{"a new task did not start with SIGSTOP"};
  return on_initial_stop(t);
}

std::optional<ReplaySession::LastEvent> ReplaySession::last_instruction_event(Tid tid) const {
  auto it = last_event_.find(tid.value);
  if (it == last_event_.end()) return std::nullopt;
  return it->second;
}

Result<void> ReplaySession::set_breakpoints(Tid rec_tgid, const std::set<uint64_t>& addrs) {
  std::set<uint64_t>& wanted = wanted_bps_[rec_tgid.value];
  std::vector<RepTask*> tasks = tasks_of(rec_tgid);
  if (!tasks.empty()) {
    AddressSpace& as = tasks.front()->task->as();
    for (uint64_t a : wanted)
      if (!addrs.count(a)) REWIND_TRY(as.remove_breakpoint(a));
  }
  wanted = addrs;
  for (RepTask* t : tasks) REWIND_TRY(sync_breakpoints(*t));
  return ok_result();
}

Result<void> ReplaySession::sync_breakpoints(RepTask& t) {
  auto it = wanted_bps_.find(t.rec_tgid.value);
  if (it == wanted_bps_.end()) return ok_result();
  AddressSpace& as = t.task->as();
  for (uint64_t a : it->second)
    if (!as.has_breakpoint(a)) (void)as.add_breakpoint(a);  // not mapped yet: later
  return ok_result();
}

Result<void> ReplaySession::set_debug_registers(Tid rec_tgid, const DebugRegSlots& slots) {
  debug_regs_[rec_tgid.value] = slots;
  for (RepTask* t : tasks_of(rec_tgid))
    if (!t->running) REWIND_TRY(rwd::set_debug_registers(t->task->real_tid(), slots));
  return ok_result();
}

}  // namespace rwd
