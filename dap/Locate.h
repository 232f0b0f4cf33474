// Where rewind-dap finds lldb-dap and the rewind LLDB plugin. main() reads the
// environment once into a Config; everything else takes it as an argument.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/base/Error.h"

namespace rwd::dap {

struct Config {
  std::string self_exe;                      // this executable, symlinks resolved
  std::string path_env;                      // $PATH
  std::optional<std::string> lldb_dap_env;   // $REWIND_LLDB_DAP
  std::optional<std::string> plugin_env;     // $REWIND_LLDB_PLUGIN
  std::vector<std::string> plugin_defaults;  // compiled in: build tree, then install prefix
  std::string log_path;                      // $REWIND_DAP_LOG: every message, both ways
};

Config config_from_environment();

// `requested` is the launch configuration's "lldbDapPath" ("rewindPlugin"),
// when it has one. An explicit choice that does not exist is an error, not a
// reason to fall back: the user would debug with something they did not ask
// for.
Result<std::string> find_lldb_dap(const Config& config,
                                  const std::optional<std::string>& requested);
Result<std::string> find_plugin(const Config& config, const std::optional<std::string>& requested);

}  // namespace rwd::dap
