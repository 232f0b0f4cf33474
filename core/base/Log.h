// Logging by category, switched on at run time with REWIND_LOG=ptrace,wait,...
// (or REWIND_LOG=all). When a category is off, a log statement costs one
// branch on a bit already in a register-friendly global mask.
#pragma once

#include <cstdarg>
#include <cstdint>

namespace rwd {

enum class LogCategory : uint32_t {
  Ptrace = 1u << 0,
  Wait = 1u << 1,
  Syscall = 1u << 2,
  Trace = 1u << 3,
  Record = 1u << 4,
  Replay = 1u << 5,
  Sched = 1u << 6,
  Packets = 1u << 7,
};

// Set once from main() (parse_log_env); read-only afterwards.
extern uint32_t g_log_mask;

void parse_log_env();
inline bool log_enabled(LogCategory c) {
  return g_log_mask & static_cast<uint32_t>(c);
}
void log_write(LogCategory c, const char* fmt, ...) __attribute__((format(printf, 2, 3)));

// User-facing warnings ("rewind: warning: ...") always go to stderr.
void warn(const char* fmt, ...) __attribute__((format(printf, 1, 2)));

}  // namespace rwd

#define REWIND_LOG(cat, ...)                                  \
  do {                                                        \
    if (::rwd::log_enabled(::rwd::LogCategory::cat))          \
      ::rwd::log_write(::rwd::LogCategory::cat, __VA_ARGS__); \
  } while (0)
