// Counted breakpoints, stops at a hit or a state, and interrupts inside
// event-free stretches (ReplayCount.cc, CountedSites.h), on recordings of
// tests/programs/hot_loop.c: a loop calling tick(i) with no syscall.
//
// usage (from ctest): count_test -- REWIND_BINARY HOT_LOOP_PROGRAM
#define BOOST_TEST_MODULE replay_count
#include <boost/test/unit_test.hpp>

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include "core/cpu/Insn.h"
#include "core/replay/ReplaySession.h"
#include "core/replay/StubCode.h"
#include "core/task/ProcMaps.h"
#include "core/task/ProcessState.h"

using namespace rwd;
using target::StopKind;
using Clock = std::chrono::steady_clock;

namespace {

struct Recording {
  std::filesystem::path dir;
  uint64_t tick = 0;

  explicit Recording(const std::string& args) {
    auto& argv = boost::unit_test::framework::master_test_suite().argv;
    BOOST_REQUIRE_EQUAL(boost::unit_test::framework::master_test_suite().argc, 3);
    char tmpl[] = "/tmp/rewind-count-test-XXXXXX";
    BOOST_REQUIRE(mkdtemp(tmpl));
    dir = tmpl;
    std::string cmd = std::string(argv[1]) + " record -o " + (dir / "trace").string() + " " +
                      argv[2] + " " + args + " > " + (dir / "out").string();
    BOOST_REQUIRE_EQUAL(std::system(cmd.c_str()), 0);
    std::ifstream out(dir / "out");
    std::string line;
    std::getline(out, line);
    BOOST_REQUIRE(sscanf(line.c_str(), "tick=%lx", &tick) == 1);
  }
  ~Recording() { std::filesystem::remove_all(dir); }
};

// A session past the program's execve, where its code is mapped.
std::unique_ptr<ReplaySession> open_session(const Recording& rec) {
  ReplayOptions o;
  o.emit_output = false;
  auto s = ReplaySession::open(rec.dir / "trace", o);
  BOOST_REQUIRE(s.ok());
  RunControl c;
  c.stop_at_events = 1;
  auto stop = (*s)->run(c);
  BOOST_REQUIRE(stop.ok());
  return std::move(*s);
}

RunControl control(ReplaySession& s) {
  RunControl c;
  c.debuggee = s.root();
  return c;
}

// Runs to the end of the debuggee's history.
void run_to_end(ReplaySession& s, const RunControl& c) {
  auto stop = s.run(c);
  BOOST_REQUIRE(stop.ok());
  BOOST_REQUIRE(stop->kind == StopKind::HistoryEnd);
}

user_regs_struct regs_of(ReplaySession& s, Tid tid) {
  RepTask* t = s.find(tid);
  BOOST_REQUIRE(t);
  auto r = t->task->get_regs();
  BOOST_REQUIRE(r.ok());
  return *r;
}

// Runs `s` to the nth hit of tick, counted in the tracee.
DebugStop run_to_tick_hit(ReplaySession& s, const Recording& rec, uint64_t nth) {
  BOOST_REQUIRE(s.set_counted_breakpoints(s.root(), {rec.tick}).ok());
  RunControl c = control(s);
  c.stop_at_hit = RunControl::HitTarget{std::nullopt, nth};
  auto stop = s.run(c);
  BOOST_REQUIRE(stop.ok() && stop->why == DebugStop::Why::AtHit);
  return *stop;
}

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

}  // namespace

BOOST_AUTO_TEST_CASE(counts_a_million_hits_in_the_tracee) {
  for (long n : {1000000L, 10000000L}) {
    Recording rec(std::to_string(n));
    auto s = open_session(rec);
    BOOST_REQUIRE(s->set_counted_breakpoints(s->root(), {rec.tick}).ok());
    auto t0 = Clock::now();
    run_to_end(*s, control(*s));
    std::printf("counted %ld hits of tick in %.3f s\n", n, seconds_since(t0));
    BOOST_TEST(s->counted_hits(s->root()) == static_cast<uint64_t>(n));
    BOOST_TEST(s->counted_hits_of(s->root()) == static_cast<uint64_t>(n));
    BOOST_TEST(s->counted_placement(s->root()).first == 1u);  // patched, no int3
  }
}

