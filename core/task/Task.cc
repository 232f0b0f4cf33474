#include "core/task/Task.h"

#include <fcntl.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/base/Log.h"
#include "core/task/RemoteSyscall.h"

namespace rwd {

namespace {
constexpr size_t kDirectReadMin = 64 * 1024;
}  // namespace

Result<void> AddressSpace::open_for(pid_t tid) {
  std::string path = "/proc/" + std::to_string(tid) + "/mem";
  int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) return Error::from_errno("open " + path);
  mem_fd_ = ScopedFd(fd);
  tid_ = tid;
  has_stub_page = false;
  count_pages.clear();  // an execve took them
  code_patches.clear();
  return ok_result();
}

size_t AddressSpace::read_partial(RemotePtr addr, void* buf, size_t len) const {
  size_t done = 0;
  auto* out = static_cast<uint8_t*>(buf);
  // Large reads (a syscall buffer's records, a checkpoint's pages) copy
  // straight from the tracee's pages with process_vm_readv, where
  // /proc/PID/mem bounces every page through a kernel copy. It stops at the
  // first page the tracee itself could not read (PROT_NONE); /proc/PID/mem,
  // which can, reads on from there.
  if (len >= kDirectReadMin) {
    iovec local{out, len}, remote{reinterpret_cast<void*>(addr.addr), len};
    const ssize_t r = ::process_vm_readv(tid_, &local, 1, &remote, 1, 0);
    if (r > 0) done = static_cast<size_t>(r);
  }
  while (done < len) {
    ssize_t r = ::pread64(mem_fd_.get(), out + done, len - done, addr.addr + done);
    if (r <= 0) {
      if (r < 0 && errno == EINTR) continue;
      break;
    }
    done += r;
  }
  return done;
}

Result<void> AddressSpace::read(RemotePtr addr, void* buf, size_t len) const {
  size_t got = read_partial(addr, buf, len);
  if (got != len) {
    char msg[96];
    snprintf(msg, sizeof msg, "reading %zu bytes of tid %d at 0x%llx", len, tid_,
             (unsigned long long)addr.addr + got);
    return Error{std::string(msg) + ": unreadable"};
  }
  return ok_result();
}

Result<void> AddressSpace::write(RemotePtr addr, const void* buf, size_t len) const {
  size_t done = 0;
  auto* in = static_cast<const uint8_t*>(buf);
  while (done < len) {
    ssize_t r = ::pwrite64(mem_fd_.get(), in + done, len - done, addr.addr + done);
    if (r <= 0) {
      if (r < 0 && errno == EINTR) continue;
      char msg[96];
      snprintf(msg, sizeof msg, "writing %zu bytes into tid %d at 0x%llx", len, tid_,
               (unsigned long long)addr.addr + done);
      return Error::from_errno(msg, r < 0 ? errno : EFAULT);
    }
    done += r;
  }
  return ok_result();
}

Result<std::string> AddressSpace::read_c_string(RemotePtr addr, size_t max) const {
  std::string s;
  char chunk[256];
  while (s.size() < max) {
    size_t got = read_partial(addr + s.size(), chunk, sizeof chunk);
    if (got == 0) return Error{"unreadable string in tracee"};
    void* nul = memchr(chunk, 0, got);
    if (nul) {
      s.append(chunk, static_cast<char*>(nul) - chunk);
      return s;
    }
    s.append(chunk, got);
  }
  return Error{"string in tracee too long"};
}

Result<void> AddressSpace::add_breakpoint(uint64_t addr) {
  auto it = breakpoints_.find(addr);
  if (it != breakpoints_.end()) {
    ++it->second.refs;
    return ok_result();
  }
  uint8_t orig;
  REWIND_TRY(read(RemotePtr(addr), &orig, 1));
  static const uint8_t kInt3 = 0xcc;
  REWIND_TRY(write(RemotePtr(addr), &kInt3, 1));
  breakpoints_[addr] = Breakpoint{orig, 1};
  return ok_result();
}

