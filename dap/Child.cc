#include "dap/Child.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>

namespace rwd::dap {
namespace {

std::string describe(int status) {
  if (WIFEXITED(status)) return "exit status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status))
    return "killed by signal " + std::to_string(WTERMSIG(status)) + " (" +
           strsignal(WTERMSIG(status)) + ")";
  return "status " + std::to_string(status);
}

}  // namespace

Result<std::unique_ptr<Child>> Child::start(const std::string& path) {
  int in[2], out[2];
  if (::pipe2(in, O_CLOEXEC) != 0) return Error::from_errno("pipe2");
  ScopedFd in_r(in[0]), in_w(in[1]);
  if (::pipe2(out, O_CLOEXEC) != 0) return Error::from_errno("pipe2");
  ScopedFd out_r(out[0]), out_w(out[1]);
  pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid < 0) return Error::from_errno("fork");
  if (pid == 0) {
    // If rewind-dap is killed outright, lldb-dap must not outlive it
    // listening on a pipe nobody writes.
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (::getppid() != parent) ::_exit(127);
    // rewind-dap blocks the signals it reads from a signalfd and ignores
    // SIGPIPE; both would be inherited through exec.
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::signal(SIGPIPE, SIG_DFL);
    ::dup2(in_r.get(), 0);
    ::dup2(out_w.get(), 1);
    char* argv[] = {const_cast<char*>(path.c_str()), nullptr};
    ::execv(path.c_str(), argv);
    const char msg[] = "rewind-dap: cannot execute lldb-dap\n";
    [[maybe_unused]] auto n = ::write(2, msg, sizeof msg - 1);
    ::_exit(127);
  }
  ScopedFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
  if (!pidfd.is_open()) {
    Error e = Error::from_errno("pidfd_open (Linux 5.3 or later is needed)");
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    return e;
  }
  if (::fcntl(in_w.get(), F_SETFL, O_NONBLOCK) != 0) return Error::from_errno("fcntl");
  return std::unique_ptr<Child>(
      new Child(path, pid, std::move(pidfd), std::move(in_w), std::move(out_r)));
}

bool Child::wait_exit(int timeout_ms) {
  struct pollfd p = {pidfd_.get(), POLLIN, 0};
  int n;
  do n = ::poll(&p, 1, timeout_ms);
  while (n < 0 && errno == EINTR);
  if (n <= 0) return false;
  int status = 0;
  pid_t r;
  do r = ::waitpid(pid_, &status, 0);
  while (r < 0 && errno == EINTR);
  status_ = r == pid_ ? describe(status) : "not reaped: " + std::string(std::strerror(errno));
  return true;
}

std::string Child::stop(int grace_ms) {
  if (!status_.empty()) return status_;
  to_child_.reset();
  if (!wait_exit(grace_ms)) {
    ::kill(pid_, SIGTERM);
    if (!wait_exit(2000)) {
      ::kill(pid_, SIGKILL);
      wait_exit(-1);
    }
  }
  return status_;
}

Child::~Child() {
  stop(10000);
}

}  // namespace rwd::dap
