// The engine state a persistent checkpoint carries (PersistCodec.h): every
// field round-trips, and truncated, padded or garbled bytes are errors.
#define BOOST_TEST_MODULE persist_codec
#include <boost/test/unit_test.hpp>

#include <random>

#include "core/replay/PersistCodec.h"

using namespace rwd;

namespace {

RepTaskState sample() {
  RepTaskState t;
  t.rec_tgid = Tid(4242);
  t.initial_rsp = 0x7fffffffe000;
  t.fix_child_tid_addr = 0x1234;
  t.robust_list_head = 0x7ffff7dc8a20;
  t.clear_child_tid = 0x7ffff7dc8a10;
  t.last_trap = 6;
  t.sigaltstack = true;
  t.syscallbuf = 0x7ffff7c7c000;
  t.syscallbuf_loaded = 812;
  t.in_pool = true;
  t.in_syscall = true;
  t.syscall_nr = 202;
  t.entry_regs.rip = 0x70000012;
  t.entry_regs.rdi = 0x5555;
  t.entry_event = EventNum(811);
  t.inflight_writes = {{0x1000, 8}, {0x2000, 4096}};
  t.restart_nr = 7;
  t.restart_regs.rsp = 0x42;
  t.last_result = -4;
  t.restart_pending = false;
  t.exec_takes_tid = Tid(17);
  t.trap_signals = TrapSignals{1u << (SIGILL - 1), 1u << (SIGILL - 1)};
  return t;
}

}  // namespace

BOOST_AUTO_TEST_CASE(round_trip) {
  const RepTaskState a = sample();
  auto b = persist::decode_task(persist::encode_task(a));
  BOOST_REQUIRE(b.ok());
  BOOST_CHECK_EQUAL(b->rec_tgid.value, a.rec_tgid.value);
  BOOST_CHECK_EQUAL(b->robust_list_head, a.robust_list_head);
  BOOST_CHECK_EQUAL(b->clear_child_tid, a.clear_child_tid);
  BOOST_CHECK_EQUAL(b->last_trap, 6);
  BOOST_CHECK(b->sigaltstack && b->in_pool && b->in_syscall);
  BOOST_CHECK_EQUAL(b->syscall_nr, 202);
  BOOST_CHECK_EQUAL(b->entry_regs.rip, a.entry_regs.rip);
  BOOST_CHECK_EQUAL(b->entry_event.value, 811u);
  BOOST_CHECK(b->inflight_writes == a.inflight_writes);
  BOOST_CHECK_EQUAL(b->restart_regs.rsp, 0x42u);
  BOOST_CHECK_EQUAL(b->last_result, -4);
  BOOST_CHECK_EQUAL(b->exec_takes_tid.value, 17);
  BOOST_REQUIRE(b->trap_signals);
  BOOST_CHECK_EQUAL(b->trap_signals->blocked, a.trap_signals->blocked);
  BOOST_CHECK_EQUAL(b->trap_signals->ignored, a.trap_signals->ignored);
  RepTaskState none = sample();
  none.trap_signals.reset();
  auto c = persist::decode_task(persist::encode_task(none));
  BOOST_REQUIRE(c.ok());
  BOOST_CHECK(!c->trap_signals);
}

BOOST_AUTO_TEST_CASE(bad_bytes_are_errors) {
  const std::vector<uint8_t> good = persist::encode_task(sample());
  for (size_t n = 0; n < good.size(); ++n) {
    std::vector<uint8_t> cut(good.begin(), good.begin() + static_cast<long>(n));
    BOOST_CHECK(!persist::decode_task(cut).ok());
  }
  std::vector<uint8_t> padded = good;
  padded.push_back(0);
  BOOST_CHECK(!persist::decode_task(padded).ok());
  std::vector<uint8_t> other_version = good;
  other_version[0] ^= 0xff;
  auto e = persist::decode_task(other_version);
  BOOST_REQUIRE(!e.ok());
  BOOST_CHECK(e.error().message.find("version") != std::string::npos);
  // A state that only a run in progress has is refused.
  RepTaskState running = sample();
  running.running = true;
  BOOST_CHECK(!persist::decode_task(persist::encode_task(running)).ok());
  // Random damage never crashes (a huge count of in-flight writes, say).
  std::mt19937 rng(7);
  for (int i = 0; i < 2000; ++i) {
    std::vector<uint8_t> bad = good;
    for (int k = 0; k < 4; ++k) bad[rng() % bad.size()] = static_cast<uint8_t>(rng());
    (void)persist::decode_task(bad);
  }
}
