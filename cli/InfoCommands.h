// `rewind info`, `rewind dump` and `rewind ps`: read-only views of a trace.
// Each takes the TRACE argument as typed (empty means the latest trace),
// prints to stdout and returns the process exit status; on an Error it prints
// "rewind: <message>" to stderr and returns 1.
#pragma once

#include <string>

namespace rwd::cli {

// The trace header as one JSON object, plus event and task counts.
int cmd_info(const std::string& trace_arg);
// One line per event, with task events and new mappings at their event numbers.
int cmd_dump(const std::string& trace_arg);
// The recorded processes: PID, PPID, exit status and command line.
int cmd_ps(const std::string& trace_arg);

}  // namespace rwd::cli
