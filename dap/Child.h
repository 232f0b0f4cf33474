// The lldb-dap child: its pid and both ends of its pipes, owned together.
// Destroying it ends the child: stdin closed first (lldb-dap disconnects and
// exits on end of input), a signal only if it does not go by itself.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>

#include "core/base/Error.h"
#include "core/base/Fd.h"

namespace rwd::dap {

class Child {
 public:
  static Result<std::unique_ptr<Child>> start(const std::string& path);
  ~Child();
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  int to_child() const { return to_child_.get(); }      // its stdin, non-blocking
  int from_child() const { return from_child_.get(); }  // its stdout
  const std::string& path() const { return path_; }

  // Closes its stdin and reaps it, waiting up to `grace_ms` before SIGTERM and
  // then SIGKILL. Returns how it ended ("exit status 0", "killed by signal 9").
  std::string stop(int grace_ms);

 private:
  Child(std::string path, pid_t pid, ScopedFd pidfd, ScopedFd to, ScopedFd from)
      : path_(std::move(path)),
        pid_(pid),
        pidfd_(std::move(pidfd)),
        to_child_(std::move(to)),
        from_child_(std::move(from)) {}
  bool wait_exit(int timeout_ms);

  std::string path_;
  pid_t pid_ = -1;
  ScopedFd pidfd_;  // readable once the child has exited (pidfd_open(2), Linux 5.3)
  ScopedFd to_child_;
  ScopedFd from_child_;
  std::string status_;  // set once reaped
};

}  // namespace rwd::dap