BOOST_AUTO_TEST_CASE(counts_as_int3_stops_do) {
  const long n = 3000;
  Recording rec(std::to_string(n));
  // tick's second instruction: shorter than a jmp, so its patch covers the
  // next one too, after proving nothing jumps between them.
  uint64_t second = 0;
  {
    auto s = open_session(rec);
    uint8_t code[16];
    RepTask* t = s->find(s->root());
    BOOST_REQUIRE(t && t->task->read_mem(RemotePtr(rec.tick), code, sizeof code).ok());
    auto first = decode_insn(code, sizeof code);
    BOOST_REQUIRE(first);
    second = rec.tick + first->length;
  }
  auto int3_hits = [&](uint64_t addr) {
    auto s = open_session(rec);
    BOOST_REQUIRE(s->set_breakpoints(s->root(), {addr}).ok());
    uint64_t hits = 0;
    for (;;) {
      auto stop = s->run(control(*s));
      BOOST_REQUIRE(stop.ok());
      if (stop->kind != StopKind::Breakpoint) break;
      BOOST_REQUIRE(regs_of(*s, stop->tid).rip == addr);
      ++hits;
    }
    return hits;
  };
  auto s = open_session(rec);
  BOOST_REQUIRE(s->set_counted_breakpoints(s->root(), {rec.tick, second}).ok());
  run_to_end(*s, control(*s));
  BOOST_TEST(s->counted_placement(s->root()).first == 2u);
  BOOST_TEST(s->counted_placement(s->root()).second == 0u);
  const uint64_t by_int3 = int3_hits(rec.tick) + int3_hits(second);
  BOOST_TEST(by_int3 == 2u * n);
  BOOST_TEST(s->counted_hits(s->root()) == by_int3);
}

BOOST_AUTO_TEST_CASE(stops_at_the_nth_hit) {
  const long n = 1000000;
  const uint64_t nth = 765432;
  Recording rec(std::to_string(n));
  auto s = open_session(rec);
  BOOST_REQUIRE(s->set_counted_breakpoints(s->root(), {rec.tick}).ok());
  RunControl c = control(*s);
  c.stop_at_hit = RunControl::HitTarget{std::nullopt, nth};
  auto t0 = Clock::now();
  auto stop = s->run(c);
  std::printf("stopped at hit %llu of tick in %.3f s\n", (unsigned long long)nth,
              seconds_since(t0));
  BOOST_REQUIRE(stop.ok());
  BOOST_TEST(static_cast<int>(stop->kind) == static_cast<int>(StopKind::Breakpoint));
  BOOST_TEST(static_cast<int>(stop->why) == static_cast<int>(DebugStop::Why::AtHit));
  const user_regs_struct r = regs_of(*s, stop->tid);
  BOOST_TEST(r.rip == rec.tick);
  BOOST_TEST(r.rdi == nth - 1);  // tick(i): the loop variable
  BOOST_TEST(s->counted_hits(s->root()) == nth);
  // The same thread's count, and a stop at its next hit.
  c.stop_at_hit = RunControl::HitTarget{stop->tid, nth + 1};
  stop = s->run(c);
  BOOST_REQUIRE(stop.ok());
  BOOST_TEST(regs_of(*s, stop->tid).rdi == nth);
  // On to the end: the rest are counted once each.
  run_to_end(*s, control(*s));
  BOOST_TEST(s->counted_hits(s->root()) == static_cast<uint64_t>(n));
}

