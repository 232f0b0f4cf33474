// The syscall half of recording: what is written at syscall entry and exit,
// execve, and capturing mapped files.
#include <elf.h>
#include <fcntl.h>
#include <linux/mman.h>
#include <linux/seccomp.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <optional>

#include "core/base/Log.h"
#include "core/record/RecordSession.h"
#include "core/syscalls/SyscallTable.h"
#include "core/task/InflightWrites.h"
#include "core/task/ProcMaps.h"
#include "core/task/RemoteSyscall.h"
#include "preload/abi.h"

namespace rwd {

namespace {

std::string proc_path(pid_t tid, const std::string& rest) {
  return "/proc/" + std::to_string(tid) + "/" + rest;
}

std::string read_link(const std::string& path) {
  char buf[4096];
  ssize_t n = readlink(path.c_str(), buf, sizeof buf - 1);
  if (n < 0) return {};
  return std::string(buf, n);
}

std::string strip_deleted(std::string name) {
  static const std::string kDeleted = " (deleted)";
  if (name.size() > kDeleted.size() &&
      name.compare(name.size() - kDeleted.size(), kDeleted.size(), kDeleted) == 0)
    name.resize(name.size() - kDeleted.size());
  return name;
}

// Whether a read or write on this fd can sleep in the kernel. The table
// marks the whole read/write family "may block", which makes the scheduler
// let the task into the kernel and run another one; but then the kernel's
// order of two tasks' writes need not be the recorded order of their exits,
// and replay would re-emit shared output in another order. So the fds that
// cannot sleep run to their exit stop first: regular files, block devices,
// /dev/null-like character devices, writes to a terminal, and pipe I/O the
// pipe can take without waiting. `id` is the fd's identity (std::nullopt:
// no such fd).
bool fd_io_may_block(pid_t tid, uint64_t fd, const std::optional<FdIdentity>& id, bool is_write,
                     uint64_t len) {
  if (!id) return false;  // EBADF: returns at once
  if (S_ISREG(id->mode) || S_ISBLK(id->mode) || S_ISDIR(id->mode)) return false;
  if (S_ISCHR(id->mode)) return !is_write && major(id->rdev) != 1;  // 1: mem, null, zero, random
  if (!S_ISFIFO(id->mode)) return true;
  // A second read end of the same pipe, just to look at it. (How full the
  // pipe is changes all the time: never cached.)
  std::string path = proc_path(tid, "fd/" + std::to_string(fd));
  ScopedFd probe(open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
  if (!probe.is_open()) return true;
  int queued = 0;
  if (ioctl(probe.get(), FIONREAD, &queued) < 0) return true;
  if (!is_write) return queued == 0;
  // A pipe is a ring of page-sized slots, and partly read pages keep their
  // slot, so free bytes don't tell whether a write fits; an empty pipe does.
  int capacity = fcntl(probe.get(), F_GETPIPE_SZ);
  return queued != 0 || capacity < 0 || len > static_cast<uint64_t>(capacity);
}

// Whether syscall nr (ioctl request `req`) may make an fd number stand for
// another file than before. The syscalls that install a new fd (open,
// dup, accept, recvmsg's SCM_RIGHTS...) take a free number, which no cache
// holds; these close or replace bound ones. (unshare and io_uring are
// refused by the recorder, but cost nothing to list.)
bool rebinds_fds(int64_t nr, uint64_t req) {
  switch (nr) {
    case SYS_close:
    case SYS_close_range:
    case SYS_dup2:
    case SYS_dup3:
    case SYS_execve:
    case SYS_execveat:
    case SYS_unshare:
    case SYS_io_uring_enter:
    case SYS_io_uring_register:
      return true;
    case SYS_ioctl:
      // A seccomp supervisor can put an fd at a chosen number of another
      // process's table.
      return req == SECCOMP_IOCTL_NOTIF_ADDFD;
    default:
      return false;
  }
}

}  // namespace

Result<RecordSession::Next> RecordSession::on_syscall_entry(RecTask& t) {
  Task& task = *t.task;
  auto regs = task.get_regs();
  if (!regs) return regs.error();
  const int64_t nr = static_cast<int64_t>(regs->orig_rax);
  t.at_exit_point = false;
  // Emulated ptrace (RecordPtrace.cc): a tracee's PTRACE_SYSCALL entry
  // stop comes before rewind looks at the syscall, which its tracer may
  // change; a tracer's wait may be answered by rewind, or held.
  // (Not at the preload library's own calls, which a native run lacks.)
  if (t.traced && t.traced->syscall_stops && !t.traced->entry_stop_done &&
      nr < syscallbuf::kSysInitPreload) {
    t.traced->entry_stop_done = true;
    t.held_wait = t.last_stop;
    return ptrace_stop_here(t, ptrace_syscall_stop_code(*t.traced), 0, trace::kFlagPtraceEntry);
  }
  if (t.traced) t.traced->entry_stop_done = false;
  if ((nr == SYS_wait4 || nr == SYS_waitid) && (traces_any(t) || tracee_deaths_.count(t.tgid))) {
    auto w = ptrace_wait(t, *regs);
    if (!w) return w.error();
    if (*w == Next::Hold) return Next::Hold;
  }
  const bool answered = t.answer || nr == SYS_ptrace;
  const bool handed_over = std::exchange(t.buffered_restart, false);
  t.have_sample = false;  // a syscall is progress: timeslice sampling starts over
  t.slices_used = 0;
  REWIND_LOG(Syscall, "tid %d enters %s(0x%llx, 0x%llx, 0x%llx)", task.real_tid(),
             sys::name(nr).c_str(), regs->rdi, regs->rsi, regs->rdx);

  trace::Event e;
  e.num = next_event();
  e.tid = task.rec_tid();
  e.kind = trace::EventKind::SyscallEntry;
  e.regs = *regs;
  e.syscall_no = nr;

  const sys::SyscallDesc* d = sys::find(nr);
  bool skip = false;
  int skip_errno = ENOSYS;
  if (!d) {
    if (warned_syscalls_.insert(nr).second)
      warn("unsupported syscall %s (%lld): the program gets ENOSYS", sys::name(nr).c_str(),
           static_cast<long long>(nr));
    skip = true;
  } else if (nr == SYS_rseq) {
    // With rseq registered, the kernel writes the current CPU into tracee
    // memory on every preemption: writes replay can't reproduce. Failing
    // the registration makes glibc fall back (it checks the result).
    skip = true;
  } else if (nr == SYS_ioctl && !sys::ioctl_is_known(regs->rsi)) {
    // An ioctl the table can't describe: if its number says the kernel
    // copies data out (_IOC_READ), we could not record what it wrote, so
    // the program gets ENOTTY ("not supported by this device") instead.
    const bool writes_user_memory = (regs->rsi >> 30) & 2;
    if (warned_ioctls_.insert(regs->rsi).second)
      warn("unsupported ioctl 0x%llx%s", static_cast<unsigned long long>(regs->rsi),
           writes_user_memory ? ": the program gets ENOTTY" : " (it writes no memory; run as is)");
    if (writes_user_memory) {
      skip = true;
      skip_errno = ENOTTY;
    }
  }
  if (!skip && buffering_) {
    // The preload library's desched event is not the program's fd
    // (RecordDesched.cc): natively there is nothing at that number.
    skip = names_desched_fd(t, nr, regs->rdi);
    if (skip) skip_errno = EBADF;
  }
  if (skip || answered) {
    if (skip) e.flags |= trace::kFlagSyscallSkipped;
    user_regs_struct r = *regs;
    r.orig_rax = static_cast<uint64_t>(-1);  // the kernel then returns -ENOSYS
    REWIND_TRY(task.set_regs(r));
  }
  REWIND_TRY(write_event(e));
  if (nr == SYS_ptrace && !skip) {
    // (After its entry: what it does to the tracee are events of their own.)
    auto a = emulate_ptrace(t, *regs);
    if (!a && a.error().errnum != ESRCH) return a.error();
    t.answer = a ? *a : -ESRCH;
  }
  t.in_syscall = true;
  t.syscall_skipped = skip;
  t.skip_errno = skip_errno;
  t.syscall_nr = nr;
  t.entry_regs = *regs;
  t.entry_event = e.num;
  t.exec_pending = false;
  t.inflight_writes.clear();
  if (!skip && !answered) {
    const bool restart = nr == SYS_restart_syscall && t.restart_nr >= 0;
    t.inflight_writes =
        inflight_writes(task, restart ? t.restart_nr : nr, restart ? t.restart_regs : *regs);
  }
  if (rebinds_fds(nr, regs->rsi)) {
    t.rebinding_fds = true;  // until its next stop (on_wait_status)
    forget_fd_identities();
  }
  bool may_block = d && (d->flags & sys::kMayBlock);
  switch (nr) {
    case SYS_read:
    case SYS_pread64:
      may_block = may_block && fd_io_may_block(task.real_tid(), regs->rdi,
                                               fd_identity(t, regs->rdi), false, regs->rdx);
      break;
    case SYS_write:
    case SYS_pwrite64:
      may_block = may_block && fd_io_may_block(task.real_tid(), regs->rdi,
                                               fd_identity(t, regs->rdi), true, regs->rdx);
      break;
    case SYS_writev:
    case SYS_pwritev:
    case SYS_pwritev2:
    case SYS_readv:
    case SYS_preadv:
    case SYS_preadv2: {
      // Only the fd's kind matters here, except for pipes, where an unknown
      // length counts as "may not fit".
      const bool is_write = nr == SYS_writev || nr == SYS_pwritev || nr == SYS_pwritev2;
      may_block = may_block && fd_io_may_block(task.real_tid(), regs->rdi,
                                               fd_identity(t, regs->rdi), is_write, ~0ull);
      break;
    }
    case SYS_execve:
    case SYS_execveat:
      // In a process with other threads, execve kills them and waits until
      // they are dead (de_thread): each must be let through its exit stop.
      for (auto& [otid, o] : tasks_) may_block |= o.get() != &t && o->tgid == t.tgid;
      break;
    default:
      break;
  }
  if (handed_over && !t.deferred_signals.empty()) {
    // A buffered syscall that a signal found blocked, started again as a
    // traced one (RecordBuffer.cc): the signal, held back meanwhile, must
    // interrupt it again, or it may wait forever for what the handler does.
    auto sent = redeliver_deferred_signal(t);
    if (!sent) return sent.error();
  }
  return may_block && !skip && !answered ? Next::EnterKernel : Next::Continue;
}

// For a write-family syscall that wrote something: marks writes to the
// recorder's own stdout/stderr (replay -a re-emits them) and writes into a
// file some task has mapped (replay applies them to its copies of the file).
void RecordSession::note_output_write(RecTask& t, const uint64_t args[6], int64_t ret,
                                      trace::Event& e) {
  const pid_t tid = t.task->real_tid();
  const uint64_t fd = args[0];
  const std::optional<FdIdentity> st = fd_identity(t, fd);
  if (!st) return;
  bool is_out = st->dev == stdout_dev_ && st->ino == stdout_ino_;
  bool is_err = st->dev == stderr_dev_ && st->ino == stderr_ino_;
  if (is_err && (fd == 2 || !is_out))
    e.flags |= trace::kFlagStderr;
  else if (is_out)
    e.flags |= trace::kFlagStdout;

  if (!S_ISREG(st->mode) || !mapped_inodes_.count({st->dev, st->ino})) return;
  uint64_t offset;
  const int64_t nr = e.syscall_no;
  if (nr == SYS_pwrite64 || nr == SYS_pwritev ||
      (nr == SYS_pwritev2 && static_cast<int64_t>(args[3]) != -1)) {
    offset = args[3];
  } else {
    // write/writev advance the file position: it now ends the written bytes.
    std::ifstream info(proc_path(tid, "fdinfo/" + std::to_string(fd)));
    std::string key;
    uint64_t pos = 0;
    while (info >> key && key != "pos:") {
    }
    if (!(info >> pos) || pos < static_cast<uint64_t>(ret)) return;
    offset = pos - ret;
  }
  e.flags |= trace::kFlagFileWrite;
  e.file_write_dev = st->dev;
  e.file_write_inode = st->ino;
  e.file_write_offset = offset;
}

// stat() of /proc/TID/fd/N costs about a microsecond, and a read or a write
// needs it at entry (fd_io_may_block) and at exit (note_output_write).
std::optional<FdIdentity> RecordSession::fd_identity(RecTask& t, uint64_t fd) {
  const bool cacheable = std::none_of(tasks_.begin(), tasks_.end(),
                                      [](const auto& o) { return o.second->rebinding_fds; });
  if (cacheable) {
    auto it = t.fd_cache.find(fd);
    if (it != t.fd_cache.end()) return it->second;
  }
  struct stat st;
  if (stat(proc_path(t.task->real_tid(), "fd/" + std::to_string(fd)).c_str(), &st) < 0)
    return std::nullopt;  // not cached: a free number gets bound without notice
  const FdIdentity id{st.st_dev, st.st_ino, st.st_mode, st.st_rdev};
  if (cacheable) t.fd_cache.emplace(fd, id);
  return id;
}

void RecordSession::forget_fd_identities() {
  for (auto& [tid, o] : tasks_) o->fd_cache.clear();
}

// A mapped file that shrinks makes accesses past its new end fault with
// SIGBUS; replay resizes its copies of the file the same way.
void RecordSession::note_truncate(RecTask& t, const uint64_t args[6], trace::Event& e) {
  struct stat st;
  int r;
  if (e.syscall_no == SYS_ftruncate) {
    r = stat(proc_path(t.task->real_tid(), "fd/" + std::to_string(args[0])).c_str(), &st);
  } else {
    auto path = t.task->as().read_c_string(RemotePtr(args[0]));
    if (!path) return;
    std::string p = *path;
    if (!p.empty() && p[0] != '/') p = read_link(proc_path(t.task->real_tid(), "cwd")) + "/" + p;
    r = stat(p.c_str(), &st);
  }
  if (r < 0 || !mapped_inodes_.count({st.st_dev, st.st_ino})) return;
  e.flags |= trace::kFlagFileTruncate;
  e.file_write_dev = st.st_dev;
  e.file_write_inode = st.st_ino;
  e.file_write_offset = args[1];
}

Result<RecordSession::Next> RecordSession::on_syscall_exit(RecTask& t) {
  Task& task = *t.task;
  if (!t.in_syscall) return Next::Continue;  // e.g. a new child returning from fork
  if (t.exec_pending) {
    REWIND_TRY(on_exec_done(t, /*initial=*/false));
    return t.traced ? ptrace_exec_stop(t) : Next::Continue;
  }
  auto regs = task.get_regs();
  if (!regs) return regs.error();
  if (auto a = std::exchange(t.answer, std::nullopt)) {
    regs->rax = static_cast<uint64_t>(*a);  // rewind's answer (RecordPtrace.cc)
    REWIND_TRY(task.set_regs(*regs));
  }
  const int64_t nr = t.syscall_nr;
  const int64_t ret = static_cast<int64_t>(regs->rax);
  REWIND_LOG(Syscall, "tid %d leaves %s = %lld", task.real_tid(), sys::name(nr).c_str(),
             static_cast<long long>(ret));

  trace::Event e;
  e.num = next_event();
  e.tid = task.rec_tid();
  e.kind = trace::EventKind::SyscallExit;
  e.regs = *regs;
  e.syscall_no = nr;
  if (t.syscall_skipped) {
    e.flags |= trace::kFlagSyscallSkipped;
    if (t.skip_errno != ENOSYS) {
      regs->rax = static_cast<uint64_t>(-t.skip_errno);
      e.regs = *regs;
      REWIND_TRY(task.set_regs(*regs));
    }
  } else if (const sys::SyscallDesc* d = sys::find(nr)) {
    // restart_syscall resumes an interrupted call and writes its outputs.
    const bool restart = nr == SYS_restart_syscall && t.restart_nr >= 0;
    if (restart) d = sys::find(t.restart_nr);
    sys::SyscallArgs a;
    a.nr = restart ? t.restart_nr : nr;
    const user_regs_struct& er = restart ? t.restart_regs : t.entry_regs;
    uint64_t args[6] = {er.rdi, er.rsi, er.rdx, er.r10, er.r8, er.r9};
    std::copy(args, args + 6, a.a);
    a.ret = ret;
    TaskMemoryReader reader(task);
    for (const sys::OutRange& r : sys::outputs(*d, a, reader)) {
      if (r.len == 0) continue;
      trace::MemWrite w;
      w.addr = r.addr;
      w.bytes.resize(r.len);
      w.bytes.resize(task.as().read_partial(RemotePtr(r.addr), w.bytes.data(), r.len));
      if (!w.bytes.empty()) e.writes.push_back(std::move(w));
    }
    if (d->replay == sys::ReplayMode::Execute) e.flags |= trace::kFlagExecutedInReplay;
    if ((d->flags & sys::kWritesOutput) && ret > 0) note_output_write(t, a.a, ret, e);
    if (t.syscallbuf) REWIND_TRY(update_traced_fds(t, a, e));
    if (buffering_) REWIND_TRY(desched_after_syscall(t, a));
    if (nr == SYS_mmap && !sys::is_error(ret)) REWIND_TRY(record_mmap(t, *regs));
    if (nr == SYS_shmat && !sys::is_error(ret)) REWIND_TRY(record_shmat(t, ret));
    if (nr >= syscallbuf::kSysInitPreload) REWIND_TRY(on_preload_call(t, *regs, e));
    if (nr == SYS_clone || nr == SYS_clone3) REWIND_TRY(maybe_enable_baton(t, ret, e));
    if ((nr == SYS_ftruncate || nr == SYS_truncate) && ret == 0) note_truncate(t, a.a, e);
    if (((d->flags & sys::kWritesOutput) || nr == SYS_process_vm_writev) && ret > 0)
      REWIND_TRY(note_remote_write(t, a));
    if ((d->flags & sys::kSendsSignal) && ret == 0) {
      const auto sent = sys::sent_signal(a);
      if (sent && sent->sig == SIGCONT) REWIND_TRY(release_job_stops(sent, &t));
    }
  }
  if (buffering_) REWIND_TRY(redirect_restart(t, *regs, e));
  REWIND_TRY(write_event(e));
  REWIND_TRY(flush_remote_writes());
  if (ret == sys::kErestartRestartBlock && nr != SYS_restart_syscall) {
    t.restart_nr = nr;
    t.restart_regs = t.entry_regs;
  }
  t.in_syscall = false;
  t.inflight_writes.clear();
  t.at_exit_point = true;
  t.exit_regs = *regs;
  if (t.traced) {
    // Its PTRACE_EVENT_VFORK_DONE stop (rewind's own comes earlier, in the
    // kernel: this one is where the task stands), its PTRACE_SYSCALL exit
    // stop, or the end of a single-step over the syscall; a held-back
    // signal follows when its tracer resumes it.
    if ((t.traced->options & PTRACE_O_TRACEVFORKDONE) && ret > 0 &&
        (nr == SYS_vfork ||
         ((nr == SYS_clone || nr == SYS_clone3) && (clone_flags(t, 0) & CLONE_VFORK))))
      return ptrace_stop_here(t, SIGTRAP | (PTRACE_EVENT_VFORK_DONE << 8),
                              static_cast<uint64_t>(ret));
    if (t.traced->syscall_stops && nr < syscallbuf::kSysInitPreload) {
      auto n = ptrace_stop_here(t, ptrace_syscall_stop_code(*t.traced), 0);
      if (n) t.traced->syscall_stop = PtraceLink::SyscallStop::Exit;
      return n;
    }
    auto stepped = end_step_here(t);
    if (!stepped) return stepped.error();
    if (*stepped) return **stepped;
  }
  // Deliver a held-back signal now, on the way out of this syscall: the
  // kernel reports it before the task runs another instruction.
  auto sent = redeliver_deferred_signal(t);
  if (!sent) return sent.error();
  return Next::Continue;
}

// Sends the first signal the task was owed (deferred because it arrived at
// an arbitrary instruction), to be delivered at the point the task stands
// at now; its signal-delivery-stop comes next. False if none is owed.
Result<bool> RecordSession::redeliver_deferred_signal(RecTask& t) {
  if (t.deferred_signals.empty() || t.redelivering_sig != 0) return false;
  siginfo_t si = t.deferred_signals.front();
  t.deferred_signals.pop_front();
  t.redelivering_sig = si.si_signo;
  t.redelivering_info = si;
  REWIND_TRY(t.task->send_signal(si.si_signo));
  return true;
}

Result<void> RecordSession::record_mmap(RecTask& t, const user_regs_struct& regs) {
  const user_regs_struct& er = t.entry_regs;
  trace::MappingRecord m;
  m.event = t.entry_event;
  m.tid = t.task->rec_tid();
  m.start = regs.rax;
  m.end = regs.rax + ((er.rsi + 4095) & ~4095ull);
  m.prot = static_cast<int>(er.rdx);
  m.flags = static_cast<int>(er.r10);
  m.file_offset = er.r9;
  if (!(m.flags & MAP_ANONYMOUS)) {
    std::string fd_path =
        proc_path(t.task->real_tid(), "fd/" + std::to_string(static_cast<int>(er.r8)));
    struct stat st;
    if (stat(fd_path.c_str(), &st) == 0) {
      m.orig_path = strip_deleted(read_link(fd_path));
      m.dev = st.st_dev;
      m.inode = st.st_ino;
      m.size = st.st_size;
      m.mtime_ns = st.st_mtim.tv_sec * 1000000000ll + st.st_mtim.tv_nsec;
      if (S_ISREG(st.st_mode)) {
        mapped_inodes_.insert({st.st_dev, st.st_ino});
        trace::FileToCapture f{m.orig_path, fd_path, st,
                               (m.flags & MAP_SHARED) && (m.prot & PROT_WRITE)};
        auto c = writer_.capture_file(f);
        if (!c) return c.error().context("capturing mapped file " + m.orig_path);
        m.trace_file = c->trace_file;
        m.storage = c->storage;
        // (Not a shared mapping: the patch would go into the file.)
        if ((m.prot & PROT_EXEC) && (m.flags & MAP_TYPE) == MAP_PRIVATE)
          REWIND_TRY(patch_trap_mapping(*t.task, trap_sites_, fd_path.c_str(), st, m.start, m.end,
                                        m.file_offset));
      }
    }
  }
  return writer_.write_mapping(m);
}

Result<void> RecordSession::capture_exec_mappings(RecTask& t, trace::TaskEvent& exec,
                                                  const std::vector<KernelMapping>& maps) {
  const pid_t tid = t.task->real_tid();
  for (const KernelMapping& km : maps) {
    trace::MappingRecord m;
    m.event = exec.event;
    m.tid = t.task->rec_tid();
    m.start = km.start;
    m.end = km.end;
    m.prot = km.prot;
    m.flags = km.shared ? MAP_SHARED : MAP_PRIVATE;
    m.file_offset = km.offset;
    m.orig_path = strip_deleted(km.name);
    if (km.is_file()) {
      char range[64];
      snprintf(range, sizeof range, "map_files/%lx-%lx", (unsigned long)km.start,
               (unsigned long)km.end);
      std::string access = proc_path(tid, range);
      struct stat st;
      if (stat(access.c_str(), &st) < 0) return Error::from_errno("stat " + access);
      m.dev = st.st_dev;
      m.inode = st.st_ino;
      m.size = st.st_size;
      m.mtime_ns = st.st_mtim.tv_sec * 1000000000ll + st.st_mtim.tv_nsec;
      auto c = writer_.capture_file({m.orig_path, access, st, km.shared && (km.prot & PROT_WRITE)});
      if (!c) return c.error().context("capturing " + m.orig_path);
      m.trace_file = c->trace_file;
      m.storage = c->storage;
      if (m.orig_path == exec.exe_path) {
        exec.exe_trace_file = m.trace_file;
      } else if (exec.interp_trace_file.empty()) {
        exec.interp_path = m.orig_path;
        exec.interp_trace_file = m.trace_file;
      }
    }
    REWIND_TRY(writer_.write_mapping(m));
  }
  if (exec.exe_trace_file.empty())
    return Error{"cannot find the mapping of the executable " + exec.exe_path};
  return ok_result();
}

// Reads argv from the initial stack and, where the vDSO could not be
// rewritten to make syscalls (RecordVdso.cc), hides it from the program
// (AT_SYSINFO_EHDR -> AT_IGNORE), so glibc makes real, recordable
// clock_gettime/gettimeofday/time/getcpu syscalls instead of reading the
// vDSO's data page, which replay could not reproduce. `stack` holds the
// stack's bytes from rsp up, read at once (a read per word and per string
// took ~90 reads of the tracee per exec); it gets the change too.
static Result<void> fix_initial_stack(Task& task, uint64_t rsp, std::vector<uint8_t>& stack,
                                      std::vector<std::string>& argv, bool hide_vdso) {
  auto in_stack = [&](uint64_t addr, uint64_t len) {
    return addr >= rsp && addr - rsp <= stack.size() && len <= stack.size() - (addr - rsp);
  };
  auto word = [&](uint64_t addr) -> Result<uint64_t> {
    if (!in_stack(addr, 8)) return task.read_val<uint64_t>(RemotePtr(addr));
    uint64_t v;
    memcpy(&v, &stack[addr - rsp], sizeof v);
    return v;
  };
  auto string = [&](uint64_t addr) -> std::string {
    if (in_stack(addr, 1)) {
      const char* s = reinterpret_cast<const char*>(&stack[addr - rsp]);
      const size_t room = stack.size() - (addr - rsp);
      if (const void* nul = memchr(s, 0, room))
        return std::string(s, static_cast<const char*>(nul) - s);
    }
    auto s = task.as().read_c_string(RemotePtr(addr), 1 << 20);
    return s ? *s : std::string();
  };
  auto argc = word(rsp);
  if (!argc) return argc.error();
  uint64_t p = rsp + 8;
  for (uint64_t i = 0; i < *argc; ++i, p += 8) {
    auto ptr = word(p);
    if (!ptr) return ptr.error();
    argv.push_back(string(*ptr));
  }
  p += 8;     // argv's NULL
  for (;;) {  // envp
    auto ptr = word(p);
    if (!ptr) return ptr.error();
    p += 8;
    if (*ptr == 0) break;
  }
  for (;; p += 16) {  // auxv
    auto type = word(p);
    if (!type) return type.error();
    if (*type == AT_NULL) break;
    if (*type == AT_SYSINFO_EHDR && hide_vdso) {
      const uint64_t ignore = AT_IGNORE;
      REWIND_TRY(task.write_mem(RemotePtr(p), &ignore, sizeof ignore));
      if (in_stack(p, 8)) memcpy(&stack[p - rsp], &ignore, sizeof ignore);
    }
  }
  return ok_result();
}

Result<void> RecordSession::on_exec_done(RecTask& t, bool initial) {
  Task& task = *t.task;
  const pid_t tid = task.real_tid();
  if (!initial) {
    // execve replaced the mm: /proc/PID/mem must be reopened.
    auto as = std::make_shared<AddressSpace>();
    REWIND_TRY(as->open_for(tid));
    task.set_address_space(as);
    forget_dead_batons();
    t.baton_reset_pending = false;  // a fresh page came with the new image
  }
  trace::Event e;
  e.num = next_event();
  trace::TaskEvent te;
  te.kind = trace::TaskEventKind::Exec;
  te.tid = task.rec_tid();
  te.former_tid = std::exchange(t.exec_former_tid, Tid());
  te.event = initial ? e.num : t.entry_event;
  te.exe_path = strip_deleted(read_link(proc_path(tid, "exe")));
  // One read of the new image's mappings serves the capture, the rdtsc
  // patching and the stack below: the stub page mapped in between is
  // neither a file nor the stack.
  auto maps = read_proc_maps(tid);
  if (!maps) return maps.error();
  REWIND_TRY(capture_exec_mappings(t, te, *maps));
  REWIND_TRY(patch_trap_sites(task, trap_sites_, *maps));
  REWIND_TRY(install_stub_page(task, syscallbuf::kModeRecord));
  if (options_.cpuid_faulting) REWIND_TRY(make_cpuid_fault(task));
  t.trap_signals.reset();
  if (auto s = read_trap_signals(task)) t.trap_signals = *s;
  t.syscallbuf = 0;  // the new image's library makes its own
  t.buf_flushed = 0;
  t.desched.reset();

  auto regs = task.get_regs();
  if (!regs) return regs.error();
  // The kernel-built initial stack (argv, envp, auxv, AT_RANDOM bytes, the
  // file name) is replayed byte for byte, so the replayed process starts
  // with the same stack even though replay execs a copy at another path.
  trace::MemWrite stack;
  for (const KernelMapping& km : *maps) {
    if (regs->rsp >= km.start && regs->rsp < km.end) {
      stack.addr = regs->rsp;
      stack.bytes.resize(km.end - regs->rsp);
      REWIND_TRY(task.read_mem(RemotePtr(stack.addr), stack.bytes.data(), stack.bytes.size()));
    }
  }
  auto vdso = patch_vdso(t, *maps);
  if (!vdso) return vdso.error();
  REWIND_TRY(fix_initial_stack(task, regs->rsp, stack.bytes, te.argv, !*vdso));
  if (!stack.bytes.empty()) e.writes.push_back(std::move(stack));
  if (*vdso) e.writes.push_back(std::move(**vdso));
  e.tid = task.rec_tid();
  e.kind = trace::EventKind::SyscallExit;
  e.syscall_no = initial ? SYS_execve : t.syscall_nr;
  e.regs = *regs;
  e.flags = trace::kFlagExecutedInReplay;
  REWIND_TRY(writer_.write_task_event(te));
  REWIND_TRY(write_event(e));
  t.in_syscall = false;
  t.inflight_writes.clear();
  t.exec_pending = false;
  t.at_exit_point = true;
  t.exit_regs = *regs;
  return ok_result();
}

}  // namespace rwd
