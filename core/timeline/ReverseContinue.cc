// reverse-continue: the last breakpoint or watchpoint hit before here.
//
// The search goes back one window at a time, from the mark before the
// current position to the position, then from the mark before that one to
// it, and so on. In each window, breakpoint hits are counted in the tracee
// (ReplaySession::set_counted_breakpoints: a patched jmp to a counting stub,
// no ptrace stop per hit), so a window costs two runs at native speed: one
// that counts the hits, one that stops at the last. Write watchpoints are
// found by value (ReverseWatch.cc).
#include "core/base/Log.h"
#include "core/timeline/ReplayTarget.h"

namespace rwd {

using target::BreakpointType;
using target::StopInfo;
using target::StopKind;

std::set<uint64_t> ReplayTarget::counted_addresses() const {
  std::set<uint64_t> out = sw_breakpoints_;
  for (const Watch& w : watches_)
    if (w.type == BreakpointType::Hardware) out.insert(w.addr);
  return out;
}

Result<std::optional<ReplayTarget::Found>> ReplayTarget::last_breakpoint_hit(const Mark& from,
                                                                             const WindowEnd& end,
                                                                             uint64_t* count) {
  *count = 0;
  const std::set<uint64_t> addrs = counted_addresses();
  auto c = cursor_from(from);
  if (!c) return c.error();
  REWIND_TRY(c->s->set_counted_breakpoints(debuggee_, addrs));
  auto reached = run_to(*c, end, control(false));
  if (!reached) return reached.error();
  if (!*reached) return std::optional<Found>();
  *count = c->s->counted_hits(debuggee_);
  REWIND_LOG(Replay, "reverse-continue: %llu breakpoint hits after event %llu.%llx",
             (unsigned long long)*count, (unsigned long long)from.key.events,
             (unsigned long long)from.key.sub);
  if (*count == 0) return std::optional<Found>();

  auto last = cursor_from(from);
  if (!last) return last.error();
  REWIND_TRY(last->s->set_counted_breakpoints(debuggee_, addrs));
  auto d = run_to_hit(*last, std::nullopt, *count, addrs);
  if (!d) return d.error().context("reverse-continue");
  if (!*d) return std::optional<Found>();
  REWIND_TRY(last->s->set_counted_breakpoints(debuggee_, {}));
  // It stands on the user's breakpoint as if its int3 had stopped it:
  // going forwards steps over it instead of stopping there again.
  if (RepTask* t = last->s->find((*d)->tid)) {
    auto regs = t->task->get_regs();
    if (regs) t->stopped_at_bp = regs->rip;
  }
  return std::optional<Found>(Found{std::move(*last), **d});
}

// The step back that usually follows a run to a hit (a reverse-stepi, the
// line step's next move after a reverse-finish, the walk from a landmark)
// starts at the mark before it: a mark at hit n-1 makes that one hit back,
// not the window's start. (gdb's stepping leaves such marks as it goes;
// this keeps a move made in one resume, as LLDB's are, as quick to
// follow.) The stop for it is made only where a mark may go.
Result<std::optional<DebugStop>> ReplayTarget::run_to_hit(Cursor& c, std::optional<Tid> tid,
                                                          uint64_t n,
                                                          const std::set<uint64_t>& sites) {
  RunControl rc = control(false);
  bool marked = n < 2 || !one_thread(c, tid.value_or(debuggee_));
  rc.stop_at_hit = RunControl::HitTarget{tid, marked ? n : n - 1};
  for (;;) {
    auto d = run(c, rc);
    if (!d) return d.error();
    if (interrupted()) return std::optional<DebugStop>();
    const bool hit = d->kind == StopKind::Breakpoint && (!tid || d->tid == *tid);
    if (hit && !marked) {
      if (stands_at_hit(c, d->tid, sites)) mark_inside(c, d->tid);
      marked = true;
      rc.stop_at_hit = RunControl::HitTarget{tid, n};
      continue;
    }
    if (hit) return std::optional<DebugStop>(*d);
    if (d->kind != StopKind::Interrupted) {
      forget_guesses(c);
      return Error{"the replay did not come back to hit " + std::to_string(n)};
    }
  }
}

// Where a mark may be left on the way to the last hit: `tid` stands at a
// hit of its own, in a process of one thread.
// - A stop at a hit count can name a thread that is not at a hit: one of
//   the pool's hits taken back as the pool stopped leaves the stop with
//   the thread replay advanced, at a baton wait's syscall instruction.
// - With threads, where the others stand at such a mark is not fixed from
//   run to run: a thread of the pool runs beside the events of another,
//   and may stand at its next breakpoint when the event count is reached
//   in one run, and before it in another. A reverse-stepi from a point it
//   stood at after such a mark took the thread's last event for the
//   instruction before it ("did not come back to ... before its syscall"
//   in gdb.threads, 6 runs of 6, when these marks were left there too).
bool ReplayTarget::stands_at_hit(Cursor& c, Tid tid, const std::set<uint64_t>& sites) {
  RepTask* t = c.s->find(tid);
  if (!t || !one_thread(c, tid)) return false;
  auto regs = t->task->get_regs();
  if (regs && sites.count(regs->rip)) return true;
  REWIND_LOG(Replay, "no mark at a hit: thread %d is at 0x%llx", tid.value,
             regs ? (unsigned long long)regs->rip : 0ULL);
  return false;
}

bool ReplayTarget::one_thread(Cursor& c, Tid tid) {
  RepTask* t = c.s->find(tid);
  return t && c.s->tasks_of(t->rec_tgid).size() == 1;
}

Result<StopInfo> ReplayTarget::reverse_continue(Tid thread) {
  auto here = position_of(*session_, thread);
  if (!here) return here.error();
  WindowEnd end{here->events, *here};
  const Mark* first = mark_at_or_before(passed_);
  if (!first) return at_history_begin();
  Mark from = *first;
  const bool breakpoints = !counted_addresses().empty();
  bool write_watches = false, access_watches = false;
  for (const Watch& w : watches_) {
    if (w.type == BreakpointType::WriteWatch) write_watches = true;
    if (w.type == BreakpointType::ReadWatch || w.type == BreakpointType::AccessWatch)
      access_watches = true;
  }
  std::vector<WindowEnd> ends;  // the ends of the windows searched so far
  for (;;) {
    if (interrupted()) return interrupted_here(thread);
    // Each window's runs stay before its end: here, then a mark.
    Bound bound(bound_, end.mark ? end.mark : ahead_);
    auto found = search_window(from, end, breakpoints, write_watches, access_watches);
    if (!found && lost_mark_ && end.mark && *lost_mark_ == *end.mark && !ends.empty()) {
      // A mark inside a stretch whose position does not recur (a signal
      // frame the kernel wrote differently, say): forget it and search the
      // merged window from here to the end before it.
      REWIND_LOG(Replay, "reverse-continue: %s", found.error().message.c_str());
      marks_.remove(*end.mark);
      lost_mark_.reset();
      end = ends.back();
      ends.pop_back();
      continue;
    }
    lost_mark_.reset();
    if (!found) return found.error();
    if (interrupted()) return interrupted_here(thread);
    if (*found) {
      StopInfo report = to_stop_info((*found)->stop);
      REWIND_TRY(adopt(std::move((*found)->c)));
      return report;
    }
    // Not past the current image's start: there the search stops before
    // the exec instead (ReplayTargetExec.cc).
    if (below_image_floor(from.key)) return at_image_floor();
    ends.push_back(end);
    end = WindowEnd{from.key.events, from.pos, from.key};
    const Mark* prev = mark_before(from.key);
    if (!prev) break;
    from = *prev;
  }
  // Where threads hand the baton around, where the others stand when an
  // event count is reached varies from run to run (no-pmu.md, "What is
  // left open"): a hit can fall between two windows, counted by neither
  // run. One run over the whole span counts each hit once.
  if (breakpoints && ends.size() >= 2 && !interrupted()) {
    REWIND_LOG(Replay, "reverse-continue: no hit in %zu windows; once more over all of them",
               ends.size());
    Bound bound(bound_, ahead_);
    auto found = search_window(from, ends.front(), true, false, false);
    if (!found) return found.error();
    if (*found) {
      StopInfo report = to_stop_info((*found)->stop);
      REWIND_TRY(adopt(std::move((*found)->c)));
      return report;
    }
  }
  return at_history_begin();
}

// One window of reverse_continue: the last hit in [from, end), if any.
Result<std::optional<ReplayTarget::Found>> ReplayTarget::search_window(const Mark& from,
                                                                       const WindowEnd& end,
                                                                       bool breakpoints,
                                                                       bool write_watches,
                                                                       bool access_watches) {
  {
    std::optional<Found> found;
    if (access_watches) {
      // Reads leave no trace in memory: step through the window.
      auto f = last_access_hit(from, end);
      if (!f) return f.error();
      found = std::move(*f);
    } else {
      uint64_t bp_hits = 0;
      std::optional<Found> bp, wp;
      if (breakpoints) {
        auto f = last_breakpoint_hit(from, end, &bp_hits);
        if (!f) return f.error();
        bp = std::move(*f);
      }
      if (write_watches && !interrupted()) {
        auto f = last_watch_change(from, end);
        if (!f) return f.error();
        wp = std::move(*f);
      }
      if (bp && wp) {
        // Both in this window: the breakpoint is later if some of its hits
        // come after the write.
        auto at = position_of(*wp->c.s, wp->stop.tid);
        if (!at) return at.error();
        auto c = cursor_from(from);
        if (!c) return c.error();
        REWIND_TRY(c->s->set_counted_breakpoints(debuggee_, counted_addresses()));
        auto r = run_to(*c, WindowEnd{at->events, *at}, control(false));
        // A write in a signal handler can stand where a second run does not
        // come back to (the kernel's signal frame differs): the watchpoint
        // then wins, the breakpoints being mostly gdb's own.
        if (!r) REWIND_LOG(Replay, "reverse-continue: %s", r.error().message.c_str());
        const bool bp_later = r && c->s->counted_hits(debuggee_) < bp_hits;
        found = std::move(bp_later ? bp : wp);
      } else {
        found = std::move(bp ? bp : wp);
      }
    }
    return found;
  }
}

// Read and access watchpoints leave no trace in memory: the window is
// single-stepped (or, where the debug registers work, run with them), and
// every hit noted with its position; the last one wins.
Result<std::optional<ReplayTarget::Found>> ReplayTarget::last_access_hit(const Mark& from,
                                                                         const WindowEnd& end) {
  auto c = cursor_from(from);
  if (!c) return c.error();
  REWIND_TRY(install_user_breakpoints(*c->s));
  std::optional<std::pair<Position, DebugStop>> last;
  RunControl rc = control(false);
  rc.stop_at_events = end.events;
  bool at_events = false;
  for (;;) {
    if (interrupted()) return std::optional<Found>();
    if (at_events && end.pos) {
      auto at = at_position(*c->s, *end.pos);
      if (!at) return at.error();
      if (*at) break;
      rc.stop_at_events = UINT64_MAX;
      rc.stop_at_state = state_target(*end.pos);
    } else if (at_events) {
      break;
    }
    auto d = run(*c, rc);
    if (!d) return d.error();
    if (d->kind == StopKind::Breakpoint || d->kind == StopKind::HwBreakpoint ||
        d->kind == StopKind::Watchpoint) {
      auto pos = position_of(*c->s, d->tid);
      if (!pos) return pos.error();
      last = {*pos, *d};
      continue;
    }
    if (d->kind != StopKind::Interrupted && d->kind != StopKind::Step)
      return Error{"reverse-continue: the replay ended before the search window's end"};
    if (d->kind == StopKind::Interrupted) at_events = c->s->events_completed() >= end.events;
  }
  if (!last) return std::optional<Found>();
  const auto& [pos, stop] = *last;
  if (stop.kind == StopKind::Watchpoint) {
    // Going backwards, a watchpoint stops before the access.
    auto before = cursor_before(pos, from.key);
    if (!before) return before.error();
    if (!*before) return std::optional<Found>();
    return std::optional<Found>(Found{std::move(**before), stop});
  }
  auto at = cursor_from(from);
  if (!at) return at.error();
  REWIND_TRY(reach(*at, pos));
  return std::optional<Found>(Found{std::move(*at), stop});
}

}  // namespace rwd
