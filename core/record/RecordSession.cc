#include "core/record/RecordSession.h"

#include <linux/perf_event.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <climits>
#include <cstring>
#include <fstream>
#include <set>

#include "core/base/Log.h"
#include "core/cpu/TrapAnswer.h"
#include "core/task/InflightWrites.h"
#include "core/task/RemoteSyscall.h"
#include "core/task/SignalFrame.h"
#include "core/task/Spawn.h"
#include "preload/abi.h"

namespace rwd {

// How many events the current task may record while others wait before the
// scheduler switches away from it (fairness between runnable tasks).
static constexpr int kTimesliceEvents = 64;
// How long a syscall judged not to block may run before the scheduler looks
// whether it sleeps after all.
static constexpr int kFastSyscallCheckMs = 10;

// /proc/TID/stat's state field: 'S' is an interruptible sleep, which is
// what a syscall waiting for another task (a pipe, a futex) shows.
static bool task_sleeps_in_kernel(pid_t tid) {
  std::ifstream in("/proc/" + std::to_string(tid) + "/stat");
  std::string stat;
  std::getline(in, stat);
  size_t paren = stat.rfind(')');  // the command name may contain anything
  return paren != std::string::npos && paren + 2 < stat.size() && stat[paren + 2] == 'S';
}

// Whether a task still exists and is not already dead (/proc/TID/stat state
// Z or X). Used to tell "it died under us" from real errors.
static bool task_alive(pid_t tid) {
  std::ifstream in("/proc/" + std::to_string(tid) + "/stat");
  std::string stat;
  if (!std::getline(in, stat)) return false;
  size_t paren = stat.rfind(')');
  if (paren == std::string::npos || paren + 2 >= stat.size()) return false;
  return stat[paren + 2] != 'Z' && stat[paren + 2] != 'X';
}

RecTask* RecordSession::find(pid_t tid) {
  auto it = tasks_.find(tid);
  return it == tasks_.end() ? nullptr : it->second.get();
}

RecTask& RecordSession::add_task(pid_t tid, std::shared_ptr<AddressSpace> as) {
  auto rt = std::make_unique<RecTask>();
  rt->task = std::make_unique<Task>(Tid(tid), tid, std::move(as));
  RecTask& ref = *rt;
  tasks_[tid] = std::move(rt);
  return ref;
}

Result<void> RecordSession::start() {
  sigset_t chld;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  // Blocked, so that it stays pending until wait_one() takes it.
  if (sigprocmask(SIG_BLOCK, &chld, nullptr) < 0) return Error::from_errno("sigprocmask");
  struct stat st;
  // (Not /dev/null and the like: nothing to re-emit, and writes to them
  // would all have to be traced; see BufHeader::traced_fds.)
  auto output = [&](int fd) {
    return fstat(fd, &st) == 0 && !(S_ISCHR(st.st_mode) && major(st.st_rdev) == 1);
  };
  if (output(1)) stdout_dev_ = st.st_dev, stdout_ino_ = st.st_ino;
  if (output(2)) stderr_dev_ = st.st_dev, stderr_ino_ = st.st_ino;

  buffering_ = options_.syscall_buffer;
  if (buffering_) perf_warmup_.start();
  SpawnOptions so{options_.exe_path, options_.argv, options_.env, options_.cpu, std::nullopt};
  // Untraced: the tracer's injected syscalls (which stop at their
  // syscall-stops anyway), the library's buffered ones, and the baton's.
  if (buffering_)
    so.seccomp_filter = SeccompFilter{
        {kStubSyscallInsn, syscallbuf::kUntracedSyscallInsn, syscallbuf::kBatonSyscallInsn}};
  auto spawned = spawn_traced(so);
  if (!spawned) return spawned.error();
  if (spawned->died_in_exec) return record_death_in_exec(*spawned->died_in_exec);
  root_tid_ = spawned->pid;
  yield_to_tracees();
  auto as = std::make_shared<AddressSpace>();
  REWIND_TRY(as->open_for(root_tid_));
  RecTask& t = add_task(root_tid_, as);
  t.tgid = root_tid_;
  // The initial execve has no recorded entry: its exit is event 1.
  t.in_syscall = true;
  t.exec_pending = true;
  t.syscall_nr = 59;  // __NR_execve
  REWIND_TRY(on_exec_done(t, /*initial=*/true));
  current_ = &t;
  t.parked = true;
  return ok_result();
}

// The recorder and its tracees share one CPU. With the recorder a little
// below them (nice + kNiceBelowTracees, after the spawn, so the program keeps
// its own nice value), a tracee it resumes runs at once, to its next stop or
// sleep, rather than when the recorder next sleeps. Measured here (medians
// of 5): a two-thread condvar ping-pong 0.50 -> 0.40 s, four threads on a
// mutex and condvars 0.33 -> 0.28 s; make -j1, xz -T2, write+getpid and a
// timer-driven compute loop unchanged; nice 5, 10 and 19 alike. Replay
// gains nothing from it. Raising the tracees instead works as well, but
// needs privileges and shows in the program's getpriority().
void RecordSession::yield_to_tracees() {
  constexpr int kNiceBelowTracees = 5;
  errno = 0;
  const int nice_now = getpriority(PRIO_PROCESS, 0);
  if (errno == 0 && nice_now < 19)
    (void)setpriority(PRIO_PROCESS, 0, std::min(19, nice_now + kNiceBelowTracees));
}

namespace {
std::atomic<bool> g_end_requested{false};
std::atomic<bool> g_continue_requested{false};
// How long the processes the initial one left behind run on before rewind
// names them: a child that exits right after its parent is no news.
constexpr std::chrono::seconds kSurvivorGrace(1);
}  // namespace

void RecordSession::request_end() {
  g_end_requested.store(true, std::memory_order_relaxed);
}

void RecordSession::request_continue() {
  g_continue_requested.store(true, std::memory_order_relaxed);
}

Result<void> RecordSession::release_job_stops(const std::optional<sys::SentSignal>& sent,
                                              const RecTask* sender) {
  auto pgid_of = [](pid_t pid) { return getpgid(pid); };
  for (auto& [tid, o] : tasks_) {
    if (!o->job_stopped) continue;
    bool hit = !sent || sent->every;
    if (sent && !hit) {
      if (sent->tid) {
        const RecTask* target = find(sent->tid);
        hit = target && target->tgid == o->tgid;  // the whole process goes on
      } else if (sent->pid > 0) {
        hit = o->tgid == sent->pid;
      } else if (sent->pid == -1) {
        hit = true;
      } else {
        const pid_t group = sent->pid == 0 && sender ? pgid_of(sender->tgid) : -sent->pid;
        hit = pgid_of(o->tgid) == group;
      }
    }
    if (!hit) continue;
    REWIND_LOG(Record, "tid %d: SIGCONT ends its group-stop", tid);
    o->job_stopped = false;
    if (o->traced && o->traced->listening) {
      // Its tracer listens (PTRACE_LISTEN): the SIGCONT traps it for it.
      o->traced->listening = false;
      auto n = ptrace_stop_here(*o, SIGTRAP | (PTRACE_EVENT_STOP << 8), 0);
      if (!n) return n.error();
    } else if (!o->traced || !o->traced->stopped) {
      o->parked = true;
      // It stands where its stop signal was delivered, and has run no
      // instruction since: a signal waiting for it (the SIGCONT itself, to a
      // handler) is delivered there, a point replay has too.
      auto regs = o->task->get_regs();
      if (!regs) return regs.error();
      o->at_exit_point = true;
      o->exit_regs = *regs;
    }
  }
  return ok_result();
}

// The initial process has exited and others remain (a child blocked for
// ever, a daemon). Natively the shell would return. As rr record does,
// rewind then ends the recording, killing them: their deaths are recorded
// as any other, and the trace is complete and replays. With record -w it
// records on until they exit; it names them, and a Ctrl-C (SIGINT to
// rewind) kills them.
Result<void> RecordSession::outlived_by_others() {
  if (!root_status_ || tasks_.empty()) return ok_result();
  if (!options_.wait_for_all && !survivors_named_) {
    // Once: their deaths are reported like any other, and end the loop.
    survivors_named_ = true;
    std::set<pid_t> groups;
    for (const auto& [tid, t] : tasks_) groups.insert(t->tgid > 0 ? t->tgid : tid);
    warn(
        "the program has exited: killing the %zu process%s it left running (record -w waits "
        "for them)",
        groups.size(), groups.size() == 1 ? "" : "es");
    for (auto& [tid, t] : tasks_) (void)t->task->send_signal(SIGKILL);
    return ok_result();
  }
  if (g_end_requested.exchange(false)) {
    warn("ending the recording: killing the %zu remaining task%s", tasks_.size(),
         tasks_.size() == 1 ? "" : "s");
    for (auto& [tid, t] : tasks_) (void)t->task->send_signal(SIGKILL);
    return ok_result();
  }
  if (survivors_named_ || std::chrono::steady_clock::now() - root_reaped_at_ < kSurvivorGrace)
    return ok_result();
  survivors_named_ = true;
  std::string names;
  std::set<pid_t> groups;
  for (const auto& [tid, t] : tasks_) {
    const pid_t pid = t->tgid > 0 ? t->tgid : tid;
    if (!groups.insert(pid).second) continue;
    std::ifstream f("/proc/" + std::to_string(pid) + "/comm");
    std::string comm;
    std::getline(f, comm);
    names += (names.empty() ? "" : ", ") + std::to_string(pid) + " (" + comm + ")";
  }
  const int st = *root_status_;
  warn(
      "%s %s %d; still recording %zu process%s it left: %s. rewind records until they "
      "exit (replay needs them); Ctrl-C ends the recording and kills them",
      options_.argv.empty() ? "the program" : options_.argv[0].c_str(),
      WIFSIGNALED(st) ? "was killed by signal" : "exited with status",
      WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st), groups.size(),
      groups.size() == 1 ? "" : "es", names.c_str());
  return ok_result();
}

