#include "core/task/Ptrace.h"

#include <sys/wait.h>

#include <cerrno>
#include <string>

#include "core/base/Log.h"

namespace rwd {

const char* ptrace_request_name(int req) {
  switch (req) {
    case PTRACE_PEEKUSER:
      return "PTRACE_PEEKUSER";
    case PTRACE_POKEUSER:
      return "PTRACE_POKEUSER";
    case PTRACE_CONT:
      return "PTRACE_CONT";
    case PTRACE_KILL:
      return "PTRACE_KILL";
    case PTRACE_SINGLESTEP:
      return "PTRACE_SINGLESTEP";
    case PTRACE_GETREGS:
      return "PTRACE_GETREGS";
    case PTRACE_SETREGS:
      return "PTRACE_SETREGS";
    case PTRACE_GETFPREGS:
      return "PTRACE_GETFPREGS";
    case PTRACE_SETFPREGS:
      return "PTRACE_SETFPREGS";
    case PTRACE_ATTACH:
      return "PTRACE_ATTACH";
    case PTRACE_DETACH:
      return "PTRACE_DETACH";
    case PTRACE_SYSCALL:
      return "PTRACE_SYSCALL";
    case PTRACE_SYSEMU:
      return "PTRACE_SYSEMU";
    case PTRACE_SETOPTIONS:
      return "PTRACE_SETOPTIONS";
    case PTRACE_GETEVENTMSG:
      return "PTRACE_GETEVENTMSG";
    case PTRACE_GETSIGINFO:
      return "PTRACE_GETSIGINFO";
    case PTRACE_SETSIGINFO:
      return "PTRACE_SETSIGINFO";
    case PTRACE_GET_SYSCALL_INFO:
      return "PTRACE_GET_SYSCALL_INFO";
    case PTRACE_INTERRUPT:
      return "PTRACE_INTERRUPT";
    case PTRACE_SEIZE:
      return "PTRACE_SEIZE";
    default:
      return "PTRACE_?";
  }
}

Result<long> ptrace_request(int req, pid_t tid, void* addr, void* data) {
  errno = 0;
  long r = ptrace(static_cast<__ptrace_request>(req), tid, addr, data);
  int err = errno;
  REWIND_LOG(Ptrace, "%s(%d, %p, %p) = %ld%s%s", ptrace_request_name(req), tid, addr, data, r,
             err ? " errno " : "", err ? strerror(err) : "");
  if (r == -1 && err != 0) {
    std::string what = std::string(ptrace_request_name(req)) + " on tid " + std::to_string(tid);
    if (err == EPERM)
      what +=
          " (is another debugger attached, or does /proc/sys/kernel/yama/ptrace_scope forbid it?)";
    return Error::from_errno(what, err);
  }
  return r;
}

Result<WaitResult> wait_for(pid_t tid) {
  int status = 0;
  pid_t r;
  do {
    r = waitpid(tid, &status, __WALL);
  } while (r < 0 && errno == EINTR);
  if (r < 0) return Error::from_errno("waitpid(" + std::to_string(tid) + ")");
  REWIND_LOG(Wait, "waitpid(%d) -> tid %d status 0x%x", tid, r, status);
  return WaitResult{r, WaitStatus(status)};
}

Result<std::optional<WaitResult>> wait_nohang(pid_t tid) {
  int status = 0;
  pid_t r;
  do {
    r = waitpid(tid, &status, __WALL | WNOHANG);
  } while (r < 0 && errno == EINTR);
  if (r < 0) return Error::from_errno("waitpid(" + std::to_string(tid) + ")");
  if (r == 0) return std::optional<WaitResult>();
  REWIND_LOG(Wait, "waitpid(%d, WNOHANG) -> tid %d status 0x%x", tid, r, status);
  return std::optional<WaitResult>(WaitResult{r, WaitStatus(status)});
}

}  // namespace rwd
