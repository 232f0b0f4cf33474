#include "core/task/Spawn.h"

#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <signal.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>

#include "core/base/Fd.h"
#include "core/task/Ptrace.h"
#include "preload/abi.h"

namespace rwd {

Result<int> pin_tracer_to_one_cpu(int preferred) {
  cpu_set_t allowed;
  if (sched_getaffinity(0, sizeof allowed, &allowed) < 0)
    return Error::from_errno("sched_getaffinity");
  int n = CPU_COUNT(&allowed);
  if (n == 0) return Error{"no CPU is allowed to this process"};
  int cpu = -1;
  if (preferred >= 0 && preferred < CPU_SETSIZE && CPU_ISSET(preferred, &allowed)) {
    cpu = preferred;
  } else {
    // Spread concurrent rewind processes (e.g. parallel tests) over the CPUs.
    int want = getpid() % n;
    for (int i = 0, seen = 0; i < CPU_SETSIZE; ++i) {
      if (!CPU_ISSET(i, &allowed)) continue;
      if (seen++ == want) {
        cpu = i;
        break;
      }
    }
  }
  cpu_set_t one;
  CPU_ZERO(&one);
  CPU_SET(cpu, &one);
  if (sched_setaffinity(0, sizeof one, &one) < 0) return Error::from_errno("sched_setaffinity");
  return cpu;
}

// rewind's seccomp filter: a syscall stops the tracee (SECCOMP_RET_TRACE: a
// PTRACE_EVENT_SECCOMP stop) unless its instruction is one of `untraced`,
// all in rewind's page at a fixed address below 4 GiB (seccomp_data's
// instruction_pointer is the address after the `syscall`). A syscall of
// another ABI (int $0x80) is traced too. The filter is inherited across
// fork and kept across execve: a program that clears LD_PRELOAD, or a
// static one, simply has every syscall traced. Built before the fork, so
// that the child only installs it.
static std::vector<sock_filter> seccomp_program(const std::vector<uint64_t>& untraced) {
  static_assert(syscallbuf::kStubPage + 0x1000 < (1ull << 32),
                "the page's addresses fit in 32 bits");
  constexpr uint32_t kIpLow = offsetof(seccomp_data, instruction_pointer);
  const auto n = static_cast<uint8_t>(untraced.size());
  // Jump offsets count the instructions skipped: from the checks below to
  // the RET_TRACE at [5 + n], and from each compare to the RET_ALLOW after it.
  std::vector<sock_filter> code = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, arch)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 0, static_cast<uint8_t>(n + 3)),
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, kIpLow + 4),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, static_cast<uint8_t>(n + 1)),
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, kIpLow),
  };
  for (uint8_t i = 0; i < n; ++i) {
    const uint64_t after = untraced[i] + 2;  // `syscall` is 0f 05
    code.push_back(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, static_cast<uint32_t>(after),
                            static_cast<uint8_t>(n - i), 0));
  }
  code.push_back(BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRACE));
  code.push_back(BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW));
  return code;
}

static int install_seccomp_filter(const std::vector<sock_filter>& code) {
  struct sock_fprog prog = {static_cast<unsigned short>(code.size()),
                            const_cast<sock_filter*>(code.data())};
  // Without CAP_SYS_ADMIN the kernel wants no_new_privs first; a setuid
  // program under ptrace does not gain privileges anyway.
  if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) == 0) return 0;
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) return errno;
  return syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) == 0 ? 0 : errno;
}

