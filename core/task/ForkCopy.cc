#include "core/task/ForkCopy.h"

#include <sys/syscall.h>

#include "core/base/Log.h"
#include "core/task/RemoteSyscall.h"

namespace rwd {

Result<std::unique_ptr<Task>> fork_stopped_copy(Task& from) {
  auto regs = from.get_regs();
  if (!regs) return regs.error();
  from.injected_child = 0;
  {
    AutoRemoteSyscalls remote(from);
    auto r = remote.syscall(SYS_fork);
    if (!r) return r.error();
    if (*r < 0) return Error::from_errno("fork of a traced process", static_cast<int>(-*r));
  }
  const pid_t child = from.injected_child;
  if (!child) return Error{"an injected fork reported no child"};
  auto as = std::make_shared<AddressSpace>();
  auto copy = std::make_unique<Task>(from.rec_tid(), child, as);
  // The child is auto-attached (PTRACE_O_TRACEFORK) and starts with a
  // SIGSTOP, which is its stop from now on.
  auto w = copy->wait();
  if (!w) return w.error();
  if (w->status.kind() != WaitStatus::Kind::SignalDeliveryStop || w->status.stop_sig() != SIGSTOP)
    return Error{"a forked copy did not start with SIGSTOP"};
  REWIND_TRY(as->open_for(child));
  as->inherit_from_fork(from.as());
  REWIND_TRY(copy->set_regs(*regs));
  REWIND_TRY(as->remove_inherited_breakpoints(from.as()));
  REWIND_LOG(Replay, "forked copy %d of %d", child, from.real_tid());
  return copy;
}

}  // namespace rwd
