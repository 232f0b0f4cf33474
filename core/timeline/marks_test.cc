// Marks' keys: where a mark taken inside a stretch goes among the others,
// and where it may not go (Marks.h).
#define BOOST_TEST_MODULE marks
#include <boost/test/unit_test.hpp>

#include "core/timeline/Marks.h"

using namespace rwd;

namespace {

constexpr uint64_t kGap = Marks::kSubGap;

void add(Marks& m, MarkKey k) {
  m.add(Mark{k, std::nullopt, nullptr});
}

}  // namespace

BOOST_AUTO_TEST_CASE(marks_without_a_later_one_go_after_the_last) {
  Marks m;
  add(m, {5, 0});
  auto k = m.next_inside({5, 0}, std::nullopt);
  BOOST_REQUIRE(k);
  BOOST_TEST(k->events == 5u);
  BOOST_TEST(k->sub == kGap);
  add(m, *k);
  auto next = m.next_inside(*k, std::nullopt);
  BOOST_REQUIRE(next);
  BOOST_TEST(next->sub == 2 * kGap);
  // A bound does not matter where nothing lies ahead in the stretch.
  bool between = true;
  auto bounded = m.next_inside(*k, MarkKey{6, 0}, &between);
  BOOST_REQUIRE(bounded);
  BOOST_TEST(bounded->sub == 2 * kGap);
  BOOST_TEST(!between);
}

BOOST_AUTO_TEST_CASE(a_later_mark_refuses_an_unbounded_run) {
  Marks m;
  add(m, {5, 0});
  add(m, {5, kGap});
  add(m, {5, 2 * kGap});
  // From the boundary, not knowing whether it passed 5.1 or 5.2.
  BOOST_TEST(!m.next_inside({5, 0}, std::nullopt));
  // Bounded by 5.2, with 5.1 in between: still unknown.
  BOOST_TEST(!m.next_inside({5, 0}, MarkKey{5, 2 * kGap}));
  // Bounded by a mark of a later stretch: unknown.
  BOOST_TEST(!m.next_inside({5, kGap}, MarkKey{6, 0}));
}

BOOST_AUTO_TEST_CASE(a_bounded_run_goes_between_its_mark_and_the_bound) {
  Marks m;
  add(m, {5, 0});
  add(m, {5, kGap});
  bool between = false;
  auto k = m.next_inside({5, 0}, MarkKey{5, kGap}, &between);
  BOOST_REQUIRE(k);
  BOOST_TEST(between);
  BOOST_TEST(k->sub == kGap / 2);
  // Halving again and again, until there is no room left.
  MarkKey passed{5, 0};
  int halvings = 0;
  while (auto next = m.next_inside(passed, MarkKey{5, kGap})) {
    BOOST_TEST((passed < *next));
    BOOST_TEST((*next < MarkKey{5, kGap}));
    add(m, *next);
    passed = *next;
    ++halvings;
    BOOST_REQUIRE(halvings <= 64);
  }
  BOOST_TEST(halvings == 32);
}

BOOST_AUTO_TEST_CASE(removed_keys_are_never_given_again) {
  Marks m;
  add(m, {5, 0});
  add(m, {5, kGap});
  add(m, {5, 2 * kGap});
  m.remove({5, kGap});
  // A position may still name 5.1 as the mark it passed: nothing may go
  // between 5.0 and 5.2, where it would take 5.1's place.
  BOOST_TEST(!m.next_inside({5, 0}, MarkKey{5, 2 * kGap}));
  // Nor under a key at or below a removed one, after the last mark.
  m.remove({5, 2 * kGap});
  auto k = m.next_inside({5, 0}, std::nullopt);
  BOOST_REQUIRE(k);
  BOOST_TEST(k->sub == 3 * kGap);
  // Boundaries are kept.
  m.remove({5, 0});
  BOOST_TEST(m.at_or_before({5, 0}) != nullptr);
}

BOOST_AUTO_TEST_CASE(thinning_keeps_the_keys_it_drops) {
  Marks m;
  add(m, {1, 0});
  for (uint64_t i = 1; i <= Marks::kMaxMarks; ++i) add(m, {1, i * kGap});
  BOOST_TEST(m.size() <= Marks::kMaxMarks);
  // The last key, thinned or not, stays the highest of the stretch.
  auto k = m.next_inside({1, 0}, std::nullopt);
  BOOST_TEST(!k);  // later marks remain
  const Mark* last = m.at_or_before({1, UINT64_MAX});
  BOOST_REQUIRE(last);
  auto after = m.next_inside(last->key, std::nullopt);
  BOOST_REQUIRE(after);
  BOOST_TEST(after->sub > Marks::kMaxMarks * kGap);
}
