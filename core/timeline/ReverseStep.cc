// reverse-stepi: one instruction of a thread back.
//
// Without a PMU there is no instruction count to go back by. The previous
// instruction is found forwards instead: from the last mark (or event
// boundary) before the position, count in the tracee how often the thread
// executed the position's pc before reaching it (n times), stop at the
// n-th, and single-step from there to the position (k steps; in a loop,
// one iteration). A last run stops k - 1 steps after the n-th execution.
// If the pc did not run since the mark, the thread is stepped from the mark.
// At an event boundary the previous instruction is the thread's last event
// (its syscall or rdtsc).
#include "core/base/Log.h"
#include "core/timeline/ReplayTarget.h"

namespace rwd {

using target::StopInfo;
using target::StopKind;

namespace {
// Single-steps from the previous execution of the pc (or the mark) to the
// position: bounded, so a pathological case fails instead of hanging.
constexpr uint64_t kMaxReverseSteps = 2'000'000;
}  // namespace

Result<StopInfo> ReplayTarget::reverse_step(Tid thread) {
  auto here = position_of(*session_, thread);
  if (!here) return here.error();
  auto before = cursor_before(*here, passed_);
  if (!before) return before.error();
  if (interrupted()) return interrupted_here(thread);
  if (!*before) return at_history_begin();
  REWIND_TRY(adopt(std::move(**before)));
  return trap_stop(StopKind::Step, thread);
}

Result<std::optional<ReplayTarget::Cursor>> ReplayTarget::cursor_before(const Position& p,
                                                                        MarkKey passed) {
  using Maybe = std::optional<Cursor>;
  const Mark* m = marks_.at_or_before(passed);
  if (!m) return Error{"reverse-step: no mark before " + p.describe()};
  Mark from = *m;
  // A cursor at the later of the mark and the boundary of p's stretch.
  auto base = [&]() -> Result<Cursor> {
    auto c = cursor_from(from);
    if (!c) return c.error();
    auto r = run_to_events(*c, p.events, control(false));
    if (!r) return r.error();
    if (!*r) return Error{"interrupted"};
    return c;
  };
  auto first = base();
  if (!first) return interrupted() ? Result<Maybe>(Maybe()) : first.error();
  auto at_start = at_position(*first->s, p);
  if (!at_start) return at_start.error();
  if (*at_start && from.key.events == p.events && from.key.sub > 0) {
    // p is this mark: look from the one before it.
    const Mark* prev = marks_.before(from.key);
    if (!prev) return Error{"reverse-step: no mark before " + p.describe()};
    from = *prev;
    first = base();
    if (!first) return interrupted() ? Result<Maybe>(Maybe()) : first.error();
    at_start = at_position(*first->s, p);
    if (!at_start) return at_start.error();
  }
  if (*at_start) {
    // The instruction before is the thread's last event: its syscall
    // instruction or its rdtsc. Stand before it.
    auto le = first->s->last_instruction_event(p.tid);
    if (!le) return Maybe();
    Position q;
    q.events = le->events_before;
    q.tid = p.tid;
    q.regs = le->regs;
    if (le->kind == trace::EventKind::SyscallEntry) {
      q.regs.rip -= 2;               // back onto the `syscall` instruction
      q.regs.rax = q.regs.orig_rax;  // the number the program loaded
      q.before_syscall = true;
    }
    q.has_hash = false;  // not known, and registers there are specific enough
    // q ends its stretch: every mark inside that stretch is before it.
    auto c = cursor_at(MarkKey{q.events, UINT32_MAX});
    if (!c) return c.error();
    auto r = run_to(*c, WindowEnd{q.events, q}, control(false));
    if (!r) return r.error();
    if (!*r) return Maybe();
    return Maybe(std::move(*c));
  }

  // How often did the thread execute p's pc since, before p?
  REWIND_TRY(first->s->set_counted_breakpoints(debuggee_, {p.regs.rip}));
  auto r = run_to(*first, WindowEnd{p.events, p}, control(false));
  if (!r) return r.error();
  if (!*r) return Maybe();
  const uint64_t earlier = first->s->counted_hits_of(p.tid);

  // Stands at the last of those, or at the base if none, and leaves a mark
  // there (the next reverse-stepi starts from it).
  auto anchor = [&](Cursor& c) -> Result<bool> {
    if (earlier > 0) {
      REWIND_TRY(c.s->set_counted_breakpoints(debuggee_, {p.regs.rip}));
      RunControl rc = control(false);
      rc.stop_at_hit = RunControl::HitTarget{p.tid, earlier};
      for (;;) {
        auto d = run(c, rc);
        if (!d) return d.error();
        if (interrupted()) return false;
        if (d->kind == StopKind::Breakpoint && d->tid == p.tid) break;
        if (d->kind != StopKind::Interrupted)
          return Error{"reverse-step: lost the previous execution of the pc"};
      }
      REWIND_TRY(c.s->set_counted_breakpoints(debuggee_, {}));
    }
    return true;
  };
  // Single-steps p's thread `limit` times or until at p; the steps taken.
  auto walk = [&](Cursor& c, uint64_t limit) -> Result<std::optional<uint64_t>> {
    using Steps = std::optional<uint64_t>;
    RunControl rc = control(false);
    rc.step = p.tid;
    for (uint64_t k = 0;; ++k) {
      if (k == limit) return Steps(k);
      auto at = at_position(*c.s, p);
      if (!at) return at.error();
      if (*at) return Steps(k);
      if (k == kMaxReverseSteps)
        return Error{"reverse-step: the previous instruction is more than " +
                     std::to_string(kMaxReverseSteps) + " instructions after the nearest mark"};
      if (k % 1024 == 1023 && interrupted()) return Steps();
      auto d = run(c, rc);
      if (!d) return d.error();
      if (d->kind != StopKind::Step && d->kind != StopKind::Breakpoint &&
          d->kind != StopKind::Interrupted)
        return Error{"reverse-step: the replay ended early"};
    }
  };
  REWIND_LOG(Replay, "reverse-step: %llu earlier executions of 0x%llx since event %llu.%u",
             (unsigned long long)earlier, p.regs.rip, (unsigned long long)from.key.events,
             from.key.sub);
  auto c2 = base();
  if (!c2) return interrupted() ? Result<Maybe>(Maybe()) : c2.error();
  auto ok = anchor(*c2);
  if (!ok) return ok.error();
  if (!*ok) return Maybe();
  const MarkKey before_mark = c2->passed;
  // (At the base itself a mark adds nothing: it is a mark or a boundary.)
  if (earlier > 0) mark_inside(*c2, p.tid);
  std::optional<Mark> anchor_mark;
  if (c2->passed != before_mark)
    if (const Mark* m = marks_.at_or_before(c2->passed)) anchor_mark = *m;
  auto steps = walk(*c2, UINT64_MAX);
  if (!steps) return steps.error();
  if (!*steps) return Maybe();
  if (**steps == 0) return Error{"reverse-step: could not find the previous instruction"};
  REWIND_LOG(Replay, "reverse-step: %llu single-steps to the position",
             (unsigned long long)**steps);
  Result<Cursor> c3 = anchor_mark ? cursor_from(*anchor_mark) : base();
  if (!c3) return interrupted() ? Result<Maybe>(Maybe()) : c3.error();
  if (!anchor_mark) {
    auto again = anchor(*c3);
    if (!again) return again.error();
    if (!*again) return Maybe();
  }
  auto back = walk(*c3, **steps - 1);
  if (!back) return back.error();
  if (!*back) return Maybe();
  return Maybe(std::move(*c3));
}

}  // namespace rwd
