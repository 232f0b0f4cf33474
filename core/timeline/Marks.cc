#include "core/timeline/Marks.h"

#include <algorithm>

#include "core/base/Log.h"

namespace rwd {

namespace {
auto after(const std::vector<Mark>& marks, MarkKey key) {
  return std::upper_bound(marks.begin(), marks.end(), key,
                          [](MarkKey k, const Mark& m) { return k < m.key; });
}
}  // namespace

const Mark* Marks::at_or_before(MarkKey key) const {
  auto it = after(marks_, key);
  return it == marks_.begin() ? nullptr : &*std::prev(it);
}

const Mark* Marks::before(MarkKey key) const {
  auto it = std::lower_bound(marks_.begin(), marks_.end(), key,
                             [](const Mark& m, MarkKey k) { return m.key < k; });
  return it == marks_.begin() ? nullptr : &*std::prev(it);
}

bool Marks::wants_boundary(uint64_t events) const {
  const MarkKey key{events, 0};
  auto it = after(marks_, key);
  if (it != marks_.begin() && std::prev(it)->key.events + kBoundaryInterval > events) return false;
  return it == marks_.end() || it->key.events >= events + kBoundaryInterval;
}

std::optional<MarkKey> Marks::next_inside(MarkKey passed, std::optional<MarkKey> ahead,
                                          bool* between) const {
  if (between) *between = false;
  auto it = after(marks_, passed);
  if (it == marks_.end() || it->key.events != passed.events) {
    // After everything this stretch ever had, removed marks included.
    uint64_t top = passed.sub;
    auto gone = removed_.lower_bound(MarkKey{passed.events + 1, 0});
    if (gone != removed_.begin() && std::prev(gone)->events == passed.events)
      top = std::max(top, std::prev(gone)->sub);
    if (top > UINT64_MAX - kSubGap) return std::nullopt;
    return MarkKey{passed.events, top + kSubGap};
  }
  // A mark later in the same stretch: the new one is before it only if the
  // run ends at or before it.
  if (!ahead || it->key != *ahead) return std::nullopt;
  if (auto gone = removed_.upper_bound(passed); gone != removed_.end() && *gone < *ahead)
    return std::nullopt;
  if (ahead->sub - passed.sub < 2) return std::nullopt;
  if (between) *between = true;
  return MarkKey{passed.events, passed.sub + (ahead->sub - passed.sub) / 2};
}

void Marks::add(Mark m) {
  auto it = after(marks_, m.key);
  if (it != marks_.begin() && std::prev(it)->key == m.key) return;
  REWIND_LOG(Replay, "mark at event %llu.%llx", (unsigned long long)m.key.events,
             (unsigned long long)m.key.sub);
  marks_.insert(it, std::move(m));
  if (marks_.size() > kMaxMarks) thin();
}

void Marks::remove(MarkKey key) {
  auto it = std::lower_bound(marks_.begin(), marks_.end(), key,
                             [](const Mark& m, MarkKey k) { return m.key < k; });
  if (it == marks_.end() || it->key != key || key.sub == 0) return;
  REWIND_LOG(Replay, "forgetting mark %llu.%llx", (unsigned long long)key.events,
             (unsigned long long)key.sub);
  forget(key);
  marks_.erase(it);
}

void Marks::forget(MarkKey key) {
  if (key.sub > 0) removed_.insert(key);
}

// Keeps the start and every other mark after it: the spacing doubles, so a
// long replay keeps marks over its whole length.
void Marks::thin() {
  std::vector<Mark> kept;
  for (size_t i = 0; i < marks_.size(); ++i) {
    if (i % 2 == 0)
      kept.push_back(std::move(marks_[i]));
    else
      forget(marks_[i].key);
  }
  marks_ = std::move(kept);
}

}  // namespace rwd
