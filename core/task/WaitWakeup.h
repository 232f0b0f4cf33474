// Waiting for a task that may never stop. Replay runs a thread toward a
// point the recorder preempted it at, found by its registers and memory
// (no-pmu.md): if replay misses the point, the thread runs on, and one that
// spins on another thread's progress, which replay holds back, never stops.
// A PeriodicWakeup interrupts the waiting thread's waitpid() now and then,
// so it can look at how far the task ran and give up with an error.
#pragma once

#include <signal.h>
#include <time.h>

#include <chrono>
#include <optional>

#include "core/base/Error.h"
#include "core/task/Ptrace.h"

namespace rwd {

// While it lives, the calling thread gets a signal (with a handler that does
// nothing, installed without SA_RESTART) every `period`, which makes its
// blocking syscalls return EINTR. One owner: not copyable.
class PeriodicWakeup {
 public:
  static Result<PeriodicWakeup> start(std::chrono::milliseconds period);
  PeriodicWakeup(PeriodicWakeup&& other) noexcept;
  PeriodicWakeup& operator=(PeriodicWakeup&&) = delete;
  PeriodicWakeup(const PeriodicWakeup&) = delete;
  ~PeriodicWakeup();

 private:
  explicit PeriodicWakeup(timer_t timer) : timer_(timer) {}
  std::optional<timer_t> timer_;
};

// waitpid(tid, __WALL) that returns nullopt when a signal interrupts it.
Result<std::optional<WaitResult>> wait_interruptible(pid_t tid);

}  // namespace rwd
