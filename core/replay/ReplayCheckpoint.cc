// Checkpoints of a replay: frozen forks of its processes (no-pmu.md,
// "Fork-based checkpoints"), so reverse execution restarts near where it
// must go instead of from the beginning.
//
// A fork copies only its calling thread. The checkpoint forks each
// process's leader (so the copy's leader is the recorded leader, as the
// kernel's exit and exec rules for leaders need) and keeps every other
// thread as data: its ThreadImage and RepTaskState. Restoring forks the
// frozen leader again, clones one thread per recorded thread into the new
// process and gives each its image, its robust list and clear_child_tid.
//
// Tasks stand at one of two kinds of stop between events: a stop outside
// any syscall (a syscall exit, a signal, a trap, a new task's SIGSTOP),
// which the recreated thread's initial SIGSTOP stands in for, since replay
// resumes both the same way; or the entry stop of a syscall replay
// emulates (orig_rax -1), where a task waits until its recorded exit comes
// (ReplaySession::on_entry). A recreated thread enters a syscall to stand
// at such an entry stop with the same registers. Under replay's seccomp
// filter (ReplaySession::under_filter) such a task waits at the
// PTRACE_EVENT_SECCOMP stop that follows, and so does the recreated thread
// (EntryStop::Seccomp in ThreadCopy.h). Forks and clones inherit the
// filter (seccomp(2)), so the copies run under it as the originals do.
#include <sys/wait.h>

#include <algorithm>
#include <functional>

#include "core/base/Log.h"
#include "core/replay/ReplaySession.h"
#include "core/task/ForkCopy.h"
#include "core/task/ThreadCopy.h"

