#include "gdbstub/GdbServer.h"

#include <fcntl.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>

#include "core/base/Log.h"
#include "gdbstub/Connection.h"

namespace rwd::gdbstub {

namespace asio = boost::asio;
using asio::ip::tcp;
using unix_stream = asio::local::stream_protocol;

namespace {

// A close-on-exec copy of `fd`: replay starts processes while it serves,
// and none of them may hold the client's connection open.
Result<ScopedFd> dup_cloexec(int fd, const char* what) {
  ScopedFd copy(::fcntl(fd, F_DUPFD_CLOEXEC, 0));
  if (!copy.is_open()) return Error::from_errno(std::string("duplicating the ") + what);
  return copy;
}

}  // namespace

struct GdbServer::Impl {
  Impl(target::Target& t, const ServerOptions& o)
      : target(t), options(o), tcp_acceptor(io), unix_acceptor(io) {}
  ~Impl() { stop_unix(); }
  Result<ScopedFd> accept_one();
  // Closes the Unix listener and removes its file.
  void stop_unix() {
    boost::system::error_code ignored;
    if (unix_acceptor.is_open()) unix_acceptor.close(ignored);
    if (!unix_path.empty()) ::unlink(unix_path.c_str());
    unix_path.clear();
  }

  target::Target& target;
  ServerOptions options;
  asio::io_context io;
  tcp::acceptor tcp_acceptor;
  unix_stream::acceptor unix_acceptor;
  std::string unix_path;  // to remove once nobody is to connect any more
};

// Accepts one client on the listener that is open, and closes it.
Result<ScopedFd> GdbServer::Impl::accept_one() {
  boost::system::error_code ec;
  if (tcp_acceptor.is_open()) {
    tcp::socket socket(io);
    tcp_acceptor.accept(socket, ec);
    boost::system::error_code ignored;
    tcp_acceptor.close(ignored);
    if (ec) return Error{"accepting a debugger connection: " + ec.message()};
    // Packets are small and each waits for an answer: Nagle's delay would
    // add tens of milliseconds to every step.
    socket.set_option(tcp::no_delay(true), ignored);
    return dup_cloexec(socket.native_handle(), "debugger connection");
  }
  if (unix_acceptor.is_open()) {
    unix_stream::socket socket(io);
    unix_acceptor.accept(socket, ec);
    stop_unix();
    if (ec) return Error{"accepting a debugger connection: " + ec.message()};
    return dup_cloexec(socket.native_handle(), "debugger connection");
  }
  return Error{"serve_one_client() before listen()"};
}

GdbServer::GdbServer(target::Target& target, const ServerOptions& options)
    : impl_(std::make_unique<Impl>(target, options)) {}

GdbServer::~GdbServer() = default;

Result<uint16_t> GdbServer::listen() {
  const ServerOptions& o = impl_->options;
  const std::string where = o.host + ":" + std::to_string(o.port);
  boost::system::error_code ec;
  tcp::resolver resolver(impl_->io);
  auto endpoints = resolver.resolve(o.host, std::to_string(o.port),
                                    tcp::resolver::passive | tcp::resolver::numeric_service, ec);
  if (ec || endpoints.empty())
    return Error{"cannot resolve " + where + ": " + ec.message() +
                 " (use an IP address, e.g. 127.0.0.1)"};
  tcp::endpoint endpoint = endpoints.begin()->endpoint();
  tcp::acceptor& acceptor = impl_->tcp_acceptor;
  if (acceptor.is_open()) acceptor.close(ec);
  acceptor.open(endpoint.protocol(), ec);
  // So that a restarted server can take the port of one whose connections
  // are still in TIME_WAIT.
  if (!ec) acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec)
    return Error{"cannot listen on " + where + ": " + ec.message() +
                 (o.port ? " (is another server on that port? port 0 picks a free one)" : "")};
  const uint16_t port = acceptor.local_endpoint(ec).port();
  if (ec) return Error{"cannot read the listening port: " + ec.message()};
  REWIND_LOG(Packets, "listening on %s:%u", o.host.c_str(), port);
  return port;
}

Result<void> GdbServer::listen_unix(const std::string& path) {
  boost::system::error_code ec;
  unix_stream::acceptor& acceptor = impl_->unix_acceptor;
  impl_->stop_unix();
  acceptor.open(unix_stream(), ec);
  if (!ec) acceptor.bind(unix_stream::endpoint(path), ec);
  if (ec) return Error{"cannot make a Unix socket at " + path + ": " + ec.message()};
  impl_->unix_path = path;
  acceptor.listen(1, ec);
  if (ec) return Error{"cannot listen on " + path + ": " + ec.message()};
  REWIND_LOG(Packets, "listening on %s", path.c_str());
  return ok_result();
}

Result<void> GdbServer::serve_one_client() {
  Result<ScopedFd> input = impl_->accept_one();
  if (!input) return input.error();
  Result<ScopedFd> output = dup_cloexec(input->get(), "debugger connection");
  if (!output) return output.error();
  REWIND_LOG(Packets, "client connected");
  return serve_stream(std::move(*input), std::move(*output));
}

Result<void> GdbServer::serve_stream(ScopedFd input, ScopedFd output) {
  Connection connection(impl_->target, impl_->io, std::move(input), std::move(output));
  return connection.run();
}

}  // namespace rwd::gdbstub