Result<void> AddressSpace::write_keeping_breakpoints(RemotePtr addr, const void* buf, size_t len) {
  REWIND_TRY(write(addr, buf, len));
  static const uint8_t kInt3 = 0xcc;
  for (auto it = breakpoints_.lower_bound(addr.addr);
       it != breakpoints_.end() && it->first < addr.addr + len; ++it) {
    it->second.orig = static_cast<const uint8_t*>(buf)[it->first - addr.addr];
    REWIND_TRY(write(RemotePtr(it->first), &kInt3, 1));
  }
  return ok_result();
}

size_t AddressSpace::reinsert_replaced_breakpoints() {
  static const uint8_t kInt3 = 0xcc;
  size_t n = 0;
  for (auto& [addr, bp] : breakpoints_) {
    uint8_t now = 0;
    if (read_partial(RemotePtr(addr), &now, 1) != 1 || now == kInt3) continue;
    if (!write(RemotePtr(addr), &kInt3, 1)) continue;
    bp.orig = now;
    ++n;
  }
  return n;
}

Result<void> AddressSpace::remove_breakpoint(uint64_t addr) {
  auto it = breakpoints_.find(addr);
  if (it == breakpoints_.end()) return ok_result();
  if (--it->second.refs > 0) return ok_result();
  uint8_t orig = it->second.orig;
  breakpoints_.erase(it);
  // The mapping may be gone (munmap, exec): nothing to restore then.
  (void)write(RemotePtr(addr), &orig, 1);
  return ok_result();
}

Result<void> AddressSpace::lift_breakpoint(uint64_t addr) {
  auto it = breakpoints_.find(addr);
  if (it == breakpoints_.end()) return ok_result();
  return write(RemotePtr(addr), &it->second.orig, 1);
}

Result<void> AddressSpace::relay_breakpoint(uint64_t addr) {
  if (!breakpoints_.count(addr)) return ok_result();
  static const uint8_t kInt3 = 0xcc;
  return write(RemotePtr(addr), &kInt3, 1);
}

void AddressSpace::hide_breakpoints(uint64_t addr, uint8_t* buf, size_t len) const {
  for (auto it = breakpoints_.lower_bound(addr); it != breakpoints_.end() && it->first < addr + len;
       ++it)
    buf[it->first - addr] = it->second.orig;
  for (auto it = code_patches.lower_bound(addr > 16 ? addr - 16 : 0);
       it != code_patches.end() && it->first < addr + len; ++it) {
    for (size_t i = 0; i < it->second.size(); ++i) {
      const uint64_t a = it->first + i;
      if (a >= addr && a < addr + len) buf[a - addr] = it->second[i];
    }
  }
  // After the int3s: an int3 at a site's first byte kept the ud2's byte.
  for (auto it = trap_sites.lower_bound(addr > kMaxTrapInsnLength ? addr - kMaxTrapInsnLength : 0);
       it != trap_sites.end() && it->first < addr + len; ++it) {
    for (size_t i = 0; i < it->second.insn.length; ++i) {
      const uint64_t a = it->first + i;
      if (a >= addr && a < addr + len) buf[a - addr] = it->second.orig[i];
    }
  }
}

Result<void> AddressSpace::remove_inherited_breakpoints(const AddressSpace& parent) {
  for (const auto& [addr, bp] : parent.breakpoints_) (void)write(RemotePtr(addr), &bp.orig, 1);
  for (const auto& [addr, orig] : parent.code_patches)
    (void)write(RemotePtr(addr), orig.data(), orig.size());
  return ok_result();
}

Result<user_regs_struct> Task::get_regs() const {
  if (regs_) return *regs_;
  user_regs_struct r;
  auto res = ptrace_request(PTRACE_GETREGS, real_tid_, nullptr, &r);
  if (!res) return res.error();
  if (skip_orig_rax_) r.orig_rax = *skip_orig_rax_;
  regs_ = r;
  return r;
}