BOOST_AUTO_TEST_CASE(threads_counts_sum_to_the_total) {
  const long n = 20000;
  Recording rec(std::to_string(n) + " 4");
  auto s = open_session(rec);
  BOOST_REQUIRE(s->set_counted_breakpoints(s->root(), {rec.tick}).ok());
  run_to_end(*s, control(*s));
  std::vector<uint64_t> per_thread;
  uint64_t sum = s->counted_hits_of(s->root());
  for (const trace::TaskEvent& te : s->reader().task_events()) {
    if (te.kind != trace::TaskEventKind::Clone) continue;
    per_thread.push_back(s->counted_hits_of(te.tid));
    sum += per_thread.back();
  }
  std::sort(per_thread.begin(), per_thread.end());
  BOOST_TEST(s->counted_hits(s->root()) == 10u * n);
  BOOST_TEST(sum == 10u * n);
  const std::vector<uint64_t> want = {1u * n, 2u * n, 3u * n, 4u * n};
  BOOST_TEST(per_thread == want, boost::test_tools::per_element());
}

// reverse-continue splits its search at marks: one run counts the hits up
// to an event count, another counts them from a checkpoint taken there. A
// hit must fall in exactly one of the two. Threads of the pool count with
// no stop of their own, so a run that ended just after the pool was
// stopped had to read what they counted: it did not, and a reverse-next
// over debug_join's join_all() (gdb.join), whose call main makes in the
// pool, found no hit on either side of a mark and ran to the start of
// history.
BOOST_AUTO_TEST_CASE(each_hit_falls_on_one_side_of_an_event_boundary) {
  const long n = 300;
  Recording rec(std::to_string(n) + " 3 1");  // main's call in the pool
  const uint64_t total = 6u * n + 1;
  uint64_t events = 0;
  {
    auto s = open_session(rec);
    BOOST_REQUIRE(s->set_counted_breakpoints(s->root(), {rec.tick}).ok());
    run_to_end(*s, control(*s));
    BOOST_REQUIRE(s->counted_hits(s->root()) == total);
    events = s->events_completed();
  }
  int checked = 0, split = 0;
  for (uint64_t k = 2; k < events; ++k) {
    auto s = open_session(rec);
    BOOST_REQUIRE(s->set_counted_breakpoints(s->root(), {rec.tick}).ok());
    RunControl c = control(*s);
    c.stop_at_events = k;
    while (s->events_completed() < k) {
      auto stop = s->run(c);
      BOOST_REQUIRE(stop.ok());
      BOOST_REQUIRE(stop->kind != StopKind::HistoryEnd);
    }
    if (!s->can_checkpoint()) continue;
    const uint64_t before = s->counted_hits(s->root());
    auto cp = s->checkpoint();
    BOOST_REQUIRE(cp.ok());
    auto r = ReplaySession::restore(**cp);
    BOOST_REQUIRE(r.ok());
    BOOST_REQUIRE((*r)->set_counted_breakpoints((*r)->root(), {rec.tick}).ok());
    run_to_end(**r, control(**r));
    const uint64_t after = (*r)->counted_hits((*r)->root());
    BOOST_TEST(before + after == total, "at event " << k << ": " << before << " + " << after);
    ++checked;
    if (before > 0 && after > 0) ++split;
  }
  BOOST_TEST_MESSAGE(checked << " event boundaries checked, " << split << " inside the loops");
  BOOST_TEST(split >= 3);
}

BOOST_AUTO_TEST_CASE(stops_at_a_state_seen_before) {
  const long n = 200000;
  const uint64_t nth = 123456;
  Recording rec(std::to_string(n));
  RunControl::StateTarget want;
  {
    auto s = open_session(rec);
    const Tid tid = run_to_tick_hit(*s, rec, nth).tid;
    want.tid = tid;
    want.regs = regs_of(*s, tid);
    auto hash = s->position_hash(*s->find(tid));
    BOOST_REQUIRE(hash.ok());
    want.mem_hash = *hash;
  }
  // Counting the same address: hits before the state, not the one there.
  for (bool counted : {true, false}) {
    auto s = open_session(rec);
    if (counted) BOOST_REQUIRE(s->set_counted_breakpoints(s->root(), {rec.tick}).ok());
    RunControl c = control(*s);
    c.stop_at_state = want;
    auto t0 = Clock::now();
    auto stop = s->run(c);
    std::printf("reached the state at hit %llu in %.3f s\n", (unsigned long long)nth,
                seconds_since(t0));
    BOOST_REQUIRE(stop.ok());
    BOOST_TEST(static_cast<int>(stop->why) == static_cast<int>(DebugStop::Why::AtState));
    const user_regs_struct r = regs_of(*s, stop->tid);
    BOOST_TEST(r.rip == want.regs.rip);
    BOOST_TEST(r.rdi == nth - 1);
    auto hash = s->position_hash(*s->find(stop->tid));
    BOOST_REQUIRE(hash.ok());
    BOOST_TEST((*hash == *want.mem_hash));
    if (counted) BOOST_TEST(s->counted_hits(s->root()) == nth - 1);
    run_to_end(*s, control(*s));
    if (counted) BOOST_TEST(s->counted_hits(s->root()) == static_cast<uint64_t>(n));
  }
}

