// Preemption: interrupting a task at an arbitrary instruction, the hard
// case of recording without a performance counter (no-pmu.md). The point is
// recorded as its registers and a hash of the task's state; replay stops at
// the first execution of that pc with the same state, which has the same
// future whichever loop iteration it is.
#include <signal.h>

#include "core/base/Log.h"
#include "core/record/RecordSession.h"
#include "core/task/StateHash.h"

namespace rwd {

namespace {

// Timeslices (kTimesliceMs each) a task that computes without spinning may
// use while others wait, before it is preempted anyway.
constexpr int kMaxSlices = 50;

// The length of a rep-prefixed string instruction at `code`, or 0.
size_t rep_string_insn_length(const uint8_t* code, size_t n) {
  size_t i = 0;
  bool rep = false;
  for (; i < n; ++i) {
    uint8_t b = code[i];
    if (b == 0xf2 || b == 0xf3)
      rep = true;
    else if (b == 0x66 || b == 0x67 || (b >= 0x40 && b <= 0x4f))
      continue;  // size, REX
    else
      break;
  }
  if (!rep || i >= n) return 0;
  const uint8_t op = code[i];
  const bool string_op =
      (op >= 0xa4 && op <= 0xa7) || (op >= 0xaa && op <= 0xaf) || (op >= 0x6c && op <= 0x6f);
  return string_op ? i + 1 : 0;
}

}  // namespace

// An interrupt can stop a rep movs/stos half way (rcx iterations left);
// replay could not tell such a point from the start of the instruction. Let
// the instruction finish first: a temporary breakpoint after it.
static Result<void> finish_string_instruction(Task& task) {
  auto regs = task.get_regs();
  if (!regs) return regs.error();
  uint8_t code[8] = {};
  size_t got = task.as().read_partial(RemotePtr(regs->rip), code, sizeof code);
  size_t len = rep_string_insn_length(code, got);
  if (!len || regs->rcx == 0) return ok_result();
  const uint64_t next = regs->rip + len;
  REWIND_TRY(task.as().add_breakpoint(next));
  for (;;) {
    REWIND_TRY(task.resume(ResumeRequest::Cont));
    auto w = task.wait();
    if (!w) return w.error();
    if (w->status.is_exit()) return Error{"the task died finishing a string instruction"};
    auto now = task.get_regs();
    if (!now) return now.error();
    if (w->status.kind() == WaitStatus::Kind::SignalDeliveryStop &&
        w->status.stop_sig() == SIGTRAP && now->rip == next + 1) {
      user_regs_struct r = *now;
      r.rip = next;
      REWIND_TRY(task.set_regs(r));
      break;
    }
    // Anything else (a signal arriving meanwhile) is held back like any
    // asynchronous signal: rewind delivers it at a deterministic point.
    if (w->status.kind() == WaitStatus::Kind::SignalDeliveryStop) {
      auto si = task.get_siginfo();
      if (si) task.stashed_signals.push_back(*si);
    }
  }
  return task.as().remove_breakpoint(next);
}

Result<RecordSession::Next> RecordSession::on_preempted(RecTask& t) {
  Task& task = *t.task;
  t.preempt_requested = false;
  // Preempting costs replay a search by state, and one deep in a loop costs
  // a ptrace stop per iteration. So a task that merely computes keeps going
  // for kMaxSlices; one whose state did not change since the last sample is
  // spinning on another task's progress and is preempted now. A signal the
  // task is owed waits for its next syscall (a cheap point) for as long. A
  // sample that preempts nothing is invisible: no event is recorded and the
  // SIGSTOP is suppressed.
  {
    auto regs = task.get_regs();
    if (!regs) return regs.error();
    auto hash = hash_task_state(task);
    if (!hash) return hash.error();
    const bool spinning =
        t.have_sample && same_user_registers(*regs, t.sample_regs) && *hash == t.sample_hash;
    t.sample_regs = *regs;
    t.sample_hash = *hash;
    t.have_sample = true;
    ++t.slices_used;
    if (!spinning && t.slices_used < kMaxSlices) {
      REWIND_LOG(Sched, "tid %d computes (slice %d): let it run", task.real_tid(), t.slices_used);
      return Next::Continue;
    }
  }
  t.have_sample = false;
  t.slices_used = 0;
  REWIND_TRY(finish_string_instruction(task));
  for (const siginfo_t& si : task.stashed_signals) t.deferred_signals.push_back(si);
  task.stashed_signals.clear();
  auto regs = task.get_regs();
  if (!regs) return regs.error();
  auto hash = hash_task_state(task);
  if (!hash) return hash.error();
  trace::Event e;
  e.num = next_event();
  e.tid = task.rec_tid();
  e.kind = trace::EventKind::Preempt;
  e.regs = *regs;
  e.state_hash.assign(hash->begin(), hash->end());
  REWIND_TRY(write_event(e));
  t.at_exit_point = false;
  REWIND_LOG(Record, "tid %d preempted at 0x%llx", task.real_tid(), regs->rip);
  // A point replay can reach: deliver a signal the task was owed here.
  auto sent = redeliver_deferred_signal(t);
  if (!sent) return sent.error();
  return *sent ? Next::Continue : Next::Yield;
}

}  // namespace rwd
