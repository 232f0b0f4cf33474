// Reverse write watchpoints without a trap per write (docs/no-pmu.md,
// "Watchpoints by value").
//
// A variable written a million times in a hot loop would cost a million
// traps, or tens of millions of single-steps where the debug registers do
// not fire. Instead, for a search window [from, end):
//   1. If the watched bytes are the same at both ends, the window holds no
//      change the search can see (a value changed and changed back inside
//      one window is missed: a known limit of searching by value).
//   2. Find an instruction that writes the bytes (a writer) by stepping to
//      the first write from the last event boundary at which the bytes
//      still differ from their final value (found by bisection).
//   3. Count the writers' executions in the window, in the tracee, and
//      bisect on that count for the last execution before which the bytes
//      still differ from their value at the window's end: each probe is one
//      run at native speed (about 20 for a million writes).
//   4. From there, step to the instruction that changes the bytes. If the
//      bytes then are not yet their final value, another writer changed
//      them later: learn it (step 2 from there) and search again.
// Where the kernel writes the bytes (a read() into them) there is no
// instruction to count, and the window is stepped as for read watches.
// The result stands just before the write, as gdb expects of a reverse
// watchpoint (it shows the value as it was).
#include "core/base/Log.h"
#include "core/timeline/ReplayTarget.h"

