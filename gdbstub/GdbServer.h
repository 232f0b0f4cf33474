// The gdb Remote Serial Protocol server: lets gdb (or LLDB) debug a replay
// over TCP ("target remote 127.0.0.1:PORT"). It sees the replay only through
// target::Target.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "core/api/Target.h"
#include "core/base/Error.h"

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

  // Binds and listens; returns the port, which matters when options.port
  // was 0.
  Result<uint16_t> listen();
  // Accepts one client and serves it until it detaches, kills or
  // disconnects; any of those ends it with success.
  Result<void> serve_one_client();

 private:
  // Keeps Asio out of this header, which front ends include.
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace rwd::gdbstub
