#include "core/task/RemoteSyscall.h"

#include "preload/abi.h"

#include <asm/prctl.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#include <cstring>

#include "core/base/Log.h"

namespace rwd {

AutoRemoteSyscalls::AutoRemoteSyscalls(Task& t, uint64_t syscall_insn)
    : t_(t), syscall_insn_(syscall_insn) {
  auto r = t_.get_regs();
  if (r) {
    saved_ = *r;
    have_saved_ = true;
  }
}

AutoRemoteSyscalls::~AutoRemoteSyscalls() {
  if (!have_saved_) return;
  auto r = t_.set_regs(saved_);
  if (!r)
    REWIND_LOG(Ptrace, "restoring registers after injected syscalls: %s",
               r.error().message.c_str());
}

// Resumes until the next syscall-stop of this task. Signals that arrive in
// between are held back in Task::stashed_signals for the session to redeliver.
static Result<void> run_to_syscall_stop(Task& t) {
  for (;;) {
    REWIND_TRY(t.resume(ResumeRequest::Syscall));
    auto w = t.wait();
    if (!w) return w.error();
    switch (w->status.kind()) {
      case WaitStatus::Kind::SyscallStop:
        return ok_result();
      case WaitStatus::Kind::SignalDeliveryStop: {
        auto si = t.get_siginfo();
        if (si) t.stashed_signals.push_back(*si);
        continue;
      }
      case WaitStatus::Kind::EventStop: {
        // An injected fork/clone reports its child (PTRACE_O_TRACEFORK)
        // before the syscall returns.
        int ev = w->status.ptrace_event();
        if (ev == PTRACE_EVENT_FORK || ev == PTRACE_EVENT_VFORK || ev == PTRACE_EVENT_CLONE) {
          auto child = t.get_event_msg();
          if (!child) return child.error();
          t.injected_child = static_cast<pid_t>(*child);
          continue;
        }
        // Record's seccomp filter stops a syscall injected from outside
        // rewind's page (install_stub_page borrows the program's bytes)
        // after its entry stop: it runs on to its exit stop.
        if (ev == PTRACE_EVENT_SECCOMP) continue;
        return Error{"unexpected ptrace event " + std::to_string(ev) +
                     " during an injected syscall"};
      }
      case WaitStatus::Kind::Exited:
      case WaitStatus::Kind::Killed:
        return Error{"tracee " + std::to_string(t.real_tid()) + " died during an injected syscall"};
      default:
        return Error{"unexpected stop (status 0x" + std::to_string(w->status.raw()) +
                     ") during an injected syscall"};
    }
  }
}

Result<int64_t> AutoRemoteSyscalls::syscall(long nr, uint64_t a0, uint64_t a1, uint64_t a2,
                                            uint64_t a3, uint64_t a4, uint64_t a5) {
  if (!have_saved_) return Error{"cannot read registers of tid " + std::to_string(t_.real_tid())};
  user_regs_struct r = saved_;
  r.rip = syscall_insn_;
  r.rax = nr;
  // orig_rax = -1: the kernel must not apply syscall-restart logic (which
  // keys on orig_rax >= 0 and an -ERESTART* rax) as we return to user space.
  r.orig_rax = static_cast<uint64_t>(-1);
  r.rdi = a0;
  r.rsi = a1;
  r.rdx = a2;
  r.r10 = a3;
  r.r8 = a4;
  r.r9 = a5;
  REWIND_TRY(t_.set_regs(r));
  REWIND_TRY(run_to_syscall_stop(t_));  // entry
  REWIND_TRY(run_to_syscall_stop(t_));  // exit
  auto after = t_.get_regs();
  if (!after) return after.error();
  REWIND_LOG(Syscall, "injected syscall %ld(0x%lx, 0x%lx, 0x%lx, ...) in %d = %lld", nr, a0, a1, a2,
             t_.real_tid(), (long long)after->rax);
  return static_cast<int64_t>(after->rax);
}

Result<uint64_t> AutoRemoteSyscalls::push_string(const std::string& s) {
  if (s.size() + 1 > kScratchSize) return Error{"path too long for the scratch area: " + s};
  REWIND_TRY(t_.write_mem(RemotePtr(kScratchAddr), s.c_str(), s.size() + 1));
  return kScratchAddr;
}

Result<int64_t> AutoRemoteSyscalls::map_file(const std::string& path, int open_flags,
                                             const FileMapping& m) {
  auto p = push_string(path);
  if (!p) return p.error();
  auto fd = syscall(SYS_openat, static_cast<uint64_t>(AT_FDCWD), *p,
                    static_cast<uint64_t>(open_flags | O_CLOEXEC));
  if (!fd) return fd.error();
  if (*fd < 0)
    return Error::from_errno("cannot open " + path + " in the tracee", static_cast<int>(-*fd));
  auto r = syscall(SYS_mmap, m.addr, m.len, m.prot, m.flags, static_cast<uint64_t>(*fd), m.offset);
  // Closed whatever mmap did: the tracee must not keep an fd it never had.
  auto c = syscall(SYS_close, static_cast<uint64_t>(*fd));
  if (!r) return r.error();
  if (!c) return c.error();
  return r;
}

Result<void> install_stub_page(Task& t, uint32_t preload_mode) {
  auto regs = t.get_regs();
  if (!regs) return regs.error();
  const uint64_t ip = regs->rip;
  uint8_t saved[2];
  REWIND_TRY(t.read_mem(RemotePtr(ip), saved, 2));
  static const uint8_t kSyscall[2] = {0x0f, 0x05};
  REWIND_TRY(t.write_mem(RemotePtr(ip), kSyscall, 2));
  int64_t res;
  {
    AutoRemoteSyscalls remote(t, ip);
    auto r = remote.syscall(SYS_mmap, kStubPageAddr, kStubMappingSize, PROT_READ | PROT_WRITE,
                            MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    if (!r) return r.error();
    res = *r;
    if (res == static_cast<int64_t>(kStubPageAddr)) {
      static const uint8_t kStub[3] = {0x0f, 0x05, 0xcc};  // syscall; int3
      REWIND_TRY(t.write_mem(RemotePtr(kStubPageAddr), kStub, sizeof kStub));
      // The preload library's untraced syscall, and whether it records or
      // replays (preload/abi.h).
      static const uint8_t kUntraced[3] = {0x0f, 0x05, 0xc3};  // syscall; ret
      REWIND_TRY(t.write_mem(RemotePtr(syscallbuf::kUntracedSyscallInsn), kUntraced, 3));
      REWIND_TRY(t.write_mem(RemotePtr(syscallbuf::kTracedRestartInsn), kUntraced, 3));
      REWIND_TRY(t.write_mem(RemotePtr(syscallbuf::kReplayedSyscallInsn), kUntraced, 3));
      REWIND_TRY(t.write_mem(RemotePtr(syscallbuf::kBatonSyscallInsn), kUntraced, 3));
      REWIND_TRY(t.write_mem(RemotePtr(syscallbuf::kModeWord), &preload_mode, sizeof preload_mode));
      static const uint8_t kTraps[5] = {0x0f, 0x0b, 0x90, 0x0f, 0x31};  // ud2; nop; rdtsc
      REWIND_TRY(t.write_mem(RemotePtr(kStubUd2Insn), kTraps, sizeof kTraps));
      auto p = remote.syscall(SYS_mprotect, kStubPageAddr, 4096, PROT_READ | PROT_EXEC);
      if (!p) return p.error();
    }
  }
  REWIND_TRY(t.write_mem(RemotePtr(ip), saved, 2));
  if (res != static_cast<int64_t>(kStubPageAddr))
    return Error{"cannot map rewind's stub page at 0x70000000 in tid " +
                 std::to_string(t.real_tid()) + ": " + strerror(static_cast<int>(-res))};
  t.as().has_stub_page = true;
  return ok_result();
}

Result<bool> make_cpuid_fault(Task& t) {
  AutoRemoteSyscalls remote(t);
  auto r = remote.syscall(SYS_arch_prctl, ARCH_SET_CPUID, 0);
  if (!r) return r.error();
  if (*r != 0)
    REWIND_LOG(Record, "tid %d: ARCH_SET_CPUID failed: %s", t.real_tid(), strerror(int(-*r)));
  return *r == 0;
}

}  // namespace rwd
