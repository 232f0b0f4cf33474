// ptrace between recorded tasks, emulated (PtraceLink.h).
//
// The tracer's ptrace, wait4 and waitid are answered here at their entry
// stops: the kernel skips them (RecTask::answer) and the table's output
// rules record what rewind wrote into the tracer. A tracee's ptrace stop
// is a point replay reaches anyway (a signal's delivery, a syscall's exit
// or entry, a trapped instruction), where rewind holds it at one of its
// own stops until the tracer resumes it.
#include <elf.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstddef>
#include <cstring>
#include <fstream>
#include <string>

#include "core/base/Log.h"
#include "core/record/RecordSession.h"
#include "core/task/Ptrace.h"
#include "core/task/RemoteSyscall.h"

namespace rwd {

namespace {

// The PTRACE_O_* bits this emulation knows; the others (TRACESECCOMP,
// SUSPEND_SECCOMP) fail with EINVAL, which a program can tell, rather than
// never report what they ask for.
constexpr uint64_t kKnownOptions = PTRACE_O_TRACESYSGOOD | PTRACE_O_TRACEEXEC | PTRACE_O_EXITKILL |
                                   PTRACE_O_TRACEFORK | PTRACE_O_TRACEVFORK | PTRACE_O_TRACECLONE |
                                   PTRACE_O_TRACEVFORKDONE | PTRACE_O_TRACEEXIT;

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
  if (t.traced->options & PTRACE_O_TRACEEXEC) {
    const Tid former = t.exec_former_tid.value ? t.exec_former_tid : t.task->rec_tid();
    return ptrace_stop_here(t, SIGTRAP | (PTRACE_EVENT_EXEC << 8),
                            static_cast<uint64_t>(former.value));
  }
  if (t.traced->seized) return Next::Continue;
  // The kernel's send_sig(SIGTRAP, current, 0): delivered on the way out,
  // as a held-back signal is.
  siginfo_t si{};
  si.si_signo = SIGTRAP;
  si.si_code = SI_USER;
  si.si_pid = t.tgid;
  si.si_uid = getuid();
  t.deferred_signals.push_front(si);
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

void RecordSession::note_tracee_death(RecTask& t, int status) {
  if (!t.traced) return;
  const RecTask* parent = find(t.parent.value);
  if (parent && parent->tgid == t.traced->tracer_tgid) return;  // the kernel reports it
  tracee_deaths_[t.traced->tracer_tgid].emplace_back(t.task->real_tid(), status);
}

Result<int64_t> RecordSession::ptrace_attach(RecTask& t, int req, pid_t pid, uint64_t data) {
  if (req == PTRACE_TRACEME) {
    RecTask* parent = find(t.parent.value);
    if (t.traced || !parent) return -EPERM;
    PtraceLink l;
    l.tracer = parent->task->real_tid();
    l.tracer_tgid = parent->tgid;
    t.traced = l;
    return 0;
  }
  RecTask* c = find(pid);
  if (!c) return -ESRCH;
  if (c->tgid == t.tgid || c->traced) return -EPERM;
  if (req == PTRACE_SEIZE && (data & ~kKnownOptions)) {
    warn("ptrace: PTRACE_SEIZE options 0x%llx are not emulated: the program gets EINVAL",
         static_cast<unsigned long long>(data & ~kKnownOptions));
    return -EINVAL;
  }
  PtraceLink l;
  l.tracer = t.task->real_tid();
  l.tracer_tgid = t.tgid;
  l.seized = req == PTRACE_SEIZE;
  l.options = req == PTRACE_SEIZE ? data : 0;
  // PTRACE_ATTACH stops the tracee with a SIGSTOP (rewind's, made the
  // kernel's when it comes: on_signal_stop).
  l.attach_stop = req == PTRACE_ATTACH;
  c->traced = l;
  if (req == PTRACE_ATTACH) REWIND_TRY(c->task->send_signal(SIGSTOP));
  return 0;
}

Result<void> RecordSession::record_ptrace_write(RecTask& tracee,
                                                std::vector<trace::MemWrite> writes,
                                                const user_regs_struct* regs, const siginfo_t* si) {
  trace::Event e;
  e.num = next_event();
  e.tid = tracee.task->rec_tid();
  e.kind = trace::EventKind::PtraceWrite;
  e.writes = std::move(writes);
  if (regs) {
    e.regs = *regs;
    e.flags |= trace::kFlagPtraceRegs;
  }
  if (si)
    e.siginfo.assign(reinterpret_cast<const uint8_t*>(si),
                     reinterpret_cast<const uint8_t*>(si) + sizeof *si);
  return write_event(e);
}

Result<int64_t> RecordSession::ptrace_resume_tracee(RecTask& tracee, int req, int sig) {
  if (sig < 0 || sig >= NSIG) return -EIO;
  PtraceLink& l = *tracee.traced;
  // The signal goes with it from a signal-delivery-stop only (at its
  // other stops the kernel may send it anew; rewind drops it).
  const int deliver = req == PTRACE_KILL ? SIGKILL : l.signal_stop ? sig : 0;
  trace::Event e;
  e.num = next_event();
  e.tid = tracee.task->rec_tid();
  e.kind = trace::EventKind::PtraceResume;
  e.signo = deliver;
  if (req == PTRACE_SINGLESTEP) e.flags |= trace::kFlagPtraceStep;
  if (auto regs = tracee.task->get_regs()) e.regs = *regs;
  if (deliver == SIGKILL) {
    // At any stop (a syscall's entry ignores the signal a resume carries).
    REWIND_TRY(tracee.task->send_signal(SIGKILL));
  } else if (deliver) {
    // What the handler gets. Another signal than the stop's comes from
    // the tracer (the kernel's ptrace_signal), not from rewind, the real
    // tracer: set here, and kept in the event for replay.
    siginfo_t si = l.siginfo;
    if (si.si_signo != deliver) {
      si = siginfo_t{};
      si.si_signo = deliver;
      si.si_code = SI_USER;
      si.si_pid = l.tracer_tgid;
      si.si_uid = getuid();
    }
    REWIND_TRY(tracee.task->set_siginfo(si));
    e.siginfo.assign(reinterpret_cast<const uint8_t*>(&si),
                     reinterpret_cast<const uint8_t*>(&si) + sizeof si);
  }
  if (tracee.syscallbuf) {
    // Under PTRACE_SYSCALL every syscall must stop: the library buffers
    // none meanwhile (preload/abi.h, traced_only). Replay's library reads
    // the same word, which this event writes there too.
    const uint64_t at = tracee.syscallbuf + offsetof(syscallbuf::BufHeader, traced_only);
    const uint32_t want = req == PTRACE_SYSCALL;
    auto now = tracee.task->read_val<uint32_t>(RemotePtr(at));
    if (now && *now != want) {
      REWIND_TRY(tracee.task->write_mem(RemotePtr(at), &want, sizeof want));
      trace::MemWrite w{at, std::vector<uint8_t>(sizeof want)};
      memcpy(w.bytes.data(), &want, sizeof want);
      e.writes.push_back(std::move(w));
    }
  }
  REWIND_TRY(write_event(e));
  l.stopped = false;
  l.stepping = req == PTRACE_SINGLESTEP;
  l.syscall_stops = req == PTRACE_SYSCALL;
  tracee.resume_sig = deliver == SIGKILL ? 0 : deliver;
  const bool vfork_stop = l.code == (SIGTRAP | (PTRACE_EVENT_VFORK << 8));
  if (req == PTRACE_DETACH) tracee.traced.reset();
  // A syscall entry it stopped at is taken up again (its entry is recorded
  // now); from any other stop it is resumed when next scheduled.
  if (tracee.held_wait) {
    tracee.pending = std::exchange(tracee.held_wait, std::nullopt);
  } else if (vfork_stop) {
    // A vfork parent sleeps until its child execs or exits: let into the
    // kernel now, as on_event_stop does without a tracer.
    REWIND_TRY(resume(tracee));
  } else {
    tracee.parked = true;
    // Stopped at a syscall's exit: a signal held back for it comes now.
    if (tracee.at_exit_point) {
      auto sent = redeliver_deferred_signal(tracee);
      if (!sent) return sent.error();
    }
  }
  return 0;
}

// PTRACE_PEEKUSER and PTRACE_POKEUSER: struct user's regs, which come
// first; the rest (debug registers, u_ar0...) is refused for writing and
// read from the kernel's.
Result<int64_t> RecordSession::ptrace_user_area(RecTask& t, RecTask& tracee, int req, uint64_t off,
                                                uint64_t data) {
  if (off & 7 || off >= sizeof(struct user)) return -EIO;
  Task& task = *tracee.task;
  if (off < sizeof(user_regs_struct)) {
    auto regs = task.get_regs();
    if (!regs) return regs.error();
    uint64_t* words = reinterpret_cast<uint64_t*>(&*regs);
    if (req == PTRACE_PEEKUSER) {
      if (!t.task->write_mem(RemotePtr(data), &words[off / 8], 8)) return -EFAULT;
      return 0;
    }
    words[off / 8] = data;
    if (!task.set_regs(*regs)) return -EIO;
    REWIND_TRY(record_ptrace_write(tracee, {}, &*regs, nullptr));
    return 0;
  }
  if (req == PTRACE_POKEUSER) {
    warn(
        "ptrace: PTRACE_POKEUSER beyond the registers (debug registers) is not emulated: the "
        "program gets EIO");
    return -EIO;
  }
  errno = 0;
  auto word = ptrace_request(PTRACE_PEEKUSER, task.real_tid(), reinterpret_cast<void*>(off));
  if (!word) return -EIO;
  const uint64_t v = static_cast<uint64_t>(*word);
  if (!t.task->write_mem(RemotePtr(data), &v, 8)) return -EFAULT;
  return 0;
}

// PTRACE_GETREGSET of any set, from the kernel's; PTRACE_SETREGSET of the
// general registers only.
Result<int64_t> RecordSession::ptrace_regset(RecTask& t, RecTask& tracee, int req, uint64_t type,
                                             uint64_t iov_addr) {
  struct iovec iov;
  if (!t.task->read_mem(RemotePtr(iov_addr), &iov, sizeof iov)) return -EFAULT;
  Task& task = *tracee.task;
  if (req == PTRACE_SETREGSET) {
    if (type != NT_PRSTATUS || iov.iov_len < sizeof(user_regs_struct)) {
      warn("ptrace: PTRACE_SETREGSET of set %llu is not emulated: the program gets EIO",
           static_cast<unsigned long long>(type));
      return -EIO;
    }
    user_regs_struct regs;
    if (!t.task->read_mem(RemotePtr(reinterpret_cast<uint64_t>(iov.iov_base)), &regs, sizeof regs))
      return -EFAULT;
    if (!task.set_regs(regs)) return -EIO;
    REWIND_TRY(record_ptrace_write(tracee, {}, &regs, nullptr));
    return 0;
  }
  std::vector<uint8_t> buf(std::min<size_t>(iov.iov_len, 64 * 1024));
  struct iovec mine {
    buf.data(), buf.size()
  };
  auto r = ptrace_request(PTRACE_GETREGSET, task.real_tid(), reinterpret_cast<void*>(type), &mine);
  if (!r) return -r.error().errnum;
  if (!t.task->write_mem(RemotePtr(reinterpret_cast<uint64_t>(iov.iov_base)), buf.data(),
                         mine.iov_len))
    return -EFAULT;
  iov.iov_len = mine.iov_len;
  if (!t.task->write_mem(RemotePtr(iov_addr), &iov, sizeof iov)) return -EFAULT;
  return 0;
}

Result<int64_t> RecordSession::emulate_ptrace(RecTask& t, const user_regs_struct& regs) {
  const int req = static_cast<int>(regs.rdi);
  const pid_t pid = static_cast<pid_t>(regs.rsi);
  const uint64_t addr = regs.rdx, data = regs.r10;
  if (req == PTRACE_TRACEME || req == PTRACE_ATTACH || req == PTRACE_SEIZE)
    return ptrace_attach(t, req, pid, data);
  RecTask* tracee = find(pid);
  if (!tracee || !tracee->traced || tracee->traced->tracer != t.task->real_tid()) return -ESRCH;
  PtraceLink& l = *tracee->traced;
  // Every other request wants the tracee in a ptrace stop, as the kernel's
  // ptrace_check_attach does (PTRACE_KILL aside).
  if (!l.stopped && req != PTRACE_KILL) return -ESRCH;
  Task& task = *tracee->task;
  Task& me = *t.task;
  switch (req) {
    case PTRACE_PEEKTEXT:
    case PTRACE_PEEKDATA: {
      uint64_t word;
      if (!task.read_mem(RemotePtr(addr), &word, sizeof word)) return -EIO;
      if (!me.write_mem(RemotePtr(data), &word, sizeof word)) return -EFAULT;
      return 0;
    }
    case PTRACE_POKETEXT:
    case PTRACE_POKEDATA: {
      trace::MemWrite w{addr, std::vector<uint8_t>(8)};
      memcpy(w.bytes.data(), &data, 8);
      if (!task.write_mem(RemotePtr(addr), &data, 8)) return -EIO;
      REWIND_TRY(record_ptrace_write(*tracee, {std::move(w)}, nullptr, nullptr));
      return 0;
    }
    case PTRACE_PEEKUSER:
    case PTRACE_POKEUSER:
      return ptrace_user_area(t, *tracee, req, addr, data);
    case PTRACE_GETREGS: {
      auto r = task.get_regs();
      if (!r) return r.error();
      if (!me.write_mem(RemotePtr(data), &*r, sizeof *r)) return -EFAULT;
      return 0;
    }
    case PTRACE_SETREGS: {
      user_regs_struct r;
      if (!me.read_mem(RemotePtr(data), &r, sizeof r)) return -EFAULT;
      if (!task.set_regs(r)) return -EIO;
      REWIND_TRY(record_ptrace_write(*tracee, {}, &r, nullptr));
      return 0;
    }
    case PTRACE_GETFPREGS: {
      user_fpregs_struct fp;
      auto r = ptrace_request(PTRACE_GETFPREGS, task.real_tid(), nullptr, &fp);
      if (!r) return -r.error().errnum;
      if (!me.write_mem(RemotePtr(data), &fp, sizeof fp)) return -EFAULT;
      return 0;
    }
    case PTRACE_GETREGSET:
    case PTRACE_SETREGSET:
      return ptrace_regset(t, *tracee, req, addr, data);
    case PTRACE_GETSIGINFO:
      if (!me.write_mem(RemotePtr(data), &l.siginfo, sizeof l.siginfo)) return -EFAULT;
      return 0;
    case PTRACE_SETSIGINFO: {
      siginfo_t si;
      if (!me.read_mem(RemotePtr(data), &si, sizeof si)) return -EFAULT;
      l.siginfo = si;
      // At a signal-delivery-stop it is what the handler gets.
      if (l.signal_stop) {
        REWIND_TRY(task.set_siginfo(si));
        REWIND_TRY(record_ptrace_write(*tracee, {}, nullptr, &si));
      }
      return 0;
    }
    case PTRACE_GETEVENTMSG: {
      const unsigned long msg = l.event_msg;
      if (!me.write_mem(RemotePtr(data), &msg, sizeof msg)) return -EFAULT;
      return 0;
    }
    case PTRACE_SETOPTIONS:
      if (data & ~kKnownOptions) {
        warn("ptrace: options 0x%llx are not emulated: the program gets EINVAL",
             static_cast<unsigned long long>(data & ~kKnownOptions));
        return -EINVAL;
      }
      l.options = data;
      return 0;
    case PTRACE_GETSIGMASK: {
      uint64_t mask;
      if (addr != sizeof mask) return -EINVAL;
      auto r = ptrace_request(PTRACE_GETSIGMASK, task.real_tid(),
                              reinterpret_cast<void*>(sizeof mask), &mask);
      if (!r) return -r.error().errnum;
      if (!me.write_mem(RemotePtr(data), &mask, sizeof mask)) return -EFAULT;
      return 0;
    }
    case PTRACE_CONT:
    case PTRACE_SYSCALL:
    case PTRACE_SINGLESTEP:
    case PTRACE_DETACH:
    case PTRACE_KILL:
      if (req == PTRACE_KILL && !l.stopped) return 0;
      return ptrace_resume_tracee(*tracee, req, static_cast<int>(data));
    default:
      warn("ptrace: request %s (%d) is not emulated: the program gets EIO",
           ptrace_request_name(req), req);
      return -EIO;
  }
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
