// Marks: frozen checkpoints of a replay (ReplaySession::checkpoint) that
// reverse execution restarts from, so that no search replays more than a
// short stretch of the history (docs/no-pmu.md, "Timeline").
//
// A mark stands either at an event boundary, or inside the stretch of user
// code between two events, where it was taken after some time of replay
// without an event (a hot loop can run for seconds between two syscalls).
// Marks inside a stretch are keyed in the order of execution. A replay
// knows where it stands among them only by the marks it took or started
// from (it does not notice passing one another run took), so a new mark
// goes either after every mark of its stretch, where none lies after the
// one it passed, or between the mark it passed and the next, where the run
// is known to end at or before that next mark (a backwards search never
// passes the position it started from: ReplayTarget::bound_). A run from
// an earlier mark finds such a mark by its position (its thread's state,
// Position.h), at native speed.
#pragma once

#include <compare>
#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <vector>

#include "core/replay/ReplaySession.h"
#include "core/timeline/Position.h"

namespace rwd {

struct MarkKey {
  uint64_t events = 0;  // events completed
  // 0: at the boundary; above: a mark inside the stretch after it, in the
  // order of execution. Keys are spaced (Marks::kSubGap) so that a mark
  // can go between two others.
  uint64_t sub = 0;
  auto operator<=>(const MarkKey&) const = default;
};

struct Mark {
  MarkKey key;
  std::optional<Position> pos;  // for marks inside a stretch (sub > 0)
  std::shared_ptr<const SessionCheckpoint> cp;
};

class Marks {
 public:
  // The latest mark at or before `key`, or strictly before it; null if none.
  const Mark* at_or_before(MarkKey key) const;
  const Mark* before(MarkKey key) const;
  const Mark* first() const { return marks_.empty() ? nullptr : &marks_.front(); }
  bool empty() const { return marks_.empty(); }
  size_t size() const { return marks_.size(); }

  // Whether a mark at the boundary after `events` events is wanted: the
  // first one, then one every kBoundaryInterval events.
  bool wants_boundary(uint64_t events) const;
  // The key a mark taken inside the stretch after `passed.events` gets, by
  // a replay that has passed `passed` (the last mark or boundary behind
  // it), and that will stop at or before the mark `ahead`, if set:
  // - after every key of the stretch, where no mark lies after `passed`;
  // - else halfway to `ahead`, where that is the next mark and no removed
  //   one lay between (a position may still name it: see remove());
  //   `between` is then set, the key being right only if the run keeps to
  //   its bound;
  // - else nullopt: where the new mark falls is unknown.
  std::optional<MarkKey> next_inside(MarkKey passed, std::optional<MarkKey> ahead,
                                     bool* between = nullptr) const;
  void add(Mark m);
  // Forgets a mark inside a stretch: one a replay could not come back to
  // (its position did not recur: see ReplayTarget::run_to), or one placed
  // by a run that went past its bound. Its key is kept, since positions
  // may name it as the mark they passed: no later mark takes a key at or
  // next to it that would order it wrongly.
  void remove(MarkKey key);

  // Events between boundary marks, so that marks cover the whole history
  // even where events replay fast.
  static constexpr uint64_t kBoundaryInterval = 2000;
  // Replay time after which the next event boundary gets a mark, or,
  // inside an event-free stretch, after which a mark is taken where the
  // replay stands: what a reverse step replays at most from its mark. A
  // mark (a fork) costs 0.5-2 ms, so marks cost 3-10% of replay time.
  static constexpr int kMarkMs = 20;
  static constexpr size_t kMaxMarks = 192;
  // The spacing of keys inside a stretch: 32 halvings between two marks.
  static constexpr uint64_t kSubGap = uint64_t(1) << 32;

 private:
  void thin();
  void forget(MarkKey key);
  std::vector<Mark> marks_;    // by key
  std::set<MarkKey> removed_;  // keys inside stretches of marks removed
};

}  // namespace rwd
