// rewind-dap: a Debug Adapter Protocol server for rewind traces. It speaks DAP
// on stdin/stdout to the client (VS Code, nvim-dap, ...) and runs lldb-dap
// as a child on pipes; dap/Proxy.h says what it changes on the way.
//
// This file is the I/O: one poll loop over the client, lldb-dap and a
// signalfd. Single-threaded, so the Proxy needs no locks.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>

#include "core/base/Error.h"
#include "core/base/Fd.h"
#include "dap/Child.h"
#include "dap/Framing.h"
#include "dap/Locate.h"
#include "dap/Proxy.h"

namespace rwd::dap {
namespace {

// How long lldb-dap gets to exit by itself once its input is closed: it
// detaches or kills the replay first, which the plugin waits for.
constexpr int kChildGraceMs = 10000;

class Io final : public Proxy::Host {
 public:
  explicit Io(const Config& config) {
    if (!config.log_path.empty()) log_.reset(std::fopen(config.log_path.c_str(), "a"));
  }

  void send_client(const json& message) override {
    std::string body = message.dump(-1, ' ', false, json::error_handler_t::replace);
    log("to client", body);
    std::string frame = encode_frame(body);
    // Blocking: a DAP client reads its adapter's output all the time, and a
    // client that has gone makes this fail (EPIPE) rather than wait.
    size_t done = 0;
    while (done < frame.size() && client_open_) {
      ssize_t n = ::write(1, frame.data() + done, frame.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        client_open_ = false;
        break;
      }
      done += n;
    }
  }

  void send_server(const json& message) override {
    std::string body = message.dump(-1, ' ', false, json::error_handler_t::replace);
    log("to lldb-dap", body);
    to_server_ += encode_frame(body);
  }

  Result<void> start_server(const std::string& path) override {
    if (child_) child_->stop(kChildGraceMs);
    child_.reset();
    to_server_.clear();
    from_server_ = FrameDecoder();
    auto child = Child::start(path);
    if (!child) return child.error();
    child_ = std::move(*child);
    return ok_result();
  }

  void log(const char* direction, const std::string& body) {
    if (!log_) return;
    std::fprintf(log_.get(), "%s: %s\n", direction, body.c_str());
    std::fflush(log_.get());
  }

  struct FileCloser {
    void operator()(std::FILE* f) const { std::fclose(f); }
  };

  std::unique_ptr<Child> child_;
  std::string to_server_;  // framed, not yet written (lldb-dap's stdin is non-blocking)
  FrameDecoder from_server_;
  FrameDecoder from_client_;
  bool client_open_ = true;
  std::unique_ptr<std::FILE, FileCloser> log_;
};

// Feeds every complete message in `decoder` to `deliver`. False when the
// stream is broken beyond resynchronising.
template <class Deliver>
bool drain(FrameDecoder& decoder, const char* from, Io& io, Deliver deliver) {
  while (true) {
    auto body = decoder.next();
    if (!body) {
      std::fprintf(stderr, "rewind-dap: from %s: %s\n", from, body.error().message.c_str());
      return false;
    }
    if (!*body) return true;
    io.log(from, **body);
    json message = json::parse(**body, nullptr, /*allow_exceptions=*/false);
    if (message.is_discarded() || !message.is_object()) {
      std::fprintf(stderr, "rewind-dap: from %s: a message that is not a JSON object, skipped\n",
                   from);
      continue;
    }
    deliver(std::move(message));
  }
}

// Reads what is there; false at end of file or on an error.
bool read_into(int fd, FrameDecoder& decoder) {
  char buf[65536];
  ssize_t n;
  do n = ::read(fd, buf, sizeof buf);
  while (n < 0 && errno == EINTR);
  if (n <= 0) return false;
  decoder.append(std::string_view(buf, n));
  return true;
}

int run(const Config& config) {
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  for (int s : {SIGTERM, SIGINT, SIGHUP}) sigaddset(&stop_signals, s);
  sigprocmask(SIG_BLOCK, &stop_signals, nullptr);
  ScopedFd signals(::signalfd(-1, &stop_signals, SFD_CLOEXEC));
  ::signal(SIGPIPE, SIG_IGN);

  Io io(config);
  Proxy proxy(config, io);
  bool client_eof = false;
  while (!proxy.done() && !client_eof && io.client_open_) {
    struct pollfd fds[4];
    int n = 0;
    fds[n++] = {signals.get(), POLLIN, 0};
    fds[n++] = {0, POLLIN, 0};
    int server_out = -1, server_in = -1;
    if (io.child_) {
      server_out = n;
      fds[n++] = {io.child_->from_child(), POLLIN, 0};
      if (!io.to_server_.empty()) {
        server_in = n;
        fds[n++] = {io.child_->to_child(), POLLOUT, 0};
      }
    }
    if (::poll(fds, n, -1) < 0) {
      if (errno == EINTR) continue;
      std::perror("rewind-dap: poll");
      return 1;
    }
    if (fds[0].revents) {
      std::fprintf(stderr, "rewind-dap: stopped by a signal; ending lldb-dap\n");
      return 1;
    }
    if (server_in >= 0 && fds[server_in].revents) {
      ssize_t w = ::write(io.child_->to_child(), io.to_server_.data(), io.to_server_.size());
      if (w > 0) io.to_server_.erase(0, w);
      // EPIPE: lldb-dap is gone; its output's end of file says so below.
    }
    if (server_out >= 0 && fds[server_out].revents) {
      bool open = read_into(io.child_->from_child(), io.from_server_);
      bool sane =
          drain(io.from_server_, "lldb-dap", io, [&](json m) { proxy.from_server(std::move(m)); });
      if (!open || !sane) {
        std::string how = io.child_->stop(kChildGraceMs);
        io.child_.reset();
        bool expected = proxy.done();
        proxy.server_gone(how);
        if (!expected) {
          std::fprintf(stderr, "rewind-dap: lldb-dap exited (%s); exiting\n", how.c_str());
          return 1;
        }
      }
    }
    if (fds[1].revents) {
      client_eof = !read_into(0, io.from_client_);
      if (!drain(io.from_client_, "client", io, [&](json m) { proxy.from_client(std::move(m)); }))
        return 1;
    }
  }
  // After `disconnect` lldb-dap exits by itself; at the client's end of file
  // it is told by its own end of file. Either way, wait for it.
  if (io.child_) io.child_->stop(kChildGraceMs);
  return 0;
}

}  // namespace
}  // namespace rwd::dap

int main(int argc, char** argv) {
  if (argc > 1) {
    std::fprintf(stderr,
                 "usage: rewind-dap\n"
                 "A Debug Adapter Protocol server (on stdin/stdout) for rewind traces; "
                 "see docs/dap.md.\n");
    return argc == 2 && (std::strcmp(argv[1], "-h") == 0 || std::strcmp(argv[1], "--help") == 0)
               ? 0
               : 2;
  }
  return rwd::dap::run(rwd::dap::config_from_environment());
}