namespace rwd {

SessionCheckpoint::~SessionCheckpoint() {
  for (auto& [tgid, p] : processes_) {
    if (!p.frozen) continue;  // checkpoint() failed before it forked this one
    pid_t pid = p.frozen->real_tid();
    kill(pid, SIGKILL);
    while (waitpid(pid, nullptr, __WALL) < 0 && errno == EINTR) {
    }
  }
}

bool ReplaySession::can_checkpoint() const {
  if (tasks_.empty() || !dying_leaders_.empty()) return false;
  // An event whose task was stopped in user code on its way to it (a
  // debugger's stop, an interrupt) starts again from there in the copy;
  // one already partly done in the kernel does not.
  if (pending_) {
    const trace::EventKind k = pending_->kind;
    const bool from_user_code =
        k == trace::EventKind::SyscallEntry || k == trace::EventKind::Rdtsc ||
        k == trace::EventKind::Cpuid || k == trace::EventKind::Rdrand ||
        k == trace::EventKind::Preempt ||
        (k == trace::EventKind::Signal && !(pending_->flags & trace::kFlagAsyncSignal));
    if (!from_user_code) return false;
  }
  for (const auto& [tid, t] : tasks_) {
    // The copy is forked from the leader.
    if (!tasks_.count(t->rec_tgid.value)) return false;
    // A new task still on its way to its first stop is waited for (its
    // SIGSTOP comes without running any of its code); any other running
    // task is inside a syscall the kernel executes.
    if (t->running && !t->initial_stop_pending) return false;
    // What the kernel does inside such a syscall (a fork, an execve, an
    // exit) a copy could not redo.
    if (t->in_syscall && (t->native || !t->task->as().has_stub_page)) return false;
    if (t->exec_pending || t->inject_sig || t->lifted_bp || t->lifted_patch) return false;
    // A thread of a pool (ReplayPool.cc) that came early to the stop of its
    // next event stands inside the kernel at it: a copy would stand after it.
    if (t->early_stop) return false;
    // Recreated threads get no alternate signal stack back (only the
    // leader, whose copy is a fork, keeps its own).
    if (t->sigaltstack && t->task->rec_tid() != t->rec_tgid) return false;
    // A syscall about to be restarted (-ERESTART*) depends on kernel state
    // a copy would not share.
    if (sys::is_restart(t->last_result)) return false;
  }
  return true;
}

// The threads of `group`, the leader first.
static std::vector<RepTask*> leader_first(std::vector<RepTask*> threads, Tid group) {
  std::stable_partition(threads.begin(), threads.end(),
                        [&](const RepTask* t) { return t->task->rec_tid() == group; });
  return threads;
}

Result<std::shared_ptr<const SessionCheckpoint>> ReplaySession::checkpoint() {
  if (!can_checkpoint()) return Error{"the replay cannot be checkpointed here"};
  // New tasks take their first stop now rather than when they first run:
  // replay does the same there (on_initial_stop), and resumes them alike.
  for (auto& [tid, t] : tasks_) REWIND_TRY(wait_until_stopped(*t));
  std::shared_ptr<SessionCheckpoint> cp(new SessionCheckpoint());
  // (Before the forks: the frozen copies share these pages with us.)
  auto shared = snapshot_shared_memory();
  if (!shared) return shared.error().context("checkpointing shared memory");
  cp->shared_memory_ = std::move(*shared);
  std::set<pid_t> groups;
  for (auto& [tid, t] : tasks_) groups.insert(t->rec_tgid.value);
  for (pid_t group : groups) {
    SessionCheckpoint::Process& p = cp->processes_[group];
    for (RepTask* t : leader_first(tasks_of(Tid{group}), Tid{group})) {
      // (A seccomp stop is an entry stop too, for a copy: the task stands
      // after the syscall-entry stop, before the syscall.)
      if (t->in_syscall && !t->task->at_seccomp_stop()) {
        auto k = t->task->syscall_stop_kind();
        if (!k) return k.error();
        if (*k != SyscallStopKind::Entry)
          return Error{"tid " + std::to_string(t->task->rec_tid().value) +
                       " is inside a syscall but not at its entry stop"};
      }
      auto image = capture_thread(*t->task);
      if (!image) return image.error().context("checkpointing");
      // At a PTRACE_SYSEMU entry stop (ReplaySession::on_entry) the task's
      // orig_rax still holds the syscall, which the kernel skips all the
      // same; at a seccomp stop Task::skip_syscall shows it too. A copy
      // enters its syscall with PTRACE_SYSCALL, which needs -1 there to
      // skip it.
      if (t->in_syscall && !t->native) image->regs.orig_rax = static_cast<uint64_t>(-1);
      // A thread of a pool (ReplayPool.cc) may stand at the entry of a
      // syscall replay lets it make by itself (an untraced one): nothing
      // has run of it yet, so its copy makes it again, from the `syscall`
      // instruction, rather than return from it with -ENOSYS.
      // (One replay emulated and finished at its entry stop stands after
      // it: Task::at_skipped_entry.)
      if (!t->in_syscall && !t->task->at_skipped_entry()) {
        auto k = t->task->syscall_stop_kind();
        if (!k) return k.error();
        if (*k == SyscallStopKind::Entry || *k == SyscallStopKind::Seccomp) {
          image->regs.rip -= 2;
          image->regs.rax = image->regs.orig_rax;
          image->regs.orig_rax = static_cast<uint64_t>(-1);
        }
      }
      p.threads.push_back({t->task->rec_tid(), static_cast<const RepTaskState&>(*t), *image});
      p.threads.back().state.last_trap = t->task->last_trap();
    }
    // Injecting the fork needs a stop outside a syscall: a leader waiting
    // inside one leaves it (it is skipped) and enters it again after.
    RepTask& leader = *find(Tid{group});
    if (leader.in_syscall) REWIND_TRY(leave_skipped_syscall(*leader.task));
    auto copy = fork_stopped_copy(*leader.task);
    if (leader.in_syscall)
      REWIND_TRY(enter_syscall_stop(*leader.task, p.threads.front().image.regs, entry_stop()));
    if (!copy) return copy.error().context("checkpointing");
    p.frozen = std::move(*copy);
  }
  auto reader = reader_->clone();
  if (!reader) return reader.error();
  cp->reader_ = std::move(*reader);
  cp->options_ = options_;
  cp->events_completed_ = events_completed_;
  cp->recorded_time_ns_ = recorded_time_ns_;
  cp->pending_ = pending_;
  cp->current_ = current_;
  cp->root_ = root_;
  cp->root_status_ = root_status_;
  cp->cpu_ = cpu_;
  cp->last_event_ = last_event_;
  cp->shared_files_ = shared_files_;
  cp->live_ = live_;
  cp->maybe_shared_anonymous_ = maybe_shared_anonymous_;
  REWIND_LOG(Replay, "checkpoint at %llu events of %zu tasks",
             (unsigned long long)events_completed_, tasks_.size());
  return std::shared_ptr<const SessionCheckpoint>(cp);
}

// A live process standing where `p` was frozen: the leader forked from the
// frozen copy, the other threads cloned into it, each given its image.
Result<void> restore_threads(const std::vector<SessionCheckpoint::Thread>& threads,
                             EntryStop entry_stop, std::vector<std::unique_ptr<Task>>& tasks) {
  for (size_t i = 1; i < threads.size(); ++i) {
    auto t = clone_thread_into(*tasks.front(), threads[i].rec_tid);
    if (!t) return t.error();
    tasks.push_back(std::move(*t));
  }
  // The leader last among the injections: the clones went through it.
  for (size_t i = 0; i < threads.size(); ++i) {
    const SessionCheckpoint::Thread& th = threads[i];
    Task& t = *tasks[i];
    REWIND_TRY(reproduce_trap(t, th.state.last_trap));
    REWIND_TRY(set_thread_exit_lists(t, th.state.robust_list_head, th.state.clear_child_tid));
    REWIND_TRY(apply_thread_image(t, th.image));
    if (th.state.in_syscall) REWIND_TRY(enter_syscall_stop(t, th.image.regs, entry_stop));
  }
  return ok_result();
}

// `shared` maps the restore's own copies of shared memory into the fresh
// fork, before anything runs in it (SharedMemory.h).
static Result<std::vector<std::unique_ptr<Task>>> restore_process(
    const SessionCheckpoint::Process& p, EntryStop entry_stop,
    const std::function<Result<void>(Task&)>& shared) {
  std::vector<std::unique_ptr<Task>> tasks;
  auto leader = fork_stopped_copy(*p.frozen);
  if (!leader) return leader.error();
  tasks.push_back(std::move(*leader));
  auto done = shared(*tasks.front());
  if (done) done = restore_threads(p.threads, entry_stop, tasks);
  if (!done) {
    // Half a process is of no use: its SIGKILL takes all its threads.
    const pid_t pid = tasks.front()->real_tid();
    kill(pid, SIGKILL);
    while (waitpid(pid, nullptr, __WALL) < 0 && errno == EINTR) {
    }
    return done.error();
  }
  return tasks;
}

Result<std::unique_ptr<ReplaySession>> ReplaySession::restore(const SessionCheckpoint& cp) {
  std::unique_ptr<ReplaySession> s(new ReplaySession());
  auto reader = cp.reader_->clone();
  if (!reader) return reader.error();
  s->reader_ = std::move(*reader);
  s->index_trace();
  s->options_ = cp.options_;
  s->events_completed_ = cp.events_completed_;
  s->recorded_time_ns_ = cp.recorded_time_ns_;
  s->pending_ = cp.pending_;
  s->current_ = cp.current_;
  s->root_ = cp.root_;
  s->root_status_ = cp.root_status_;
  s->cpu_ = cp.cpu_;
  s->last_event_ = cp.last_event_;
  s->shared_files_ = cp.shared_files_;
  s->live_ = cp.live_;
  s->maybe_shared_anonymous_ = cp.maybe_shared_anonymous_;
  std::vector<std::string> shared_paths;
  // Copies of written files made since (a segment attached later, say)
  // hold what the replay wrote into them after this point: the restored
  // replay makes its own, from the trace, when it comes to them.
  if (!cp.shared_memory_.empty() || !cp.live_->copies.empty()) {
    auto made = s->make_shared_copies(cp.shared_memory_);
    if (!made) return made.error().context("restoring a checkpoint");
    shared_paths = std::move(*made);
  }
  for (const auto& [tgid, p] : cp.processes_) {
    const pid_t group = tgid;
    auto tasks = restore_process(p, s->entry_stop(), [&](Task& leader) {
      return map_shared_copies(leader, group, cp.shared_memory_, shared_paths);
    });
    if (!tasks) return tasks.error().context("restoring a checkpoint");
    // Restored processes join the session at once: it kills them if a
    // later one fails.
    for (size_t i = 0; i < tasks->size(); ++i) {
      auto t = std::make_unique<RepTask>();
      static_cast<RepTaskState&>(*t) = p.threads[i].state;
      t->kicked = false;  // a SIGSTOP still queued for the original is not the copy's
      // The copy has no counted sites (the fork wrote the program's bytes
      // back): an arrival the original counted is the copy's to count.
      t->count_arrived = 0;
      t->task = std::move((*tasks)[i]);
      s->tasks_[p.threads[i].rec_tid.value] = std::move(t);
    }
  }
  REWIND_LOG(Replay, "restored the checkpoint at %llu events",
             (unsigned long long)cp.events_completed_);
  return s;
}

}  // namespace rwd