Result<int> RecordSession::run() {
  REWIND_TRY(start());
  while (!tasks_.empty()) {
    REWIND_TRY(outlived_by_others());
    if (g_continue_requested.exchange(false)) REWIND_TRY(release_job_stops(std::nullopt, nullptr));
    if (!current_) {
      current_ = pick_next();
      slice_events_ = 0;
      if (!current_) {
        REWIND_TRY(wait_one());
        continue;
      }
      REWIND_LOG(Sched, "switch to tid %d", current_->task->real_tid());
    }
    RecTask& t = *current_;
    if (t.parked) {
      t.parked = false;
      t.running = true;
      REWIND_TRY(resume(t));
      continue;
    }
    if (!t.pending) {
      // In a process whose threads hand the baton over, the task we resumed
      // may sleep in a hand-off while another runs: the one that stops is
      // the one to look at, and the one that runs may be preempted.
      RecTask* runner = &t;
      if (t.running && t.resumed_to_user && baton_of(t)) {
        auto next = follow_baton(t);
        if (next.switch_to || next.leave) {
          current_ = next.switch_to;
          continue;
        }
        runner = next.runner;
      }
      // A syscall judged not to block should reach its exit stop at once;
      // if it is asleep in the kernel instead, let another task run, or
      // the one it waits for might never be scheduled.
      const bool fast = t.running && t.in_fast_syscall;
      // A task computing in user space while others wait (or while it owes
      // them a signal) gets a timeslice; then it is interrupted. Threads
      // asleep waiting for its baton wait too: it may spin until one of them
      // does something (baton_wanted).
      const bool may_preempt =
          runner && runner->running && !runner->in_syscall && !runner->preempt_requested &&
          (others_waiting(*runner) || baton_wanted(*runner) || !runner->deferred_signals.empty());
      // (While threads hand a baton around, one may come to want it at any
      // time, unseen: look again every timeslice.)
      const bool watch_baton = runner && runner->running && baton_of(*runner);
      auto got = wait_one(fast                         ? kFastSyscallCheckMs
                          : may_preempt || watch_baton ? kTimesliceMs
                                                       : -1);
      if (!got) return got.error();
      if (*got || t.pending) continue;
      if (fast && task_sleeps_in_kernel(t.task->real_tid())) {
        REWIND_LOG(Sched, "tid %d sleeps in a syscall judged not to block; switching",
                   t.task->real_tid());
        t.in_fast_syscall = false;
        leave_current();
      } else if (may_preempt) {
        // SIGSTOP because it cannot be blocked; the tracee never sees it
        // (its signal-delivery-stop is suppressed in on_preempted).
        REWIND_LOG(Sched, "tid %d used its timeslice: interrupting it", runner->task->real_tid());
        runner->preempt_requested = true;
        REWIND_TRY(runner->task->send_signal(SIGSTOP));
      }
      continue;
    }
    // Pending trace blocks are written out on time here, once per stop
    // (a clock read), and in wait_one() before it sleeps.
    REWIND_TRY(writer_.flush_if_due());
    WaitStatus st = *t.pending;
    t.pending.reset();
    t.in_fast_syscall = false;
    const uint64_t events_before = last_event_;
    auto next = process_stop(t, st);
    if (!next && (next.error().errnum == ESRCH || !task_alive(t.task->real_tid()))) {
      // Killed (another thread's exit_group, SIGKILL) while we looked at
      // its stop: ptrace answers ESRCH once a killed task left its stop,
      // before it is gone. Its death is recorded when it is reaped.
      REWIND_LOG(Record, "tid %d vanished: %s", t.task->real_tid(), next.error().message.c_str());
      t.running = true;
      leave_current();
      continue;
    }
    if (!next) return next.error();
    if (*next != Next::Gone && *next != Next::Hold && t.traced && t.traced->interrupt_pending &&
        last_event_ != events_before) {
      // Its tracer's PTRACE_INTERRUPT: it stops at this event.
      auto stop = ptrace_stop_here(t, SIGTRAP | (PTRACE_EVENT_STOP << 8), 0);
      if (!stop) return stop.error();
      next = *stop;
    }
    if (*next == Next::Gone || *next == Next::Hold) {
      leave_current();
      continue;
    }
    if (*next == Next::Yield) {
      t.parked = true;
      leave_current();
      continue;
    }
    t.parked = true;
    // Another task may run only while this one stands where the trace says
    // it is: at an event just recorded, or in the kernel. A stop that
    // recorded nothing (a timeslice sample that let it compute on, an
    // asynchronous signal held back, its first SIGSTOP) leaves it at a point
    // replay cannot find, so switching there would leave an interleaving out
    // of the trace (sort --parallel diverged this way once 64 samples had
    // counted as events).
    const bool at_event = last_event_ != events_before;
    if (*next == Next::EnterKernel ||
        (at_event && others_waiting(t) && ++slice_events_ >= kTimesliceEvents)) {
      if (*next == Next::EnterKernel) {
        // Let it into the kernel now; its exit stop is processed when it is
        // next scheduled.
        t.parked = false;
        t.running = true;
        REWIND_TRY(resume(t));
      }
      leave_current();
    } else {
      t.in_fast_syscall = t.in_syscall && !t.syscall_skipped;
    }
  }
  if (!root_status_) return Error{"the initial process vanished without an exit status"};
  return *root_status_;
}

