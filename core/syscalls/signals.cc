// Signal-related output rules: what a signal that interrupts a sleep leaves
// behind. (The signal syscalls' own outputs, such as rt_sigaction's old
// action, are generic table rules.)
#include <time.h>

#include <cerrno>

#include "core/syscalls/Handlers.h"

namespace rwd::sys {

bool interrupted(int64_t ret) {
  return ret == -EINTR || is_restart(ret);
}

// nanosleep(req, rem): kernel/time/hrtimer.c nanosleep_copyout() stores the
// time left in rem only when a signal cuts the sleep short (the tracer sees
// -ERESTART_RESTARTBLOCK). Nothing is written on success.
void nanosleep_outputs(const SyscallArgs& a, TraceeMemoryReader&, std::vector<OutRange>& out) {
  if (interrupted(a.ret)) add(out, a.a[1], sizeof(timespec));
}

// clock_nanosleep(clock, flags, req, rem): as nanosleep, except that an
// absolute sleep (TIMER_ABSTIME) never writes rem.
void clock_nanosleep_outputs(const SyscallArgs& a, TraceeMemoryReader&,
                             std::vector<OutRange>& out) {
  if (interrupted(a.ret) && !(a.a[1] & TIMER_ABSTIME)) add(out, a.a[3], sizeof(timespec));
}

}  // namespace rwd::sys
