#include "cli/Progress.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>

#include "core/base/Units.h"

namespace rwd::cli {

ProgressLine::ProgressLine(std::string label) : label_(std::move(label)), tty_(isatty(2) == 1) {}

ProgressLine::~ProgressLine() {
  if (shown_) fputs("\r\033[K", stderr);
}

namespace {

// The terminal's width, so that the line never wraps (a wrapped line is
// not erased by \r\033[K); 80 when unknown.
size_t terminal_columns() {
  winsize ws{};
  if (ioctl(2, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) return ws.ws_col;
  return 80;
}

}  // namespace

void ProgressLine::update(const char* phase, uint64_t done, uint64_t total) {
  if (!tty_) return;
  const auto now = std::chrono::steady_clock::now();
  const bool finished = total && done >= total;
  if (shown_ && now - last_ < std::chrono::milliseconds(100) && !finished) return;
  last_ = now;
  shown_ = true;
  std::string line = label_ + ": " + phase;
  if (total) {
    const uint64_t pct = std::min<uint64_t>(100, done * 100 / total);
    constexpr size_t kBar = 20;
    const size_t filled = static_cast<size_t>(pct * kBar / 100);
    char tail[64];
    snprintf(tail, sizeof tail, "] %3llu%%  ", static_cast<unsigned long long>(pct));
    line += " [" + std::string(filled, '#') + std::string(kBar - filled, '.') + tail +
            human_bytes(done) + " of " + human_bytes(total);
  } else {
    line += " " + human_bytes(done);
  }
  // Keep the end (the numbers) when the label is too long for the terminal.
  const size_t cols = terminal_columns();
  if (cols > 10 && line.size() >= cols) line = "..." + line.substr(line.size() - (cols - 4));
  fprintf(stderr, "\r\033[K%s", line.c_str());
}

}  // namespace rwd::cli
