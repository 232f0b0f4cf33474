#include <sys/wait.h>

#include <cstdio>

#include "cli/Commands.h"
#include "cli/Help.h"

namespace rwd::cli {

// Where a parser without its command's name points the user.
const char kUsage[] = "('rewind help' lists the commands, 'rewind help COMMAND' explains one)\n";

int fail(const Error& e) {
  fprintf(stderr, "rewind: %s\n", e.message.c_str());
  return kExitError;
}

int usage_error(const char* command, const std::string& message) {
  fprintf(stderr, "rewind %s: %s\n", command, message.c_str());
  if (const CommandDoc* c = find_command(command)) {
    print_synopsis(stderr, *c);
    fprintf(stderr, "('rewind help %s' explains it)\n", command);
  } else {
    fputs(kUsage, stderr);
  }
  return kExitUsage;
}

int exit_code_for(int wait_status) {
  if (WIFEXITED(wait_status)) return WEXITSTATUS(wait_status);
  if (WIFSIGNALED(wait_status)) return 128 + WTERMSIG(wait_status);
  return kExitError;
}

}  // namespace rwd::cli
