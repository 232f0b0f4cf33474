// The server over real loopback sockets: accept, serve, interrupt, and
// disconnect; over a Unix socket and over a stream it is handed (as
// --stdio does); and, where gdb is installed, gdb itself against a
// FakeTarget.
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/test/unit_test.hpp>

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
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

// A bare client that speaks just enough of the protocol, over any stream.
struct Client {
  asio::io_context io;
  asio::posix::stream_descriptor socket{io};

  explicit Client(uint16_t port) {
    tcp::socket tcp(io);
    tcp.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
    socket.assign(::dup(tcp.native_handle()));
  }
  explicit Client(const std::string& unix_path) {
    asio::local::stream_protocol::socket local(io);
    local.connect(asio::local::stream_protocol::endpoint(unix_path));
    socket.assign(::dup(local.native_handle()));
  }
  // Takes `fd`, one end of a connected stream.
  explicit Client(ScopedFd fd) { socket.assign(fd.release()); }
  // MSG_NOSIGNAL: the ack after the server's last reply may find it gone.
  void send_raw(std::string_view bytes) {
    BOOST_REQUIRE(::send(socket.native_handle(), bytes.data(), bytes.size(), MSG_NOSIGNAL) ==
                  static_cast<ssize_t>(bytes.size()));
  }
  void ack() { (void)!::send(socket.native_handle(), "+", 1, MSG_NOSIGNAL); }
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
    ack();
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

BOOST_AUTO_TEST_CASE(tcp_listener_closes_at_the_accept) {
  RunningServer s;
  s.start();
  Client c(s.port);
  BOOST_TEST(c.request("m401000,4") == "554889e5");
  // Nobody else gets in while the first client is served.
  asio::io_context io;
  tcp::socket second(io);
  boost::system::error_code ec;
  second.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), s.port), ec);
  BOOST_TEST(ec == asio::error::connection_refused);
  BOOST_TEST(c.request("D") == "OK");
  BOOST_TEST(s.finished_ok());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(private_transports)

// What rewind replay --stdio does with the ends of gdb's pipe.
BOOST_AUTO_TEST_CASE(serves_a_stream_it_is_handed) {
  FakeTarget target;
  GdbServer server(target, ServerOptions{});
  int ends[2];
  BOOST_REQUIRE(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, ends) == 0);
  ScopedFd ours(ends[0]);
  ScopedFd input(ends[1]);
  ScopedFd output(::dup(ends[1]));
  std::optional<Result<void>> result;
  std::thread serving(
      [&] { result.emplace(server.serve_stream(std::move(input), std::move(output))); });
  {
    Client c(std::move(ours));
    BOOST_TEST(c.request("qSupported:multiprocess+").starts_with("PacketSize="));
    BOOST_TEST(c.request("m401000,4") == "554889e5");
  }  // the client's end closes: the server sees the end of its input
  serving.join();
  BOOST_TEST((result && result->ok()));
}

// A client on pipes that has gone: the replies meet EPIPE, which ends the
// session instead of killing the process with SIGPIPE.
BOOST_AUTO_TEST_CASE(a_client_gone_from_a_pipe_raises_no_sigpipe) {
  FakeTarget target;
  GdbServer server(target, ServerOptions{});
  int to_server[2], from_server[2];
  BOOST_REQUIRE(pipe2(to_server, O_CLOEXEC) == 0);
  BOOST_REQUIRE(pipe2(from_server, O_CLOEXEC) == 0);
  ScopedFd server_in(to_server[0]), client_out(to_server[1]);
  ScopedFd client_in(from_server[0]), server_out(from_server[1]);
  const std::string request = frame_packet("m401000,4");
  BOOST_REQUIRE(write(client_out.get(), request.data(), request.size()) ==
                static_cast<ssize_t>(request.size()));
  client_out.reset();
  client_in.reset();
  BOOST_TEST(server.serve_stream(std::move(server_in), std::move(server_out)).ok());
}

BOOST_AUTO_TEST_CASE(unix_socket_goes_at_the_accept) {
  char dir[] = "/tmp/rewind-socket-test-XXXXXX";
  BOOST_REQUIRE(mkdtemp(dir));
  const std::string path = std::string(dir) + "/gdb.sock";
  FakeTarget target;
  std::optional<Result<void>> result;
  {
    GdbServer server(target, ServerOptions{});
    BOOST_REQUIRE(server.listen_unix(path).ok());
    BOOST_TEST(std::filesystem::is_socket(path));
    std::thread serving([&] { result.emplace(server.serve_one_client()); });
    {
      Client c(path);
      BOOST_TEST(c.request("m401000,4") == "554889e5");
      // Accepted: the name is gone, so no second client can connect.
      BOOST_TEST(!std::filesystem::exists(path));
      BOOST_TEST(c.request("D") == "OK");
    }
    serving.join();
    BOOST_TEST((result && result->ok()));
    // A listener nobody connected to is removed with the server.
    GdbServer unused(target, ServerOptions{});
    BOOST_REQUIRE(unused.listen_unix(path).ok());
    BOOST_TEST(std::filesystem::exists(path));
  }
  BOOST_TEST(!std::filesystem::exists(path));
  BOOST_TEST(rmdir(dir) == 0);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(real_gdb)

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
