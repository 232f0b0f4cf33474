// Marks: frozen checkpoints of a replay (ReplaySession::checkpoint) that
// reverse execution restarts from, so that no search replays more than a
// short stretch of the history (docs/no-pmu.md, "Timeline").
//
// A mark stands either at an event boundary, or inside the stretch of user
// code between two events, where it was taken after some time of replay
// without an event (a hot loop can run for seconds between two syscalls).
// Marks inside a stretch are ordered by when they were taken: a replay may
// add one only after passing every earlier mark of that stretch, so the
// order is the order of execution. A run from an earlier mark finds such a
// mark by its position (its thread's state, Position.h), at native speed.
#pragma once

#include <compare>
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "core/replay/ReplaySession.h"
#include "core/timeline/Position.h"

namespace rwd {

struct MarkKey {
  uint64_t events = 0;  // events completed
  uint32_t sub = 0;     // 0: at the boundary; n: the n-th mark inside the stretch after it
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
  // it); nullopt if a later mark of that stretch exists already.
  std::optional<MarkKey> next_inside(MarkKey passed) const;
  void add(Mark m);
  // Forgets a mark inside a stretch that a replay could not come back to
  // (its position did not recur: see ReplayTarget::run_to).
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

 private:
  void thin();
  std::vector<Mark> marks_;  // by key
};

}  // namespace rwd
