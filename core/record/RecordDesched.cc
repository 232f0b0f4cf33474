// The desched events' fds (BufHeader::desched_fd, preload/abi.h) are the
// preload library's, not the program's: natively the program has no such
// fd. Here the recorder keeps the program from touching them and keeps the
// library from using a number the program has taken back.
//
// The library opens a thread's event unseen, at the top of the fd limit
// (preload.cc move_fd_up), and never hears of what the program does to
// that number through a traced syscall, or another thread's library through
// a buffered one. Two cases:
//  - The program names the fd itself (closes it, copies it, changes its
//    flags): natively that fails with EBADF, so it fails so here too (the
//    library says so for its buffered syscalls, preload.cc own_fd; the
//    recorder for traced ones, below). A copy would outlive execve, and
//    cleared O_ASYNC or FD_CLOEXEC would break the event.
//  - The program closes or replaces a range of numbers that happens to
//    cover it (close_range(3, ~0U, 0), dup2 onto it), or a thread closes
//    another thread's (the library knows only its own). Natively those
//    numbers were free, and the call succeeds either way. The call is let
//    through: the event is closed, the program then finds every number in
//    the range free, as natively, and its next open may get the event's old
//    number. The recorder clears the header's desched_fd, so that the
//    library opens a fresh event the next time it needs one (instead of
//    arming the program's file), and drops its own duplicate, which would
//    otherwise stand for a new event at the same number. Keeping the event
//    open instead (closing the rest of the range around it, moving it away
//    from a dup2's target) would take injected syscalls, and still leave a
//    number taken that the program just saw freed.
// The header is not program state and not in the trace: replay's library
// never opens an event, and state hashes leave the buffer out, so replay is
// unchanged.
#include <linux/close_range.h>
#include <linux/kcmp.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstddef>

#include "core/record/RecordSession.h"
#include "preload/abi.h"

namespace rwd {

using namespace syscallbuf;

namespace {

// Whether o is a thread of t's process that uses t's fd table: threads
// share one (CLONE_FILES) unless one of them called close_range with
// CLOSE_RANGE_UNSHARE. kcmp (CONFIG_KCMP) tells exactly; without it, they
// are taken to share. (Processes that share a table without being one
// process, clone(CLONE_FILES) without CLONE_THREAD, are not looked at.)
bool shares_fd_table(const RecTask& t, const RecTask& o) {
  if (&t == &o) return true;
  if (t.tgid != o.tgid) return false;
  const long r = syscall(SYS_kcmp, t.task->real_tid(), o.task->real_tid(), KCMP_FILES, 0, 0);
  return r < 0 || r == 0;
}

// The traced syscalls that would close the fd in their first argument,
// copy it, or change its flags or owner (ioctl FIONCLEX, fcntl F_SETFL,
// F_SETOWN).
bool acts_on_fd_arg0(int64_t nr) {
  switch (nr) {
    case SYS_close:
    case SYS_dup:
    case SYS_dup2:
    case SYS_dup3:
    case SYS_fcntl:
    case SYS_ioctl:
      return true;
    default:
      return false;
  }
}

}  // namespace

// The number of o's desched event in its fd table, -1 if it has none of its
// own. (A fork child's copy of the header names its parent's event; a vfork
// child shares the header with its parent, whose event is not in the
// child's table either.) A thread whose memory is gone (it is exiting) will
// use no event again: -1 too.
int RecordSession::own_desched_fd(RecTask& o) {
  if (!o.syscallbuf) return -1;
  int32_t fd_tid[2];
  static_assert(offsetof(BufHeader, desched_tid) == offsetof(BufHeader, desched_fd) + 4);
  if (!o.task->read_mem(RemotePtr(o.syscallbuf + offsetof(BufHeader, desched_fd)), fd_tid,
                        sizeof fd_tid))
    return -1;
  if (fd_tid[0] <= 0 || fd_tid[1] != o.task->real_tid()) return -1;
  return fd_tid[0] - 1;
}

// At the entry of a traced syscall: whether it names a desched event's fd
// of t's fd table, as its first argument. It then fails with EBADF.
bool RecordSession::names_desched_fd(RecTask& t, int64_t nr, uint64_t arg) {
  const int fd = static_cast<int>(arg);  // the kernel reads an unsigned int
  if (!acts_on_fd_arg0(nr) || fd < 0) return false;
  for (auto& [tid, o] : tasks_) {
    if (!o->syscallbuf || o->tgid != t.tgid) continue;
    if (own_desched_fd(*o) == fd && shares_fd_table(t, *o)) return true;
  }
  return false;
}

// Fds [lo, hi) of t's fd table were closed or replaced: the desched events
// among them are gone. Their threads' libraries open new ones when they next
// need them.
Result<void> RecordSession::desched_fds_closed(RecTask& t, uint64_t lo, uint64_t hi) {
  for (auto& [tid, o] : tasks_) {
    if (!o->syscallbuf || o->tgid != t.tgid) continue;
    const int own = own_desched_fd(*o);
    const bool in_range =
        own >= 0 && static_cast<uint64_t>(own) >= lo && static_cast<uint64_t>(own) < hi;
    if (!in_range || !shares_fd_table(t, *o)) continue;
    const int32_t none[2] = {0, 0};
    REWIND_TRY(o->task->write_mem(RemotePtr(o->syscallbuf + offsetof(BufHeader, desched_fd)), none,
                                  sizeof none));
    o->desched.reset();
    o->desched_fd = -1;
  }
  return ok_result();
}

// At the exit of a traced syscall: the fds it closed or replaced, as far as
// desched events go. close_range with CLOSE_RANGE_CLOEXEC closes nothing
// (and the events have FD_CLOEXEC already); with CLOSE_RANGE_UNSHARE it
// closes them in t's new table only, which shares_fd_table tells apart.
Result<void> RecordSession::desched_after_syscall(RecTask& t, const sys::SyscallArgs& a) {
  if (sys::is_error(a.ret)) return ok_result();
  switch (a.nr) {
    case SYS_close:  // (the kernel reads fds as unsigned ints)
      return desched_fds_closed(t, uint32_t(a.a[0]), uint64_t{uint32_t(a.a[0])} + 1);
    case SYS_dup2:
    case SYS_dup3:
      if (uint32_t(a.a[0]) == uint32_t(a.a[1])) return ok_result();  // dup2(fd, fd)
      return desched_fds_closed(t, uint32_t(a.a[1]), uint64_t{uint32_t(a.a[1])} + 1);
    case SYS_close_range: {
      if (a.a[2] & CLOSE_RANGE_CLOEXEC) return ok_result();
      const uint64_t lo = static_cast<uint32_t>(a.a[0]), hi = static_cast<uint32_t>(a.a[1]);
      return desched_fds_closed(t, lo, hi + 1);
    }
    default:
      return ok_result();
  }
}

}  // namespace rwd