// States where no jmp fits: tick's `ret` (one byte, its function's last)
// is checked after the instructions before it; the `call tick` (relative,
// so not simply moved) runs in the stub as a push and a jmp. Either way in
// the tracee: the tracer compares a handful of times, not once a call.
BOOST_AUTO_TEST_CASE(stops_at_a_ret_and_a_call_without_int3s) {
  const long n = 200000;
  const uint64_t nth = 123456;
  Recording rec(std::to_string(n));
  RunControl::StateTarget at_ret, at_call;
  {
    auto s = open_session(rec);
    const Tid tid = run_to_tick_hit(*s, rec, nth).tid;
    BOOST_REQUIRE(s->set_counted_breakpoints(s->root(), {}).ok());
    Task& task = *s->find(tid)->task;
    // At tick's entry: the call that came here is 5 bytes before the
    // return address, with the registers it had but rsp.
    at_call.tid = tid;
    at_call.regs = regs_of(*s, tid);
    uint64_t ret_addr = 0;
    BOOST_REQUIRE(task.read_mem(RemotePtr(at_call.regs.rsp), &ret_addr, 8).ok());
    at_call.regs.rip = ret_addr - 5;
    at_call.regs.rsp += 8;
    uint8_t op = 0;
    BOOST_REQUIRE(task.read_mem(RemotePtr(at_call.regs.rip), &op, 1).ok());
    BOOST_REQUIRE(op == 0xe8);
    // Stepped on to its ret.
    RunControl step = control(*s);
    step.step = tid;
    for (int k = 0; k < 64 && op != 0xc3; ++k) {
      BOOST_REQUIRE(s->run(step).ok());
      BOOST_REQUIRE(task.read_mem(RemotePtr(regs_of(*s, tid).rip), &op, 1).ok());
    }
    BOOST_REQUIRE(op == 0xc3);
    at_ret.tid = tid;
    at_ret.regs = regs_of(*s, tid);
    auto hash = s->position_hash(*s->find(tid));
    BOOST_REQUIRE(hash.ok());
    at_ret.mem_hash = *hash;
  }
  for (const RunControl::StateTarget& want : {at_ret, at_call}) {
    auto s = open_session(rec);
    RunControl c = control(*s);
    c.stop_at_state = want;
    auto stop = s->run(c);
    BOOST_REQUIRE(stop.ok());
    BOOST_TEST(static_cast<int>(stop->why) == static_cast<int>(DebugStop::Why::AtState));
    const user_regs_struct r = regs_of(*s, stop->tid);
    BOOST_TEST(r.rip == want.regs.rip);
    BOOST_TEST(r.rdi == nth - 1);
    BOOST_TEST(s->tracer_state_compares() < 10u);
    // And on from there, the program's own code intact.
    run_to_end(*s, control(*s));
  }
}

