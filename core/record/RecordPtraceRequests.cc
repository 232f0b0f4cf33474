// ptrace between recorded tasks, emulated: the tracer's requests
// (PtraceLink.h, docs/ptrace.md). Each is answered at the tracer's entry
// stop (RecTask::answer); what it does to the tracee is recorded as the
// tracee's PtraceWrite and PtraceResume events.
#include <elf.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <vector>

#include "core/base/Log.h"
#include "core/record/RecordSession.h"
#include "core/task/Ptrace.h"

namespace rwd {

namespace {

// The PTRACE_O_* bits this emulation knows; the others (TRACESECCOMP,
// SUSPEND_SECCOMP) fail with EINVAL, which a program can tell, rather than
// never report what they ask for.
constexpr uint64_t kKnownOptions = PTRACE_O_TRACESYSGOOD | PTRACE_O_TRACEEXEC | PTRACE_O_EXITKILL |
                                   PTRACE_O_TRACEFORK | PTRACE_O_TRACEVFORK | PTRACE_O_TRACECLONE |
                                   PTRACE_O_TRACEVFORKDONE | PTRACE_O_TRACEEXIT;

}  // namespace

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
  if (c->job_stopped) {
    // Stopped by job control already: it reports that stop at once (a
    // seized one as PTRACE_EVENT_STOP), and no SIGSTOP is sent.
    l.attach_stop = false;
    c->traced = l;
    auto n = ptrace_stop_here(*c, l.seized ? SIGSTOP | (PTRACE_EVENT_STOP << 8) : SIGSTOP, 0);
    if (!n) return n.error();
    return 0;
  }
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
  tracee.job_stopped = false;  // a tracer's resume ends a group-stop too
  l.stepping = req == PTRACE_SINGLESTEP;
  l.syscall_stops = req == PTRACE_SYSCALL;
  tracee.resume_sig = deliver == SIGKILL ? 0 : deliver;
  const bool vfork_stop = l.code == (SIGTRAP | (PTRACE_EVENT_VFORK << 8));
  if (l.code == (SIGTRAP | (PTRACE_EVENT_EXEC << 8)) && req == PTRACE_SYSCALL) {
    // Out of the exec event into the execve's exit stop, where it stands.
    auto n = ptrace_stop_here(tracee, ptrace_syscall_stop_code(l), 0);
    if (!n) return n.error();
    tracee.traced->syscall_stop = PtraceLink::SyscallStop::Exit;
    return 0;
  }
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
    // Into a syscall that may sleep, from a stop at its entry: the
    // scheduler looks whether it sleeps, as for any (RecordSession::run).
    tracee.in_fast_syscall = tracee.in_syscall;
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

// PTRACE_INTERRUPT of a seized tracee that runs: it stops in
// PTRACE_EVENT_STOP where the trace has it next (RecordSession::run), at
// once if it stands at an event now. One asleep in a syscall is woken as
// for a preemption (the kernel restarts the syscall after its stop).
Result<int64_t> RecordSession::ptrace_interrupt(RecTask& tracee) {
  PtraceLink& l = *tracee.traced;
  if (l.stopped) return 0;
  l.interrupt_pending = true;
  if (tracee.parked && !tracee.pending && current_ != &tracee) {
    tracee.parked = false;
    auto n = ptrace_stop_here(tracee, SIGTRAP | (PTRACE_EVENT_STOP << 8), 0);
    if (!n) return n.error();
  } else if (tracee.running && tracee.in_syscall && !tracee.preempt_requested) {
    tracee.preempt_requested = true;
    REWIND_TRY(tracee.task->send_signal(SIGSTOP));
  }
  return 0;
}

// PTRACE_GET_SYSCALL_INFO, from the emulated stop: the kernel's would
// describe rewind's own (a seccomp stop where the tracer sees an entry).
Result<int64_t> RecordSession::ptrace_syscall_info(RecTask& t, RecTask& tracee, uint64_t size,
                                                   uint64_t addr) {
  auto regs = tracee.task->get_regs();
  if (!regs) return regs.error();
  __ptrace_syscall_info info{};
  constexpr uint32_t kAuditArchX86_64 = 0xc000003e;  // <linux/audit.h>
  info.arch = kAuditArchX86_64;
  info.instruction_pointer = regs->rip;
  info.stack_pointer = regs->rsp;
  size_t full = offsetof(__ptrace_syscall_info, entry);
  switch (tracee.traced->syscall_stop) {
    case PtraceLink::SyscallStop::Entry: {
      info.op = PTRACE_SYSCALL_INFO_ENTRY;
      info.entry.nr = regs->orig_rax;
      const uint64_t args[6] = {regs->rdi, regs->rsi, regs->rdx, regs->r10, regs->r8, regs->r9};
      std::copy(args, args + 6, info.entry.args);
      full = offsetof(__ptrace_syscall_info, entry.args) + sizeof info.entry.args;
      break;
    }
    case PtraceLink::SyscallStop::Exit:
      info.op = PTRACE_SYSCALL_INFO_EXIT;
      info.exit.rval = static_cast<int64_t>(regs->rax);
      info.exit.is_error = sys::is_error(info.exit.rval);
      full = offsetof(__ptrace_syscall_info, exit.is_error) + sizeof info.exit.is_error;
      break;
    case PtraceLink::SyscallStop::None:
      info.op = PTRACE_SYSCALL_INFO_NONE;
      break;
  }
  const size_t n = std::min<size_t>(size, full);
  if (n && !t.task->write_mem(RemotePtr(addr), &info, n)) return -EFAULT;
  return static_cast<int64_t>(full);
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
  if (req == PTRACE_INTERRUPT) return l.seized ? ptrace_interrupt(*tracee) : -EIO;
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
    case PTRACE_GET_SYSCALL_INFO:
      return ptrace_syscall_info(t, *tracee, addr, data);
    case PTRACE_LISTEN: {
      // From a seized tracee's PTRACE_EVENT_STOP: it stays in its
      // group-stop until a SIGCONT, which traps it again; if one came
      // already, it traps at once (the kernel wakes it to find the
      // group-stop over).
      if (!l.seized || (l.code >> 8) != PTRACE_EVENT_STOP) return -EIO;
      l.stopped = false;
      if (tracee->job_stopped) {
        l.listening = true;
        return 0;
      }
      auto n = ptrace_stop_here(*tracee, SIGTRAP | (PTRACE_EVENT_STOP << 8), 0);
      if (!n) return n.error();
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

}  // namespace rwd