// (The task may have been a thread that a signal found in a hand-off,
// while another runs with the baton: that one stays the current task, as
// nothing else may run beside it.)
void RecordSession::leave_current() {
  if (current_) {
    close_baton(*current_);
    RecTask* holder = baton_holder(*current_);
    if (holder && holder != current_ && holder->resumed_to_user &&
        (holder->running || holder->pending)) {
      current_ = holder;
      return;
    }
  }
  current_ = nullptr;
}

// Round-robin over tasks with something to do, starting after the last pick.
RecTask* RecordSession::pick_next() {
  auto ready = [](const RecTask& t) { return t.pending || t.parked; };
  for (auto it = tasks_.upper_bound(last_pick_); it != tasks_.end(); ++it)
    if (ready(*it->second)) return last_pick_ = it->first, it->second.get();
  for (auto it = tasks_.begin(); it != tasks_.end() && it->first <= last_pick_; ++it)
    if (ready(*it->second)) return last_pick_ = it->first, it->second.get();
  return nullptr;
}

Result<bool> RecordSession::wait_one(int timeout_ms) {
  using Clock = std::chrono::steady_clock;
  // Once the initial process is gone, look up now and then: rewind names
  // what it left running, and a Ctrl-C ends the recording (outlived_by_others).
  if (timeout_ms < 0 && root_status_) timeout_ms = 200;
  const bool timed = timeout_ms >= 0;
  const Clock::time_point start = timed ? Clock::now() : Clock::time_point();
  const Clock::time_point deadline = start + std::chrono::milliseconds(timeout_ms);
  // The longest sleep without a waitpid(): a safety net should a status
  // ever come without its SIGCHLD.
  constexpr std::chrono::milliseconds kMaxSleep(100);
  bool first = true;
  for (;;) {
    // The tracee just resumed shares our CPU and runs only once we sleep,
    // so a waitpid(WNOHANG) now would find nothing: skip it when the last one
    // found the queue empty (statuses_maybe_queued_). Per stop, that leaves
    // one sigtimedwait and one waitpid.
    if (statuses_maybe_queued_) {
      auto w = wait_nohang(-1);
      if (!w) return w.error();
      if (*w) {
        const WaitResult got = **w;
        REWIND_TRY(on_wait_status(got.tid, got.status));
        // Another status may wait behind this one, its SIGCHLD merged into
        // this one's, unless no other task can have stopped or died since:
        // then the next wait goes straight to sleep. Only for syscall-stops,
        // the common case: an event (a clone's child, an exec killing the
        // other threads) can bring statuses of tasks not yet running here.
        // A stopped task killed from outside is found by the next
        // waitpid(), at worst kMaxSleep later.
        statuses_maybe_queued_ =
            got.status.kind() != WaitStatus::Kind::SyscallStop || others_may_report(got.tid);
        return true;
      }
      statuses_maybe_queued_ = false;
    }
    // Nothing to report yet: sleep until the next SIGCHLD. SIGCHLD is
    // blocked (start()), so one that came after the waitpid above is
    // pending, and none is lost; sigtimedwait takes it, or waits for it, in
    // one call (poll() on a signalfd and a read of it took two). The trace's
    // pending blocks are written out on time meanwhile, so that a recorder
    // killed while its tracees sleep loses no more than that.
    std::chrono::milliseconds wait = writer_.flush_due_in();
    if (wait == std::chrono::milliseconds(0)) {
      REWIND_TRY(writer_.flush());
      wait = writer_.flush_due_in();
    }
    wait = std::min(wait, kMaxSleep);
    if (timed) {
      const Clock::time_point now = std::exchange(first, false) ? start : Clock::now();
      wait = std::min(wait, std::chrono::ceil<std::chrono::milliseconds>(deadline - now));
    }
    const int64_t wait_ms = std::max<int64_t>(wait.count(), 0);
    sigset_t chld;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    const struct timespec ts = {static_cast<time_t>(wait_ms / 1000),
                                static_cast<long>(wait_ms % 1000) * 1000000};
    // A SIGCHLD, a time-out or another signal's handler (EINTR): look again.
    statuses_maybe_queued_ = true;
    if (sigtimedwait(&chld, nullptr, &ts) < 0) {
      if (errno != EAGAIN && errno != EINTR) return Error::from_errno("sigtimedwait");
      if (errno == EAGAIN && timed && Clock::now() >= deadline) return false;
    }
    // rewind's own SIGCONT (request_continue): run() releases the stopped.
    if (g_continue_requested.load(std::memory_order_relaxed)) return false;
  }
}