[[noreturn]] static void child_exec(const SpawnOptions& o, const std::vector<sock_filter>& filter,
                                    int err_fd) {
  std::vector<char*> argv, envp;
  for (auto& a : o.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  for (auto& e : o.env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);

  cpu_set_t one;
  CPU_ZERO(&one);
  CPU_SET(o.cpu, &one);
  int err = 0;
  // The tracer may block signals (it reads SIGCHLD from a signalfd); the
  // program must start with none blocked, as it would without rewind.
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  if (o.ignored_signals) {
    // The raw syscall: glibc's signal() refuses the signals it keeps for
    // itself (32 and 33), which a caller may have ignored all the same.
    for (int sig = 1; sig < 65; ++sig) {
      if (sig == SIGKILL || sig == SIGSTOP) continue;
      struct {
        uint64_t handler, flags, restorer, mask;
      } act = {(*o.ignored_signals >> (sig - 1)) & 1 ? 1u : 0u, 0, 0, 0};  // SIG_IGN, SIG_DFL
      syscall(SYS_rt_sigaction, sig, &act, nullptr, 8);
    }
  }
  if (sched_setaffinity(0, sizeof one, &one) < 0) err = errno;
  if (!err && personality(ADDR_NO_RANDOMIZE) < 0) err = errno;
  if (!err && prctl(PR_SET_TSC, PR_TSC_SIGSEGV) < 0) err = errno;
  if (!err && ptrace(PTRACE_TRACEME, 0, nullptr, nullptr) < 0) err = errno;
  if (!err) {
    raise(SIGSTOP);
    // After the stop: the tracer has set PTRACE_O_TRACESECCOMP by now, which
    // the filter's first trapped syscall (this execve) needs.
    if (o.seccomp_filter) err = install_seccomp_filter(filter);
    if (!err) {
      execve(o.exe_path.c_str(), argv.data(), envp.data());
      err = errno;
    }
  }
  (void)!write(err_fd, &err, sizeof err);
  _exit(127);
}

uint64_t ignored_signals_now() {
  uint64_t mask = 0;
  for (int sig = 1; sig < 65; ++sig) {
    struct sigaction sa;
    if (sig != SIGKILL && sig != SIGSTOP && sigaction(sig, nullptr, &sa) == 0 &&
        sa.sa_handler == SIG_IGN)
      mask |= 1ull << (sig - 1);
  }
  return mask;
}

Result<Spawned> spawn_traced(const SpawnOptions& o) {
  if (o.seccomp_filter) {
    for (uint64_t insn : o.seccomp_filter->untraced_insns)
      if (insn < syscallbuf::kStubPage || insn >= syscallbuf::kStubPage + 0x1000)
        return Error{"an untraced syscall instruction outside rewind's page"};
    if (o.seccomp_filter->untraced_insns.size() > 16)
      return Error{"too many untraced syscall instructions for the seccomp filter"};
  }
  const std::vector<sock_filter> filter = o.seccomp_filter
                                              ? seccomp_program(o.seccomp_filter->untraced_insns)
                                              : std::vector<sock_filter>{};
  int pipefd[2];
  if (pipe2(pipefd, O_CLOEXEC) < 0) return Error::from_errno("pipe2");
  pid_t pid = fork();
  if (pid < 0) return Error::from_errno("fork");
  if (pid == 0) {
    close(pipefd[0]);
    child_exec(o, filter, pipefd[1]);
  }
  close(pipefd[1]);
  ScopedFd err_pipe(pipefd[0]);
  // The errno child_exec sends when execve returns; none once the execve
  // passed its point of no return (the pipe is O_CLOEXEC).
  auto exec_errno = [&]() -> std::optional<int> {
    int err = 0;
    if (read(err_pipe.get(), &err, sizeof err) == sizeof err) return err;
    return std::nullopt;
  };
  auto fail = [&](Error e) -> Result<Spawned> {
    kill(pid, SIGKILL);
    while (waitpid(pid, nullptr, __WALL) == pid || errno == EINTR) {
    }
    return e;
  };
  auto w = wait_for(pid);
  if (!w) return fail(w.error());
  if (w->status.kind() != WaitStatus::Kind::SignalDeliveryStop) {
    if (auto err = exec_errno()) return fail(Error::from_errno("cannot start " + o.exe_path, *err));
    return fail(Error{"child exited before it could be traced"});
  }
  auto opt =
      ptrace_request(PTRACE_SETOPTIONS, pid, nullptr, reinterpret_cast<void*>(kPtraceOptions));
  if (!opt) return fail(opt.error());
  // Run to PTRACE_EVENT_EXEC, then to the execve's syscall-exit stop.
  auto req = PTRACE_CONT;
  int sig = 0;  // to deliver with the next resume
  for (;;) {
    auto r = ptrace_request(req, pid, nullptr, reinterpret_cast<void*>(static_cast<long>(sig)));
    if (!r) return fail(r.error());
    sig = 0;
    w = wait_for(pid);
    if (!w) return fail(w.error());
    auto kind = w->status.kind();
    if (kind == WaitStatus::Kind::EventStop && w->status.ptrace_event() == PTRACE_EVENT_EXEC) {
      req = PTRACE_SYSCALL;
      continue;
    }
    if (kind == WaitStatus::Kind::SyscallStop && req == PTRACE_SYSCALL) break;
    if (kind == WaitStatus::Kind::EventStop && w->status.ptrace_event() == PTRACE_EVENT_EXIT) {
      req = PTRACE_CONT;  // let it finish dying; the next wait reports the exit
      continue;
    }
    if (kind == WaitStatus::Kind::SignalDeliveryStop) {
      // Deliver it, as the kernel would without us: the SIGSEGV of an execve
      // that failed past its point of no return must kill the child. Held
      // back, the child returned to the half-built image and faulted again,
      // tens of thousands of times a second, forever. Stopping signals stay
      // held back: under PTRACE_TRACEME their group-stop would look like
      // another delivery stop of the same signal, again and again.
      const int s = w->status.stop_sig();
      if (s != SIGSTOP && s != SIGTSTP && s != SIGTTIN && s != SIGTTOU) sig = s;
      continue;
    }
    if (kind == WaitStatus::Kind::Exited || kind == WaitStatus::Kind::Killed) {
      if (auto err = exec_errno()) return Error::from_errno("cannot execute " + o.exe_path, *err);
      if (kind == WaitStatus::Kind::Killed) return Spawned{0, w->status.raw()};
      return Error{"cannot execute " + o.exe_path + ": the process exited before execve"};
    }
    // Any other stop before the exec (a group stop) needs nothing from us.
  }
  return Spawned{pid, std::nullopt};
}

}  // namespace rwd