// Whether PTRACE_SETREGS stores `r` as given into a task whose registers
// are `now`. It stores general registers, rip and orig_rax verbatim; of
// eflags it takes only the bits a tracer may change (and may hide TF when
// it set TF itself), and segment registers and bases it checks and may
// refuse. Where those equal what the task holds, there is nothing to adjust.
static bool stored_verbatim(const user_regs_struct& now, const user_regs_struct& r) {
  return r.eflags == now.eflags && r.cs == now.cs && r.ss == now.ss && r.ds == now.ds &&
         r.es == now.es && r.fs == now.fs && r.gs == now.gs && r.fs_base == now.fs_base &&
         r.gs_base == now.gs_base;
}

Result<void> Task::set_regs(const user_regs_struct& r) const {
  // The kernel may adjust what it is given (eflags' reserved bits, for
  // one): unless it cannot have, the next get_regs() reads back what it
  // really holds. (Replay sets registers at every event and reads them
  // again before it resumes the task: one PTRACE_GETREGS saved per event.)
  const bool keep = regs_ && stored_verbatim(*regs_, r);
  regs_.reset();
  user_regs_struct k = r;
  if (skip_orig_rax_) k.orig_rax = static_cast<uint64_t>(-1);  // see skip_syscall()
  auto res = ptrace_request(PTRACE_SETREGS, real_tid_, nullptr, &k);
  if (!res) return res.error();
  if (skip_orig_rax_) skip_orig_rax_ = r.orig_rax;
  skip_unwritten_ = false;
  if (keep) regs_ = r;
  return ok_result();
}

// The -1 goes into the kernel with the next set_regs(), which replay makes
// anyway when it puts the syscall's results in place, or else just before
// the task leaves the stop: one PTRACE_SETREGS per emulated syscall, as
// after PTRACE_SYSEMU.
Result<void> Task::skip_syscall() const {
  if (!seccomp_stop_) return Error{"skip_syscall: not at a seccomp stop"};
  if (skip_orig_rax_) return ok_result();
  auto regs = get_regs();
  if (!regs) return regs.error();
  skip_orig_rax_ = regs->orig_rax;
  skip_unwritten_ = true;
  return ok_result();
}

Result<void> Task::write_skip() const {
  if (!skip_unwritten_) return ok_result();
  auto regs = get_regs();
  if (!regs) return regs.error();
  return set_regs(*regs);
}

// A syscall-entry stop always has rax == -ENOSYS on x86-64: the kernel's
// entry code stores it in pt_regs before any tracer sees them. So another
// rax is an exit, for certain. -ENOSYS itself is ambiguous only in the rare
// exit of a syscall that returns it (an unknown or skipped one); after an
// exit stop, whose syscall is over, the next syscall-stop of a task resumed
// only with PTRACE_SYSCALL is the next entry (a signal-delivery or group
// stop in between keeps it outside the kernel's syscall path). That covers
// both stops of a syscall without asking the kernel, whichever way the
// entry was reached. Anything that leaves the state in doubt (PTRACE_CONT
// and single-steps, which can run into or out of a syscall unseen, or a
// syscall-stop that wait() saw and nobody classified, as in injected
// syscalls) makes it Unknown, and the kernel is asked.
//
// All this assumes the task still is in the stop its wait status reported.
// A SIGKILL (a sibling thread's exit_group or execve) takes a task out of
// it into its PTRACE_EVENT_EXIT stop with the same registers, and only the
// kernel then says it is no syscall-stop (None): hence may_infer, which the
// caller gives only where nothing can have killed the task unseen.
Result<SyscallStopKind> Task::syscall_stop_kind(bool may_infer) const {
  auto regs = get_regs();  // needed at every syscall-stop anyway: cached
  if (!regs) return regs.error();
  SyscallStopKind kind;
  if (may_infer && sysemu_entry_) {
    kind = SyscallStopKind::Entry;  // PTRACE_SYSEMU reports no other syscall-stop
  } else if (may_infer && regs->rax != static_cast<uint64_t>(-ENOSYS)) {
    kind = SyscallStopKind::Exit;
  } else if (may_infer && syscall_state_ == SyscallState::Outside) {
    kind = SyscallStopKind::Entry;
  } else {
    __ptrace_syscall_info info{};
    auto res = ptrace_request(PTRACE_GET_SYSCALL_INFO, real_tid_,
                              reinterpret_cast<void*>(sizeof info), &info);
    if (!res) return res.error();
    switch (info.op) {
      case PTRACE_SYSCALL_INFO_ENTRY:
        kind = SyscallStopKind::Entry;
        break;
      case PTRACE_SYSCALL_INFO_EXIT:
        kind = SyscallStopKind::Exit;
        break;
      case PTRACE_SYSCALL_INFO_SECCOMP:
        kind = SyscallStopKind::Seccomp;
        break;
      default:
        return SyscallStopKind::None;
    }
  }
  syscall_state_ = kind == SyscallStopKind::Exit ? SyscallState::Outside : SyscallState::Inside;
  return kind;
}

