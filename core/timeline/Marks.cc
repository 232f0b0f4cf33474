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

std::optional<MarkKey> Marks::next_inside(MarkKey passed) const {
  auto it = after(marks_, passed);
  // A mark later in the same stretch: where the new one falls relative to
  // it is unknown.
  if (it != marks_.end() && it->key.events == passed.events) return std::nullopt;
  return MarkKey{passed.events, passed.sub + 1};
}

void Marks::add(Mark m) {
  auto it = after(marks_, m.key);
  if (it != marks_.begin() && std::prev(it)->key == m.key) return;
  REWIND_LOG(Replay, "mark at event %llu.%u", (unsigned long long)m.key.events, m.key.sub);
  marks_.insert(it, std::move(m));
  if (marks_.size() > kMaxMarks) thin();
}

void Marks::remove(MarkKey key) {
  auto it = std::lower_bound(marks_.begin(), marks_.end(), key,
                             [](const Mark& m, MarkKey k) { return m.key < k; });
  if (it == marks_.end() || it->key != key || key.sub == 0) return;
  REWIND_LOG(Replay, "forgetting mark %llu.%u", (unsigned long long)key.events, key.sub);
  marks_.erase(it);
}

// Keeps the start and every other mark after it: the spacing doubles, so a
// long replay keeps marks over its whole length.
void Marks::thin() {
  std::vector<Mark> kept;
  for (size_t i = 0; i < marks_.size(); ++i)
    if (i % 2 == 0) kept.push_back(std::move(marks_[i]));
  marks_ = std::move(kept);
}

}  // namespace rwd
