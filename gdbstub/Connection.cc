#include "gdbstub/Connection.h"

#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>

#include "core/base/Log.h"

namespace rwd::gdbstub {

namespace asio = boost::asio;

Connection::Connection(target::Target& target, asio::io_context& io, asio::ip::tcp::socket socket)
    : target_(target), io_(io), socket_(std::move(socket)), session_(target, *this) {}

Connection::~Connection() {
  // run() always joins; this only guards against a bug there.
  REWIND_ASSERT(!worker_.joinable(), "connection destroyed while the target runs");
}

Result<void> Connection::run() {
  io_.restart();
  read_more();
  io_.run();
  REWIND_ASSERT(!worker_.joinable());
  return ok_result();
}

void Connection::read_more() {
  socket_.async_read_some(asio::buffer(read_buffer_),
                          [this](const boost::system::error_code& ec, size_t n) {
                            if (ec) {
                              // EOF, a reset, or close() cancelling the read.
                              if (!closed_)
                                REWIND_LOG(Packets, "client gone: %s", ec.message().c_str());
                              close();
                              return;
                            }
                            session_.on_bytes(std::string_view(read_buffer_.data(), n));
                            if (session_.finished())
                              close();
                            else if (!closed_)
                              read_more();
                          });
}

void Connection::send(std::string_view bytes) {
  if (closed_) return;
  // Synchronous: replies are small and the client reads them promptly;
  // this keeps the order of packets obvious.
  boost::system::error_code ec;
  asio::write(socket_, asio::buffer(bytes.data(), bytes.size()), ec);
  if (ec) {
    REWIND_LOG(Packets, "write failed: %s", ec.message().c_str());
    close();
  }
}

void Connection::start_job(std::function<Result<target::StopInfo>()> job) {
  REWIND_ASSERT(!worker_.joinable(), "a second job while one runs");
  {
    std::lock_guard lock(in_target_mutex_);
    in_target_ = true;
  }
  work_.emplace(io_.get_executor());
  worker_ = std::thread([this, job = std::move(job)] {
    Result<target::StopInfo> stop = job();
    {
      std::lock_guard lock(in_target_mutex_);
      in_target_ = false;
    }
    asio::post(io_, [this, stop = std::move(stop)]() mutable { finish_job(std::move(stop)); });
  });
}

void Connection::interrupt_job() {
  std::lock_guard lock(in_target_mutex_);
  if (in_target_) target_.interrupt();
}

void Connection::finish_job(Result<target::StopInfo> stop) {
  worker_.join();
  work_.reset();
  if (closed_) return;  // the client left while the target ran
  session_.on_job_done(std::move(stop));
  if (session_.finished()) close();
}

void Connection::close() {
  if (closed_) return;
  closed_ = true;
  // A client that leaves mid-resume gets no stop reply; stop the target so
  // that run() can return without waiting for the end of the recording.
  interrupt_job();
  boost::system::error_code ignored;
  socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
  socket_.close(ignored);
}

}  // namespace rwd::gdbstub
