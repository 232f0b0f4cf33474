// The stop kinds of ptrace(2), decoded from a waitpid() status. Names follow
// the man page: signal-delivery-stop, group-stop, syscall-stop,
// PTRACE_EVENT stops, plus the two ways a task ends.
#pragma once

#include <signal.h>
#include <sys/wait.h>

namespace rwd {

class WaitStatus {
 public:
  enum class Kind {
    Exited,              // WIFEXITED: exit_code()
    Killed,              // WIFSIGNALED: fatal_sig()
    SignalDeliveryStop,  // stop_sig() is about to be delivered
    GroupStop,           // a stopping signal stopped the whole group (PTRACE_LISTEN territory)
    SyscallStop,         // entry or exit; PTRACE_GET_SYSCALL_INFO tells which
    EventStop,           // PTRACE_EVENT_*: ptrace_event()
  };

  WaitStatus() = default;
  explicit WaitStatus(int raw) : raw_(raw) {}

  int raw() const { return raw_; }
  Kind kind() const {
    if (WIFEXITED(raw_)) return Kind::Exited;
    if (WIFSIGNALED(raw_)) return Kind::Killed;
    int sig = WSTOPSIG(raw_);
    if (sig == (SIGTRAP | 0x80)) return Kind::SyscallStop;  // PTRACE_O_TRACESYSGOOD
    if (ptrace_event() != 0) {
      // PTRACE_EVENT_STOP with a stopping signal is a group-stop under SEIZE.
      if (ptrace_event() == 128 /* PTRACE_EVENT_STOP */ && sig != SIGTRAP) return Kind::GroupStop;
      return Kind::EventStop;
    }
    return Kind::SignalDeliveryStop;
  }
  int exit_code() const { return WEXITSTATUS(raw_); }
  int fatal_sig() const { return WTERMSIG(raw_); }
  int stop_sig() const { return WSTOPSIG(raw_); }
  int ptrace_event() const { return (raw_ >> 16) & 0xff; }
  bool is_exit() const { return WIFEXITED(raw_) || WIFSIGNALED(raw_); }

 private:
  int raw_ = 0;
};

}  // namespace rwd
