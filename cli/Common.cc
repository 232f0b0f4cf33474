#include <sys/wait.h>

#include <cstdio>

#include "cli/Commands.h"

namespace rwd::cli {

const char kUsage[] =
    "usage: rewind record [-o DIR] [-n] [--cpu-features LEVEL]\n"
    "                     [--checkpoint-interval S [--checkpoint-wait]] PROG [ARGS...]\n"
    "                                                record PROG into a trace directory;\n"
    "                                                LEVEL (x86-64-v2, ...; `list`) limits the\n"
    "                                                CPU features PROG's libraries choose;\n"
    "                                                -n: no syscall buffering (every syscall\n"
    "                                                stops the program, as rr -n);\n"
    "                                                S: save a checkpoint every S seconds\n"
    "                                                while recording (those not saved when\n"
    "                                                PROG ends are saved in the background,\n"
    "                                                or before record returns with\n"
    "                                                --checkpoint-wait)\n"
    "       rewind replay [OPTIONS] [TRACE] [-- DEBUGGER-ARGS...]\n"
    "                                                debug the replay in gdb (or LLDB)\n"
    "       rewind replay -a [--force] [TRACE]       replay a trace without a debugger\n"
    "       rewind replay -a -g EVENT [TRACE]        ... from the newest checkpoint before EVENT\n"
    "       rewind replay -a --jobs N [TRACE]        verify the trace in parallel, one stretch\n"
    "                                                between checkpoints per process\n"
    "       rewind pack [--pack-dir DIR] [TRACE...]  make traces self-contained, one copy per "
    "file\n"
    "       rewind checkpoint create|list|rm [TRACE] persistent checkpoints, which replay\n"
    "                                                starts from (rewind checkpoint for more)\n"
    "       rewind info [TRACE]                      print the trace header as JSON\n"
    "       rewind dump [TRACE]                      print the events\n"
    "       rewind dump [TRACE] --checkpoint EVENT   summarise a persistent checkpoint\n"
    "       rewind ps [TRACE]                        list the recorded processes\n"
    "replay options:\n"
    "  -d, --debugger D the debugger to launch: gdb (the default), lldb (LLDB 22 with rewind's\n"
    "                   plugin), or a path; a name with lldb in it is LLDB\n"
    "  --stdio          no debugger: serve one on stdin/stdout, as gdb's\n"
    "                   'target extended-remote | rewind replay --stdio TRACE' runs it\n"
    "  -s PORT          no debugger: wait for one on TCP PORT of 127.0.0.1\n"
    "  --host HOST      with -s: listen on HOST (anyone who reaches it can read the\n"
    "                   recorded program's memory)\n"
    "  -g EVENT         run to event EVENT before the debugger attaches\n"
    "  -p PID           debug the recorded process PID from its exec\n"
    "  -f PID           debug the recorded process PID from its fork\n"
    "  --force          replay even if this CPU lacks features the recording used\n"
    "TRACE defaults to the latest trace in $REWIND_TRACE_DIR or ~/.local/share/rewind.\n"
    "REWIND_LOG=ptrace,wait,syscall,trace,record,replay,sched,packets (or all) turns on logging.\n"
    "REWIND_CACHE_DIR is where rewind keeps what it learnt decoding programs' code\n"
    "(default ~/.cache/rewind; - keeps nothing).\n";

int fail(const Error& e) {
  fprintf(stderr, "rewind: %s\n", e.message.c_str());
  return kExitError;
}

int exit_code_for(int wait_status) {
  if (WIFEXITED(wait_status)) return WEXITSTATUS(wait_status);
  if (WIFSIGNALED(wait_status)) return 128 + WTERMSIG(wait_status);
  return kExitError;
}

}  // namespace rwd::cli