Result<void> RecordSession::on_wait_status(pid_t tid, WaitStatus st) {
  if (st.is_exit()) return on_reaped(tid, st);
  if (st.kind() == WaitStatus::Kind::EventStop && st.ptrace_event() == PTRACE_EVENT_EXEC)
    REWIND_TRY(on_exec_tid_change(tid));
  RecTask* t = find(tid);
  if (!t) {
    // A new child can report its first stop before its parent reports
    // PTRACE_EVENT_FORK/CLONE; the parent's event links it up later.
    auto as = std::make_shared<AddressSpace>();
    REWIND_TRY(as->open_for(tid));
    t = &add_task(tid, as);
    t->initial_stop_pending = true;
  }
  if (t->rebinding_fds) {
    // Its syscall that rebinds fd numbers is over (or at a stop past the
    // change, like execve's PTRACE_EVENT_EXEC): caches may be filled again.
    t->rebinding_fds = false;
    forget_fd_identities();
  }
  t->running = false;
  t->pending = st;
  return ok_result();
}

// execve from a thread that is not the leader: the kernel killed the other
// threads, and the exec'ing thread took over the leader's tid; the event
// message names its former tid (ptrace(2), "execve(2) under ptrace"). The
// old leader never reports its death, so its record goes now, and the exec'ing
// task continues under the leader's tid, as the recorded program sees it.
Result<void> RecordSession::on_exec_tid_change(pid_t tid) {
  unsigned long former = 0;
  REWIND_TRY(ptrace_request(PTRACE_GETEVENTMSG, tid, nullptr, &former));
  if (static_cast<pid_t>(former) == tid) return ok_result();
  auto it = tasks_.find(static_cast<pid_t>(former));
  if (it == tasks_.end()) return Error{"execve from unknown tid " + std::to_string(former)};
  std::unique_ptr<RecTask> execer = std::move(it->second);
  tasks_.erase(it);
  if (RecTask* leader = find(tid)) {
    if (!leader->exit_recorded) REWIND_TRY(record_exit(*leader, 0));
    execer->parent = leader->parent;
    if (current_ == leader) leave_current();
    tasks_.erase(tid);
  }
  REWIND_LOG(Record, "tid %d exec'd and became tid %d", static_cast<pid_t>(former), tid);
  execer->exec_former_tid = execer->task->rec_tid();
  execer->task->take_tids(Tid(tid), tid);
  tasks_[tid] = std::move(execer);
  return ok_result();
}

