#include "core/base/Log.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace rwd {

uint32_t g_log_mask = 0;

namespace {
struct CategoryName {
  const char* name;
  LogCategory cat;
};
constexpr CategoryName kNames[] = {
    {"ptrace", LogCategory::Ptrace},   {"wait", LogCategory::Wait},
    {"syscall", LogCategory::Syscall}, {"trace", LogCategory::Trace},
    {"record", LogCategory::Record},   {"replay", LogCategory::Replay},
    {"sched", LogCategory::Sched},     {"packets", LogCategory::Packets},
};
const char* name_of(LogCategory c) {
  for (auto& n : kNames)
    if (n.cat == c) return n.name;
  return "?";
}
}  // namespace

void parse_log_env() {
  const char* env = std::getenv("REWIND_LOG");
  if (!env) return;
  std::string s(env);
  size_t pos = 0;
  while (pos <= s.size()) {
    size_t comma = s.find(',', pos);
    std::string item = s.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
    if (item == "all") g_log_mask = ~0u;
    for (auto& n : kNames)
      if (item == n.name) g_log_mask |= static_cast<uint32_t>(n.cat);
    if (comma == std::string::npos) break;
    pos = comma + 1;
  }
}

void log_write(LogCategory c, const char* fmt, ...) {
  // Seconds since the first line: enough to see where a slow operation
  // spends its time.
  using Clock = std::chrono::steady_clock;
  static const Clock::time_point first = Clock::now();
  const double t = std::chrono::duration<double>(Clock::now() - first).count();
  std::fprintf(stderr, "[%s %.6f] ", name_of(c), t);
  va_list ap;
  va_start(ap, fmt);
  std::vfprintf(stderr, fmt, ap);
  va_end(ap);
  std::fputc('\n', stderr);
}

void warn(const char* fmt, ...) {
  std::fputs("rewind: warning: ", stderr);
  va_list ap;
  va_start(ap, fmt);
  std::vfprintf(stderr, fmt, ap);
  va_end(ap);
  std::fputc('\n', stderr);
}

}  // namespace rwd
