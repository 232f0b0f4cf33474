// libFuzzer target for the gdb Remote Serial Protocol server: client bytes
// go into a Session on the FakeTarget, as the unit tests drive it
// (gdbstub/test/SessionHarness.h), and every job a packet starts is run.
//
// Input: one flag byte, then the client's bytes.
//   flag bit 0: the session is in no-ack mode from the start (unchecked
//               checksums) instead of waiting for a QStartNoAckMode.
//   flag bit 1: a job a packet starts is still running while the next
//               piece of bytes arrives (so packets queue and 0x03
//               interrupts it), instead of ending before.
// The bytes are fed in pieces that end at each '\n' (line noise to the
// protocol), so frames also arrive split.
//
// Besides "no crash, no leak, no hang": every byte the server sends must
// decode as acks and frames with good checksums, and the framing helpers
// must round-trip the input.
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <string>
#include <string_view>
#include <vector>

#include "gdbstub/PacketFraming.h"
#include "gdbstub/PacketParser.h"
#include "gdbstub/test/SessionHarness.h"

using namespace rwd;
using namespace rwd::gdbstub;
using rwd::gdbstub::test::FakeTarget;
using rwd::gdbstub::test::SessionFixture;

namespace {

void check(bool ok, const char* what) {
  if (ok) return;
  std::fprintf(stderr, "fuzz_rsp: %s\n", what);
  std::abort();
}

// One of each kind of stop, for the jobs to report in turn; once they are
// used up, resume() fails, which is a path worth taking too.
std::deque<target::StopInfo> scripted_stops() {
  using K = target::StopKind;
  const target::ThreadId first{FakeTarget::kPid, 0x100}, other{FakeTarget::kPid, 0x102};
  const target::ThreadId unknown{0x200, 0x201};  // not in threads(): a thread that is gone
  return {
      {K::Breakpoint, first},
      {K::Signal, other, SIGSEGV},
      {K::Watchpoint, first, SIGTRAP, 0, target::BreakpointType::WriteWatch, 0x601008},
      {K::Step, other, SIGTRAP},
      {K::HwBreakpoint, first, SIGTRAP},
      {K::Watchpoint, other, SIGTRAP, 0, target::BreakpointType::AccessWatch, 0x7ffd0000},
      {K::Watchpoint, first, SIGTRAP, 0, target::BreakpointType::ReadWatch, 0x601010},
      {K::Signal, first, SIGRTMIN + 6},
      {K::HistoryEnd, first},
      {K::Signal, unknown, SIGUSR1},
      {K::Exited, first, 0, 3},
      {K::HistoryBegin, other},
      {K::Killed, first, SIGKILL},
  };
}

// The server's output, decoded the way a client does.
void check_server_output(std::string_view sent) {
  PacketDecoder client;
  std::vector<ClientEvent> events;
  client.feed(sent, events);
  for (const ClientEvent& e : events) {
    check(e.kind != ClientEvent::Kind::BadChecksum, "the server sent a frame with a bad checksum");
    // A bare '*' in a reply reads as run-length encoding to gdb.
    check(e.kind != ClientEvent::Kind::Rejected || e.body != "bad run-length encoding",
          "the server sent a frame with a stray '*'");
    check(e.kind != ClientEvent::Kind::Interrupt, "the server sent 0x03");
  }
}

// escape/unescape, hex and framing are each other's inverses.
void check_round_trips(std::string_view bytes) {
  auto unescaped = unescape_binary(escape_binary(bytes));
  check(unescaped.ok() && std::string_view(reinterpret_cast<const char*>(unescaped->data()),
                                           unescaped->size()) == bytes,
        "unescape_binary(escape_binary(x)) != x");
  auto unhexed = from_hex(to_hex(bytes));
  check(unhexed.ok() && std::string_view(reinterpret_cast<const char*>(unhexed->data()),
                                         unhexed->size()) == bytes,
        "from_hex(to_hex(x)) != x");
  const std::string body = escape_binary(bytes);
  if (body.size() > kMaxPacketSize) return;
  PacketDecoder decoder;
  std::vector<ClientEvent> events;
  decoder.feed(frame_packet(body), events);
  check(events.size() == 1 && events[0].kind == ClientEvent::Kind::Packet && events[0].body == body,
        "a framed packet did not decode to its body");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const bool no_ack = data[0] & 1;
  const bool hold_jobs = data[0] & 2;
  std::string_view bytes(reinterpret_cast<const char*>(data + 1), size - 1);
  check_round_trips(bytes);

  SessionFixture f;
  f.target.stops = scripted_stops();
  if (no_ack) f.session.on_bytes(frame_packet("QStartNoAckMode") + "+");
  while (!bytes.empty() && !f.session.finished()) {
    const size_t end = bytes.find('\n');
    const std::string_view piece = bytes.substr(0, end == bytes.npos ? bytes.size() : end + 1);
    bytes.remove_prefix(piece.size());
    const bool job_was_running = static_cast<bool>(f.host.job);
    f.session.on_bytes(piece);
    if (hold_jobs) {
      if (job_was_running) f.run_job();
    } else {
      while (f.host.job) f.run_job();
    }
  }
  while (f.host.job) f.run_job();
  check_server_output(f.host.sent);
  return 0;
}