// Records the exit of a task that died without a PTRACE_EVENT_EXIT stop.
// The program never ran an instruction: the kernel killed it in the
// execve (Spawned::died_in_exec). The trace holds just that death, as its
// one event, so that replay reports it as the recording did.
Result<void> RecordSession::record_death_in_exec(int status) {
  warn(
      "%s was killed by %s while the kernel loaded it (is the program or its ELF "
      "interpreter truncated or damaged?)",
      options_.exe_path.c_str(), strsignal(WTERMSIG(status)));
  root_status_ = status;
  trace::Event e;
  e.num = next_event();
  e.kind = trace::EventKind::Exit;
  e.exit_status = status;
  return write_event(e);
}

Result<void> RecordSession::record_exit(RecTask& t, int status) {
  trace::Event e;
  e.num = next_event();
  e.tid = t.task->rec_tid();
  e.kind = trace::EventKind::Exit;
  e.exit_status = status;
  REWIND_TRY(write_event(e));
  trace::TaskEvent te;
  te.event = e.num;
  te.kind = trace::TaskEventKind::Exit;
  te.tid = e.tid;
  te.exit_status = status;
  REWIND_TRY(writer_.write_task_event(te));
  t.exit_recorded = true;
  return ok_result();
}

Result<void> RecordSession::on_reaped(pid_t tid, WaitStatus st) {
  RecTask* t = find(tid);
  if (tid == root_tid_) {
    root_status_ = st.raw();
    root_reaped_at_ = std::chrono::steady_clock::now();
    g_end_requested = false;  // a Ctrl-C before was the program's
  }
  if (!t) return ok_result();
  // No PTRACE_EVENT_EXIT was seen (e.g. SIGKILL from outside): record the
  // exit where it became known.
  if (!t->exit_recorded) REWIND_TRY(record_exit(*t, st.raw()));
  REWIND_TRY(release_tracees(*t));
  note_tracee_death(*t, st.raw());
  if (current_ == t) leave_current();
  tasks_.erase(tid);
  forget_dead_batons();
  // A tracer's held wait may now find a child of its that died.
  wake_held_waits(0);
  return ok_result();
}

Result<RecordSession::Next> RecordSession::process_stop(RecTask& t, WaitStatus st) {
  t.stopped_in_handoff = false;
  t.last_stop = st;
  if (std::exchange(t.step_resumed, false) && t.traced && t.traced->stepping &&
      st.kind() == WaitStatus::Kind::SignalDeliveryStop && st.stop_sig() == SIGTRAP)
    return on_step_trap(t);
  switch (st.kind()) {
    case WaitStatus::Kind::SyscallStop: {
      // Without a sibling thread, nothing in the recording can have killed
      // it since it was resumed: its stop is still there, and the registers
      // tell its kind (Task::syscall_stop_kind).
      auto kind = t.task->syscall_stop_kind(t.alone_at_resume && alone_in_group(t));
      if (!kind) return kind.error();
      if (*kind == SyscallStopKind::Entry) return on_syscall_entry(t);
      if (*kind == SyscallStopKind::Exit) return on_syscall_exit(t);
      return Next::Continue;
    }
    case WaitStatus::Kind::SignalDeliveryStop:
      t.stopped_in_handoff = in_handoff(t);
      return on_signal_stop(t, st.stop_sig());
    case WaitStatus::Kind::EventStop:
      return on_event_stop(t, st.ptrace_event());
    case WaitStatus::Kind::GroupStop:
      return Next::Continue;
    case WaitStatus::Kind::Exited:
    case WaitStatus::Kind::Killed:
      break;
  }
  return Next::Gone;
}

