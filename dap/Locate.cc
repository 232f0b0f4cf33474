#include "dap/Locate.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

namespace rwd::dap {
namespace {

namespace fs = std::filesystem;

std::optional<std::string> env(const char* name) {
  const char* v = std::getenv(name);
  if (!v || !*v) return std::nullopt;
  return std::string(v);
}

bool is_executable_file(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(path.c_str(), X_OK) == 0;
}

bool is_file(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

// A name without a slash is looked up on $PATH, as execvp would.
std::optional<std::string> resolve_program(const std::string& name, const std::string& path_env) {
  if (name.find('/') != std::string::npos)
    return is_executable_file(name) ? std::optional(name) : std::nullopt;
  size_t start = 0;
  while (start <= path_env.size()) {
    size_t colon = path_env.find(':', start);
    std::string dir = path_env.substr(start, colon == std::string::npos ? colon : colon - start);
    std::string candidate = (dir.empty() ? std::string(".") : dir) + "/" + name;
    if (is_executable_file(candidate)) return candidate;
    if (colon == std::string::npos) break;
    start = colon + 1;
  }
  return std::nullopt;
}

constexpr const char* kPluginName = "librewind-lldb.so";

}  // namespace

Config config_from_environment() {
  Config c;
  std::error_code ec;
  c.self_exe = fs::read_symlink("/proc/self/exe", ec).string();
  c.path_env = env("PATH").value_or("/usr/local/bin:/usr/bin:/bin");
  c.lldb_dap_env = env("REWIND_LLDB_DAP");
  c.plugin_env = env("REWIND_LLDB_PLUGIN");
  // Passed by dap/CMakeLists.txt: the plugin as built in this build tree,
  // and where `cmake --install` puts it.
  c.plugin_defaults = {REWIND_DAP_BUILD_PLUGIN, REWIND_DAP_INSTALLED_PLUGIN};
  c.log_path = env("REWIND_DAP_LOG").value_or("");
  return c;
}

Result<std::string> find_lldb_dap(const Config& config,
                                  const std::optional<std::string>& requested) {
  if (requested) {
    if (auto p = resolve_program(*requested, config.path_env)) return *p;
    return Error{"\"lldbDapPath\": " + *requested + " is not an executable file"};
  }
  if (config.lldb_dap_env) {
    if (auto p = resolve_program(*config.lldb_dap_env, config.path_env)) return *p;
    return Error{"REWIND_LLDB_DAP=" + *config.lldb_dap_env + " is not an executable file"};
  }
  for (const char* name : {"lldb-dap-22", "lldb-dap"})
    if (auto p = resolve_program(name, config.path_env)) return *p;
  return Error{
      "cannot find lldb-dap-22 or lldb-dap on PATH: install LLDB 22 (scripts/setup.sh does), "
      "or set REWIND_LLDB_DAP to the lldb-dap executable"};
}

Result<std::string> find_plugin(const Config& config, const std::optional<std::string>& requested) {
  if (requested) {
    if (is_file(*requested)) return *requested;
    return Error{"\"rewindPlugin\": " + *requested + " does not exist"};
  }
  if (config.plugin_env) {
    if (is_file(*config.plugin_env)) return *config.plugin_env;
    return Error{"REWIND_LLDB_PLUGIN=" + *config.plugin_env + " does not exist"};
  }
  // Next to this executable first, so a build tree uses its own plugin and an
  // installed (or moved) copy its own: build/dap/rewind-dap finds
  // build/lldb-plugin/, PREFIX/bin/rewind-dap finds PREFIX/lib/....
  std::vector<std::string> candidates;
  if (!config.self_exe.empty()) {
    fs::path prefix = fs::path(config.self_exe).parent_path().parent_path();
    candidates.push_back((prefix / "lldb-plugin" / kPluginName).string());
    candidates.push_back((prefix / "lib/x86_64-linux-gnu/rewind" / kPluginName).string());
  }
  candidates.insert(candidates.end(), config.plugin_defaults.begin(), config.plugin_defaults.end());
  for (const auto& c : candidates)
    if (is_file(c)) return c;
  std::string tried;
  for (const auto& c : candidates) tried += "\n  " + c;
  return Error{"cannot find the rewind LLDB plugin (" + std::string(kPluginName) +
               "); build it with rewind (it is build/lldb-plugin/librewind-lldb.so), or set "
               "\"rewindPlugin\" in the launch "
               "configuration or REWIND_LLDB_PLUGIN. Tried:" +
               tried};
}

}  // namespace rwd::dap
