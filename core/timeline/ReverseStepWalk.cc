// reverse-stepi inside a stretch of user code: the thread's instruction
// before position p, found by running forwards from the stretch's start.
//
// A landmark is the last execution, before p, of an address in a set: the
// hits are counted in the tracee (set_counted_breakpoints) in one run, and
// a second run stops at the last. From the landmark the thread is
// single-stepped to p (k steps), and a last walk stops one step short.
//
// The first set is p's own pc (in a loop, its previous execution is one
// iteration back) and the starts of the basic blocks of p's function (by
// its ELF symbol): the last of those before p is rarely more than a block
// and a call away, even after a loop of a million iterations. Where that
// is still far (no symbol; p just after a long call), a walk of a bounded
// number of steps shows which code runs there: the addresses where its
// branches landed are added to the set, and a new landmark is the last
// execution of any of them after the last mark that walk left, which is
// later. Rounds repeat, with a growing walk, until a walk reaches p. Addresses other than p's pc
// are counted only where a patch fits: an int3 in a hot loop costs a ptrace stop per iteration
// (no-pmu.md, "Count in the tracee").
//
// The walk that reaches p leaves a mark every kStepsPerMark steps, so the
// last walk, and the next reverse-stepi, start close to where they go.
#include "core/base/Log.h"
#include "core/timeline/ReplayTarget.h"