// Resumes a task. ptrace answers ESRCH for a task that was killed (another
// thread's exit_group) after its last stop: it is dying, and its death is
// recorded when it is reaped.
Result<void> RecordSession::resume(RecTask& t) {
  t.alone_at_resume = alone_in_group(t);
  // Under the seccomp filter the traced syscalls stop the task by
  // themselves (PTRACE_EVENT_SECCOMP); PTRACE_SYSCALL would stop the
  // buffered ones too. It is needed for a syscall's exit stop, and for the
  // entry stop of a buffered syscall restarted as a traced one.
  const bool syscall_stops = !buffering_ || t.in_syscall || t.buffered_restart;
  ResumeRequest req = syscall_stops ? ResumeRequest::Syscall : ResumeRequest::Cont;
  if (t.traced && t.traced->stepping && !t.in_syscall) {
    // A single-step for its tracer. Not of a `syscall` without the seccomp
    // filter, whose stop then never comes: PTRACE_SYSCALL reaches its
    // entry, and the step ends at its exit (end_step_here).
    auto regs = t.task->get_regs();
    if (!regs) return regs.error();
    if (buffering_ || !at_syscall_insn(*t.task, regs->rip)) req = ResumeRequest::SingleStep;
  }
  t.step_resumed = req == ResumeRequest::SingleStep;
  if (t.baton_reset_pending) REWIND_TRY(reset_fork_baton(t));
  t.resumed_to_user = !t.in_syscall;
  if (t.resumed_to_user) REWIND_TRY(give_baton(t));
  if (t.resume_sig) REWIND_TRY(clear_signal_frame_area(*t.task));
  auto r = t.task->resume(req, std::exchange(t.resume_sig, 0));
  if (!r && r.error().errnum != ESRCH) return r.error();
  t.running = true;
  return ok_result();
}

bool RecordSession::alone_in_group(const RecTask& t) const {
  if (t.tgid == 0) return false;
  for (const auto& [tid, o] : tasks_)
    if (o.get() != &t && (o->tgid == t.tgid || o->tgid == 0)) return false;
  return true;
}

bool RecordSession::others_may_report(pid_t tid) const {
  for (const auto& [otid, o] : tasks_)
    if (otid != tid && (o->running || (o->initial_stop_pending && !o->pending))) return true;
  return false;
}

bool RecordSession::others_waiting(const RecTask& t) const {
  for (const auto& [tid, o] : tasks_)
    if (o.get() != &t && (o->pending || o->parked)) return true;
  return false;
}

// Executes the instruction here, records its answer, and hands it to the
// task as if it had run it. A cpuid runs on the recorder's CPU, which is the
// task's: both are pinned to one (Recorder.cc).
Result<void> RecordSession::record_trapped_insn(RecTask& t, const TrapInsnInfo& insn,
                                                trace::Event e) {
  const TrapAnswer a = answer_here(insn, e.regs, options_.cpu_features);
  e.num = next_event();
  switch (insn.kind) {
    case TrapInsn::Rdtsc:
    case TrapInsn::Rdtscp:
      e.kind = trace::EventKind::Rdtsc;
      e.tsc = a.tsc;
      e.tsc_aux = a.tsc_aux;
      e.rdtscp = insn.kind == TrapInsn::Rdtscp;
      break;
    case TrapInsn::Cpuid:
      e.kind = trace::EventKind::Cpuid;
      e.cpuid_out = a.cpuid;
      break;
    case TrapInsn::Rdrand:
    case TrapInsn::Rdseed:
      e.kind = trace::EventKind::Rdrand;
      e.random = a.random;
      e.random_ok = a.random_ok;
      break;
  }
  REWIND_TRY(write_event(e));
  REWIND_TRY(t.task->set_regs(apply_answer(insn, a, e.regs)));
  t.at_exit_point = false;
  return ok_result();
}

