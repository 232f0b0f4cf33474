// Sizes and durations as rewind's messages print them.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>

namespace rwd {

// "512 B", "12.5 KiB", "3.1 MiB", "12.0 GiB".
inline std::string human_bytes(uint64_t b) {
  char buf[32];
  if (b < 10 * 1024)
    snprintf(buf, sizeof buf, "%llu B", (unsigned long long)b);
  else if (b < 10ull * 1024 * 1024)
    snprintf(buf, sizeof buf, "%.1f KiB", b / 1024.0);
  else if (b < 10ull * 1024 * 1024 * 1024)
    snprintf(buf, sizeof buf, "%.1f MiB", b / (1024.0 * 1024));
  else
    snprintf(buf, sizeof buf, "%.1f GiB", b / (1024.0 * 1024 * 1024));
  return buf;
}

// "1.5 s".
inline std::string seconds(double s) {
  char buf[32];
  snprintf(buf, sizeof buf, "%.1f s", s);
  return buf;
}

}  // namespace rwd
