// One client's byte stream: carries a Session's bytes and runs its resumes
// on a worker thread, so that the stream is read while the target runs and a
// Ctrl-C (0x03) reaches Target::interrupt(). The stream is a pair of file
// descriptors, whatever they are: the two ends gdb's "target remote |
// COMMAND" hands its command as stdin and stdout, or an accepted TCP or Unix
// socket (then both are the same socket), so every transport takes this one
// code path.
#pragma once

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>

#include <array>
#include <mutex>
#include <optional>
#include <thread>

#include "core/base/Fd.h"
#include "gdbstub/Session.h"

namespace rwd::gdbstub {

class Connection final : private SessionHost {
 public:
  // Takes both descriptors, which may refer to the same file; they must be
  // distinct descriptors (dup one for a socket).
  Connection(target::Target& target, boost::asio::io_context& io, ScopedFd input, ScopedFd output);
  ~Connection() override;
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Serves until the client detaches, kills or disconnects. Everything
  // runs on the calling thread except the target's resume.
  Result<void> run();

 private:
  // SessionHost
  void send(std::string_view bytes) override;
  void start_job(std::function<Result<target::StopInfo>()> job) override;
  void interrupt_job() override;

  void read_more();
  void finish_job(Result<target::StopInfo> stop);
  void close();

  target::Target& target_;
  boost::asio::io_context& io_;
  boost::asio::posix::stream_descriptor input_;
  ScopedFd output_;  // written synchronously, see send()
  Session session_;
  std::array<char, 16384> read_buffer_{};
  bool closed_ = false;

  // The job's thread, and a guard that keeps io_.run() going until the
  // job's result has been posted back, even after the client has gone.
  std::thread worker_;
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_;
  // True while the worker is inside the target call: Target::interrupt()
  // is only safe then, and a Ctrl-C just after the stop must not leak into
  // the next resume.
  std::mutex in_target_mutex_;
  bool in_target_ = false;
};

}  // namespace rwd::gdbstub
