// Drives a Session with exact bytes through a fake transport: no socket, no
// threads. A job the session starts runs to completion before exchange()
// returns, unless the test asks to hold it.
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "gdbstub/PacketFraming.h"
#include "gdbstub/Session.h"
#include "gdbstub/test/FakeTarget.h"

namespace rwd::gdbstub::test {

class FakeHost : public SessionHost {
 public:
  explicit FakeHost(FakeTarget& target) : target_(target) {}
  void send(std::string_view bytes) override { sent += bytes; }
  void start_job(std::function<Result<target::StopInfo>()> j) override { job = std::move(j); }
  void interrupt_job() override { target_.interrupt(); }

  std::string sent;
  std::function<Result<target::StopInfo>()> job;

 private:
  FakeTarget& target_;
};

struct SessionFixture {
  FakeTarget target;
  FakeHost host{target};
  Session session{target, host};

  // Feeds raw bytes; returns everything the server sent in response.
  std::string exchange(std::string_view bytes, bool run_jobs = true) {
    host.sent.clear();
    session.on_bytes(bytes);
    while (run_jobs && host.job) run_job();
    return host.sent;
  }
  void run_job() {
    auto job = std::move(host.job);
    host.job = nullptr;
    session.on_job_done(job());
  }
  // Sends one packet in ack mode; the reply comes after our '+'.
  std::string request(std::string_view body) { return exchange(frame_packet(body)); }
  // The reply body alone, checking the framing on the way.
  std::string reply_to(std::string_view body) {
    std::string out = request(body);
    if (out.size() < 5 || out[0] != '+' || out[1] != '$') return "<bad framing: " + out + ">";
    std::string reply = out.substr(2, out.size() - 5);
    if (out != "+" + frame_packet(reply)) return "<bad checksum: " + out + ">";
    return reply;
  }
  // The reply to a packet the client answers with a stop reply: the last
  // packet sent, after any console output (O packets) that came first.
  std::string stop_reply_to(std::string_view body) {
    std::string out = request(body);
    size_t last = out.rfind('$');
    if (out.size() < 5 || out[0] != '+' || last == std::string::npos) return "<bad: " + out + ">";
    std::string reply = out.substr(last + 1, out.size() - last - 4);
    for (size_t at = 1; at < last;) {  // everything before it: whole O packets
      size_t end = out.find('#', at);
      if (out[at] != '$' || out[at + 1] != 'O' || end == std::string::npos || end + 3 > last)
        return "<not console output before the reply: " + out + ">";
      at = end + 3;
    }
    if (out.substr(last) != frame_packet(reply)) return "<bad checksum: " + out + ">";
    return reply;
  }
  // As the gdb of a multiprocess-capable client sets up the session.
  void negotiate() { request("qSupported:multiprocess+;swbreak+;hwbreak+"); }
};

inline std::string hex(std::string_view s) {
  return to_hex(s);
}

}  // namespace rwd::gdbstub::test