namespace rwd {

using target::BreakpointType;
using target::StopKind;

namespace {
// Writers learnt before giving up: a variable written from more places
// than this in one window is searched for slowly, by stepping.
constexpr int kMaxWriters = 8;
// Steps from a point to the next write of the watched bytes.
constexpr uint64_t kMaxWriterSteps = 400'000;
// The largest k in [lo, hi] for which `probe` is true, `probe(lo)` being
// true: a bisection whose probes are replays (nullopt: interrupted).
template <class Probe>
Result<std::optional<uint64_t>> last_true(uint64_t lo, uint64_t hi, const Probe& probe) {
  while (lo < hi) {
    const uint64_t mid = lo + (hi - lo + 1) / 2;
    Result<std::optional<bool>> p = probe(mid);
    if (!p) return p.error();
    if (!*p) return std::optional<uint64_t>();
    if (**p)
      lo = mid;
    else
      hi = mid - 1;
  }
  return std::optional<uint64_t>(lo);
}

}  // namespace

std::vector<uint8_t> ReplayTarget::watched_bytes(ReplaySession& s) {
  std::vector<uint8_t> out;
  std::vector<RepTask*> tasks = s.tasks_of(debuggee_);
  for (const Watch& w : watches_) {
    if (w.type == BreakpointType::Hardware) continue;
    std::vector<uint8_t> b(w.len, 0);
    if (!tasks.empty()) tasks.front()->task->as().read_partial(RemotePtr(w.addr), b.data(), w.len);
    out.insert(out.end(), b.begin(), b.end());
  }
  return out;
}

// The cursor `c` run on to the next write of the watched bytes, by
// stepping every thread of the debuggee that runs: returns the write's
// stop (with the writing instruction's pc), or nullopt at `end`.
Result<std::optional<DebugStop>> ReplayTarget::next_write(Cursor& c, const WindowEnd& end) {
  REWIND_TRY(c.s->set_debug_registers(debuggee_, debug_slots()));
  RunControl rc = control(false);
  rc.watch_by_stepping = true;
  rc.max_watch_steps = kMaxWriterSteps;
  rc.stop_at_events = end.events;
  for (;;) {
    if (end.pos && c.s->events_completed() == end.events) {
      auto at = at_position(*c.s, *end.pos);
      if (!at) return at.error();
      if (*at) break;
      rc.stop_at_state = state_target(*end.pos);
      rc.stop_at_events = UINT64_MAX;
    } else if (c.s->events_completed() >= end.events) {
      break;
    }
    auto d = run(c, rc);
    if (!d) return d.error();
    if (interrupted()) break;
    if (d->kind == StopKind::Watchpoint && d->watch_type == BreakpointType::WriteWatch) {
      REWIND_TRY(c.s->set_debug_registers(debuggee_, DebugRegSlots{}));
      return std::optional<DebugStop>(*d);
    }
    if (d->kind != StopKind::Interrupted && d->kind != StopKind::Step)
      return Error{"reverse watch: the replay ended before the search window's end"};
  }
  REWIND_TRY(c.s->set_debug_registers(debuggee_, DebugRegSlots{}));
  return std::optional<DebugStop>();
}

// A cursor standing at the n-th execution of any of `writers` after
// `from` (before executing it), and that stop.
Result<std::optional<ReplayTarget::Found>> ReplayTarget::at_writer_hit(
    const Mark& from, const std::set<uint64_t>& writers, uint64_t n) {
  auto c = cursor_from(from);
  if (!c) return c.error();
  REWIND_TRY(c->s->set_counted_breakpoints(debuggee_, writers));
  RunControl rc = control(false);
  rc.stop_at_hit = RunControl::HitTarget{std::nullopt, n};
  for (;;) {
    auto d = run(*c, rc);
    if (!d) return d.error();
    if (interrupted()) return std::optional<Found>();
    if (d->kind == StopKind::Breakpoint) {
      REWIND_TRY(c->s->set_counted_breakpoints(debuggee_, {}));
      return std::optional<Found>(Found{std::move(*c), *d});
    }
    if (d->kind != StopKind::Interrupted)
      return Error{"reverse watch: the replay did not come back to write " + std::to_string(n)};
  }
}

Result<std::optional<ReplayTarget::Found>> ReplayTarget::last_watch_change(const Mark& from,
                                                                           const WindowEnd& end) {
  using Maybe = std::optional<Found>;
  // The bytes at both ends of the window.
  auto start = cursor_from(from);
  if (!start) return start.error();
  const std::vector<uint8_t> initial = watched_bytes(*start->s);
  std::vector<uint8_t> final_bytes;
  {
    auto c = cursor_from(from);
    if (!c) return c.error();
    auto r = run_to(*c, end, control(false));
    if (!r) return r.error();
    if (!*r) return Maybe();
    final_bytes = watched_bytes(*c->s);
  }
  if (initial == final_bytes) return Maybe();

  // Stepping to the first write is bounded: start it from the last event
  // boundary of the window at which the bytes still differ from their final
  // value (bisection over boundaries, each probe a native-speed run).
  auto differs_at_events = [&](uint64_t e) -> Result<std::optional<bool>> {
    if (interrupted()) return std::optional<bool>();
    auto c = cursor_from(from);
    if (!c) return c.error();
    auto r = run_to_events(*c, e, control(false));
    if (!r) return r.error();
    if (!*r) return std::optional<bool>();
    return std::optional<bool>(watched_bytes(*c->s) != final_bytes);
  };
  auto boundary = last_true(from.key.events, end.events, differs_at_events);
  if (!boundary) return boundary.error();
  if (!*boundary) return Maybe();
  const uint64_t lo = **boundary;
  if (lo > from.key.events) {
    auto r = run_to_events(*start, lo, control(false));
    if (!r) return r.error();
    if (!*r) return Maybe();
  }

  std::set<uint64_t> writers;
  Cursor look = std::move(*start);  // where to look for a writer not yet known
  for (int round = 0; round < kMaxWriters; ++round) {
    auto w = next_write(look, end);
    if (!w) return w.error();
    if (interrupted()) return Maybe();
    if (!*w) {
      return Error{"reverse watch: the watched bytes changed after event " +
                   std::to_string(from.key.events) + " but no write to them was found"};
    }
    if ((*w)->access_pc == 0) {
      // The kernel wrote the bytes (a read() into them, at a syscall's
      // exit): no instruction to count. Step the window instead.
      REWIND_LOG(Replay, "reverse watch: the kernel writes the watched bytes; stepping");
      return last_access_hit(from, end);
    }
    writers.insert((*w)->access_pc);

    // How often the writers ran in the window.
    auto counting = cursor_from(from);
    if (!counting) return counting.error();
    REWIND_TRY(counting->s->set_counted_breakpoints(debuggee_, writers));
    auto r = run_to(*counting, end, control(false));
    if (!r) return r.error();
    if (!*r) return Maybe();
    const uint64_t total = counting->s->counted_hits(debuggee_);
    REWIND_LOG(Replay, "reverse watch: %zu writers ran %llu times after event %llu.%llx",
               writers.size(), (unsigned long long)total, (unsigned long long)from.key.events,
               (unsigned long long)from.key.sub);
    if (total == 0) return Error{"reverse watch: a writer found by stepping never ran"};

    // The last execution standing at which the bytes still differ from
    // their final value.
    auto differs_at = [&](uint64_t k) -> Result<std::optional<bool>> {
      if (interrupted()) return std::optional<bool>();
      auto f = at_writer_hit(from, writers, k);
      if (!f) return f.error();
      if (!*f) return std::optional<bool>();
      return std::optional<bool>(watched_bytes(*(*f)->c.s) != final_bytes);
    };
    // Standing at the last execution the bytes may already be final; if
    // they are so at the first too, stepping found a writer of a value
    // changed and changed back: report its first write.
    uint64_t hit = total;
    auto top = differs_at(total);
    if (!top) return top.error();
    if (!*top) return Maybe();
    if (!**top) {
      auto bottom = differs_at(1);
      if (!bottom) return bottom.error();
      if (!*bottom) return Maybe();
      auto last = **bottom ? last_true(1, total - 1, differs_at)
                           : Result<std::optional<uint64_t>>(std::optional<uint64_t>(1));
      if (!last) return last.error();
      if (!*last) return Maybe();
      hit = **last;
    }
    // Stand at that execution and step to the write that changes the bytes.
    auto at = at_writer_hit(from, writers, hit);
    if (!at) return at.error();
    if (!*at) return Maybe();
    Found found = std::move(**at);
    auto write = next_write(found.c, end);
    if (!write) return write.error();
    if (!*write) return Maybe();
    if (watched_bytes(*found.c.s) == final_bytes || round + 1 == kMaxWriters) {
      // The last change: stand before it again.
      auto again = at_writer_hit(from, writers, hit);
      if (!again) return again.error();
      if (!*again) return Maybe();
      DebugStop stop = **write;
      stop.kind = StopKind::Watchpoint;
      (*again)->stop = stop;
      return again;
    }
    // Another writer changed the bytes later: learn it from here.
    look = std::move(found.c);
  }
  return Maybe();
}

}  // namespace rwd
