#include "core/record/PerfWarmup.h"

#include <linux/perf_event.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace rwd {

void PerfWarmup::start() {
  if (thread_.joinable()) return;
  thread_ = std::thread([this] {
    perf_event_attr attr = {};
    attr.size = sizeof attr;
    attr.type = PERF_TYPE_SOFTWARE;
    attr.config = PERF_COUNT_SW_CONTEXT_SWITCHES;
    attr.disabled = 1;
    event_ = ScopedFd(
        static_cast<int>(syscall(SYS_perf_event_open, &attr, 0, -1, -1, PERF_FLAG_FD_CLOEXEC)));
  });
}

PerfWarmup::~PerfWarmup() {
  if (thread_.joinable()) thread_.join();
}

}  // namespace rwd