Result<siginfo_t> Task::get_siginfo() const {
  siginfo_t si;
  auto res = ptrace_request(PTRACE_GETSIGINFO, real_tid_, nullptr, &si);
  if (!res) return res.error();
  return si;
}

Result<void> Task::set_siginfo(const siginfo_t& si) const {
  auto res = ptrace_request(PTRACE_SETSIGINFO, real_tid_, nullptr, const_cast<siginfo_t*>(&si));
  if (!res) return res.error();
  return ok_result();
}

Result<unsigned long> Task::get_event_msg() const {
  unsigned long msg = 0;
  auto res = ptrace_request(PTRACE_GETEVENTMSG, real_tid_, nullptr, &msg);
  if (!res) return res.error();
  return msg;
}

Result<void> Task::resume(ResumeRequest req, int sig) const {
  if (exit_emulated_ && (req == ResumeRequest::Syscall || req == ResumeRequest::SingleStep))
    REWIND_TRY(leave_skipped_entry());
  REWIND_TRY(write_skip());
  int r = req == ResumeRequest::Cont      ? PTRACE_CONT
          : req == ResumeRequest::Syscall ? PTRACE_SYSCALL
          : req == ResumeRequest::Sysemu  ? PTRACE_SYSEMU
                                          : PTRACE_SINGLESTEP;
  forget_stop();
  // Without syscall-stops the task may enter or leave a syscall unseen.
  if (req != ResumeRequest::Syscall) syscall_state_ = SyscallState::Unknown;
  sysemu_resumed_ = req == ResumeRequest::Sysemu;
  stepped_ = req == ResumeRequest::SingleStep;
  auto res = ptrace_request(r, real_tid_, nullptr, reinterpret_cast<void*>(static_cast<long>(sig)));
  if (!res) return res.error();
  return ok_result();
}

// The skipped syscall's exit stop comes next, before anything else (signals
// are dealt with on the way out, after it). A seccomp stop's skip left -1 in
// the kernel's orig_rax; at the exit stop it skips nothing any more, and the
// program's value goes back, for the kernel's restart logic.
Result<void> Task::leave_skipped_entry() const {
  REWIND_TRY(write_skip());
  const std::optional<uint64_t> orig_rax = skip_orig_rax_;
  forget_stop();
  sysemu_resumed_ = false;
  REWIND_TRY(ptrace_request(PTRACE_SYSCALL, real_tid_, nullptr, nullptr));
  auto w = wait_for(real_tid_);
  if (!w) return w.error();
  if (w->status.kind() != WaitStatus::Kind::SyscallStop)
    return Error{"tid " + std::to_string(real_tid_) +
                 " did not stop at the exit of the syscall replay emulated (wait status 0x" +
                 std::to_string(w->status.raw()) + ")"};
  syscall_state_ = SyscallState::Outside;
  if (!orig_rax || *orig_rax == static_cast<uint64_t>(-1)) return ok_result();
  auto regs = get_regs();
  if (!regs) return regs.error();
  user_regs_struct r = *regs;
  r.orig_rax = *orig_rax;
  return set_regs(r);
}

Result<WaitResult> Task::wait() const {
  auto w = wait_for(real_tid_);
  if (w) note_stop(w->status);
  return w;
}

