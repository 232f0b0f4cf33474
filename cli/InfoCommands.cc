// rewind info, dump and ps: the views are api::print_trace_* (core/api/Trace.h).
#include "cli/InfoCommands.h"

#include "cli/Commands.h"
#include "core/api/Trace.h"

namespace rwd::cli {
namespace {

int exit_code(const Result<void>& printed) {
  return printed ? 0 : fail(printed.error());
}

}  // namespace

int cmd_info(const std::string& trace_arg) {
  return exit_code(api::print_trace_info(trace_arg));
}

int cmd_dump(const std::string& trace_arg) {
  return exit_code(api::print_trace_dump(trace_arg));
}

int cmd_ps(const std::string& trace_arg) {
  return exit_code(api::print_trace_processes(trace_arg));
}

}  // namespace rwd::cli
