// reverse-stepi: one instruction of a thread back.
//
// Without a PMU there is no instruction count to go back by. The previous
// instruction is found forwards instead, from the last mark (or event
// boundary) before the position (ReverseStepWalk.cc). At an event boundary
// the previous instruction is the thread's last event (its syscall, rdtsc
// or cpuid).
#include "core/timeline/ReplayTarget.h"

namespace rwd {

using target::StopInfo;
using target::StopKind;

Result<StopInfo> ReplayTarget::reverse_step(Tid thread) {
  auto here = position_of(*session_, thread);
  if (!here) return here.error();
  // Every run of the search stays before here.
  Bound bound(bound_, ahead_);
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
  const Mark* m = mark_at_or_before(passed);
  if (!m) return Error{"reverse-step: no mark before " + p.describe()};
  Mark from = *m;
  // A cursor at the later of the mark and the boundary of p's stretch.
  // A mark is left at that boundary, for the runs that follow.
  auto base = [&]() -> Result<Cursor> {
    const MarkKey boundary{p.events, 0};
    const Mark* later = marks_.at_or_before(boundary);
    auto c = cursor_from(later && from.key < later->key ? *later : from);
    if (!c) return c.error();
    auto r = run_to_events(*c, p.events, control(false));
    if (!r) return r.error();
    if (!*r) return Error{"interrupted"};
    mark_boundary(*c);
    return c;
  };
  auto first = base();
  if (!first) return interrupted() ? Result<Maybe>(Maybe()) : first.error();
  auto at_start = at_position(*first->s, p);
  if (!at_start) return at_start.error();
  // Set when p is a mark inside its stretch: every run stays before it.
  std::optional<Bound> before_mark;
  if (*at_start && from.key.events == p.events && from.key.sub > 0) {
    // p is this mark: look from the one before it.
    before_mark.emplace(bound_, from.key);
    const Mark* prev = mark_before(from.key);
    if (!prev) return Error{"reverse-step: no mark before " + p.describe()};
    from = *prev;
    first = base();
    if (!first) return interrupted() ? Result<Maybe>(Maybe()) : first.error();
    at_start = at_position(*first->s, p);
    if (!at_start) return at_start.error();
  }
  if (*at_start) {
    // The instruction before is the thread's last event: its syscall
    // instruction, its rdtsc or its cpuid. Stand before it.
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
    auto c = cursor_at(MarkKey{q.events, UINT64_MAX});
    if (!c) return c.error();
    auto r = run_to(*c, WindowEnd{q.events, q}, control(false));
    if (!r) return r.error();
    if (!*r) return Maybe();
    return Maybe(std::move(*c));
  }

  return previous_in_stretch(p, base);
}

}  // namespace rwd