Result<RecordSession::Next> RecordSession::on_signal_stop(RecTask& t, int sig) {
  Task& task = *t.task;
  if (t.initial_stop_pending && sig == SIGSTOP) {
    t.initial_stop_pending = false;  // the SIGSTOP ptrace gives an auto-attached child
    // (Its recorded tracer's too, under PTRACE_O_TRACEFORK and the like.)
    auto traced = ptrace_first_stop(t);
    if (!traced) return traced.error();
    return traced->value_or(Next::Continue);
  }
  auto si = task.get_siginfo();
  if (sig == SIGSTOP && si && t.traced && t.traced->attach_stop && si->si_code == SI_TKILL &&
      si->si_pid == getpid()) {
    // PTRACE_ATTACH's, sent by rewind (ptrace_attach): the kernel's own
    // comes as SI_KERNEL. (A preemption asked for meanwhile merged into it.)
    t.traced->attach_stop = false;
    t.preempt_requested = false;
    *si = siginfo_t{};
    si->si_signo = SIGSTOP;
    si->si_code = SI_KERNEL;
    REWIND_TRY(task.set_siginfo(*si));
  }
  if (t.preempt_requested && sig == SIGSTOP) {
    // Ours came from tkill in this process. A SIGSTOP the program sent
    // first (kill(child, SIGSTOP)) absorbed ours, as a pending standard
    // signal absorbs its duplicates: deliver the program's, and ask again
    // for a preemption at the next timeslice.
    if (!si || (si->si_code == SI_TKILL && si->si_pid == getpid())) return on_preempted(t);
    t.preempt_requested = false;
  }
  if (!si) {
    // PTRACE_GETSIGINFO fails with EINVAL in a group-stop (ptrace(2)): job
    // control stopped the process. It stays stopped, as natively, until a
    // SIGCONT rewind sees: one a recorded task sends, or one to rewind's
    // own process group (a shell's `fg`). Replay has no group-stops: the
    // task merely has no event meanwhile.
    t.job_stopped = true;
    REWIND_LOG(Record, "tid %d: in a group-stop, held until a SIGCONT", task.real_tid());
    return Next::Hold;
  }
  auto regs = task.get_regs();
  if (!regs) return regs.error();
  const bool desched = is_desched_signal(t, sig, *si);
  if (desched || (in_buffered_syscall(t, *regs) && !is_synchronous_fault(sig, *si))) {
    // In a buffered syscall that blocked (the desched event fired, or a
    // signal or our SIGSTOP found it asleep): it restarts as a traced one.
    // The signal, unless it is the desched event's, is held back as any
    // asynchronous one, and delivered at that syscall's exit.
    if (desched) disarm_desched(t, si->si_fd);
    if (in_buffered_syscall(t, *regs)) REWIND_TRY(hand_to_traced(t, *regs));
    if (!desched) t.deferred_signals.push_back(*si);
    return Next::Continue;
  }

  trace::Event e;
  e.tid = task.rec_tid();
  e.regs = *regs;

  // An rdrand the CPU lacks raises SIGILL natively: delivered as such.
  if (auto insn = trapped_insn_at(task, sig, *si, regs->rip); insn && can_answer_here(insn->kind)) {
    REWIND_TRY(record_trapped_insn(t, *insn, std::move(e)));
    if (t.trap_signals) REWIND_TRY(restore_trap_signal(task, sig, *t.trap_signals));
    // A single-step for a tracer ran it: the step is over.
    auto stepped = end_step_here(t);
    if (!stepped) return stepped.error();
    if (*stepped) return **stepped;
    return Next::Continue;
  }

  bool deliver_now = false;
  if (is_synchronous_fault(sig, *si)) {
    deliver_now = true;
  } else if (t.redelivering_sig == sig) {
    // Our tkill from the last syscall exit: restore the original siginfo.
    REWIND_TRY(task.set_siginfo(t.redelivering_info));
    *si = t.redelivering_info;
    t.redelivering_sig = 0;
    e.flags |= trace::kFlagAsyncSignal;
    deliver_now = true;
  } else if (t.at_exit_point && same_user_registers(*regs, t.exit_regs)) {
    // Delivered on the way out of a syscall: a point replay can reproduce.
    // The pc alone would not do: after rt_sigreturn the task resumes in
    // the middle of a loop, and a signal may arrive when the loop is back
    // at that pc, iterations later; the registers then differ. Replay
    // raises it at the syscall's exit, where orig_rax still holds the
    // syscall number; here it may read -1 already (a signal that came with
    // an interrupt after the return to user space).
    e.regs.orig_rax = t.exit_regs.orig_rax;
    e.flags |= trace::kFlagAsyncSignal;
    deliver_now = true;
  }
  if (!deliver_now) {
    // Arrived at an arbitrary instruction: hold it until the task's next
    // syscall exit (no-pmu.md, "Deterministic points need no counter").
    REWIND_LOG(Record, "tid %d: deferring %s", task.real_tid(), signal_name(sig).c_str());
    t.deferred_signals.push_back(*si);
    REWIND_TRY(end_handoff_wait(t, *regs));
    // Raised by a buffered syscall (SIGPIPE from a write) or while the
    // thread was inside the library: the library stops for us right after
    // the syscall, where the signal is delivered as a traced syscall would
    // have had it.
    auto asked = defer_preemption(t, regs->rip);
    if (!asked) return asked.error();
    return Next::Continue;
  }
  e.num = next_event();
  e.kind = trace::EventKind::Signal;
  e.signo = sig;
  e.siginfo.assign(reinterpret_cast<uint8_t*>(&*si),
                   reinterpret_cast<uint8_t*>(&*si) + sizeof(siginfo_t));
  t.at_exit_point = false;
  if (t.traced) {
    // Its tracer decides what is delivered (RecordPtrace.cc).
    e.flags |= trace::kFlagPtraceStop;
    REWIND_TRY(write_event(e));
    REWIND_TRY(enter_ptrace_stop(t, sig, *si, true));
    return Next::Hold;
  }
  REWIND_TRY(write_event(e));
  t.resume_sig = sig;
  return Next::Continue;
}

// The flags of the clone-family syscall t stands in (its fork event, or
// its exit stop: `event` 0).
uint64_t RecordSession::clone_flags(RecTask& t, int event) {
  if (t.syscall_nr == SYS_clone3) {
    auto f = t.task->read_val<uint64_t>(RemotePtr(t.entry_regs.rdi));
    return f ? *f : 0;
  }
  if (t.syscall_nr == SYS_clone) return t.entry_regs.rdi;
  if (event == PTRACE_EVENT_VFORK || t.syscall_nr == SYS_vfork)
    return CLONE_VM | CLONE_VFORK | SIGCHLD;
  return SIGCHLD;  // fork(2)
}

