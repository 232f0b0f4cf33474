#include "gdbstub/Connection.h"

#include <poll.h>
#include <signal.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include <boost/asio/post.hpp>

#include "core/base/Log.h"

namespace rwd::gdbstub {

namespace asio = boost::asio;

namespace {

// One write(2) to the client that cannot raise SIGPIPE, whose default
// action would end the whole replay when a debugger merely quit: on a
// socket, with MSG_NOSIGNAL; on a pipe, with SIGPIPE blocked in this thread
// meanwhile and the one the write raised taken back.
ssize_t write_without_sigpipe(int fd, std::string_view bytes) {
  ssize_t n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
  if (n >= 0 || errno != ENOTSOCK) return n;
  sigset_t sigpipe, old_mask, pending;
  sigemptyset(&sigpipe);
  sigaddset(&sigpipe, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &sigpipe, &old_mask);
  sigpending(&pending);
  const bool already_pending = sigismember(&pending, SIGPIPE);
  n = ::write(fd, bytes.data(), bytes.size());
  const int err = errno;
  if (n < 0 && err == EPIPE && !already_pending) {
    const timespec no_wait{};
    (void)sigtimedwait(&sigpipe, nullptr, &no_wait);
  }
  pthread_sigmask(SIG_SETMASK, &old_mask, nullptr);
  errno = err;
  return n;
}

// The output may be non-blocking: Asio makes the input so for its reads,
// and for a socket both descriptors share that flag.
bool wait_writable(int fd) {
  pollfd p{fd, POLLOUT, 0};
  while (::poll(&p, 1, -1) < 0)
    if (errno != EINTR) return false;
  return true;
}

}  // namespace

Connection::Connection(target::Target& target, asio::io_context& io, ScopedFd input,
                       ScopedFd output)
    : target_(target),
      io_(io),
      input_(io, input.release()),
      output_(std::move(output)),
      session_(target, *this) {}

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
  input_.async_read_some(asio::buffer(read_buffer_),
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
  while (!bytes.empty()) {
    const ssize_t n = write_without_sigpipe(output_.get(), bytes);
    if (n >= 0) {
      bytes.remove_prefix(static_cast<size_t>(n));
    } else if (errno == EINTR ||
               ((errno == EAGAIN || errno == EWOULDBLOCK) && wait_writable(output_.get()))) {
      continue;
    } else {
      REWIND_LOG(Packets, "write failed: %s", strerror(errno));
      close();
      return;
    }
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
  // Shut a socket down rather than only close it: the client then sees
  // the end even if some other process holds a copy of the descriptor.
  // Pipes refuse with ENOTSOCK, and closing is enough for them.
  (void)::shutdown(output_.get(), SHUT_RDWR);
  boost::system::error_code ignored;
  input_.close(ignored);
  output_.reset();
}

}  // namespace rwd::gdbstub
