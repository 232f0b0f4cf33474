// Stop-reply packets ("Stop Reply Packets" in the gdb manual): what the
// client hears after every resume, and in answer to '?'.
#pragma once

#include <string>
#include <vector>

#include "core/api/Target.h"

namespace rwd::gdbstub {

// gdb numbers signals its own way (include/gdb/signals.def); the common ones
// agree with Linux, the rest do not (SIGBUS is 7 on Linux, 10 in gdb).
// Unknown numbers map to GDB_SIGNAL_UNKNOWN.
int gdb_signal_from_linux(int linux_signo);

// What the client told us it understands, which decides the reply's form.
struct StopReplyStyle {
  bool multiprocess = false;  // thread ids as p<pid>.<tid>, ";process:" after W/X
  bool swbreak = false;       // client sent swbreak+: may say "swbreak:"
  bool hwbreak = false;       // client sent hwbreak+: may say "hwbreak:"
  bool exec_events = false;   // client sent exec-events+: may say "exec:"
  // LLDB's QListThreadsInStopReply: every T reply lists all threads.
  const std::vector<target::ThreadId>* all_threads = nullptr;
  // A Step stop that ends one of rewind's moves (SessionRewind.cc): LLDB
  // ran it as a reverse-continue, so without a reason it would call the
  // stop a SIGTRAP. "reason:trace" with this description says what it was.
  std::string_view move_description;
};

std::string format_stop_reply(const target::StopInfo& stop, const StopReplyStyle& style);

}  // namespace rwd::gdbstub
