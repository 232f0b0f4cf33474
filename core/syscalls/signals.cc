// Signal-related output rules: what a signal that interrupts a sleep leaves
// behind. (The signal syscalls' own outputs, such as rt_sigaction's old
// action, are generic table rules.)
#include <time.h>

#include <cerrno>

#include "core/syscalls/Handlers.h"

namespace rwd::sys {

bool interrupted(int64_t ret) {
  // include/linux/errno.h; never visible to user space, only to a tracer.
  constexpr int64_t kErestartsys = 512, kErestartnointr = 513, kErestartnohand = 514,
                    kErestartRestartblock = 516;
  switch (-ret) {
    case EINTR:
    case kErestartsys:
    case kErestartnointr:
    case kErestartnohand:
    case kErestartRestartblock:
      return true;
    default:
      return false;
  }
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
