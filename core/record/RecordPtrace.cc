// ptrace between recorded tasks, emulated (PtraceLink.h, docs/ptrace.md):
// the tracees' stops and the tracer's waits. (The tracer's requests are
// RecordPtraceRequests.cc.)
//
// The tracer's ptrace, wait4 and waitid are answered at their entry stops:
// the kernel skips them (RecTask::answer) and the table's output rules
// record what rewind wrote into the tracer. A tracee's ptrace stop is a
// point replay reaches anyway (a signal's delivery, a syscall's exit or
// entry, a trapped instruction), where rewind holds it at one of its own
// stops until the tracer resumes it.
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>

#include "core/base/Log.h"
#include "core/record/RecordSession.h"
#include "core/task/Ptrace.h"
#include "core/task/RemoteSyscall.h"

namespace rwd {

namespace {

// Whether the process (thread group) catches SIGCHLD: /proc/PID/status
// SigCgt, bit SIGCHLD - 1.
bool catches_sigchld(pid_t tgid) {
  std::ifstream in("/proc/" + std::to_string(tgid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("SigCgt:", 0) != 0) continue;
    const uint64_t mask = std::stoull(line.substr(7), nullptr, 16);
    return (mask >> (SIGCHLD - 1)) & 1;
  }
  return false;
}

// A wait4 pid or waitid (idtype, id) as the tracees it can report.
struct WaitTarget {
  bool any = false;
  pid_t pid = 0;
  bool unsupported = false;  // P_PIDFD: left to the kernel
};

WaitTarget wait_target(int64_t nr, const user_regs_struct& regs) {
  WaitTarget w;
  if (nr == SYS_wait4) {
    const pid_t pid = static_cast<pid_t>(regs.rdi);
    // (0 and -PGID, process groups, count as any: tracees are usually
    // the tracer's own children, in its group.)
    if (pid > 0)
      w.pid = pid;
    else
      w.any = true;
    return w;
  }
  switch (static_cast<int>(regs.rdi)) {
    case P_PID:
      w.pid = static_cast<pid_t>(regs.rsi);
      break;
    case P_ALL:
    case P_PGID:
      w.any = true;
      break;
    default:
      w.unsupported = true;
  }
  return w;
}

}  // namespace

bool RecordSession::traces_any(const RecTask& tracer) const {
  for (const auto& [tid, o] : tasks_)
    if (o->traced && o->traced->tracer_tgid == tracer.tgid) return true;
  return false;
}

void RecordSession::wake_held_waits(pid_t tracer_tgid) {
  for (auto& [tid, o] : tasks_) {
    if (!o->held_wait || (o->traced && o->traced->stopped)) continue;
    if (tracer_tgid && o->tgid != tracer_tgid) continue;
    o->pending = std::exchange(o->held_wait, std::nullopt);
  }
}

Result<void> RecordSession::enter_ptrace_stop(RecTask& t, int code, const siginfo_t& si,
                                              bool signal_stop) {
  PtraceLink& l = *t.traced;
  l.stopped = true;
  l.code = code;
  l.reported = false;
  l.signal_stop = signal_stop;
  l.siginfo = si;
  l.stepping = false;
  l.syscall_stop = PtraceLink::SyscallStop::None;
  l.interrupt_pending = false;
  REWIND_LOG(Record, "tid %d: ptrace stop 0x%x for tracer %d", t.task->real_tid(), code, l.tracer);
  wake_held_waits(l.tracer_tgid);
  // A wait of the tracer's that the kernel runs (it began before this task
  // was traced, or it waits for others too) would not see this stop: it
  // is interrupted, as a preemption would (on_preempted lets it go on), and
  // the kernel restarts it, to be answered here at its new entry.
  for (auto& [tid, o] : tasks_) {
    if (o->tgid != l.tracer_tgid || !o->running || !o->in_syscall || o->syscall_skipped ||
        o->preempt_requested || (o->syscall_nr != SYS_wait4 && o->syscall_nr != SYS_waitid))
      continue;
    o->preempt_requested = true;
    REWIND_TRY(o->task->send_signal(SIGSTOP));
  }
  // The kernel tells the tracer by SIGCHLD too; sent only to a tracer that
  // catches it (its handler sees rewind as the sender).
  if (catches_sigchld(l.tracer_tgid)) (void)kill(l.tracer_tgid, SIGCHLD);
  return ok_result();
}

Result<RecordSession::Next> RecordSession::ptrace_stop_here(RecTask& t, int code, uint64_t msg,
                                                            uint32_t flags,
                                                            const siginfo_t* given) {
  auto regs = t.task->get_regs();
  if (!regs) return regs.error();
  trace::Event e;
  e.num = next_event();
  e.tid = t.task->rec_tid();
  e.kind = trace::EventKind::PtraceStop;
  e.regs = *regs;
  e.exit_status = code;
  e.flags = flags;
  REWIND_TRY(write_event(e));
  // What the kernel's ptrace_do_notify leaves for PTRACE_GETSIGINFO.
  siginfo_t si{};
  si.si_signo = SIGTRAP;
  si.si_code = code;
  si.si_pid = t.tgid;
  si.si_uid = getuid();
  REWIND_TRY(enter_ptrace_stop(t, code, given ? *given : si, false));
  t.traced->event_msg = msg;
  if (flags & trace::kFlagPtraceEntry) t.traced->syscall_stop = PtraceLink::SyscallStop::Entry;
  return Next::Hold;
}

Result<std::optional<RecordSession::Next>> RecordSession::end_step_here(RecTask& t) {
  if (!t.traced || !t.traced->stepping) return std::optional<Next>();
  auto regs = t.task->get_regs();
  if (!regs) return regs.error();
  if (t.task->as().in_rewind_code(regs->rip)) return std::optional<Next>();
  auto n = ptrace_stop_here(t, SIGTRAP, 0);
  if (!n) return n.error();
  // A finished step's siginfo (TRAP_TRACE), as after any other step.
  t.traced->siginfo.si_code = TRAP_TRACE;
  t.traced->siginfo.si_pid = 0;
  t.traced->siginfo.si_uid = 0;
  return std::optional<Next>(*n);
}

namespace {

// Writes a wait's answer into the tracer, as wait4 or waitid: `status` as
// wait4 reports it. Returns the syscall's result.
int64_t write_wait_answer(Task& task, const user_regs_struct& regs, pid_t pid, int status) {
  const struct rusage none {};
  if (regs.orig_rax == SYS_wait4) {
    if (regs.rsi && !task.write_mem(RemotePtr(regs.rsi), &status, sizeof status)) return -EFAULT;
    if (regs.r10 && !task.write_mem(RemotePtr(regs.r10), &none, sizeof none)) return -EFAULT;
    return pid;
  }
  siginfo_t si{};
  si.si_signo = SIGCHLD;
  si.si_pid = pid;
  si.si_uid = getuid();
  if (WIFSTOPPED(status)) {
    si.si_code = CLD_TRAPPED;
    si.si_status = status >> 8;  // the stop's whole code, event bits too
  } else if (WIFEXITED(status)) {
    si.si_code = CLD_EXITED;
    si.si_status = WEXITSTATUS(status);
  } else {
    si.si_code = WCOREDUMP(status) ? CLD_DUMPED : CLD_KILLED;
    si.si_status = WTERMSIG(status);
  }
  if (regs.rdx && !task.write_mem(RemotePtr(regs.rdx), &si, sizeof si)) return -EFAULT;
  if (regs.r8 && !task.write_mem(RemotePtr(regs.r8), &none, sizeof none)) return -EFAULT;
  return 0;
}

}  // namespace

Result<std::optional<RecordSession::Next>> RecordSession::ptrace_wait(
    RecTask& t, const user_regs_struct& regs) {
  const int64_t nr = static_cast<int64_t>(regs.orig_rax);
  const WaitTarget target = wait_target(nr, regs);
  const int options = static_cast<int>(nr == SYS_wait4 ? regs.rdx : regs.r10);
  if (target.unsupported) return std::optional<Next>();
  const bool consume = !(options & WNOWAIT);
  RecTask* stopped = nullptr;
  bool some_match = false;
  for (auto& [tid, o] : tasks_) {
    if (!o->traced || o->traced->tracer_tgid != t.tgid) continue;
    if (!target.any && tid != target.pid) continue;
    some_match = true;
    if (o->traced->stopped && !o->traced->reported) {
      stopped = o.get();
      break;
    }
  }
  if (stopped) {
    PtraceLink& l = *stopped->traced;
    const pid_t pid = stopped->task->real_tid();
    t.answer = write_wait_answer(*t.task, regs, pid, (l.code << 8) | 0x7f);
    if (consume && *t.answer >= 0) l.reported = true;
    REWIND_LOG(Record, "tid %d: wait reports tracee %d (0x%x)", t.task->real_tid(), pid, l.code);
    return std::optional<Next>(Next::Continue);
  }
  // A tracee that was not its child died (note_tracee_death).
  const bool wants_exits = nr == SYS_wait4 || (options & WEXITED);
  if (auto d = tracee_deaths_.find(t.tgid); d != tracee_deaths_.end() && wants_exits) {
    auto& deaths = d->second;
    for (auto it = deaths.begin(); it != deaths.end(); ++it) {
      if (!target.any && it->first != target.pid) continue;
      t.answer = write_wait_answer(*t.task, regs, it->first, it->second);
      if (consume && *t.answer >= 0) deaths.erase(it);
      return std::optional<Next>(Next::Continue);
    }
  }
  if (!some_match) return std::optional<Next>();
  // Nothing to report yet. WNOHANG, or a child that has exited already
  // (a zombie the kernel reports at once): the kernel's answer is right.
  if (options & WNOHANG) return std::optional<Next>();
  std::ifstream children("/proc/" + std::to_string(t.task->real_tid()) + "/task/" +
                         std::to_string(t.task->real_tid()) + "/children");
  for (pid_t c; children >> c;) {
    if (!target.any && c != target.pid) continue;
    std::ifstream stat("/proc/" + std::to_string(c) + "/stat");
    std::string line;
    std::getline(stat, line);
    const size_t paren = line.rfind(')');
    if (paren != std::string::npos && paren + 2 < line.size() && line[paren + 2] == 'Z')
      return std::optional<Next>();
  }
  // Held at its entry stop until a tracee stops or a task dies
  // (wake_held_waits); then this is decided again.
  REWIND_LOG(Record, "tid %d waits for a tracee: held", t.task->real_tid());
  t.held_wait = t.last_stop;
  return std::optional<Next>(Next::Hold);
}

Result<RecordSession::Next> RecordSession::on_step_trap(RecTask& t) {
  auto regs = t.task->get_regs();
  if (!regs) return regs.error();
  // Inside the preload library or a syscall stub: not the program's code,
  // and replay's library runs other instructions there. Stepping goes on
  // (resume()) until the program's code is reached.
  if (t.task->as().in_rewind_code(regs->rip)) return Next::Continue;
  auto si = t.task->get_siginfo();
  if (!si) return si.error();
  trace::Event e;
  e.num = next_event();
  e.tid = t.task->rec_tid();
  e.kind = trace::EventKind::Signal;
  e.flags = trace::kFlagPtraceStop;
  e.regs = *regs;
  e.signo = SIGTRAP;
  e.siginfo.assign(reinterpret_cast<uint8_t*>(&*si),
                   reinterpret_cast<uint8_t*>(&*si) + sizeof(siginfo_t));
  REWIND_TRY(write_event(e));
  t.at_exit_point = false;
  REWIND_TRY(enter_ptrace_stop(t, SIGTRAP, *si, true));
  return Next::Hold;
}

Result<RecordSession::Next> RecordSession::ptrace_exec_stop(RecTask& t) {
  PtraceLink& l = *t.traced;
  // It stands at the execve's exit, where a held-back signal may come.
  auto regs = t.task->get_regs();
  if (!regs) return regs.error();
  t.at_exit_point = true;
  t.exit_regs = *regs;
  if (!(l.options & PTRACE_O_TRACEEXEC) && !l.seized) {
    // The kernel's send_sig(SIGTRAP, current, 0): delivered on the way out,
    // after the syscall's exit stop, as a held-back signal is.
    siginfo_t si{};
    si.si_signo = SIGTRAP;
    si.si_code = SI_USER;
    si.si_pid = t.tgid;
    si.si_uid = getuid();
    t.deferred_signals.push_front(si);
  }
  if (l.options & PTRACE_O_TRACEEXEC) {
    // (Its PTRACE_SYSCALL exit stop follows when it is resumed so:
    // ptrace_resume_tracee.)
    const Tid former = t.exec_former_tid.value ? t.exec_former_tid : t.task->rec_tid();
    return ptrace_stop_here(t, SIGTRAP | (PTRACE_EVENT_EXEC << 8),
                            static_cast<uint64_t>(former.value));
  }
  if (l.syscall_stops) {
    auto n = ptrace_stop_here(t, ptrace_syscall_stop_code(l), 0);
    if (n) t.traced->syscall_stop = PtraceLink::SyscallStop::Exit;
    return n;
  }
  auto sent = redeliver_deferred_signal(t);
  if (!sent) return sent.error();
  return Next::Continue;
}

Result<std::optional<RecordSession::Next>> RecordSession::ptrace_fork_event(RecTask& t,
                                                                            RecTask& child,
                                                                            int event) {
  if (!t.traced) return std::optional<Next>();
  const PtraceLink& l = *t.traced;
  const uint64_t option = event == PTRACE_EVENT_FORK    ? PTRACE_O_TRACEFORK
                          : event == PTRACE_EVENT_VFORK ? PTRACE_O_TRACEVFORK
                                                        : PTRACE_O_TRACECLONE;
  if (!(l.options & option)) return std::optional<Next>();
  PtraceLink c;
  c.tracer = l.tracer;
  c.tracer_tgid = l.tracer_tgid;
  c.seized = l.seized;
  c.options = l.options;
  c.auto_attached = true;
  child.traced = c;
  auto n =
      ptrace_stop_here(t, SIGTRAP | (event << 8),
                       static_cast<uint64_t>(child.task->rec_tid().value), trace::kFlagPtraceFork);
  if (!n) return n.error();
  return std::optional<Next>(*n);
}

Result<std::optional<RecordSession::Next>> RecordSession::ptrace_exit_event(RecTask& t,
                                                                            uint64_t status) {
  if (!t.traced || !(t.traced->options & PTRACE_O_TRACEEXIT) || t.traced->exit_stop_done)
    return std::optional<Next>();
  // Held at its PTRACE_EVENT_EXIT stop; taken up again when resumed.
  t.traced->exit_stop_done = true;
  t.held_wait = t.last_stop;
  auto n =
      ptrace_stop_here(t, SIGTRAP | (PTRACE_EVENT_EXIT << 8), status, trace::kFlagPtraceExitEvent);
  if (!n) return n.error();
  return std::optional<Next>(*n);
}

Result<std::optional<RecordSession::Next>> RecordSession::ptrace_first_stop(RecTask& t) {
  if (!t.traced || !t.traced->auto_attached) return std::optional<Next>();
  t.traced->auto_attached = false;
  // A seized tracer's new tracee starts in PTRACE_EVENT_STOP, an attached
  // one's in its SIGSTOP's delivery (which rewind's own stands for here).
  siginfo_t si{};
  si.si_signo = SIGSTOP;
  si.si_code = SI_USER;
  const int code = t.traced->seized ? SIGTRAP | (PTRACE_EVENT_STOP << 8) : SIGSTOP;
  auto n = ptrace_stop_here(t, code, 0, 0, t.traced->seized ? nullptr : &si);
  if (!n) return n.error();
  return std::optional<Next>(*n);
}

RecTask* RecordSession::proc_mem_target(RecTask& t, int fd) {
  // Only a file of /proc's can be one (the fd's identity is cached; the
  // readlink below is not, and this runs at every traced write).
  static const dev_t proc_dev = [] {
    struct stat st;
    return stat("/proc/self/mem", &st) == 0 ? st.st_dev : dev_t(0);
  }();
  const std::optional<FdIdentity> id = fd_identity(t, static_cast<uint64_t>(fd));
  if (!id || id->dev != proc_dev) return nullptr;
  char link[64];
  const std::string path =
      "/proc/" + std::to_string(t.task->real_tid()) + "/fd/" + std::to_string(fd);
  const ssize_t n = readlink(path.c_str(), link, sizeof link - 1);
  if (n <= 0) return nullptr;
  link[n] = 0;
  int pid = 0, tid = 0, used = 0;
  if (sscanf(link, "/proc/%d/task/%d/mem%n", &pid, &tid, &used) == 2 && used == n) {
    if (RecTask* r = find(tid)) return r;
  } else if (!(sscanf(link, "/proc/%d/mem%n", &pid, &used) == 1 && used == n)) {
    return nullptr;
  }
  if (RecTask* r = find(pid)) return r;
  for (auto& [otid, o] : tasks_)
    if (o->tgid == pid) return o.get();
  return nullptr;
}

Result<void> RecordSession::note_remote_write(RecTask& t, const sys::SyscallArgs& a) {
  if (a.ret <= 0) return ok_result();
  const uint64_t len = static_cast<uint64_t>(a.ret);
  RecTask* target = nullptr;
  std::vector<std::pair<uint64_t, uint64_t>> ranges;  // where the bytes went
  if (a.nr == SYS_process_vm_writev) {
    target = find(static_cast<pid_t>(a.a[0]));
    if (!target)
      for (auto& [otid, o] : tasks_)
        if (o->tgid == static_cast<pid_t>(a.a[0])) target = o.get();
    // The bytes fill the remote iovecs in order.
    uint64_t left = len;
    for (uint64_t i = 0; i < a.a[4] && left; ++i) {
      struct iovec iov;
      if (!t.task->read_mem(RemotePtr(a.a[3] + i * sizeof iov), &iov, sizeof iov)) break;
      const uint64_t n = std::min<uint64_t>(left, iov.iov_len);
      if (n) ranges.emplace_back(reinterpret_cast<uint64_t>(iov.iov_base), n);
      left -= n;
    }
  } else {
    target = proc_mem_target(t, static_cast<int>(a.a[0]));
    if (!target) return ok_result();
    uint64_t offset;
    const bool positioned = a.nr == SYS_pwrite64 || a.nr == SYS_pwritev ||
                            (a.nr == SYS_pwritev2 && static_cast<int64_t>(a.a[3]) != -1);
    if (positioned) {
      offset = a.a[3];
    } else {
      // write/writev advance the file position: it now ends the bytes.
      std::ifstream info("/proc/" + std::to_string(t.task->real_tid()) + "/fdinfo/" +
                         std::to_string(a.a[0]));
      std::string key;
      uint64_t pos = 0;
      while (info >> key && key != "pos:") {
      }
      if (!(info >> pos) || pos < len) return ok_result();
      offset = pos - len;
    }
    ranges.emplace_back(offset, len);
  }
  if (!target) return ok_result();
  for (const auto& [addr, n] : ranges) {
    trace::MemWrite w{addr, std::vector<uint8_t>(n)};
    w.bytes.resize(target->task->as().read_partial(RemotePtr(addr), w.bytes.data(), n));
    if (!w.bytes.empty()) remote_writes_.emplace_back(target->task->real_tid(), std::move(w));
  }
  return ok_result();
}

Result<void> RecordSession::flush_remote_writes() {
  for (auto& [tid, w] : std::exchange(remote_writes_, {}))
    if (RecTask* target = find(tid))
      REWIND_TRY(record_ptrace_write(*target, {std::move(w)}, nullptr, nullptr));
  return ok_result();
}

void RecordSession::note_tracee_death(RecTask& t, int status) {
  if (!t.traced) return;
  const RecTask* parent = find(t.parent.value);
  if (parent && parent->tgid == t.traced->tracer_tgid) return;  // the kernel reports it
  tracee_deaths_[t.traced->tracer_tgid].emplace_back(t.task->real_tid(), status);
}

Result<void> RecordSession::release_tracees(RecTask& tracer) {
  const pid_t me = tracer.task->real_tid();
  for (auto& [tid, o] : tasks_) {
    if (!o->traced || o->traced->tracer != me) continue;
    const bool kill_it = o->traced->options & PTRACE_O_EXITKILL;
    // (A running tracee is let go even under PTRACE_O_EXITKILL: a kill
    // from outside its own stops is not one replay could place.)
    if (o->traced->stopped)
      REWIND_TRY(ptrace_resume_tracee(*o, kill_it ? PTRACE_KILL : PTRACE_DETACH, 0));
    o->traced.reset();
  }
  return ok_result();
}

}  // namespace rwd
