// One client's TCP connection: carries a Session's bytes and runs its
// resumes on a worker thread, so that the socket is read while the target
// runs and a Ctrl-C (0x03) reaches Target::interrupt().
#pragma once

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <array>
#include <mutex>
#include <optional>
#include <thread>

#include "gdbstub/Session.h"

namespace rwd::gdbstub {

class Connection final : private SessionHost {
 public:
  Connection(target::Target& target, boost::asio::io_context& io,
             boost::asio::ip::tcp::socket socket);
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
  boost::asio::ip::tcp::socket socket_;
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
