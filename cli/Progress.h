// A progress bar on stderr for the commands that work through bytes (pack,
// bundle); sizes as core/base/Units.h prints them.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace rwd::cli {

// One line on stderr, only when stderr is a terminal:
//   LABEL: compressing [########............]  41%  12.0 MiB of 29.3 MiB
// redrawn at most every 100 ms (and when a phase completes), and erased
// when it goes out of scope, before the command prints its summary.
class ProgressLine {
 public:
  explicit ProgressLine(std::string label);
  ProgressLine(const ProgressLine&) = delete;
  ProgressLine& operator=(const ProgressLine&) = delete;
  ~ProgressLine();

  // total 0: the size is not known yet; no bar then, only the bytes.
  void update(const char* phase, uint64_t done, uint64_t total);

 private:
  std::string label_;
  bool tty_;
  bool shown_ = false;
  std::chrono::steady_clock::time_point last_;
};

}  // namespace rwd::cli
