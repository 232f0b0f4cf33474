// Checkpoints of a replay: frozen forks of its processes (no-pmu.md,
// "Fork-based checkpoints"), so reverse execution restarts near where it
// must go instead of from the beginning.
#include <sys/wait.h>

#include "core/base/Log.h"
#include "core/replay/ReplaySession.h"
#include "core/task/ForkCopy.h"

namespace rwd {

SessionCheckpoint::~SessionCheckpoint() {
  for (auto& [tid, f] : tasks_) {
    pid_t pid = f.task->real_tid();
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
        k == trace::EventKind::Preempt ||
        (k == trace::EventKind::Signal && !(pending_->flags & trace::kFlagAsyncSignal));
    if (!from_user_code) return false;
  }
  std::set<pid_t> groups;
  for (const auto& [tid, t] : tasks_) {
    // A fork copies only the calling thread: processes with threads need
    // more than this (issue: threads).
    if (!groups.insert(t->rec_tgid.value).second) return false;
    if (t->running || t->in_syscall || t->exec_pending || t->inject_sig || t->lifted_bp ||
        t->lifted_patch || t->initial_stop_pending || t->fix_child_tid_addr)
      return false;
    // A syscall about to be restarted (-ERESTART*) depends on kernel state
    // a copy would not share.
    if (t->last_result <= -512 && t->last_result >= -516) return false;
  }
  return true;
}

Result<std::shared_ptr<const SessionCheckpoint>> ReplaySession::checkpoint() {
  if (!can_checkpoint()) return Error{"the replay cannot be checkpointed here"};
  std::shared_ptr<SessionCheckpoint> cp(new SessionCheckpoint());
  for (auto& [tid, t] : tasks_) {
    auto copy = fork_stopped_copy(*t->task);
    if (!copy) return copy.error().context("checkpointing");
    cp->tasks_[tid] =
        SessionCheckpoint::Frozen{static_cast<const RepTaskState&>(*t), std::move(*copy)};
  }
  auto reader = reader_->clone();
  if (!reader) return reader.error();
  cp->reader_ = std::move(*reader);
  cp->options_ = options_;
  cp->events_completed_ = events_completed_;
  cp->pending_ = pending_;
  cp->current_ = current_;
  cp->root_ = root_;
  cp->root_status_ = root_status_;
  cp->cpu_ = cpu_;
  cp->last_event_ = last_event_;
  cp->shared_files_ = shared_files_;
  cp->live_ = live_;
  REWIND_LOG(Replay, "checkpoint at %llu events", (unsigned long long)events_completed_);
  return std::shared_ptr<const SessionCheckpoint>(cp);
}

Result<std::unique_ptr<ReplaySession>> ReplaySession::restore(const SessionCheckpoint& cp) {
  std::unique_ptr<ReplaySession> s(new ReplaySession());
  auto reader = cp.reader_->clone();
  if (!reader) return reader.error();
  s->reader_ = std::move(*reader);
  s->index_trace();
  s->options_ = cp.options_;
  s->events_completed_ = cp.events_completed_;
  s->pending_ = cp.pending_;
  s->current_ = cp.current_;
  s->root_ = cp.root_;
  s->root_status_ = cp.root_status_;
  s->cpu_ = cp.cpu_;
  s->last_event_ = cp.last_event_;
  s->shared_files_ = cp.shared_files_;
  s->live_ = cp.live_;
  for (const auto& [tid, f] : cp.tasks_) {
    auto copy = fork_stopped_copy(*f.task);
    if (!copy) return copy.error().context("restoring a checkpoint");
    auto t = std::make_unique<RepTask>();
    static_cast<RepTaskState&>(*t) = f.state;
    t->kicked = false;  // a SIGSTOP still queued for the original is not the copy's
    t->task = std::move(*copy);
    s->tasks_[tid] = std::move(t);
  }
  REWIND_LOG(Replay, "restored the checkpoint at %llu events",
             (unsigned long long)cp.events_completed_);
  return s;
}

}  // namespace rwd
