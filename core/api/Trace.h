// Finding a trace, and the read-only views of one that `rewind info`,
// `dump` and `ps` print. Each view takes the TRACE argument as typed (empty
// means the latest trace), prints to stdout, and warns on stderr when the
// trace is incomplete; an Error means nothing (info, ps) or only the events
// before it (dump) were printed.
#pragma once

#include <filesystem>
#include <string>

#include "core/base/Error.h"

namespace rwd::api {

// A TRACE argument as a trace directory; empty means the latest trace
// recorded under $REWIND_TRACE_DIR (or ~/.local/share/rewind).
Result<std::filesystem::path> resolve_trace(const std::string& arg);

// The trace header as one JSON object, plus event and task counts.
Result<void> print_trace_info(const std::string& trace_arg);
// One line per event, with task events and new mappings at their event numbers.
Result<void> print_trace_dump(const std::string& trace_arg);
// The recorded processes: PID, PPID, exit status and command line.
Result<void> print_trace_processes(const std::string& trace_arg);

}  // namespace rwd::api
