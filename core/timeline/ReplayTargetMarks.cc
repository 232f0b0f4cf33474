// ReplayTarget's runs and marks: every replay the timeline drives goes
// through run(), which takes marks (Marks.h) at event boundaries and every
// Marks::kMarkMs of replay inside an event-free stretch, so a later
// backwards search restarts near wherever it must look.
#include <cstring>

#include "core/base/Log.h"
#include "core/timeline/ReplayTarget.h"

namespace rwd {

using target::StopInfo;
using target::StopKind;

Result<ReplayTarget::Cursor> ReplayTarget::fresh_session() {
  auto reader = reader_->clone();
  if (!reader) return reader.error();
  auto s = ReplaySession::open(std::move(*reader), options_);
  if (!s) return s.error();
  // The first event is the initial execve: afterwards the program stands
  // at its first instruction.
  auto first = (*s)->step();
  if (!first) return first.error();
  if (!*first) return Error{"the trace has no events"};
  if ((*s)->died_in_exec()) {
    return Error{"the recorded program never started: the kernel killed it with " +
                 std::string(strsignal(WTERMSIG(*(*s)->root_status()))) +
                 " while loading it, so there is nothing to debug (rewind replay -a reports it)"};
  }
  debuggee_ = (*s)->root();
  if (select_pid_ && select_pid_ != debuggee_.value) {
    RunControl c;
    c.debuggee = Tid(select_pid_);
    if (select_from_fork_)
      c.stop_before_first_event_of = Tid(select_pid_);
    else
      c.stop_after_exec_of = Tid(select_pid_);
    auto d = (*s)->run(c);
    if (!d) return d.error();
    const StopKind want = select_from_fork_ ? StopKind::Interrupted : StopKind::Exec;
    if (d->kind != want || d->tid.value != select_pid_)
      return Error{"the recording has no process " + std::to_string(select_pid_) +
                   (select_from_fork_ ? " created by fork" : " that execs")};
    debuggee_ = Tid(select_pid_);
  }
  if (auto first = latest_exec(**s)) history_image_event_ = first->event.value;
  const MarkKey start{(*s)->events_completed(), 0};
  Cursor c{std::move(*s), start, {}, {}, bound_, {}};
  // The start of history is always a mark: every search can begin there.
  if (marks_.empty() && c.s->can_checkpoint()) {
    auto cp = c.s->checkpoint();
    if (!cp) return cp.error().context("checkpointing the start of the history");
    marks_.add(Mark{c.passed, std::nullopt, *cp});
  }
  return c;
}

Result<ReplayTarget::Cursor> ReplayTarget::cursor_from(const Mark& m) {
  auto s = ReplaySession::restore(*m.cp);
  if (!s) return s.error();
  debuggee_ = select_pid_ ? Tid(select_pid_) : (*s)->root();
  return Cursor{std::move(*s), m.key, {}, {}, bound_, {}};
}

ReplayTarget::Bound::Bound(std::optional<MarkKey>& slot, std::optional<MarkKey> key)
    : slot_(slot), saved_(slot) {
  if (key && (!slot || *key < *slot)) slot = key;
}

Result<ReplayTarget::Cursor> ReplayTarget::cursor_at(MarkKey key) {
  if (const Mark* m = mark_at_or_before(key)) return cursor_from(Mark(*m));
  return fresh_session();
}

RunControl ReplayTarget::control(bool marks) {
  RunControl c;
  c.debuggee = debuggee_;
  c.interrupt = &interrupt_;
  // run() takes marks when the run stops every so often to take them.
  if (marks) c.stop_after_ms = Marks::kMarkMs;
  if (watch_intervals_)
    c.step_to_watch_in = [this](uint64_t events) { return watch_intervals_->count(events) > 0; };
  return c;
}

void ReplayTarget::maybe_mark_boundary(Cursor& c, std::chrono::steady_clock::duration replayed) {
  const MarkKey here{c.s->events_completed(), 0};
  const Mark* last = marks_.at_or_before(here);
  if (last && last->key == here) {
    c.since_mark = {};  // passing a mark
    return;
  }
  // By events, so that the marks cover the history; by replay time, since
  // an event may take 10 us or 100 us to replay (docs/no-pmu.md, "Marks").
  const bool wanted =
      marks_.wants_boundary(here.events) || replayed >= std::chrono::milliseconds(Marks::kMarkMs);
  if (wanted) mark_boundary(c);
}

void ReplayTarget::mark_boundary(Cursor& c) {
  const MarkKey here{c.s->events_completed(), 0};
  const Mark* last = marks_.at_or_before(here);
  if ((last && last->key == here) || !c.s->can_checkpoint()) return;
  auto cp = c.s->checkpoint();
  if (!cp) {
    REWIND_LOG(Replay, "no mark: %s", cp.error().message.c_str());
    return;
  }
  marks_.add(Mark{here, std::nullopt, *cp});
  c.passed = here;
  c.since_mark = {};
  if (c.on_mark)
    if (const Mark* m = marks_.at_or_before(here); m && m->key == here) c.on_mark(*m);
}

void ReplayTarget::mark_inside(Cursor& c, Tid running, bool may_guess) {
  bool between = false;
  std::optional<MarkKey> key =
      marks_.next_inside(c.passed, may_guess ? c.ahead : std::nullopt, &between);
  if (!key || !c.s->can_checkpoint()) return;
  auto pos = position_of(*c.s, running);
  if (!pos) return;
  // Not where the replay started, standing still since (a stop at a hit
  // that is the mark itself): two marks at one point would each take the
  // other for the point before it.
  if (const Mark* last = marks_.at_or_before(c.passed);
      last && last->key == c.passed && last->pos && last->pos->tid == running &&
      std::memcmp(&last->pos->regs, &pos->regs, sizeof pos->regs) == 0)
    return;
  auto cp = c.s->checkpoint();
  if (!cp) {
    REWIND_LOG(Replay, "no mark inside a stretch: %s", cp.error().message.c_str());
    return;
  }
  marks_.add(Mark{*key, *pos, *cp});
  if (between) c.guessed.push_back(*key);
  c.passed = *key;
  c.since_mark = {};
  if (c.on_mark)
    if (const Mark* m = marks_.at_or_before(*key); m && m->key == *key) c.on_mark(*m);
}

void ReplayTarget::forget_guesses(Cursor& c) {
  for (MarkKey k : c.guessed) marks_.remove(k);
  c.guessed.clear();
}

Result<DebugStop> ReplayTarget::run(Cursor& c, RunControl rc) {
  using Clock = std::chrono::steady_clock;
  const bool marks = rc.stop_after_ms != 0;
  // c.since_mark counts replay time only, not the debugger's pauses: the
  // clock restarts with each run.
  Clock::time_point began = Clock::now() - c.since_mark;
  rc.on_boundary = [&](ReplaySession& s) {
    c.passed = MarkKey{s.events_completed(), 0};
    if (!marks) return;
    c.since_mark = Clock::now() - began;
    maybe_mark_boundary(c, c.since_mark);
    began = Clock::now() - c.since_mark;
  };
  auto settle = [&] { c.since_mark = Clock::now() - began; };
  for (;;) {
    auto d = c.s->run(rc);
    if (!d) {
      settle();
      return d.error();
    }
    if (d->why == DebugStop::Why::Elapsed) {
      // A long stretch without an event: leave a mark here and go on.
      mark_inside(c, d->tid);
      began = Clock::now() - c.since_mark;
      continue;
    }
    settle();
    return d;
  }
}

Result<bool> ReplayTarget::run_to_events(Cursor& c, uint64_t events, RunControl rc) {
  rc.stop_at_events = events;
  while (c.s->events_completed() < events) {
    auto d = run(c, rc);
    if (!d) return d.error();
    if (interrupted()) return false;
    if (d->kind == StopKind::Interrupted) continue;
    if (d->kind == StopKind::HistoryEnd || d->kind == StopKind::Exited ||
        d->kind == StopKind::Killed)
      return Error{"the replay ended before event " + std::to_string(events)};
  }
  return true;
}

Result<bool> ReplayTarget::run_to(Cursor& c, const WindowEnd& end, RunControl rc) {
  // A position in a signal handler can differ in memory between two runs
  // that reach it differently (the kernel's signal frame records how the
  // thread last trapped). If the full state does not recur, the first
  // point after the event count with the same registers is taken instead:
  // a weaker match, logged.
  Mark restart;
  const bool can_retry = end.pos && end.pos->has_hash && c.s && !end.mark;
  if (can_retry) {
    if (const Mark* m = marks_.at_or_before(c.passed)) restart = *m;
  }
  const bool at_restart = restart.cp && restart.key == c.passed;
  auto first = run_to_once(c, end, rc);
  if (!first) forget_guesses(c);
  if (first || !can_retry || !restart.cp || interrupted()) return first;
  REWIND_LOG(Replay, "%s; trying registers only", first.error().message.c_str());
  auto again = cursor_from(restart);
  if (!again) return first;
  // The same run again, counting what it counted: only from where it
  // began, or the counts would mean something else.
  if (c.s) {
    auto [addrs, patch_only] = c.s->counted_wanted(debuggee_);
    if (!addrs.empty() &&
        (!at_restart || !again->s->set_counted_breakpoints(debuggee_, addrs, patch_only)))
      return first;
  }
  again->on_mark = c.on_mark;
  WindowEnd loose = end;
  loose.pos->has_hash = false;
  auto second = run_to_once(*again, loose, rc);
  if (!second) {
    forget_guesses(*again);
    return first;
  }
  c = std::move(*again);
  return second;
}

Result<bool> ReplayTarget::run_to_once(Cursor& c, const WindowEnd& end, RunControl rc) {
  auto reached = run_to_events(c, end.events, rc);
  if (!reached || !*reached || !end.pos) return reached;
  auto at = at_position(*c.s, *end.pos);
  if (!at) return at.error();
  if (*at) return true;
  rc.stop_at_events = UINT64_MAX;
  rc.stop_at_state = state_target(*end.pos);
  auto d = run(c, rc);
  if (!d) return d.error();
  if (interrupted()) return false;
  at = at_position(*c.s, *end.pos);
  if (!at) return at.error();
  if (!*at) {
    RepTask* t = c.s->find(end.pos->tid);
    auto regs = t ? t->task->get_regs() : Result<user_regs_struct>(Error{"gone"});
    char got[160];
    snprintf(got, sizeof got, " (it stopped at event %llu, pc 0x%llx, stop kind %d why %d)",
             (unsigned long long)c.s->events_completed(), regs ? regs->rip : 0ULL,
             static_cast<int>(d->kind), static_cast<int>(d->why));
    if (end.mark) lost_mark_ = end.mark;
    return Error{"the replay did not come back to " + end.pos->describe() + got};
  }
  return true;
}

StopInfo ReplayTarget::interrupted_here(Tid thread) {
  REWIND_LOG(Replay, "interrupted: the debugger stays where it was");
  StopInfo s;
  s.kind = StopKind::Interrupted;
  s.signo = SIGINT;
  s.thread = {debuggee_.value, thread.value};
  return s;
}

Result<void> ReplayTarget::adopt(Cursor c) {
  REWIND_TRY(install_user_breakpoints(*c.s));
  session_ = std::move(c.s);
  passed_ = c.passed;
  ahead_ = c.ahead;
  since_mark_ = c.since_mark;
  return ok_result();
}

uint64_t ReplayTarget::current_event() {
  return session_ ? session_->events_completed() : 0;
}

Result<StopInfo> ReplayTarget::seek(uint64_t event) {
  if (!session_) return start(event);
  end_diversion();
  auto c = cursor_at(MarkKey{event, 0});
  if (!c) return c.error();
  auto reached = run_to_events(*c, event, control());
  if (!reached) return reached.error();
  if (!*reached) return interrupted_here(current_thread_);
  REWIND_TRY(adopt(std::move(*c)));
  if (!session_->find(current_thread_)) current_thread_ = debuggee_;
  return trap_stop(StopKind::Signal, current_thread_);
}

Result<int> ReplayTarget::checkpoint() {
  auto pos = position_of(*session_, current_thread_);
  if (!pos) return pos.error();
  target::CheckpointInfo info;
  info.id = next_checkpoint_++;
  info.event = pos->events;
  char where[96];
  snprintf(where, sizeof where, "event %llu, tid %d, pc 0x%llx", (unsigned long long)pos->events,
           pos->tid.value, pos->regs.rip);
  info.where = where;
  checkpoints_.push_back({info, {*pos, passed_}});
  return info.id;
}

Result<StopInfo> ReplayTarget::restart_checkpoint(int id) {
  for (auto& [info, at] : checkpoints_) {
    if (info.id != id) continue;
    auto r = go_to(at.first, at.second, trap_stop(StopKind::Signal, at.first.tid));
    if (r && r->kind != StopKind::Interrupted) current_thread_ = at.first.tid;
    return r;
  }
  return Error{"no checkpoint " + std::to_string(id)};
}

std::vector<target::CheckpointInfo> ReplayTarget::checkpoints() {
  std::vector<target::CheckpointInfo> out;
  for (auto& [info, at] : checkpoints_) out.push_back(info);
  return out;
}

Result<void> ReplayTarget::reach(Cursor& c, const Position& p) {
  auto r = run_to(c, WindowEnd{p.events, p}, control());
  if (!r) return r.error().context("finding " + p.describe());
  if (!*r) return Error{"interrupted"};
  return ok_result();
}

Result<StopInfo> ReplayTarget::go_to(const Position& p, MarkKey passed, StopInfo report) {
  end_diversion();
  auto c = cursor_at(passed);
  if (!c) return c.error();
  auto r = run_to(*c, WindowEnd{p.events, p}, control());
  if (!r) return r.error().context("finding " + p.describe());
  if (!*r) return interrupted_here(current_thread_);
  REWIND_TRY(adopt(std::move(*c)));
  return report;
}

Result<StopInfo> ReplayTarget::at_history_begin() {
  const Mark* first = marks_.first();
  auto c = first ? cursor_from(Mark(*first)) : fresh_session();
  if (!c) return c.error();
  REWIND_TRY(adopt(std::move(*c)));
  return trap_stop(StopKind::HistoryBegin, debuggee_);
}

}  // namespace rwd
