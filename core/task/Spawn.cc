#include "core/task/Spawn.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>

#include "core/base/Fd.h"
#include "core/task/Ptrace.h"

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

[[noreturn]] static void child_exec(const SpawnOptions& o, int err_fd) {
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
  if (sched_setaffinity(0, sizeof one, &one) < 0) err = errno;
  if (!err && personality(ADDR_NO_RANDOMIZE) < 0) err = errno;
  if (!err && prctl(PR_SET_TSC, PR_TSC_SIGSEGV) < 0) err = errno;
  if (!err && ptrace(PTRACE_TRACEME, 0, nullptr, nullptr) < 0) err = errno;
  if (!err) {
    raise(SIGSTOP);
    execve(o.exe_path.c_str(), argv.data(), envp.data());
    err = errno;
  }
  (void)!write(err_fd, &err, sizeof err);
  _exit(127);
}

Result<Spawned> spawn_traced(const SpawnOptions& o) {
  int pipefd[2];
  if (pipe2(pipefd, O_CLOEXEC) < 0) return Error::from_errno("pipe2");
  pid_t pid = fork();
  if (pid < 0) return Error::from_errno("fork");
  if (pid == 0) {
    close(pipefd[0]);
    child_exec(o, pipefd[1]);
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
