// Drives ReplayTarget directly (no protocol) on a recorded program: the
// forward and reverse operations a debugger front end builds on.
//
// usage (from ctest): target_test -- REWIND_BINARY DEBUG_TARGET_PROGRAM
#define BOOST_TEST_MODULE replay_target
#include <boost/test/unit_test.hpp>

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "core/replay/ReplayTarget.h"

using namespace rwd;
using target::BreakpointType;
using target::Direction;
using Resume = target::ResumeRequest;
using target::StopKind;

namespace {

struct Recording {
  std::filesystem::path dir;
  uint64_t tick = 0, counter = 0;

  Recording() {
    auto& argv = boost::unit_test::framework::master_test_suite().argv;
    BOOST_REQUIRE_EQUAL(boost::unit_test::framework::master_test_suite().argc, 3);
    char tmpl[] = "/tmp/rewind-target-test-XXXXXX";
    BOOST_REQUIRE(mkdtemp(tmpl));
    dir = tmpl;
    std::string cmd = std::string(argv[1]) + " record -o " + (dir / "trace").string() + " " +
                      argv[2] + " > " + (dir / "out").string();
    BOOST_REQUIRE_EQUAL(std::system(cmd.c_str()), 0);
    std::ifstream out(dir / "out");
    std::string line;
    std::getline(out, line);
    BOOST_REQUIRE(sscanf(line.c_str(), "tick=%lx counter=%lx", &tick, &counter) == 2);
  }
  ~Recording() { std::filesystem::remove_all(dir); }
};

long read_counter(ReplayTarget& t, const Recording& r) {
  long v = 0;
  auto n = t.read_memory(t.current_thread().pid, r.counter, &v, sizeof v);
  BOOST_REQUIRE(n.ok() && *n == sizeof v);
  return v;
}

uint64_t pc(ReplayTarget& t) {
  auto regs = t.registers(t.current_thread());
  BOOST_REQUIRE(regs.ok());
  return regs->gp.rip;
}

Result<target::StopInfo> go(ReplayTarget& t, Resume::Action a, Direction d) {
  Resume req;
  req.action = a;
  req.direction = d;
  req.thread = t.current_thread();
  return t.resume(req);
}

}  // namespace

BOOST_AUTO_TEST_CASE(forward_and_reverse) {
  Recording rec;
  auto target = ReplayTarget::open(rec.dir / "trace", ReplayOptions{});
  BOOST_REQUIRE(target.ok());
  ReplayTarget& t = **target;
  BOOST_REQUIRE(t.start().ok());
  BOOST_TEST(read_counter(t, rec) == 1337);

  // Forward to the breakpoint, four times: tick(0..3).
  BOOST_REQUIRE(t.add_breakpoint(BreakpointType::Software, rec.tick, 1).ok());
  uint8_t byte = 0;
  BOOST_REQUIRE(t.read_memory(t.current_thread().pid, rec.tick, &byte, 1).ok());
  BOOST_TEST(byte != 0xcc);  // the int3 is hidden
  std::vector<long> seen;
  for (int i = 0; i < 4; ++i) {
    auto s = go(t, Resume::Action::Continue, Direction::Forward);
    BOOST_REQUIRE(s.ok());
    BOOST_REQUIRE((s->kind == StopKind::Breakpoint));
    BOOST_TEST(pc(t) == rec.tick);
    seen.push_back(read_counter(t, rec));
  }
  // Before tick(3) runs: counter after tick(0..2) = ((1337*3+0)*3+1)*3+2.
  BOOST_TEST(seen[3] == ((1337 * 3 + 0) * 3 + 1) * 3 + 2);

  // Reverse-continue goes back to the previous hit, with the earlier value.
  auto back = go(t, Resume::Action::Continue, Direction::Reverse);
  BOOST_REQUIRE(back.ok());
  BOOST_TEST((back->kind == StopKind::Breakpoint));
  BOOST_TEST(pc(t) == rec.tick);
  BOOST_TEST(read_counter(t, rec) == seen[2]);

  // A single step forward, then a reverse step back onto the breakpoint.
  auto step = go(t, Resume::Action::Step, Direction::Forward);
  BOOST_REQUIRE(step.ok());
  BOOST_TEST((step->kind == StopKind::Step));
  const uint64_t after_step = pc(t);
  BOOST_TEST(after_step != rec.tick);
  auto rstep = go(t, Resume::Action::Step, Direction::Reverse);
  BOOST_REQUIRE(rstep.ok());
  BOOST_TEST((rstep->kind == StopKind::Step));
  BOOST_TEST(pc(t) == rec.tick);
  BOOST_TEST(read_counter(t, rec) == seen[2]);

  // Reverse-continue past the first hit reaches the start of history.
  for (int i = 0; i < 2; ++i)
    BOOST_REQUIRE(go(t, Resume::Action::Continue, Direction::Reverse).ok());
  auto begin = go(t, Resume::Action::Continue, Direction::Reverse);
  BOOST_REQUIRE(begin.ok());
  BOOST_TEST((begin->kind == StopKind::HistoryBegin));
  BOOST_TEST(read_counter(t, rec) == 1337);

  // A watchpoint going forward stops after the write; going backward it
  // stops before it.
  BOOST_REQUIRE(t.remove_breakpoint(BreakpointType::Software, rec.tick, 1).ok());
  BOOST_REQUIRE(t.add_breakpoint(BreakpointType::WriteWatch, rec.counter, 8).ok());
  auto w1 = go(t, Resume::Action::Continue, Direction::Forward);
  BOOST_REQUIRE(w1.ok());
  BOOST_TEST((w1->kind == StopKind::Watchpoint));
  BOOST_TEST(w1->watch_addr == rec.counter);
  BOOST_TEST(read_counter(t, rec) == 1337 * 3);
  auto w0 = go(t, Resume::Action::Continue, Direction::Reverse);
  if (!w0.ok()) BOOST_TEST_MESSAGE(w0.error().message);
  BOOST_REQUIRE(w0.ok());
  BOOST_TEST((w0->kind == StopKind::Watchpoint));
  BOOST_TEST(read_counter(t, rec) == 1337);

  // Forward to the end: replay stops before the exit, at the end of
  // history, with the final state still there; and can go back from it.
  BOOST_REQUIRE(t.remove_breakpoint(BreakpointType::WriteWatch, rec.counter, 8).ok());
  auto end = go(t, Resume::Action::Continue, Direction::Forward);
  BOOST_REQUIRE(end.ok());
  BOOST_TEST((end->kind == StopKind::HistoryEnd));
  const long final_value = read_counter(t, rec);
  BOOST_TEST(final_value == ((42 * 3 + 4) * 3 + 5));
  auto again = go(t, Resume::Action::Continue, Direction::Forward);
  BOOST_REQUIRE(again.ok());
  BOOST_TEST((again->kind == StopKind::HistoryEnd));
  BOOST_REQUIRE(t.add_breakpoint(BreakpointType::Software, rec.tick, 1).ok());
  auto last = go(t, Resume::Action::Continue, Direction::Reverse);
  BOOST_REQUIRE(last.ok());
  BOOST_TEST((last->kind == StopKind::Breakpoint));
  BOOST_TEST(read_counter(t, rec) == 42 * 3 + 4);  // before tick(5)
}
