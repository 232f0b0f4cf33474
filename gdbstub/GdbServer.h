// The gdb Remote Serial Protocol server: lets gdb (or LLDB) debug a replay.
// It sees the replay only through target::Target. Three ways in, one
// Connection for all of them:
//  - a stream the caller already holds: gdb's "target extended-remote |
//    rewind replay --stdio" runs rewind with the protocol on its stdin and
//    stdout, so nothing listens at all;
//  - a Unix socket in a directory only the user can enter (LLDB, which
//    cannot run a command as its connection);
//  - TCP, for "rewind replay -s PORT".
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "core/api/Target.h"
#include "core/base/Error.h"
#include "core/base/Fd.h"

namespace rwd::gdbstub {

struct ServerOptions {
  // Loopback by default: the protocol has no authentication, and anyone who
  // can connect can read the recorded program's memory and files.
  std::string host = "127.0.0.1";
  uint16_t port = 0;  // 0: let the kernel pick a free port
};

class GdbServer {
 public:
  GdbServer(target::Target& target, const ServerOptions& options);
  ~GdbServer();
  GdbServer(const GdbServer&) = delete;
  GdbServer& operator=(const GdbServer&) = delete;

  // Binds and listens on options.host:options.port; returns the port,
  // which matters when options.port was 0.
  Result<uint16_t> listen();
  // Binds and listens on a Unix socket at `path`, which must not exist.
  // Who may connect is decided by the directory holding it, which the
  // caller makes private (mode 0700). The socket file is removed as soon as
  // one client is accepted, or when the server goes.
  Result<void> listen_unix(const std::string& path);
  // Accepts one client on what listen() or listen_unix() opened and serves
  // it until it detaches, kills or disconnects; any of those ends it with
  // success. Listening stops at the accept: nobody else gets in.
  Result<void> serve_one_client();
  // Serves a client already connected through `input` and `output`: two
  // distinct descriptors, such as a copy of stdin and of stdout.
  Result<void> serve_stream(ScopedFd input, ScopedFd output);

 private:
  // Keeps Asio out of this header, which front ends include.
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace rwd::gdbstub