namespace rwd {

using target::StopKind;

namespace {
// Single-steps from the landmark to the position, in all: beyond that a
// pathological case fails instead of stepping for minutes.
constexpr uint64_t kMaxReverseSteps = 2'000'000;
// A step costs 20-30 us, a mark 0.5-2 ms.
constexpr uint64_t kStepsPerMark = 256;
// The first walk's length; each round doubles it, up to kRounds rounds,
// the last one walking up to kMaxReverseSteps.
constexpr uint64_t kFirstWalk = 1024;
constexpr int kRounds = 8;
// Addresses learned from one walk: the latest distinct ones.
constexpr size_t kLeadersPerWalk = 256;
// A step that moves the pc by more than this, or backwards, took a branch.
constexpr uint64_t kMaxInsnLength = 15;
}  // namespace

Result<ReplayTarget::Walk> ReplayTarget::walk_to(Cursor& c, const Position& p, uint64_t limit,
                                                 bool take_marks) {
  Walk w;
  RunControl rc = control(false);
  rc.step = p.tid;
  std::vector<uint64_t> landed;  // pcs a branch led to, in order
  uint64_t last_pc = 0;
  for (uint64_t k = 0;; ++k) {
    w.steps = k;
    // One read of the registers per step, for the position and the pc.
    RepTask* t = c.s->find(p.tid);
    if (!t) return Error{"reverse-step: the thread of " + p.describe() + " is gone"};
    auto regs = t->task->get_regs();
    if (!regs) return regs.error();
    auto at = at_position(*c.s, p, *regs);
    if (!at) return at.error();
    if (*at) {
      w.reached = true;
      return w;
    }
    if (k == limit) break;
    if (take_marks && k > 0 && k % kStepsPerMark == 0) {
      const MarkKey before = c.passed;
      // (Not before a later mark: a walk that missed p would go on past it.)
      mark_inside(c, p.tid, false);
      if (c.passed != before)
        if (const Mark* m = marks_.at_or_before(c.passed)) w.marks.emplace_back(k, *m);
    }
    if (k % 1024 == 1023 && interrupted()) {
      w.interrupted = true;
      return w;
    }
    const uint64_t pc = regs->rip;
    if (k > 0 && (pc <= last_pc || pc > last_pc + kMaxInsnLength)) landed.push_back(pc);
    last_pc = pc;
    auto d = run(c, rc);
    if (!d) return d.error();
    if (d->kind != StopKind::Step && d->kind != StopKind::Breakpoint &&
        d->kind != StopKind::Interrupted)
      return Error{"reverse-step: the replay ended before " + p.describe()};
  }
  // Not there: the addresses the walk's branches landed on, latest first.
  std::set<uint64_t> seen;
  for (auto it = landed.rbegin(); it != landed.rend() && seen.size() < kLeadersPerWalk; ++it)
    if (seen.insert(*it).second) w.landed.push_back(*it);
  return w;
}

Result<bool> ReplayTarget::stop_at_last_hit(Cursor& c, Tid tid, const std::set<uint64_t>& sites,
                                            const std::set<uint64_t>& patch_only, uint64_t n) {
  REWIND_TRY(c.s->set_counted_breakpoints(debuggee_, sites, patch_only));
  auto d = run_to_hit(c, tid, n, sites);
  if (!d) return d.error().context("reverse-step");
  if (!*d) return false;
  REWIND_TRY(c.s->set_counted_breakpoints(debuggee_, {}));
  return true;
}

Result<std::optional<ReplayTarget::Cursor>> ReplayTarget::previous_in_stretch(
    const Position& p, const std::function<Result<Cursor>()>& base) {
  using Maybe = std::optional<Cursor>;
  auto failed = [&](const Error& e) -> Result<Maybe> {
    if (interrupted()) return Maybe();
    return e;
  };
  // patch_only: where branches land, from the code around p, then from
  // what the walks see. The last of them before p is usually in p's own
  // loop or function, a few steps from it.
  std::set<uint64_t> learned;
  {
    auto c = base();
    if (!c) return failed(c.error());
    for (uint64_t a : c->s->block_starts_around(p.tid, p.regs.rip))
      if (a != p.regs.rip) learned.insert(a);
  }
  uint64_t walked = 0;
  // Where a round starts: the base, or the last mark a walk that fell
  // short left (the landmark is past it, so no round walks the same steps
  // twice but for the last few).
  std::optional<Mark> resume;
  auto start = [&]() -> Result<Cursor> { return resume ? cursor_from(*resume) : base(); };
  // In the first round p's own pc, too, is counted only where a patch
  // fits, when a block start of its function lies before it: the last run
  // of that start is then at most a block (and its calls) before p, and an
  // int3 at a short instruction in a hot loop (the jne that closes it)
  // would stop every iteration.
  const bool start_below = !learned.empty() && *learned.begin() < p.regs.rip;
  // A thread of the pool counts its hits up to p, and then a second run
  // goes to the last of them; where it stands when an event count is
  // reached varies between runs (no-pmu.md, "What is left open"), so the
  // second run can miss the count. The round is then counted again.
  int recounts = 0;
  constexpr int kMaxRecounts = 2;
  for (int round = 0; round < kRounds; ++round) {
    std::set<uint64_t> sites = learned;
    sites.insert(p.regs.rip);
    std::set<uint64_t> patch_only = learned;
    if (round == 0 && start_below) patch_only.insert(p.regs.rip);
    // How often the thread ran one of the sites before p. The run leaves
    // marks on the way (Marks::kMarkMs), each noted with the hits so far.
    auto counting = start();
    if (!counting) return failed(counting.error());
    REWIND_TRY(counting->s->set_counted_breakpoints(debuggee_, sites, patch_only));
    std::vector<std::pair<Mark, uint64_t>> taken;
    counting->on_mark = [&](const Mark& m) {
      taken.emplace_back(m, counting->s->counted_hits_of(p.tid));
    };
    auto r = run_to(*counting, WindowEnd{p.events, p}, control(true));
    if (!r) return r.error();
    if (!*r) return Maybe();
    uint64_t hits = counting->s->counted_hits_of(p.tid);
    auto [patched, by_int3] = counting->s->counted_placement(debuggee_);
    REWIND_LOG(
        Replay, "reverse-step to %s: round %d, %llu hits of %zu sites (%zu patched, %zu int3)",
        p.describe().c_str(), round, (unsigned long long)hits, sites.size(), patched, by_int3);
    counting.value().s.reset();

    // The landmark: the last of those hits, or a mark the count left after
    // it, or the start. From the latest mark before it, if any.
    std::optional<Mark> after_hit, before_hit;
    uint64_t hits_before = 0;
    for (const auto& [m, n] : taken) {
      // A mark the run left where it found p (an elapsed stop there) is
      // no landmark: the step back would start at p.
      if (m.pos && m.pos->events == p.events && m.pos->tid == p.tid &&
          same_user_registers(m.pos->regs, p.regs))
        continue;
      if (n == hits) {
        after_hit = m;
      } else {
        before_hit = m;
        hits_before = n;
      }
    }
    auto landmark = [&]() -> Result<std::optional<Cursor>> {
      if (after_hit) {
        auto m = cursor_from(*after_hit);
        if (!m) return m.error();
        return std::optional<Cursor>(std::move(*m));
      }
      auto c = before_hit ? cursor_from(*before_hit) : start();
      if (!c) return c.error();
      if (hits > hits_before) {
        auto ok = stop_at_last_hit(*c, p.tid, sites, patch_only, hits - hits_before);
        if (!ok) return ok.error();
        if (!*ok) return std::optional<Cursor>();
      }
      return std::optional<Cursor>(std::move(*c));
    };
    REWIND_LOG(Replay, "reverse-step: landmark %s, %llu hits, %llu before the mark",
               after_hit ? "at a mark after the last hit" : "at the last hit",
               (unsigned long long)hits, (unsigned long long)hits_before);
    bool recount = false;
    for (int retry = 0;; ++retry) {
      auto c = landmark();
      if (!c && !interrupted() && recounts < kMaxRecounts &&
          c.error().message.find("did not come back to hit") != std::string::npos) {
        REWIND_LOG(Replay, "reverse-step: %s; counting again", c.error().message.c_str());
        ++recounts;
        recount = true;
        break;
      }
      if (!c) return failed(c.error());
      if (!*c) return Maybe();
      std::vector<std::pair<uint64_t, Mark>> marks;  // by step from the landmark
      if (!after_hit && hits > hits_before) {
        const MarkKey before = (*c)->passed;
        mark_inside(**c, p.tid);
        if ((*c)->passed != before)
          if (const Mark* m = marks_.at_or_before((*c)->passed)) marks.emplace_back(0, *m);
      }
      const bool last = round == kRounds - 1;
      const uint64_t limit = last ? kMaxReverseSteps - walked : kFirstWalk << round;
      auto w = walk_to(**c, p, limit, true);
      if (!w) return w.error();
      if (w->interrupted) return Maybe();
      walked += w->steps;
      REWIND_LOG(Replay, "reverse-step: walked %llu steps from the landmark%s",
                 (unsigned long long)w->steps, w->reached ? ", reached" : "");
      for (auto& [k, m] : w->marks) marks.emplace_back(k, m);
      if (w->reached) {
        if (w->steps == 0 && retry == 0 && !after_hit && hits > hits_before) {
          // The counting run took p's own arrival for a hit (its memory
          // compared unequal there, and a later point matched): the last
          // hit is p, and the one before it is the landmark.
          REWIND_LOG(Replay, "reverse-step: the last hit is the position; from the one before");
          --hits;
          continue;
        }
        if (w->steps == 0) return Error{"reverse-step: could not find the previous instruction"};
        REWIND_LOG(Replay, "reverse-step: %llu single-steps from the landmark",
                   (unsigned long long)w->steps);
        return step_short(p, landmark, w->steps - 1, marks);
      }
      if (!w->marks.empty()) resume = w->marks.back().second;
      size_t added = 0;
      for (uint64_t a : w->landed) added += learned.insert(a).second;
      if (added == 0 && !last) {
        REWIND_LOG(Replay, "reverse-step: the walk found no new branch target");
      }
      break;
    }
    if (recount) --round;  // the same sites, counted again
  }
  return Error{"reverse-step: the previous instruction is more than " +
               std::to_string(kMaxReverseSteps) + " instructions after the nearest mark"};
}

// Stands `steps` single-steps after the landmark: from the latest mark the
// walk left before that point, or from the landmark found again.
Result<std::optional<ReplayTarget::Cursor>> ReplayTarget::step_short(
    const Position& p, const std::function<Result<std::optional<Cursor>>()>& landmark,
    uint64_t steps, std::vector<std::pair<uint64_t, Mark>>& marks) {
  using Maybe = std::optional<Cursor>;
  while (!marks.empty() && marks.back().first > steps) marks.pop_back();
  uint64_t from = 0;
  Maybe c;
  if (!marks.empty()) {
    auto m = cursor_from(marks.back().second);
    if (!m) return interrupted() ? Result<Maybe>(Maybe()) : m.error();
    c = std::move(*m);
    from = marks.back().first;
  } else {
    auto l = landmark();
    if (!l) return interrupted() ? Result<Maybe>(Maybe()) : l.error();
    if (!*l) return Maybe();
    c = std::move(*l);
  }
  auto w = walk_to(*c, p, steps - from, false);
  if (!w) return w.error();
  if (w->interrupted) return Maybe();
  if (w->reached || w->steps != steps - from)
    return Error{"reverse-step: the second walk did not retrace the first"};
  return c;
}

}  // namespace rwd
