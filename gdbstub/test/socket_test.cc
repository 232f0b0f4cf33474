// The server over real loopback sockets: accept, serve, interrupt, and
// disconnect; and, where gdb is installed, gdb itself against a FakeTarget.
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/test/unit_test.hpp>

#include <cstdio>
#include <thread>

#include "gdbstub/GdbServer.h"
#include "gdbstub/PacketFraming.h"
#include "gdbstub/test/FakeTarget.h"

using namespace rwd;
using namespace rwd::gdbstub;
using namespace rwd::gdbstub::test;
namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

// A server on 127.0.0.1:<free port> serving one client on its own thread.
struct RunningServer {
  FakeTarget target;
  GdbServer server{target, ServerOptions{}};
  uint16_t port = 0;
  std::optional<Result<void>> result;
  std::thread thread;

  RunningServer() {
    Result<uint16_t> p = server.listen();
    BOOST_REQUIRE_MESSAGE(p.ok(), (p.ok() ? "" : p.error().message));
    port = *p;
    BOOST_REQUIRE(port != 0);
  }
  void start() {
    thread = std::thread([this] { result.emplace(server.serve_one_client()); });
  }
  // Joins the server thread: returns once serve_one_client() did.
  bool finished_ok() {
    thread.join();
    return result && result->ok();
  }
};

// A bare client that speaks just enough of the protocol.
struct Client {
  asio::io_context io;
  tcp::socket socket{io};

  explicit Client(uint16_t port) {
    socket.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  }
  void send_raw(std::string_view bytes) {
    asio::write(socket, asio::buffer(bytes.data(), bytes.size()));
  }
  void send(std::string_view body) { send_raw(frame_packet(body)); }
  // The next packet's body, skipping acks.
  std::string receive() {
    std::string frame;
    char c;
    do asio::read(socket, asio::buffer(&c, 1));
    while (c != '$');
    while (true) {
      asio::read(socket, asio::buffer(&c, 1));
      if (c == '#') break;
      frame.push_back(c);
    }
    char sum[2];
    asio::read(socket, asio::buffer(sum, 2));
    send_raw("+");
    return frame;
  }
  std::string request(std::string_view body) {
    send(body);
    return receive();
  }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(tcp_server)

BOOST_AUTO_TEST_CASE(qsupported_then_disconnect) {
  RunningServer s;
  s.start();
  {
    Client c(s.port);
    BOOST_TEST(c.request("qSupported:multiprocess+").starts_with("PacketSize="));
    BOOST_TEST(c.request("m401000,4") == "554889e5");
  }  // the client closes its socket
  BOOST_TEST(s.finished_ok());
}

BOOST_AUTO_TEST_CASE(ctrl_c_interrupts_a_running_target) {
  RunningServer s;
  s.target.block_in_resume = true;
  s.start();
  Client c(s.port);
  c.request("qSupported:multiprocess+");
  c.send("vCont;c");
  {
    // Wait until the target really runs, so the 0x03 must travel through
    // the connection's reading while resume() blocks.
    std::unique_lock lock(s.target.mutex);
    s.target.cv.wait(lock, [&] { return s.target.entered_resume; });
  }
  c.send_raw("\x03");
  BOOST_TEST(c.receive() == "T02thread:p100.100;");
  BOOST_TEST(c.request("D") == "OK");
  BOOST_TEST(s.finished_ok());
}

BOOST_AUTO_TEST_CASE(disconnect_while_running_stops_the_target) {
  RunningServer s;
  s.target.block_in_resume = true;
  s.start();
  {
    Client c(s.port);
    c.send("c");
    std::unique_lock lock(s.target.mutex);
    s.target.cv.wait(lock, [&] { return s.target.entered_resume; });
  }
  BOOST_TEST(s.finished_ok());
}

BOOST_AUTO_TEST_CASE(bad_host_is_an_error) {
  FakeTarget target;
  GdbServer server(target, ServerOptions{"not-an-address.invalid", 0});
  BOOST_TEST(!server.listen().ok());
  GdbServer unlistened(target, ServerOptions{});
  BOOST_TEST(!unlistened.serve_one_client().ok());
}

#ifdef REWIND_GDB_EXECUTABLE
// gdb reads target.xml, sizes the g packet from it and shows registers and
// memory: this checks our description and layout against the real parser.
BOOST_AUTO_TEST_CASE(real_gdb_reads_registers_and_memory) {
  RunningServer s;
  s.target.files.clear();  // no executable to load: gdb works from the stub alone
  s.target.map(0x401100, {0x55, 0x48, 0x89, 0xe5, 0x90, 0x90, 0x90, 0xc3});  // at thread 0x100's pc
  target::StopInfo history_begin;
  history_begin.kind = target::StopKind::HistoryBegin;
  history_begin.thread = {FakeTarget::kPid, 0x100};
  s.target.stops.push_back(history_begin);
  s.start();
  const std::string command =
      "timeout 60 " REWIND_GDB_EXECUTABLE
      " -batch -nx -ex 'set sysroot /nonexistent' -ex 'target remote "
      "127.0.0.1:" +
      std::to_string(s.port) +
      "' -ex 'info registers rip' -ex 'x/4xb $pc' -ex 'reverse-stepi' -ex 'detach' 2>&1";
  FILE* gdb = popen(command.c_str(), "r");
  BOOST_REQUIRE(gdb);
  std::string output;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, gdb)) > 0) output.append(buf, n);
  const int status = pclose(gdb);
  BOOST_TEST_MESSAGE("gdb said:\n" << output);
  BOOST_TEST(status == 0);
  BOOST_TEST(s.finished_ok());  // joins the server before we look at the target
  BOOST_TEST(output.find("rip            0x401100") != std::string::npos);
  BOOST_TEST(output.find("0x401100:\t0x55\t0x48\t0x89\t0xe5") != std::string::npos);
  // replaylog:begin in the stop reply.
  BOOST_TEST(output.find("No more reverse-execution history.") != std::string::npos);
  BOOST_REQUIRE(s.target.resumes.size() == 1u);
  BOOST_TEST((s.target.resumes[0].direction == target::Direction::Reverse));
  BOOST_TEST(output.find("warning: Architecture rejected target-supplied description") ==
             std::string::npos);
}
#endif

BOOST_AUTO_TEST_SUITE_END()