void Task::note_stop(const WaitStatus& st) const {
  // Whoever waits here (injected syscalls, say) may not classify the
  // syscall-stops it meets: they may have moved the task in or out of a
  // syscall. syscall_stop_kind() learns it again at the next one.
  if (st.kind() == WaitStatus::Kind::SyscallStop) syscall_state_ = SyscallState::Unknown;
  sysemu_entry_ = sysemu_resumed_ && st.kind() == WaitStatus::Kind::SyscallStop;
  sysemu_resumed_ = false;
  seccomp_stop_ =
      st.kind() == WaitStatus::Kind::EventStop && st.ptrace_event() == PTRACE_EVENT_SECCOMP;
  if (seccomp_stop_) syscall_state_ = SyscallState::Inside;
  signal_stop_ = st.kind() == WaitStatus::Kind::SignalDeliveryStop ? st.stop_sig() : 0;
  // The kernel sets the thread's trap number as it raises these (do_trap,
  // send_sigtrap); a signal sent with kill gets here too, rarely.
  if (st.kind() == WaitStatus::Kind::SignalDeliveryStop) {
    switch (st.stop_sig()) {
      case SIGILL:
        last_trap_ = 6;  // X86_TRAP_UD: a ud2 (a patched rdtsc or cpuid)
        break;
      case SIGTRAP:
        last_trap_ = stepped_ ? 1 : 3;  // X86_TRAP_DB, X86_TRAP_BP
        break;
      case SIGSEGV:
        last_trap_ = 13;  // X86_TRAP_GP: rdtsc under PR_SET_TSC, cpuid faulting
        break;
      default:
        break;
    }
  }
}

Result<void> Task::send_signal(int sig) const {
  if (exit_emulated_ && skip_orig_rax_) REWIND_TRY(leave_skipped_entry());
  // tkill rather than tgkill: the tracer tracks threads, and the thread
  // group id adds nothing when the tid is known to be alive and traced.
  if (syscall(SYS_tkill, real_tid_, sig) < 0)
    return Error::from_errno("tkill(" + std::to_string(real_tid_) + ", " + signal_name(sig) + ")");
  return ok_result();
}

std::string signal_name(int sig) {
  const char* abbrev = sigabbrev_np(sig);
  if (abbrev) return std::string("SIG") + abbrev;
  if (sig >= SIGRTMIN && sig <= SIGRTMAX) return "SIGRTMIN+" + std::to_string(sig - SIGRTMIN);
  return "signal " + std::to_string(sig);
}

bool is_synchronous_fault(int sig, const siginfo_t& si) {
  switch (sig) {
    case SIGSEGV:
    case SIGBUS:
    case SIGFPE:
    case SIGILL:
    case SIGTRAP:
      return si.si_code > 0;
    default:
      return false;
  }
}

bool AddressSpace::in_rewind_code(uint64_t pc) const {
  if (pc >= kStubPageAddr && pc < kStubPageAddr + kStubMappingSize) return true;
  if (pc >= preload_text.first && pc < preload_text.second) return true;
  for (const auto& [start, end] : syscall_stubs)
    if (pc >= start && pc < end) return true;
  return false;
}

// (As the program's code reads: an int3 of ours at pc is not the
// instruction. Read raw, a breakpoint on a `syscall` hid it, and the step
// over that breakpoint let the kernel run the syscall with TF set, which
// the next event's check saw in r11.)
bool at_syscall_insn(Task& task, uint64_t pc) {
  uint8_t insn[2] = {};
  if (task.as().read_partial(RemotePtr(pc), insn, 2) != 2) return false;
  if (task.as().has_breakpoint(pc)) task.as().hide_breakpoints(pc, insn, 2);
  return insn[0] == 0x0f && insn[1] == 0x05;
}

bool same_user_registers(const user_regs_struct& a, const user_regs_struct& b) {
  user_regs_struct x = a, y = b;
  x.orig_rax = y.orig_rax = 0;
  x.eflags &= ~0x10100ull;
  y.eflags &= ~0x10100ull;
  // A `syscall` saves rflags in r11: one made while the task was
  // single-stepped (a reverse-stepi walk through a buffered syscall) leaves
  // TF set there, which the same point reached at full speed does not.
  x.r11 &= ~0x100ull;
  y.r11 &= ~0x100ull;
  return memcmp(&x, &y, sizeof x) == 0;
}

}  // namespace rwd
