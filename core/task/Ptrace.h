// The one wrapper for ptrace(2) and waitpid(2) (LLDB's PtraceWrapper): every
// request is logged under REWIND_LOG=ptrace, and failures come back as Errors
// that name the request, the tid and errno.
#pragma once

#include <sys/ptrace.h>
#include <sys/types.h>

#include <optional>

#include "core/base/Error.h"
#include "core/task/WaitStatus.h"

namespace rwd {

Result<long> ptrace_request(int req, pid_t tid, void* addr = nullptr, void* data = nullptr);

struct WaitResult {
  pid_t tid = 0;
  WaitStatus status;
};

// waitpid(tid, __WALL), retried on EINTR. tid -1 waits for any tracee.
Result<WaitResult> wait_for(pid_t tid);
// The same with WNOHANG: std::nullopt if no tracee has a status to report.
Result<std::optional<WaitResult>> wait_nohang(pid_t tid);

const char* ptrace_request_name(int req);

}  // namespace rwd
