// /proc/PID/maps, one KernelMapping per line (rr's KernelMapping).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "core/base/Error.h"

namespace rwd {

struct KernelMapping {
  uint64_t start = 0, end = 0;
  int prot = 0;         // PROT_* from "rwx"
  bool shared = false;  // 's' in the fourth column
  uint64_t offset = 0;
  uint32_t dev_major = 0, dev_minor = 0;
  uint64_t inode = 0;
  std::string name;  // path, "[stack]", "[vdso]", or empty

  bool is_file() const { return inode != 0 && !name.empty() && name[0] == '/'; }
};

Result<std::vector<KernelMapping>> read_proc_maps(pid_t tid);
// Parses one line; false if malformed.
bool parse_maps_line(const std::string& line, KernelMapping& out);

// A decimal field of /proc/TID/status ("Tgid", "TracerPid", ...).
Result<int64_t> proc_status_field(pid_t tid, const std::string& key);

// A thread's scheduler state and how often it has been switched out so far
// (/proc/TID/status: State, voluntary_ctxt_switches plus
// nonvoluntary_ctxt_switches). Equal switch counts a while apart mean it
// did not run at all meanwhile.
struct ThreadActivity {
  char state = '?';  // 'S': interruptible sleep (a futex wait, say); 't': ptrace-stopped
  uint64_t switches = 0;
  bool operator==(const ThreadActivity&) const = default;
};
Result<ThreadActivity> thread_activity(pid_t tid);

// The thread's user-mode CPU time, from /proc/TID/stat (utime, in clock
// ticks of 10 ms here). Only what the program's own instructions took:
// ptrace stops and traps count as system time.
Result<uint64_t> thread_user_time_ms(pid_t tid);

}  // namespace rwd
