// The recorder's half of syscall buffering (preload/abi.h): answering the
// preload library's own syscalls, taking each thread's buffered syscalls
// into the trace with its next event, and handing a buffered syscall that
// blocked over to the traced path.
#include <linux/perf_event.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core/base/Log.h"
#include "core/record/RecordSession.h"
#include "core/record/SyscallPatch.h"
#include "preload/abi.h"

namespace rwd {

using namespace syscallbuf;

namespace {

// The kernel's restart codes, seen in rax at a stop that interrupted a
// syscall (include/linux/errno.h).
bool is_restart_code(int64_t ret) {
  return ret == -512 || ret == -513 || ret == -514 || ret == -516;
}

// The recorder's own handle on a tracee's fd (pidfd_getfd, Linux 5.6).
ScopedFd steal_fd(pid_t tgid, int fd) {
  ScopedFd pidfd(static_cast<int>(syscall(SYS_pidfd_open, tgid, 0)));
  if (!pidfd.is_open()) return ScopedFd();
  return ScopedFd(static_cast<int>(syscall(SYS_pidfd_getfd, pidfd.get(), fd, 0)));
}

}  // namespace

Result<void> RecordSession::write_event(trace::Event& e) {
  if (RecTask* t = find(e.tid.value)) REWIND_TRY(flush_syscallbuf(*t, e));
  return writer_.write_event(e);
}

// Takes the records the thread committed since the last flush. The buffer
// is emptied only when the library is not inside a buffered syscall (it
// holds offsets into it then); replay empties it at the same events.
Result<void> RecordSession::flush_syscallbuf(RecTask& t, trace::Event& e) {
  if (!t.syscallbuf) return ok_result();
  BufHeader h;
  if (t.task->as().read_partial(RemotePtr(t.syscallbuf), &h, sizeof h) != sizeof h)
    return ok_result();  // gone with its address space (an exit, an execve)
  if (h.pos > kBufferSize - sizeof h || h.pos < t.buf_flushed)
    return Error{"tid " + std::to_string(t.task->real_tid()) + ": its syscall buffer is corrupt"};
  if (h.pos > t.buf_flushed) {
    e.syscallbuf.resize(h.pos - t.buf_flushed);
    REWIND_TRY(t.task->read_mem(RemotePtr(t.syscallbuf + sizeof h + t.buf_flushed),
                                e.syscallbuf.data(), e.syscallbuf.size()));
  }
  t.buf_flushed = h.pos;
  if (h.locked && !h.want_stop) return ok_result();
  if (!h.locked) h.pos = 0, t.buf_flushed = 0;
  h.want_stop = 0;
  return t.task->write_mem(RemotePtr(t.syscallbuf), &h, sizeof h);
}

// The library's own syscalls, at their exit stop (the kernel answered
// -ENOSYS): the recorder's answer goes in rax and in the event.
Result<void> RecordSession::on_preload_call(RecTask& t, user_regs_struct& regs, trace::Event& e) {
  const int64_t nr = t.syscall_nr;
  const user_regs_struct& a = t.entry_regs;
  int64_t ret = -ENOSYS;
  if (nr == kSysInitPreload && buffering_) {
    auto init = t.task->read_val<PreloadInit>(RemotePtr(a.rdi));
    if (!init) return init.error();
    auto patched = patch_syscall_sites(*t.task, init->entry, init->text_start, init->text_end);
    if (!patched) return patched.error();
    for (trace::MappingRecord& m : patched->stub_pages) {
      m.event = t.entry_event;
      m.tid = t.task->rec_tid();
      REWIND_TRY(writer_.write_mapping(m));
    }
    for (trace::MemWrite& w : patched->writes) e.writes.push_back(std::move(w));
    t.task->as().preload_text = {init->text_start, init->text_end};
    ret = 0;
  } else if (nr == kSysInitThread && buffering_ && a.rsi == kBufferSize) {
    // Without a handle on its desched event the recorder could not stop
    // it from firing at every ptrace stop: no buffer then.
    const int fd = static_cast<int>(a.rdx);
    t.desched = fd >= 0 ? steal_fd(t.tgid, fd) : ScopedFd();
    if (fd < 0 || t.desched.is_open()) {
      t.syscallbuf = a.rdi;
      t.buf_flushed = 0;
      ret = 0;
    } else {
      ret = -EPERM;
    }
  } else if (nr == kSysFlush) {
    ret = 0;
  }
  regs.rax = static_cast<uint64_t>(ret);
  e.regs = regs;
  return t.task->set_regs(regs);
}

// Stopped on the way out of the library's untraced syscall, which a signal
// interrupted: the kernel will restart it unless a handler runs.
bool RecordSession::in_buffered_syscall(const RecTask& t, const user_regs_struct& regs) const {
  return t.syscallbuf && regs.rip == kUntracedSyscallInsn + 2 &&
         static_cast<int64_t>(regs.orig_rax) >= 0 &&
         is_restart_code(static_cast<int64_t>(regs.rax));
}

// A buffered syscall blocked (its desched event fired), or must give way
// to a signal or a preemption: let the kernel restart it as a traced one.
// The task is resumed with PTRACE_SYSCALL, so the restart's entry stop
// comes next and is recorded like any syscall's; the library must then not
// commit a record for it.
Result<void> RecordSession::hand_to_traced(RecTask& t, const user_regs_struct& regs) {
  if (t.desched.is_open()) ioctl(t.desched.get(), PERF_EVENT_IOC_DISABLE, 0);
  const uint32_t one = 1;
  REWIND_TRY(t.task->write_mem(RemotePtr(t.syscallbuf + offsetof(BufHeader, abort_commit)), &one,
                               sizeof one));
  if (static_cast<int64_t>(regs.rax) == -516) {  // ERESTART_RESTARTBLOCK: restart_syscall
    t.restart_nr = static_cast<int64_t>(regs.orig_rax);
    t.restart_regs = regs;
  }
  t.buffered_restart = true;
  REWIND_LOG(Record, "tid %d: buffered %s blocked; it goes the traced way", t.task->real_tid(),
             sys::name(static_cast<int64_t>(regs.orig_rax)).c_str());
  return ok_result();
}

// A preemption inside the preload library, or while the thread is inside a
// buffered syscall, would be a point replay cannot find (the library takes
// other paths there). Ask the library for a stop of its own instead, right
// after it commits.
Result<bool> RecordSession::defer_preemption(RecTask& t, uint64_t pc) {
  if (!t.syscallbuf) return false;
  const auto& text = t.task->as().preload_text;
  BufHeader h;
  REWIND_TRY(t.task->read_mem(RemotePtr(t.syscallbuf), &h, sizeof h));
  if (!h.locked && !(pc >= text.first && pc < text.second)) return false;
  const uint32_t one = 1;
  REWIND_TRY(t.task->write_mem(RemotePtr(t.syscallbuf + offsetof(BufHeader, want_stop)), &one,
                               sizeof one));
  return true;
}

bool RecordSession::is_desched_signal(const RecTask& t, int sig, const siginfo_t& si) const {
  return sig == kDeschedSignal && t.syscallbuf && si.si_code > 0;  // POLL_IN, from F_SETSIG
}

// Buffers of the threads that share t's memory: state hashes leave them out,
// since replay fills them ahead of the library.
std::vector<sys::OutRange> RecordSession::buffers_of(const RecTask& t) const {
  std::vector<sys::OutRange> out;
  for (const auto& [tid, o] : tasks_)
    if (o->syscallbuf && &o->task->as() == &t.task->as())
      out.push_back({o->syscallbuf, kBufferSize});
  return out;
}

}  // namespace rwd