Result<RecordSession::Next> RecordSession::on_event_stop(RecTask& t, int event) {
  Task& task = *t.task;
  switch (event) {
    case PTRACE_EVENT_FORK:
    case PTRACE_EVENT_VFORK:
    case PTRACE_EVENT_CLONE: {
      auto msg = task.get_event_msg();
      if (!msg) return msg.error();
      pid_t child = static_cast<pid_t>(*msg);
      // The flags the syscall passed. glibc's fork() is clone(CLONE_CHILD_SETTID |
      // CLONE_CHILD_CLEARTID | SIGCHLD), which ptrace reports as
      // PTRACE_EVENT_FORK: replay needs CLONE_CHILD_SETTID to put the recorded
      // tid where the kernel stored the live one (struct pthread's tid).
      const uint64_t flags = clone_flags(t, event);
      std::shared_ptr<AddressSpace> as;
      if (flags & CLONE_VM) {
        as = task.shared_as();
      } else {
        as = std::make_shared<AddressSpace>();
        REWIND_TRY(as->open_for(child));
        as->inherit_from_fork(task.as());
      }
      RecTask* c = find(child);
      if (c) {
        c->task->set_address_space(as);  // it stopped before this event
      } else {
        c = &add_task(child, as);
        c->initial_stop_pending = true;
      }
      c->baton_reset_pending = !(flags & CLONE_VM) && baton_of(t);
      // A fork's copy of the buffer, or the parent's own when the child
      // runs on its TLS (vfork, posix_spawn): flushed empty at this syscall's
      // entry. A new thread makes a buffer of its own.
      if (!(flags & CLONE_SETTLS)) c->syscallbuf = t.syscallbuf;
      c->parent = task.rec_tid();
      c->tgid = (flags & CLONE_THREAD) ? t.tgid : child;
      trace::TaskEvent te;
      te.event = t.entry_event;
      te.kind = trace::TaskEventKind::Clone;
      te.tid = Tid(child);
      te.parent_tid = task.rec_tid();
      te.clone_flags = flags;
      REWIND_TRY(writer_.write_task_event(te));
      // A tracee stops for its tracer here, if its options say so.
      auto traced = ptrace_fork_event(t, *c, event);
      if (!traced) return traced.error();
      if (*traced) return **traced;
      // A vfork parent sleeps until the child execs or exits.
      return event == PTRACE_EVENT_VFORK ? Next::EnterKernel : Next::Continue;
    }
    case PTRACE_EVENT_EXEC:
      t.exec_pending = true;
      return Next::Continue;
    case PTRACE_EVENT_SECCOMP:  // the filter's way of saying "syscall entry"
      return on_syscall_entry(t);
    case PTRACE_EVENT_EXIT: {
      auto msg = task.get_event_msg();
      if (!msg) return msg.error();
      auto traced = ptrace_exit_event(t, *msg);  // PTRACE_O_TRACEEXIT: its tracer's stop first
      if (!traced) return traced.error();
      if (*traced) return **traced;
      auto regs = task.get_regs();
      trace::Event e;
      e.num = next_event();
      e.tid = task.rec_tid();
      e.kind = trace::EventKind::Exit;
      e.exit_status = static_cast<int>(*msg);
      if (regs) e.regs = *regs;
      trace::TaskEvent te;
      te.event = e.num;
      te.kind = trace::TaskEventKind::Exit;
      te.tid = e.tid;
      te.exit_status = e.exit_status;
      REWIND_TRY(writer_.write_task_event(te));
      t.exit_recorded = true;
      // A thread's exit writes memory other threads see: the kernel clears
      // its clear_child_tid word and wakes that futex (pthread_join waits
      // on it), and marks the robust mutexes it held OWNER_DIED. Let it
      // finish dying before anything else runs, so that happens at this
      // point of the event order, as it will in replay. A thread-group
      // leader whose threads still live is reaped only after them, so it is
      // left to die in the background.
      const pid_t tid = task.real_tid();
      bool others_in_group = false;
      for (auto& [otid, o] : tasks_) others_in_group |= otid != tid && o->tgid == t.tgid;
      if (tid == t.tgid && others_in_group) {
        REWIND_TRY(write_event(e));
        return Next::EnterKernel;
      }
      // The kernel's robust-futex cleanup compares owner tids with the live
      // one; replay rewrites them to its live tid first (RobustList.h), so it
      // needs nothing recorded here.
      REWIND_TRY(task.resume(ResumeRequest::Cont));
      WaitStatus final_status;
      for (;;) {
        auto w = wait_for(tid);
        if (!w) return w.error();
        if (w->status.is_exit()) {
          final_status = w->status;
          break;
        }
        // Still a stop on the way out (e.g. a pending signal): go on.
        REWIND_TRY(task.resume(ResumeRequest::Cont));
      }
      REWIND_TRY(write_event(e));
      REWIND_TRY(on_reaped(tid, final_status));  // erases t
      return Next::Gone;
    }
    default:
      return Next::Continue;
  }
}

}  // namespace rwd
