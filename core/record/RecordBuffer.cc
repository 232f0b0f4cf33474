// The recorder's half of syscall buffering (preload/abi.h): answering the
// preload library's own syscalls, taking each thread's buffered syscalls
// into the trace with its next event, and handing a buffered syscall that
// blocked over to the traced path.
#include <linux/perf_event.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <utility>

#include "core/base/Log.h"
#include "core/record/RecordSession.h"
#include "core/record/SyscallPatch.h"
#include "preload/abi.h"

namespace rwd {

using namespace syscallbuf;

namespace {

// What a buffered syscall returns when the signal now at hand interrupted
// it: a restart code, or -EINTR from those the kernel never restarts
// (epoll_wait). The signal is ours (the desched event) or held back, so the
// program must not see either.
bool interrupted_by_signal(int64_t ret) {
  return sys::is_restart(ret) || ret == -EINTR;
}

}  // namespace

ScopedFd steal_tracee_fd(pid_t tgid, int fd) {
  ScopedFd pidfd(static_cast<int>(syscall(SYS_pidfd_open, tgid, 0)));
  if (!pidfd.is_open()) return ScopedFd();
  return ScopedFd(static_cast<int>(syscall(SYS_pidfd_getfd, pidfd.get(), fd, 0)));
}

Result<void> RecordSession::write_event(trace::Event& e) {
  if (RecTask* t = find(e.tid.value)) {
    note_event(t->trap_signals, e);
    t->given_since_event = false;
    if (e.syscallbuf.empty()) e.syscallbuf.swap(syscallbuf_scratch_);
    REWIND_TRY(flush_syscallbuf(*t, e, e.syscallbuf, /*own=*/true));
    if (baton_of(*t)) REWIND_TRY(flush_peers(*t, e));
  }
  auto written = writer_.write_event(e);
  // Keep the records' memory for the next flush (up to 1 MiB: a fresh one
  // would be a fresh mapping, faulted in page by page).
  if (e.syscallbuf.capacity() > syscallbuf_scratch_.capacity()) {
    syscallbuf_scratch_.swap(e.syscallbuf);
    syscallbuf_scratch_.clear();
  }
  return written;
}

// The other threads of t's process take the baton while t runs toward an
// event, and replay runs them alongside toward it: their records go into
// the trace with it (they commit records only while they hold the baton,
// or when the tracer has it, so none is half-written now).
Result<void> RecordSession::flush_peers(RecTask& t, trace::Event& e) {
  for (auto& [tid, o] : tasks_) {
    if (o.get() == &t || !o->syscallbuf || &o->task->as() != &t.task->as()) continue;
    trace::Event::PeerRecords peer{o->task->rec_tid(), {}};
    REWIND_TRY(flush_syscallbuf(*o, e, peer.records, /*own=*/false));
    if (!peer.records.empty()) e.peer_syscallbufs.push_back(std::move(peer));
  }
  return ok_result();
}

// Takes the records the thread committed since the last flush, into
// `bytes`. At the thread's own events (`own`) the buffer is emptied, but
// only when the library is not inside a buffered syscall (it holds offsets
// into it then); replay empties it at the same events.
Result<void> RecordSession::flush_syscallbuf(RecTask& t, trace::Event& e,
                                             std::vector<uint8_t>& bytes, bool own) {
  if (!t.syscallbuf) return ok_result();
  // One read for the header and, most of the time, the new records too: an
  // event usually follows a few small ones (a futex wake, a clock read).
  constexpr size_t kLikelyRecords = 2048;
  // (A thread inside a buffered syscall, a hand-off's, keeps its old
  // records until its next event: then only the header, at first.)
  const size_t want =
      sizeof(BufHeader) + (t.buf_flushed < kLikelyRecords ? t.buf_flushed + kLikelyRecords : 0);
  bytes.resize(std::min<size_t>(want, kRecordsEnd));
  const size_t got = t.task->as().read_partial(RemotePtr(t.syscallbuf), bytes.data(), bytes.size());
  if (got < sizeof(BufHeader)) {
    bytes.clear();
    return ok_result();  // gone with its address space (an exit, an execve)
  }
  BufHeader h;
  memcpy(&h, bytes.data(), sizeof h);
  if (h.pos > kRecordsEnd - sizeof h || h.pos < t.buf_flushed)
    return Error{"tid " + std::to_string(t.task->real_tid()) + ": its syscall buffer is corrupt"};
  const size_t from = sizeof h + t.buf_flushed, to = sizeof h + h.pos;
  if (to > got) {
    bytes.resize(to);
    const size_t at = std::max(got, from);
    REWIND_TRY(t.task->read_mem(RemotePtr(t.syscallbuf + at), bytes.data() + at, to - at));
  }
  bytes.erase(bytes.begin() + static_cast<ptrdiff_t>(to), bytes.end());
  bytes.erase(bytes.begin(), bytes.begin() + static_cast<ptrdiff_t>(from));
  t.buf_flushed = h.pos;
  REWIND_TRY(on_buffered_records(t, bytes, e));
  // Only the words that change, and only when they do: this runs at every
  // event of the thread.
  const bool empty_it = own && !h.locked && h.pos != 0;
  if (empty_it) h.pos = 0, t.buf_flushed = 0;
  if (empty_it) REWIND_TRY(t.task->write_mem(RemotePtr(t.syscallbuf), &h.pos, sizeof h.pos));
  if (!own || !h.want_stop) return ok_result();
  h.want_stop = 0;
  return t.task->write_mem(RemotePtr(t.syscallbuf + offsetof(BufHeader, want_stop)), &h.want_stop,
                           sizeof h.want_stop);
}

// What the recorder must do about some of a thread's new records
// (`records`, as flush_syscallbuf took them), at the event `e` that takes
// them into the trace:
//  - a close: the fd number may name another file now. The library marked it
//    traced in its own header (preload.cc, fd_closed); the process's other
//    threads get the same mark as memory writes of `e`, before any of them
//    runs again, and the recorder forgets what it knew of every fd. If it
//    was another thread's desched event, that thread's library forgets it.
//  - an mmap: a mapping record, so that replay knows the program will have
//    memory there (it picks addresses for its own pages where none will
//    be). Replay's library maps it again itself (kBufReplayExecutes).
Result<void> RecordSession::on_buffered_records(RecTask& t, const std::vector<uint8_t>& records,
                                                trace::Event& e) {
  bool forgot = false;
  Result<void> done = ok_result();
  const bool whole = for_each_record(records.data(), records.size(), [&](const BufRecord& rec) {
    if (!done || sys::is_error(rec.ret)) return;
    if (rec.nr == SYS_mmap) {
      trace::MappingRecord m;
      m.event = e.num;
      m.tid = t.task->rec_tid();
      m.start = static_cast<uint64_t>(rec.ret);
      m.end = m.start + mmap_len(rec.arg0);
      m.prot = mmap_prot(rec.arg0);
      m.flags = MAP_PRIVATE | MAP_ANONYMOUS;
      done = writer_.write_mapping(m);
    } else if (rec.nr == SYS_close) {
      if (!std::exchange(forgot, true)) forget_fd_identities();
      if (alone_in_group(t)) return;  // its own header is up to date
      const int fd = static_cast<int>(rec.arg0);
      // It may have been another thread's desched event, which the library
      // took for the program's fd (RecordDesched.cc).
      done = desched_fds_closed(t, rec.arg0, uint64_t{rec.arg0} + 1);
      if (done) done = fds_replaced(t, fd, fd + 1, e);
    }
  });
  if (!whole)
    return Error{"tid " + std::to_string(t.task->real_tid()) +
                 ": a record in its syscall buffer has a bad size"};
  return done;
}

// The library's own syscalls, at their exit stop (the kernel answered
// -ENOSYS): the recorder's answer goes in rax and in the event.
Result<void> RecordSession::on_preload_call(RecTask& t, user_regs_struct& regs, trace::Event& e) {
  const int64_t nr = t.syscall_nr;
  const user_regs_struct& a = t.entry_regs;
  int64_t ret = -ENOSYS;
  if (nr == kSysInitPreload && buffering_) {
    auto init = t.task->read_val<PreloadInit>(RemotePtr(a.rdi));
    if (!init) return ok_result();  // not the library's: -ENOSYS, as the kernel said
    // The vDSO's sites, rewritten at this process's exec: wanted once, here.
    std::vector<OwnSyscallSite> vdso;
    if (auto it = vdso_sites_.find(&t.task->as()); it != vdso_sites_.end()) {
      vdso = std::move(it->second);
      vdso_sites_.erase(it);
    }
    auto patched = patch_syscall_sites(*t.task, syscall_sites_, init->entry, init->text_start,
                                       init->text_end, vdso);
    if (!patched) return patched.error();
    for (trace::MappingRecord& m : patched->stub_pages) {
      m.event = t.entry_event;
      m.tid = t.task->rec_tid();
      REWIND_TRY(writer_.write_mapping(m));
      t.task->as().syscall_stubs.emplace_back(m.start, m.end);
    }
    for (trace::MemWrite& w : patched->writes) e.writes.push_back(std::move(w));
    t.task->as().preload_text = {init->text_start, init->text_end};
    ret = 0;
  } else if (nr == kSysInitThread && buffering_ && a.rsi == kBufferSize) {
    t.syscallbuf = a.rdi;
    t.buf_flushed = 0;
    ret = 0;
  } else if (nr == kSysFlush || nr == kSysBatonWait) {
    ret = 0;  // (kSysBatonWait: it runs on with the baton, resume())
  }
  regs.rax = static_cast<uint64_t>(ret);
  e.regs = regs;
  return t.task->set_regs(regs);
}

// Stopped on the way out of the library's untraced syscall, which a signal
// interrupted: the kernel will restart it unless a handler runs.
// (Not the traced exit of one handed over already: a signal there is
// delivered at that exit.)
bool RecordSession::in_buffered_syscall(const RecTask& t, const user_regs_struct& regs) const {
  return t.syscallbuf && regs.rip == kUntracedSyscallInsn + 2 &&
         static_cast<int64_t>(regs.orig_rax) >= 0 &&
         interrupted_by_signal(static_cast<int64_t>(regs.rax)) &&
         !(t.at_exit_point && same_user_registers(regs, t.exit_regs));
}

// A buffered syscall blocked (its desched event fired), or must give way
// to a signal or a preemption: it starts again as a traced one. The task is
// resumed with PTRACE_SYSCALL, so the new try's entry stop comes next and
// is recorded like any syscall's; the library must then not commit a
// record for it.
Result<void> RecordSession::hand_to_traced(RecTask& t, const user_regs_struct& regs) {
  if (t.desched.is_open()) ioctl(t.desched.get(), PERF_EVENT_IOC_DISABLE, 0);
  const uint32_t one = 1;
  REWIND_TRY(t.task->write_mem(RemotePtr(t.syscallbuf + offsetof(BufHeader, abort_commit)), &one,
                               sizeof one));
  // Restart it ourselves, as the same syscall from the same instruction:
  // the kernel would make -ERESTART_RESTARTBLOCK a restart_syscall, which
  // replay's library (which never made the first try) cannot make. A
  // sleep or poll timeout then starts over, which the program cannot tell
  // from a late wakeup.
  user_regs_struct r = regs;
  r.rax = regs.orig_rax;
  r.rip -= 2;
  REWIND_TRY(t.task->set_regs(r));
  t.buffered_restart = true;
  REWIND_LOG(Record, "tid %d: buffered %s blocked; it goes the traced way", t.task->real_tid(),
             sys::name(static_cast<int64_t>(regs.orig_rax)).c_str());
  return ok_result();
}

// Keeps BufHeader::traced_fds true after a traced syscall: an fd written
// through that is neither the recorder's stdout/stderr nor a mapped file
// may be buffered from now on; a closed or replaced one may not, nor any
// once a file is mapped (it might be written through any of them).
Result<void> RecordSession::update_traced_fds(RecTask& t, const sys::SyscallArgs& a,
                                              trace::Event& e) {
  if (sys::is_error(a.ret)) return ok_result();
  const int fd = static_cast<int>(a.a[0]);
  switch (a.nr) {
    case SYS_write:
    case SYS_pwrite64:
    case SYS_writev:
    case SYS_pwritev:
    case SYS_pwritev2: {
      const bool noted =
          e.flags & (trace::kFlagStdout | trace::kFlagStderr | trace::kFlagFileWrite);
      if (noted || fd < 0 || fd >= kTracedFds || a.ret <= 0) return ok_result();
      struct stat st;
      const std::string path =
          "/proc/" + std::to_string(t.task->real_tid()) + "/fd/" + std::to_string(fd);
      if (stat(path.c_str(), &st) < 0 ||
          (S_ISREG(st.st_mode) && mapped_inodes_.count({st.st_dev, st.st_ino})))
        return ok_result();
      // Writes into a process's memory stay traced (note_remote_write).
      if (proc_mem_target(t, fd)) return ok_result();
      return set_traced_fd_bits(t, fd, fd + 1, false, e);
    }
    case SYS_close:
      return fds_replaced(t, fd, fd + 1, e);
    case SYS_dup2:
    case SYS_dup3:
      return fds_replaced(t, static_cast<int>(a.a[1]), static_cast<int>(a.a[1]) + 1, e);
    case SYS_close_range:
      return fds_replaced(t, fd, static_cast<int>(std::min<uint64_t>(a.a[1], kTracedFds - 1)) + 1,
                          e);
    case SYS_mmap:
      if (a.a[3] & MAP_ANONYMOUS) return ok_result();
      return set_traced_fd_bits(t, 0, kTracedFds, true, e);
  }
  return ok_result();
}

// Fds [lo, hi) were closed, or now name other files: writes to them go
// traced again, and the libraries' record-only cache of what can block
// (BufHeader::fd_known) forgets them. The cache is not in the trace.
Result<void> RecordSession::fds_replaced(RecTask& t, int lo, int hi, trace::Event& e) {
  REWIND_TRY(set_traced_fd_bits(t, lo, hi, true, e));
  lo = std::max(lo, 0);
  hi = std::min(hi, kTracedFds);
  for (auto& [tid, o] : tasks_) {
    if (!o->syscallbuf || o->tgid != t.tgid || lo >= hi) continue;
    const uint64_t at = o->syscallbuf + offsetof(BufHeader, fd_known);
    uint8_t bits[sizeof(BufHeader::fd_known)];
    REWIND_TRY(o->task->read_mem(RemotePtr(at), bits, sizeof bits));
    for (int fd = lo; fd < hi; ++fd) bits[fd / 8] &= uint8_t(~(1u << (fd % 8)));
    REWIND_TRY(o->task->write_mem(RemotePtr(at), bits, sizeof bits));
  }
  return ok_result();
}

// Sets or clears fds [lo, hi) in the traced_fds of every thread of t's
// process, as memory writes of `e`.
Result<void> RecordSession::set_traced_fd_bits(RecTask& t, int lo, int hi, bool traced,
                                               trace::Event& e) {
  lo = std::max(lo, 0);
  hi = std::min(hi, kTracedFds);
  if (lo >= hi) return ok_result();
  for (auto& [tid, o] : tasks_) {
    if (!o->syscallbuf || o->tgid != t.tgid) continue;
    const uint64_t at = o->syscallbuf + offsetof(BufHeader, traced_fds);
    uint8_t bits[sizeof(BufHeader::traced_fds)];
    REWIND_TRY(o->task->read_mem(RemotePtr(at), bits, sizeof bits));
    uint8_t before[sizeof bits];
    memcpy(before, bits, sizeof bits);
    for (int fd = lo; fd < hi; ++fd) {
      if (traced)
        bits[fd / 8] |= uint8_t(1u << (fd % 8));
      else
        bits[fd / 8] &= uint8_t(~(1u << (fd % 8)));
    }
    if (memcmp(before, bits, sizeof bits) == 0) continue;
    REWIND_TRY(o->task->write_mem(RemotePtr(at), bits, sizeof bits));
    e.writes.push_back(trace::MemWrite{at, std::vector<uint8_t>(bits, bits + sizeof bits)});
  }
  if (!traced) forget_closed_fds(t, lo, hi, e);
  return ok_result();
}

// The recorder has seen what fds [lo, hi) name: the threads that hand the
// baton around no longer need to trace writes to them (abi.h,
// Baton::closed_fds). The page is ours too; the change is a memory write of
// `e`, for replay's copy.
void RecordSession::forget_closed_fds(RecTask& t, int lo, int hi, trace::Event& e) {
  Baton* b = baton_of(t);
  if (!b) return;
  bool changed = false;
  for (int fd = lo; fd < hi; ++fd) {
    const uint8_t bit = uint8_t(1u << (fd % 8));
    if (!(__atomic_load_n(&b->closed_fds[fd / 8], __ATOMIC_SEQ_CST) & bit)) continue;
    __atomic_fetch_and(&b->closed_fds[fd / 8], uint8_t(~bit), __ATOMIC_SEQ_CST);
    changed = true;
  }
  if (!changed) return;
  uint8_t bits[sizeof b->closed_fds];
  for (size_t i = 0; i < sizeof bits; ++i)
    bits[i] = __atomic_load_n(&b->closed_fds[i], __ATOMIC_SEQ_CST);
  e.writes.push_back(trace::MemWrite{kBatonPage + offsetof(Baton, closed_fds),
                                     std::vector<uint8_t>(bits, bits + sizeof bits)});
}

// The traced exit of a syscall made at the untraced instruction (one
// handed over above) that the kernel will restart after a signal: make it
// restart at the traced twin of that instruction, or the new try would run
// unseen. The registers go into the exit event, so replay's restart takes
// the same way.
Result<void> RecordSession::redirect_restart(RecTask& t, user_regs_struct& regs, trace::Event& e) {
  if (regs.rip != kUntracedSyscallInsn + 2 || !sys::is_restart(static_cast<int64_t>(regs.rax)))
    return ok_result();
  regs.rip = kTracedRestartInsn + 2;
  e.regs = regs;
  return t.task->set_regs(regs);
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

// At the desched event's signal: the event counts this very stop as a
// context switch, so disarm it, or it fires again at once. The library
// opens it unseen; the signal names its fd, which the recorder takes a
// handle on (again if the thread opened another one since).
void RecordSession::disarm_desched(RecTask& t, int tracee_fd) {
  if (!t.desched.is_open() || t.desched_fd != tracee_fd) {
    t.desched = steal_tracee_fd(t.tgid, tracee_fd);
    t.desched_fd = tracee_fd;
  }
  if (t.desched.is_open()) ioctl(t.desched.get(), PERF_EVENT_IOC_DISABLE, 0);
}

bool RecordSession::is_desched_signal(const RecTask& t, int sig, const siginfo_t& si) const {
  return sig == kDeschedSignal && t.syscallbuf && si.si_code > 0;  // POLL_IN, from F_SETSIG
}

}  // namespace rwd
