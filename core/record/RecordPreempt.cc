// Preemption: interrupting a task at an arbitrary instruction, the hard
// case of recording without a performance counter (no-pmu.md). The point is
// recorded as its registers and a hash of the task's state; replay stops at
// the first execution of that pc with the same state, which has the same
// future whichever loop iteration it is.
#include <signal.h>

#include <algorithm>
#include <chrono>

#include "core/base/Log.h"
#include "core/cpu/Insn.h"
#include "core/record/RecordSession.h"
#include "core/task/InflightWrites.h"
#include "core/task/ProcMaps.h"
#include "core/task/StateHash.h"

namespace rwd {

namespace {

// Timeslices (kTimesliceMs each) a task that computes without spinning at a
// pc replay cannot patch may use while others wait, before it is preempted
// anyway.
constexpr int kMaxSlices = 50;

// The instruction at the task's pc: its bytes and what Zydis makes of them.
struct InsnAt {
  uint8_t code[16] = {};
  size_t got = 0;
  std::optional<DecodedInsn> insn;
};

InsnAt insn_at(Task& task, uint64_t pc) {
  InsnAt at;
  at.got = task.as().read_partial(RemotePtr(pc), at.code, sizeof at.code);
  at.insn = decode_insn(at.code, at.got);
  return at;
}

}  // namespace

// An interrupt can stop a rep movs/stos half way (rcx iterations left);
// replay could not tell such a point from the start of the instruction. Let
// the instruction finish first: a temporary breakpoint after it.
static Result<void> finish_string_instruction(Task& task) {
  auto regs = task.get_regs();
  if (!regs) return regs.error();
  const InsnAt at = insn_at(task, regs->rip);
  if (!at.insn || !at.insn->rep_string || regs->rcx == 0) return ok_result();
  const uint64_t next = regs->rip + at.insn->length;
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

// Single-steps one instruction for the searches below. Returns false if the
// task did not simply complete it (a fault, which it will meet again when
// resumed, or something else than a step stop).
static Result<bool> step_one(Task& task) {
  for (;;) {
    REWIND_TRY(task.resume(ResumeRequest::SingleStep));
    auto w = task.wait();
    if (!w) return w.error();
    if (w->status.is_exit()) return Error{"the task died while stepping to a preemption point"};
    if (w->status.kind() != WaitStatus::Kind::SignalDeliveryStop) return false;
    const int sig = w->status.stop_sig();
    if (sig == SIGTRAP) return true;
    auto si = task.get_siginfo();
    if (!si) return si.error();
    if (is_synchronous_fault(sig, *si)) return false;
    task.stashed_signals.push_back(*si);  // asynchronous: delivered later; step again
  }
}

// Replay finds a preemption point fast when its instruction can be patched
// with a jump to a register-comparing stub (core/cpu/Insn.h); otherwise it
// stops at every execution of the pc. So step the task on a few
// instructions to one that can be patched, unless it first reaches one that
// stops it by itself (a syscall, rdtsc: then hits between events are few).
// A synchronous fault met on the way is dropped: the faulting instruction
// runs again when the task resumes, and faults again.
static Result<void> move_to_patchable_insn(Task& task) {
  // ~25 us each: up to ~13 ms, only when no patchable instruction comes
  // sooner (a hot function of short instructions, sort's comparisons).
  constexpr int kMaxSteps = 512;
  for (int steps = 0; steps < kMaxSteps; ++steps) {
    auto regs = task.get_regs();
    if (!regs) return regs.error();
    const InsnAt at = insn_at(task, regs->rip);
    if (!at.insn || at.insn->cls != InsnClass::Other) return ok_result();
    auto stepped = step_one(task);
    if (!stepped) return stepped.error();
    if (!*stepped) return ok_result();
  }
  return ok_result();
}

namespace {
struct LoopFacts {
  std::vector<trace::LoopWord> words;
  uint16_t regs = 0;  // registers the iteration changed, by x86 number
  bool back = false;  // the task is back at the pc
};
}  // namespace

// Runs the loop once more, from the patchable pc back to it, noting what
// tells its iterations apart: the registers the iteration changes (replay's
// stub tests one of them on its fast path) and the memory it writes (for a
// counter kept in memory, spins[me]++ in a spin-wait, where the registers
// repeat). Nothing if the task does not come back to the pc within a few
// instructions (it is then somewhere else).
static Result<LoopFacts> loop_facts(Task& task, uint64_t pc) {
  constexpr int kMaxSteps = 64;
  constexpr size_t kMaxWords = 4;
  LoopFacts facts;
  auto start = task.get_regs();
  if (!start) return start.error();
  std::vector<uint64_t> addrs;
  for (int steps = 0; steps < kMaxSteps; ++steps) {
    auto regs = task.get_regs();
    if (!regs) return regs.error();
    if (steps > 0 && regs->rip == pc) break;
    const InsnAt at = insn_at(task, regs->rip);
    if (!at.insn || at.insn->cls == InsnClass::Stops) return facts;
    for (uint64_t a : memory_writes(at.code, at.got, *regs))
      if (std::find(addrs.begin(), addrs.end(), a) == addrs.end()) addrs.push_back(a);
    auto stepped = step_one(task);
    if (!stepped) return stepped.error();
    if (!*stepped || steps + 1 == kMaxSteps) return facts;
  }
  auto regs = task.get_regs();
  if (!regs) return regs.error();
  if (regs->rip != pc) return facts;
  facts.back = true;
  for (int n = 0; n < 16; ++n)
    if (gpr_by_number(*regs, n) != gpr_by_number(*start, n)) facts.regs |= uint16_t(1) << n;
  for (uint64_t a : addrs) {
    trace::LoopWord w{a, 0};
    if (task.as().read_partial(RemotePtr(a), &w.value, 8) == 8) facts.words.push_back(w);
    if (facts.words.size() == kMaxWords) break;
  }
  return facts;
}

Result<RecordSession::Next> RecordSession::on_preempted(RecTask& t) {
  Task& task = *t.task;
  t.preempt_requested = false;
  // Our SIGSTOP can meet the task on its way out of a syscall, before any
  // user instruction: orig_rax still holds the syscall number. If that
  // syscall is to be restarted (pause() interrupted by a signal that was
  // then ignored) the kernel has yet to move the pc back onto the syscall
  // instruction, so a single-step from here would run the syscall unseen,
  // and one that sleeps never ends the step. Not a point to stop at: let it
  // go on; the next sample finds it in user code, or it enters the kernel.
  auto at_stop = task.get_regs();
  if (!at_stop) return at_stop.error();
  // Asleep in a buffered syscall: it goes on as a traced one, which lets
  // others run (RecordBuffer.cc).
  if (in_buffered_syscall(t, *at_stop)) {
    REWIND_TRY(hand_to_traced(t, *at_stop));
    return Next::Continue;
  }
  if (static_cast<int64_t>(at_stop->orig_rax) >= 0) return Next::Continue;
  auto deferred = defer_preemption(t, at_stop->rip);
  if (!deferred) return deferred.error();
  if (*deferred) return Next::Continue;
  ++t.slices_used;
  // A preemption costs a hash of the process's memory here and again in
  // replay, so a task that computes while others wait keeps the CPU for at
  // least 20 times that (and at least one timeslice): the hashing stays
  // within ~5% of the time. A sample that preempts nothing is invisible: no
  // event is recorded and the SIGSTOP is suppressed.
  const double ran_ms = t.slices_used * kTimesliceMs;
  if (ran_ms < 20 * hash_ms_) {
    REWIND_LOG(Sched, "tid %d computes (slice %d): let it run", task.real_tid(), t.slices_used);
    return Next::Continue;
  }
  REWIND_TRY(finish_string_instruction(task));
  REWIND_TRY(move_to_patchable_insn(task));
  auto regs = task.get_regs();
  if (!regs) return regs.error();
  // The steps may have gone into the preload library. (Signals that came
  // while stepping are held back as usual.)
  auto keep_stashed = [&] {
    for (const siginfo_t& si : task.stashed_signals) t.deferred_signals.push_back(si);
    task.stashed_signals.clear();
  };
  deferred = defer_preemption(t, regs->rip);
  if (!deferred) return deferred.error();
  if (*deferred) return keep_stashed(), Next::Continue;
  const std::optional<DecodedInsn> insn = insn_at(task, regs->rip).insn;
  if (insn && insn->cls == InsnClass::Other) {
    // Replay can find this point only with a ptrace stop per execution of
    // its pc. Worth it right away if the task spins (its state did not
    // change since the last sample: the first execution matches); a task
    // that computes is given kMaxSlices to reach a better point.
    auto hash = hash_task_state(task);
    if (!hash) return hash.error();
    const bool spinning =
        t.have_sample && same_user_registers(*regs, t.sample_regs) && *hash == t.sample_hash;
    t.sample_regs = *regs;
    t.sample_hash = *hash;
    t.have_sample = true;
    if (!spinning && t.slices_used < kMaxSlices) {
      REWIND_LOG(Sched, "tid %d computes at an unpatchable pc (slice %d): let it run",
                 task.real_tid(), t.slices_used);
      return Next::Continue;
    }
  }
  LoopFacts loop;
  if (insn && insn->cls == InsnClass::Patchable) {
    auto f = loop_facts(task, regs->rip);
    if (!f) return f.error();
    loop = std::move(*f);
    // Not back at the pc: settle wherever it is.
    if (!loop.back) REWIND_TRY(move_to_patchable_insn(task));
    regs = task.get_regs();  // an iteration later
    if (!regs) return regs.error();
    deferred = defer_preemption(t, regs->rip);  // that iteration may have entered the library
    if (!deferred) return deferred.error();
    if (*deferred) return keep_stashed(), Next::Continue;
  }
  t.have_sample = false;
  t.slices_used = 0;
  keep_stashed();
  const auto hash_start = std::chrono::steady_clock::now();
  std::vector<sys::OutRange> skip = siblings_inflight_writes(tasks_, t);
  merge_ranges(skip, syscall_buffers(tasks_, t));
  auto hash = hash_task_state(task, skip);
  if (!hash) return hash.error();
  const double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - hash_start)
          .count();
  hash_ms_ = hash_ms_ == 0 ? ms : 0.75 * hash_ms_ + 0.25 * ms;
  trace::Event e;
  e.num = next_event();
  e.tid = task.rec_tid();
  e.kind = trace::EventKind::Preempt;
  e.regs = *regs;
  e.state_hash.assign(hash->begin(), hash->end());
  e.loop_words = std::move(loop.words);
  e.loop_regs = loop.regs;
  if (auto user_ms = thread_user_time_ms(task.real_tid())) {
    e.flags |= trace::kFlagHasUserTime;
    e.user_time_ms = *user_ms;
  }
  REWIND_TRY(write_event(e));
  t.at_exit_point = false;
  REWIND_LOG(Record, "tid %d preempted at 0x%llx", task.real_tid(), regs->rip);
  // A point replay can reach: deliver a signal the task was owed here.
  auto sent = redeliver_deferred_signal(t);
  if (!sent) return sent.error();
  return *sent ? Next::Continue : Next::Yield;
}

}  // namespace rwd
