#include "gdbstub/GdbServer.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "core/base/Log.h"
#include "gdbstub/Connection.h"

namespace rwd::gdbstub {

namespace asio = boost::asio;
using asio::ip::tcp;

struct GdbServer::Impl {
  Impl(target::Target& t, const ServerOptions& o) : target(t), options(o), acceptor(io) {}
  target::Target& target;
  ServerOptions options;
  asio::io_context io;
  tcp::acceptor acceptor;
};

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
  tcp::acceptor& acceptor = impl_->acceptor;
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

Result<void> GdbServer::serve_one_client() {
  if (!impl_->acceptor.is_open()) return Error{"serve_one_client() before listen()"};
  tcp::socket socket(impl_->io);
  boost::system::error_code ec;
  impl_->acceptor.accept(socket, ec);
  if (ec) return Error{"accepting a gdb connection: " + ec.message()};
  // Packets are small and each waits for an answer: Nagle's delay would
  // add tens of milliseconds to every step.
  socket.set_option(tcp::no_delay(true), ec);
  REWIND_LOG(Packets, "client connected");
  Connection connection(impl_->target, impl_->io, std::move(socket));
  return connection.run();
}

}  // namespace rwd::gdbstub
