// rewind replay's parsed options (cli/ReplayCommand.cc parses them), and
// the debugger launchers that take them (cli/DebuggerLaunch.cc).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/api/Replay.h"

namespace rwd::cli {

struct ReplayArgs {
  bool autopilot = false;
  api::ReplayOptions options;
  std::string trace;
  std::optional<uint16_t> server_port;  // -s
  std::optional<std::string> host;      // --host, with -s
  bool stdio = false;                   // --stdio
  std::string debugger = "gdb";
  uint64_t goto_event = 0;  // -g, or the last event with -e
  pid_t pid = 0;            // -p / -f
  bool from_fork = false;
  bool at_end = false;                                          // -e
  std::string command_file;                                     // -x
  std::vector<std::string> debugger_args;                       // after --
  unsigned jobs = 0;                                            // --jobs, with -a
  std::optional<std::pair<uint64_t, uint64_t>> verify_stretch;  // a --jobs worker
};

bool is_lldb(const std::string& debugger);
// Runs gdb (or LLDB) on the replay of `dir` and returns its exit code.
int debug_in_gdb(const ReplayArgs& a, const std::filesystem::path& dir);
int debug_in_lldb(const ReplayArgs& a, const std::filesystem::path& dir);

}  // namespace rwd::cli
