// Replay of the threads that hand the baton around (preload/abi.h, Baton;
// docs/syscallbuf.md "Hand-offs without the recorder").
//
// In the recording, once a process had threads, a futex wait made them
// hand the CPU to each other without a stop: the recorder saw only the
// records. Replay runs them alike: every thread the recorder resumed to run
// the program's code (a BatonGive event) runs, from then until its next
// event, beside whichever task replay advances toward an event of that
// process. The preload library orders them: a thread takes the baton when
// the count of releases reaches the count its record kept, so the
// program's code runs in the recorded order with no stop per hand-off.
//
// Between events those threads are stopped again (SIGSTOP, never
// delivered; a futex wait the library was in restarts when they go on), so that the
// rest of replay (checkpoints, the debugger) finds every task stopped.
#include <signal.h>

#include <chrono>
#include <thread>

#include <cstddef>
#include <cstring>
#include <fstream>

#include "core/base/Log.h"
#include "core/replay/ReplaySession.h"
#include "core/task/ProcMaps.h"
#include "core/task/Ptrace.h"
#include "preload/abi.h"

namespace rwd {

using namespace syscallbuf;

// The recorder resumed the task here, holding the baton.
Result<EventProgress> ReplaySession::on_baton_give(const trace::Event& e) {
  RepTask* t = find(e.tid);
  if (!t) return divergence(e, "no such task in replay");
  if (t->early_stop || t->in_syscall)
    return divergence(e, "the task is not where it was given the baton");
  auto regs = t->task->get_regs();
  // Killed meanwhile (a sibling's exit_group came before it ran): the
  // recorder gave it the baton, but it ran no more code.
  if (!regs && regs.error().errnum == ESRCH) return EventProgress{EventDone{}};
  if (!regs) return regs.error();
  if (regs->rip != e.regs.rip) return divergence(e, "the task is not where it was given the baton");
  auto settled = run_pool_to(*t, e);
  if (!settled) return settled.error();
  if (*settled) return EventProgress{**settled};
  t->in_pool = true;
  return EventProgress{EventDone{}};
}

// The recorder gave the baton once the threads that had it last were done
// with it: released it as many times as the event says, and waiting (the
// baton was free, or its holder had stopped at an event). Those threads
// run until the count is there (the library's count, in the tracee's page),
// looked at every kPoolPoll.
Result<std::optional<DebugStop>> ReplaySession::run_pool_to(RepTask& t, const trace::Event& e) {
  constexpr auto kPoolPoll = std::chrono::microseconds(200);
  auto releases = [&]() -> Result<uint32_t> {
    auto n = t.task->read_val<uint32_t>(RemotePtr(kBatonPage + offsetof(Baton, releases)));
    if (!n) return n.error();
    return *n;
  };
  auto now = releases();
  if (!now) return now.error();
  if (*now == e.baton_releases) return std::optional<DebugStop>();
  REWIND_TRY(run_pool(t));
  if (!pool_running_)
    return divergence(e, "the baton was released " + std::to_string(*now) + " times, not " +
                             std::to_string(e.baton_releases) + ", and no thread can release it");
  // A count that stops moving while none of the threads uses CPU time
  // means they all wait for something that will not come: a replay gone
  // astray (a thread that computes for minutes before it releases is fine).
  constexpr auto kStuckCheck = std::chrono::seconds(2);
  auto checked = std::chrono::steady_clock::now();
  uint64_t cpu_then = pool_cpu_ms(t);
  uint32_t count_then = *now;
  std::optional<DebugStop> stop;
  while (*now != e.baton_releases) {
    std::this_thread::sleep_for(kPoolPoll);
    if (std::chrono::steady_clock::now() - checked > kStuckCheck) {
      const uint64_t cpu_now = pool_cpu_ms(t);
      if (cpu_now == cpu_then && *now == count_then) {
        const std::string where = describe_pool(t);
        REWIND_TRY(stop_pool(t));
        return divergence(e, "the other threads stopped releasing the baton after " +
                                 std::to_string(*now) + " releases, before the recorded " +
                                 std::to_string(e.baton_releases) + " (" + where + ")");
      }
      checked = std::chrono::steady_clock::now();
      cpu_then = cpu_now;
      count_then = *now;
    }
    auto polled = poll_pool(t);
    if (!polled) return polled.error();
    if (*polled) {
      stop = *polled;
      break;
    }
    now = releases();
    if (!now) return now.error();
  }
  REWIND_TRY(stop_pool(t));
  return stop;
}

// The user CPU time the pool of t's process has used, in ms.
uint64_t ReplaySession::pool_cpu_ms(const RepTask& t) {
  uint64_t sum = 0;
  for (RepTask* o : pool_of(t))
    if (auto ms = thread_user_time_ms(o->task->real_tid())) sum += *ms;
  return sum;
}

std::string ReplaySession::describe_pool(RepTask& t) {
  std::string out;
  std::vector<RepTask*> all{&t};
  for (RepTask* o : pool_of(t)) all.push_back(o);
  for (RepTask* o : all) {
    const pid_t real = o->task->real_tid();
    std::ifstream in("/proc/" + std::to_string(real) + "/syscall");
    std::string sys;
    std::getline(in, sys);
    auto a = thread_activity(real);
    char early[48] = "";
    if (o->early_stop)
      snprintf(early, sizeof early, " at an early stop 0x%x", o->early_stop->raw());
    char line[256];
    snprintf(line, sizeof line, "%stid %d%s%s%s, state %c, syscall %s", out.empty() ? "" : "; ",
             o->task->rec_tid().value, o == &t ? " (advanced)" : "", o->running ? " running" : "",
             early, a ? a->state : '?', sys.c_str());
    out += line;
  }
  return out;
}

// The records other threads made while they handed the baton around, to
// which they come while replay advances toward this event: after those they
// have already, as the recorder took them (it never empties the buffer of
// a thread for another's event).
Result<void> ReplaySession::load_peer_syscallbufs(const trace::Event& e) {
  // An event processed again (after a stop inside it) loaded them already.
  // Appended twice, the records handed out a futex result once more, and a
  // thread of the pool then waited for a release count that had gone by:
  // that was the hang of a mark taken while the pool ran, and a debugger's
  // breakpoint hit by pool threads failed the same way after some 15 stops.
  std::vector<RepTask*> fresh;
  for (const trace::Event::PeerRecords& p : e.peer_syscallbufs) {
    RepTask* t = find(p.tid);
    if (!t || !t->syscallbuf) return divergence(e, "buffered syscalls of an unknown thread");
    fresh.push_back(t->peer_records_loaded == e.num.value ? nullptr : t);
  }
  for (size_t i = 0; i < fresh.size(); ++i) {
    RepTask* t = fresh[i];
    if (!t) continue;
    const trace::Event::PeerRecords& p = e.peer_syscallbufs[i];
    if (!records_well_formed(p.records.data(), p.records.size()))
      return divergence(e, "another thread's buffered syscalls in the trace are corrupt");
    BufHeader h;
    REWIND_TRY(t->task->read_mem(RemotePtr(t->syscallbuf), &h, sizeof h));
    if (h.end > kRecordsEnd - sizeof h || p.records.size() > kRecordsEnd - sizeof h - h.end)
      return divergence(e, "another thread's buffered syscalls do not fit in its buffer");
    REWIND_TRY(t->task->write_mem(RemotePtr(t->syscallbuf + sizeof h + h.end), p.records.data(),
                                  p.records.size()));
    const uint32_t end = h.end + static_cast<uint32_t>(p.records.size());
    REWIND_TRY(
        t->task->write_mem(RemotePtr(t->syscallbuf + offsetof(BufHeader, end)), &end, sizeof end));
  }
  for (RepTask* t : fresh)
    if (t) t->peer_records_loaded = e.num.value;
  return ok_result();
}

std::vector<RepTask*> ReplaySession::pool_of(const RepTask& t) {
  std::vector<RepTask*> out;
  for (auto& [tid, o] : tasks_)
    if (o.get() != &t && o->in_pool && &o->task->as() == &t.task->as()) out.push_back(o.get());
  return out;
}

// A thread killed meanwhile (another's exit_group) cannot be resumed: it
// is as good as running, toward the exit stop that its wait reports.
Result<void> ReplaySession::resume_member(RepTask& o) {
  auto r = resume_task(o, /*emulate=*/false);
  if (!r && r.error().errnum != ESRCH) return r;
  o.running = true;
  return ok_result();
}

// Resumes the pool of t's process beside t. Under replay's seccomp filter
// a thread of it stops only at a traced syscall (its own next event, come
// early) or for the debugger.
Result<void> ReplaySession::run_pool(RepTask& t) {
  pool_running_ = false;
  for (RepTask* o : pool_of(t)) {
    if (o->early_stop) continue;
    if (!o->running) REWIND_TRY(resume_member(*o));
    pool_running_ = true;
  }
  return ok_result();
}

// A stop of a pool thread: ours (an interrupt) or one to keep for later.
Result<void> ReplaySession::note_pool_stop(RepTask& o, WaitStatus st) {
  o.running = false;
  o.task->note_stop(st);
  // What it counted since the last stop: a run that ends now, with the
  // pool stopped and no other stop to come, must see those hits (a hit
  // of main's between its last clone and its first hand-off of the baton
  // fell on neither side of a mark there; count_test).
  if (!st.is_exit()) REWIND_TRY(note_counted(o));
  const bool sigstop =
      st.kind() == WaitStatus::Kind::SignalDeliveryStop && st.stop_sig() == SIGSTOP;
  if (sigstop && o.initial_stop_pending) return on_initial_stop(o);  // a new thread's first
  if (sigstop && o.interrupt_pending) {
    o.interrupt_pending = false;  // ours (stop_pool), never delivered
    return ok_result();
  }
  if (st.kind() == WaitStatus::Kind::SyscallStop) {
    // A syscall the library makes in replay, stopped only because the
    // thread was resumed with PTRACE_SYSCALL (a debugger's step): on.
    auto regs = o.task->get_regs();
    if (!regs) return regs.error();
    if (regs->rip == kBatonSyscallInsn + 2 || regs->rip == kReplayedSyscallInsn + 2)
      return ok_result();
  }
  REWIND_LOG(Replay, "tid %d of the pool stopped: 0x%x", o.task->real_tid(), st.raw());
  o.early_stop = st;
  return ok_result();
}

// Looks for stops of the pool while t advances. A breakpoint or a step of
// the debugger's in one of its threads is a stop for the debugger (t's
// event stays pending); a new thread's first stop, or a signal the live
// kernel sent (SIGCHLD), lets it go on. Its own next event, come early,
// is kept for later (note_pool_stop).
Result<std::optional<DebugStop>> ReplaySession::poll_pool(RepTask& t) {
  for (RepTask* o : pool_of(t)) {
    if (!o->running) continue;
    auto w = wait_nohang(o->task->real_tid());
    if (!w) return w.error();
    if (!*w) continue;
    const WaitStatus st = (*w)->status;
    REWIND_TRY(note_pool_stop(*o, st));
    auto dropped = drop_live_signal_stop(*o);
    if (!dropped) return dropped.error();
    if (!o->early_stop) {
      REWIND_TRY(resume_member(*o));
      continue;
    }
    if (st.kind() != WaitStatus::Kind::SignalDeliveryStop) continue;
    const int sig = st.stop_sig();
    o->early_stop.reset();
    if (sig != SIGTRAP)
      return Error{"tid " + std::to_string(o->task->rec_tid().value) + " got an unrecorded " +
                   signal_name(sig) + " while it ran with the pool"};
    // A counted stub's trap (note_pool_stop read the hits so far).
    auto trap = on_sigtrap(*o);
    if (!trap) return trap.error();
    if (trap->action == TrapAction::Stop) return std::optional<DebugStop>(trap->stop);
    if (trap->action == TrapAction::NotOurs)
      return Error{"tid " + std::to_string(o->task->rec_tid().value) +
                   " got a SIGTRAP the recording did not have while it ran with the pool"};
    REWIND_TRY(resume_member(*o));
  }
  return std::optional<DebugStop>();
}

// A stop of a pool thread for a signal the live kernel sent (SIGCHLD from
// a child that really exited, a SIGSTOP of ours that came twice): the
// recorded deliveries are replayed explicitly, so it is dropped, as the
// advanced task's are (ReplaySession::advance). Kept as an early stop when
// it came just as the pool was stopped, it kept the thread out of the pool
// for good, and the baton was never released again (checkpoint_test's
// fork_multithreaded, whose worker's child exits while the pool runs: 1 run
// in 30 under load). Synchronous faults and SIGTRAP stay.
Result<bool> ReplaySession::drop_live_signal_stop(RepTask& o) {
  if (!o.early_stop || o.early_stop->kind() != WaitStatus::Kind::SignalDeliveryStop) return false;
  const int sig = o.early_stop->stop_sig();
  if (sig == SIGTRAP) return false;
  auto si = o.task->get_siginfo();
  if (!si && si.error().errnum != ESRCH) return si.error();
  // (Killed meanwhile, by a sibling's exit_group: its exit is what comes.)
  if (si && is_synchronous_fault(sig, *si)) return false;
  REWIND_LOG(Replay, "tid %d of the pool: %s from the live kernel, dropped", o.task->real_tid(),
             signal_name(sig).c_str());
  o.early_stop.reset();
  return true;
}

// A thread of the pool that hit one of the debugger's breakpoints just as
// the pool is stopped: nobody can report that hit now, and a thread kept
// at its early stop is not resumed with the pool, so it never released the
// baton again ("the other threads stopped releasing the baton", at the
// first `continue` of a breakpoint in code the pool runs). Take the hit
// back: the pc goes back onto the int3, which it meets again, and reports,
// when the pool next runs.
Result<void> ReplaySession::take_back_breakpoint_hit(RepTask& o) {
  if (!o.early_stop || o.early_stop->kind() != WaitStatus::Kind::SignalDeliveryStop ||
      o.early_stop->stop_sig() != SIGTRAP)
    return ok_result();
  auto si = o.task->get_siginfo();
  if (!si) return si.error();
  auto regs = o.task->get_regs();
  if (!regs) return regs.error();
  if (si->si_code != SI_KERNEL || !o.task->as().has_breakpoint(regs->rip - 1)) return ok_result();
  user_regs_struct r = *regs;
  r.rip -= 1;
  REWIND_TRY(o.task->set_regs(r));
  o.early_stop.reset();
  REWIND_LOG(Replay, "tid %d of the pool hit the breakpoint at 0x%llx as the pool stopped: later",
             o.task->real_tid(), static_cast<unsigned long long>(r.rip));
  return ok_result();
}

// Stops the pool again, wherever each thread is (in the library, waiting
// for its turn, nearly always).
Result<void> ReplaySession::stop_pool(RepTask& t) {
  if (!pool_running_) return ok_result();
  pool_running_ = false;
  for (RepTask* o : pool_of(t)) {
    if (!o->running) continue;
    const pid_t tid = o->task->real_tid();
    auto w = wait_nohang(tid);
    if (!w) return w.error();
    if (*w) {
      REWIND_TRY(note_pool_stop(*o, (*w)->status));
      REWIND_TRY(take_back_breakpoint_hit(*o));
      auto dropped = drop_live_signal_stop(*o);
      if (!dropped) return dropped.error();
      continue;
    }
    // SIGSTOP (tracees started with PTRACE_TRACEME cannot be sent
    // PTRACE_INTERRUPT); its delivery stop is ours, and it is never delivered.
    if (!o->initial_stop_pending) {
      auto sent = o->task->send_signal(SIGSTOP);
      if (!sent && sent.error().errnum == ESRCH) continue;  // dying: its exit is an event
      if (!sent) return sent.error();
      o->interrupt_pending = true;
    }
    auto got = o->task->wait();
    if (!got) return got.error();
    REWIND_TRY(note_pool_stop(*o, got->status));
    REWIND_TRY(take_back_breakpoint_hit(*o));
    auto dropped = drop_live_signal_stop(*o);
    if (!dropped) return dropped.error();
  }
  return ok_result();
}

// A fork's child got a copy of its parent's baton page: as in the recording
// (RecordSession::reset_fork_baton), it has one thread, and no baton.
Result<void> ReplaySession::clear_fork_child_baton(RepTask& child) {
  const Baton none = {};
  return child.task->write_mem(RemotePtr(kBatonPage), &none, sizeof none);
}

}  // namespace rwd

