#include "core/task/WaitWakeup.h"

#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <mutex>

#include "core/base/Log.h"

namespace rwd {

namespace {

// A real-time signal nothing else in rewind uses; glibc keeps the first
// ones below SIGRTMIN for itself.
int wakeup_signal() {
  return SIGRTMAX - 1;
}

void ignore_wakeup(int) {}

Result<void> install_handler() {
  static std::once_flag once;
  static int err = 0;
  std::call_once(once, [] {
    struct sigaction sa = {};
    sa.sa_handler = ignore_wakeup;  // no SA_RESTART: waitpid returns EINTR
    sigemptyset(&sa.sa_mask);
    if (sigaction(wakeup_signal(), &sa, nullptr) < 0) err = errno;
  });
  if (err) return Error{std::string("sigaction: ") + strerror(err)};
  return ok_result();
}

}  // namespace

Result<PeriodicWakeup> PeriodicWakeup::start(std::chrono::milliseconds period) {
  REWIND_TRY(install_handler());
  sigevent sev = {};
  sev.sigev_notify = SIGEV_THREAD_ID;
  sev.sigev_signo = wakeup_signal();
  sev._sigev_un._tid = static_cast<pid_t>(syscall(SYS_gettid));
  timer_t timer;
  if (timer_create(CLOCK_MONOTONIC, &sev, &timer) < 0) return Error::from_errno("timer_create");
  PeriodicWakeup w(timer);
  const auto s = std::chrono::duration_cast<std::chrono::seconds>(period);
  const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(period - s);
  itimerspec its = {};
  its.it_value.tv_sec = its.it_interval.tv_sec = s.count();
  its.it_value.tv_nsec = its.it_interval.tv_nsec = ns.count();
  if (timer_settime(timer, 0, &its, nullptr) < 0) return Error::from_errno("timer_settime");
  return w;
}

PeriodicWakeup::PeriodicWakeup(PeriodicWakeup&& other) noexcept
    : timer_(std::exchange(other.timer_, std::nullopt)) {}

PeriodicWakeup::~PeriodicWakeup() {
  if (timer_) timer_delete(*timer_);
}

Result<std::optional<WaitResult>> wait_interruptible(pid_t tid) {
  int status = 0;
  const pid_t r = waitpid(tid, &status, __WALL);
  if (r < 0 && errno == EINTR) return std::optional<WaitResult>();
  if (r < 0) return Error::from_errno("waitpid(" + std::to_string(tid) + ")");
  REWIND_LOG(Wait, "waitpid(%d) -> tid %d status 0x%x", tid, r, status);
  return std::optional<WaitResult>(WaitResult{r, WaitStatus(status)});
}

}  // namespace rwd
