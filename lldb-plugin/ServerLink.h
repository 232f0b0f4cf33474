// The replay server the plugin starts for `rewind replay`: a child
// `rewind replay --stdio TRACE`, spoken to over a socketpair, so that no
// socket listens and no other process can take the connection (the same
// reason the gdb launcher runs the server as gdb's pipe command).
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace rwd::lldb_plugin {

struct ServerLink {
  int fd = -1;  // LLDB's end of the connection; LLDB owns it once connected
  // The recorded path of the debugged process's executable, and every
  // file the trace holds a copy of: (recorded path, the copy).
  std::string exe;
  std::vector<std::pair<std::string, std::string>> copies;
};

// The `rewind` executable: $REWIND_EXE, the build tree's next to this
// plugin, the installed one, or `rewind` on PATH.
std::string find_rewind();

// Starts `rewind replay --stdio ARGS...` in its own process group (Ctrl-C
// in LLDB's terminal must reach LLDB, which interrupts over the protocol,
// not the server) and asks it which files the trace holds. Blocks until
// the server has replayed to where the debugger starts. On failure,
// returns false and sets `error`.
bool start_server(const std::string& rewind, const std::vector<std::string>& args, ServerLink& link,
                  std::string& error);

// A private directory (0700) under $TMPDIR that mirrors the recorded paths
// with symlinks to the trace's copies, so that LLDB, which loads symbols
// from local paths, reads the recorded binaries; removed when LLDB exits.
bool make_sysroot(const ServerLink& link, std::string& dir, std::string& error);

}  // namespace rwd::lldb_plugin