namespace rwd {

// A replayed thread sleeps in the kernel only in a baton hand-off's futex
// wait: every other syscall it makes for real (kBufReplayExecutes) returns
// at once, and the rest are emulated. Only another thread of its pool wakes
// it. So if it sleeps at every look for kStuckAfter, and so do the running
// threads of its pool, none of which was switched in meanwhile, and the
// baton count stood still, none ever will. (t's own switches and CPU time
// do not tell: replay's kicks wake it, and it runs a few instructions of
// the library before it sleeps again.) That is a divergence: say so rather
// than wait forever, where not even the debugger's interrupt gets through
// (the thread stands in rewind's stub page, where no stop is reported).
Result<void> ReplaySession::check_not_stuck(RepTask& t, const trace::Event& e, StuckWatch& w) {
  constexpr auto kStuckAfter = std::chrono::seconds(3);
  constexpr auto kLookEvery = std::chrono::milliseconds(250);
  const auto at = std::chrono::steady_clock::now();
  if (at < w.next) return ok_result();
  w.next = at + kLookEvery;
  auto mine = thread_activity(t.task->real_tid());
  if (!mine) return ok_result();  // exiting: its stop will tell
  // 't': stopped by a kick not yet reaped.
  if (mine->state != 'S' && mine->state != 't') {
    w.last.clear();
    return ok_result();
  }
  std::vector<uint64_t> now;
  if (auto n = t.task->read_val<uint32_t>(RemotePtr(kBatonPage + offsetof(Baton, releases))))
    now.push_back(*n);
  size_t others = 0;
  for (RepTask* o : pool_of(t)) {
    if (!o->running) continue;
    auto a = thread_activity(o->task->real_tid());
    if (!a) return ok_result();
    if (a->state != 'S') {
      w.last.clear();
      return ok_result();
    }
    now.push_back(a->switches);
    ++others;
  }
  if (w.last.empty() || now != w.last) {
    w.last = std::move(now);
    w.since = at;
    return ok_result();
  }
  if (at - w.since < kStuckAfter) return ok_result();
  if (log_enabled(LogCategory::Replay)) {
    std::vector<RepTask*> all{&t};
    for (RepTask* o : pool_of(t)) all.push_back(o);
    for (RepTask* o : all) {
      std::ifstream in("/proc/" + std::to_string(o->task->real_tid()) + "/syscall");
      std::string line;
      std::getline(in, line);
      auto a = thread_activity(o->task->real_tid());
      REWIND_LOG(Replay, "stuck: tid %d (recorded %d)%s state %c: %s", o->task->real_tid(),
                 o->task->rec_tid().value, o->running ? " running" : "", a ? a->state : '?',
                 line.c_str());
    }
  }
  char what[200];
  snprintf(what, sizeof what,
           "the task and the %zu threads running with it all wait in the kernel and have not "
           "run for %lld s: a hand-off the recording made never came",
           others,
           static_cast<long long>(
               std::chrono::duration_cast<std::chrono::seconds>(kStuckAfter).count()));
  return divergence(e, what);
}

}  // namespace rwd