BOOST_AUTO_TEST_CASE(interrupts_a_long_stretch) {
  // Seconds of loop with no event in it: the interrupt, 300 ms in, must
  // find the task still inside it even on a fast, idle machine.
  const long n = 1500000000;
  Recording rec(std::to_string(n));
  auto s = open_session(rec);
  // Into the loop (its first call of tick), then no counting.
  BOOST_REQUIRE(s->set_counted_breakpoints(s->root(), {rec.tick}).ok());
  RunControl c = control(*s);
  c.stop_at_hit = RunControl::HitTarget{std::nullopt, 1};
  auto stop = s->run(c);
  BOOST_REQUIRE(stop.ok() && stop->why == DebugStop::Why::AtHit);
  BOOST_REQUIRE(s->set_counted_breakpoints(s->root(), {}).ok());
  const uint64_t in_loop = s->events_completed();
  std::atomic<bool> interrupt{false};
  c = control(*s);
  c.interrupt = &interrupt;
  Clock::time_point asked;
  std::thread asker([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));  // a user's Ctrl-C
    asked = Clock::now();
    interrupt = true;
  });
  stop = s->run(c);
  const double latency = seconds_since(asked);
  asker.join();
  BOOST_REQUIRE(stop.ok());
  std::printf("interrupted %.3f s after the request\n", latency);
  BOOST_TEST(s->events_completed() == in_loop);  // in the stretch, not at its end
  BOOST_TEST(static_cast<int>(stop->kind) == static_cast<int>(StopKind::Interrupted));
  BOOST_TEST(static_cast<int>(stop->why) == static_cast<int>(DebugStop::Why::Interrupt));
  const uint64_t events = s->events_completed();
  // Inside the loop, a checkpoint of the half-replayed event, restored and
  // replayed to the end, as is the session itself.
  BOOST_TEST(s->can_checkpoint());
  auto cp = s->checkpoint();
  BOOST_REQUIRE(cp.ok());
  interrupt = false;
  run_to_end(*s, control(*s));
  BOOST_TEST(s->events_completed() > events);
  auto again = ReplaySession::restore(**cp);
  BOOST_REQUIRE(again.ok());
  BOOST_TEST((*again)->events_completed() == events);
  run_to_end(**again, control(**again));
}

BOOST_AUTO_TEST_CASE(stops_after_ms_without_losing_counts) {
  const long n = 30000000;
  Recording rec(std::to_string(n));
  auto s = open_session(rec);
  BOOST_REQUIRE(s->set_counted_breakpoints(s->root(), {rec.tick}).ok());
  RunControl c = control(*s);
  // Short enough to stop several times even where the loop runs in 0.1 s.
  c.stop_after_ms = 10;
  int stops = 0;
  uint64_t last = 0;
  for (;;) {
    auto stop = s->run(c);
    BOOST_REQUIRE(stop.ok());
    if (stop->kind == StopKind::HistoryEnd) break;
    BOOST_REQUIRE(stop->kind == StopKind::Interrupted);
    BOOST_TEST(static_cast<int>(stop->why) == static_cast<int>(DebugStop::Why::Elapsed));
    BOOST_TEST(s->counted_hits(s->root()) >= last);
    last = s->counted_hits(s->root());
    ++stops;
  }
  std::printf("%d stops after 10 ms each\n", stops);
  BOOST_TEST(stops > 0);
  BOOST_TEST(s->counted_hits(s->root()) == static_cast<uint64_t>(n));
}

// Stub pages never go where the heap grows (candidate_pages): brk(2) takes
// the gap above start_brk as far as the program likes, with no mapping
// record to warn replay. A preemption stub put just above a freshly exec'd
// cc1's data made its first brk fail in replay, where the recording's had
// succeeded. This process's data lies just below its heap, like cc1's.
BOOST_AUTO_TEST_CASE(stub_pages_keep_out_of_the_heap) {
  static volatile int in_data = 1;
  const uint64_t pc = reinterpret_cast<uint64_t>(&in_data);
  auto heap = heap_start(getpid());
  BOOST_REQUIRE(heap.ok());
  auto maps = read_proc_maps(getpid());
  BOOST_REQUIRE(maps.ok());
  uint64_t next = uint64_t{1} << 47;
  for (const KernelMapping& m : *maps)
    if (m.start > *heap && m.name != "[heap]") next = std::min(next, m.start);
  BOOST_REQUIRE(*heap > pc && *heap - pc < kMaxStubDistance);  // the gap is within reach
  const std::vector<uint64_t> pages = candidate_pages(getpid(), pc);
  BOOST_TEST(!pages.empty());
  for (uint64_t p : pages) BOOST_TEST((p + 4096 <= *heap || p >= next), "page 0x" << std::hex << p);
}
