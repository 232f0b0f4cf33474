// The words of rewind's help, man pages and completion (cli/Help.h): one
// entry per command. Each option's line here is the only place it is
// described; the parsers in the command files accept exactly these.
#include "cli/Help.h"

// Most options have no choices: the table leaves that last field out.
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

namespace rwd::cli {
namespace {

const OptionDoc kHelpOption{{"-h", "--help"}, "", ArgKind::None, "Print this command's help."};

std::vector<CommandDoc> make_commands() {
  std::vector<CommandDoc> c;
  c.push_back(CommandDoc{
      "record",
      {"[OPTIONS] PROG [ARGS...]"},
      "record a program into a trace",
      "Runs PROG with ARGS under the recorder, with its threads, the processes it forks and the "
      "programs they exec, and writes everything replay needs into a new trace directory: by "
      "default NAME-N under the trace directory (see ENVIRONMENT), which then becomes the latest "
      "trace. PROG is looked up in $PATH unless it contains a slash. rewind exits with PROG's exit "
      "status (128+N when a signal N killed it).\n\n"
      "The recording ends when the initial process exits; processes it leaves running are killed "
      "then, and their deaths recorded (use -w to wait for them).",
      {{{"-o", "--output"}, "DIR", ArgKind::Dir, "Write the trace into DIR (it must not exist)."},
       {{"-n", "--no-syscall-buffer"},
        "",
        ArgKind::None,
        "No syscall buffering: every system call stops the program, as rr -n. Slower; for "
        "ruling out the preload library."},
       {{"--env"},
        "NAME=VALUE",
        ArgKind::Word,
        "Set NAME to VALUE in PROG's environment (repeatable)."},
       {{"--unset-env"},
        "NAME",
        ArgKind::Word,
        "Remove NAME from PROG's environment (repeatable)."},
       {{"-w", "--wait"},
        "",
        ArgKind::None,
        "Record until every process has exited, not only the initial one; Ctrl-C then ends the "
        "recording and kills those left."},
       {{"--bundle"},
        "OUT.tar.zst",
        ArgKind::File,
        "After recording, also write the trace as one self-contained compressed file, to send "
        "or to replay elsewhere (see rewind-bundle(1))."},
       {{"--cpu-features"},
        "LEVEL",
        ArgKind::Word,
        "Limit the CPU features PROG's libraries choose (x86-64-v2, x86-64-v3, ...), so that the "
        "trace replays on older CPUs; `list` lists the levels."},
       {{"--checkpoint-interval"},
        "S",
        ArgKind::Word,
        "Save a persistent checkpoint every S seconds of the recording, written meanwhile by a "
        "replay that follows it."},
       {{"--checkpoint-wait"},
        "",
        ArgKind::None,
        "With --checkpoint-interval: wait for the last checkpoints before exiting, instead of "
        "leaving them to finish in the background."},
       kHelpOption},
      {ArgKind::Program},
      "$ rewind record make -j2\n"
      "  record a build, every process of it\n"
      "$ rewind record --env PYTHONHASHSEED=0 python3 script.py\n"
      "  record a Python script with one more environment variable\n"});
  c.push_back(CommandDoc{
      "replay",
      {"[OPTIONS] [TRACE] [-- DEBUGGER-ARGS...]", "-a [--force] [-g EVENT | --jobs N] [TRACE]"},
      "replay a trace under gdb or LLDB, or alone",
      "Replays TRACE (by default the latest) deterministically and debugs it: gdb by default, "
      "connected through a pipe (nothing listens), with reverse execution (reverse-continue, "
      "reverse-step, reverse-next, reverse-finish, watchpoints backwards). The debugger starts "
      "at PROG's first instruction after exec. TRACE may also be a bundle file (.tar.zst), "
      "which is unpacked into the cache first.\n\n"
      "gdb gets these commands too: `checkpoint` and `restart N` (rewind's own checkpoints), "
      "`seek EVENT`, `when` (the current event); `rewind gdbinit` prints them.\n\n"
      "With -a, replays without a debugger, checking that the replay matches the recording, "
      "and exits with the recorded program's exit status.",
      {{{"-d", "--debugger"},
        "DEBUGGER",
        ArgKind::Choice,
        "gdb (the default), lldb (LLDB 22 with rewind's plugin), or a path to one; a name "
        "containing lldb is LLDB.",
        {"gdb", "lldb"}},
       {{"-e", "--end"},
        "",
        ArgKind::None,
        "Start at the end of the recording (just before the last thing it recorded, "
        "typically the exit), to go backwards from there."},
       {{"-g", "--goto"},
        "EVENT",
        ArgKind::Word,
        "Start at event EVENT (rewind dump numbers them)."},
       {{"-p", "--pid"}, "PID", ArgKind::Word, "Debug the recorded process PID, from its exec."},
       {{"-f", "--fork"}, "PID", ArgKind::Word, "Debug the recorded process PID, from its fork."},
       {{"-x", "--command"},
        "FILE",
        ArgKind::File,
        "Run the debugger commands in FILE once the replay is ready (gdb -x, lldb -s)."},
       {{"-a", "--autopilot"},
        "",
        ArgKind::None,
        "No debugger: replay to the end, print what the program printed, exit with its status."},
       {{"-j", "--jobs"},
        "N",
        ArgKind::Word,
        "With -a: verify the trace with N processes, one stretch between persistent checkpoints "
        "each."},
       {{"--stdio"},
        "",
        ArgKind::None,
        "No debugger: serve one on stdin and stdout, as gdb's `target extended-remote | rewind "
        "replay --stdio TRACE` runs it."},
       {{"-s", "--port"},
        "PORT",
        ArgKind::Word,
        "No debugger: wait for one on TCP PORT of 127.0.0.1."},
       {{"--host"},
        "HOST",
        ArgKind::Word,
        "With -s: listen on HOST instead. Anyone who reaches it can read the recorded program's "
        "memory."},
       {{"--force"},
        "",
        ArgKind::None,
        "Replay even if this CPU lacks features the recording used."},
       kHelpOption},
      {ArgKind::Trace},
      "$ rewind replay\n"
      "  debug the latest trace in gdb\n"
      "$ rewind replay -e -d lldb\n"
      "  debug it in LLDB, from the end\n"
      "$ rewind replay -x cmds.gdb -- -batch\n"
      "  run gdb's commands in cmds.gdb on the replay, then quit\n"});
  c.push_back(CommandDoc{
      "ls",
      {"[--names]"},
      "list the traces in the trace directory",
      "One line per trace in the trace directory: its name, when it was recorded, its size on "
      "disk, the initial process's exit status, whether it is complete (or still recording, or "
      "cut short), and the command. The latest trace is marked with *.",
      {{{"--names"},
        "",
        ArgKind::None,
        "Print only the names, one per line, in name order (what the completion offers)."},
       kHelpOption},
      {},
      ""});
  c.push_back(CommandDoc{
      "rm",
      {"TRACE..."},
      "delete traces",
      "Deletes each TRACE (a name in the trace directory, or a path). A trace still being "
      "recorded, or in use by another rewind (a replay, a pack, checkpoints being saved), is "
      "left alone with an error. When the latest trace goes, the latest becomes the newest "
      "remaining one.",
      {kHelpOption},
      {ArgKind::Trace},
      ""});
  c.push_back(
      CommandDoc{"mv",
                 {"TRACE NEW"},
                 "rename a trace",
                 "Renames TRACE to NEW, a name in the same trace directory or a path on the same "
                 "filesystem; NEW must not exist. Refused while the trace is recorded or in use.",
                 {kHelpOption},
                 {ArgKind::Trace, ArgKind::Word},
                 ""});
  c.push_back(CommandDoc{
      "bundle",
      {"[OPTIONS] [TRACE] OUT.tar.zst"},
      "write a trace as one compressed self-contained file",
      "Packs TRACE (see rewind-pack(1)) and writes it, with every file it needs, as one "
      "zstd-compressed tar file: to attach to a bug report or copy to another machine, where "
      "`rewind replay OUT.tar.zst` unpacks it into the cache and replays it.",
      {{{"-f", "--force"}, "", ArgKind::None, "Overwrite OUT if it exists."},
       {{"--level"}, "N", ArgKind::Word, "zstd compression level (1-19)."},
       kHelpOption},
      {ArgKind::Trace, ArgKind::File},
      "$ rewind record --bundle bug.tar.zst ./app\n"
      "  record and bundle in one step\n"
      "$ rewind replay bug.tar.zst\n"
      "  debug it, on any machine with rewind\n"});
  c.push_back(CommandDoc{
      "pack",
      {"[--pack-dir DIR] [TRACE...]"},
      "make traces self-contained",
      "Copies into each TRACE the files it still shares with the system (hard links to the "
      "originals), one copy per content, so that it replays after they change and can be moved "
      "to another machine.",
      {{{"--pack-dir"},
        "DIR",
        ArgKind::Dir,
        "Share one copy of each file, and of each checkpoint page, between traces in DIR (on "
        "the traces' filesystem)."},
       kHelpOption},
      {ArgKind::Trace},
      ""});
  c.push_back(CommandDoc{
      "checkpoint",
      {"create [TRACE] [--every N | --interval SECONDS]", "list [TRACE]",
       "rm [TRACE] (EVENT... | --all)", "show [TRACE] EVENT [--pages]"},
      "persistent checkpoints that replay starts from",
      "create replays TRACE once and saves a checkpoint every N events or every SECONDS of "
      "recorded time (default 1 s) in the trace; replay -g, seek and reverse execution then "
      "start from the nearest one instead of the beginning.",
      {{{"--every"}, "N", ArgKind::Word, "create: a checkpoint every N events."},
       {{"--interval"}, "SECONDS", ArgKind::Word, "create: one every SECONDS of recorded time."},
       {{"--all"}, "", ArgKind::None, "rm: every checkpoint."},
       {{"--pages"}, "", ArgKind::None, "show: list each saved page."},
       kHelpOption},
      {ArgKind::Word, ArgKind::Trace},
      ""});
  c.push_back(CommandDoc{
      "sources",
      {"[--binaries | --json] [--existing | --missing] [--debug-dir DIR]... "
       "[--substitute LIBRARY=DIR]... [TRACE]"},
      "list the source files of the recorded binaries",
      "Lists the source files named by the debug info of every binary the recording executed "
      "or mapped, read from the trace's copies (the originals may have been rebuilt since), "
      "with separate debug files found by build id or .gnu_debuglink. One absolute path per "
      "line, sorted, unique. Units whose compilation directory is relative (Debian's packages "
      "build with -fdebug-prefix-map) are left out with a note; --substitute anchors them.\n\n"
      "Exit status: 0 when every binary was read; 1 when the trace, or some binary or its "
      "debug info, could not be (a warning names it, the rest is printed); 2 for bad arguments.",
      {{{"--binaries"},
        "",
        ArgKind::None,
        "Group by binary: its path, build id and where its debug info is, then its files, "
        "\"(missing)\" after those not on this machine."},
       {{"--json"},
        "",
        ArgKind::None,
        "Everything as JSON: binaries (path, trace_copy, executed, build_id, debug_file, sources, "
        "relative_sources, warnings) and sources (path, exists)."},
       {{"--existing"}, "", ArgKind::None, "Only the files that exist on this machine."},
       {{"--missing"}, "", ArgKind::None, "Only the files that do not."},
       {{"--debug-dir"},
        "DIR",
        ArgKind::Dir,
        "Where separate debug files are (.build-id/ and debuglink targets). The first one "
        "replaces /usr/lib/debug; more add to it."},
       {{"--substitute"},
        "LIBRARY=DIR",
        ArgKind::Word,
        "For the binary whose recorded name is LIBRARY: DIR replaces an absolute compilation "
        "directory (the build tree moved), and anchors a relative one. Repeatable."},
       kHelpOption},
      {ArgKind::Trace},
      "$ rewind sources --missing\n"
      "  the sources a debugging session would not find here\n"});
  c.push_back(CommandDoc{"buildid",
                         {"[TRACE]"},
                         "list the build ids of the recorded binaries",
                         "Prints \"BUILDID PATH\" for each ELF binary the recording executed or "
                         "mapped: the GNU build id in hex (- if none), the path as recorded; "
                         "executables first in exec order, then mapped files. Exit status as "
                         "for rewind sources.",
                         {kHelpOption},
                         {ArgKind::Trace},
                         ""});
  c.push_back(CommandDoc{"info",
                         {"[TRACE]"},
                         "print a trace's header as JSON",
                         "The command, environment, CPU and kernel of the recording, and its "
                         "event and task counts.",
                         {kHelpOption},
                         {ArgKind::Trace},
                         ""});
  c.push_back(CommandDoc{"ps",
                         {"[TRACE]"},
                         "list the recorded processes",
                         "PID, parent, exit status and command line of each process the "
                         "recording saw; the PIDs are those replay -p and -f take.",
                         {kHelpOption},
                         {ArgKind::Trace},
                         ""});
  c.push_back(CommandDoc{
      "dump",
      {"[TRACE]", "[TRACE] --checkpoint EVENT"},
      "print a trace's events",
      "One line per event, with the tasks' births, execs and deaths and the "
      "new mappings at their event numbers; with --checkpoint, what the "
      "persistent checkpoint at EVENT holds.",
      {{{"--checkpoint"}, "EVENT", ArgKind::Word, "Summarise that checkpoint."}, kHelpOption},
      {ArgKind::Trace},
      ""});
  c.push_back(CommandDoc{"gdbinit",
                         {""},
                         "print the gdb commands rewind replay defines",
                         "The script the gdb launcher runs before it connects, for those who "
                         "start gdb themselves (rewind replay -s PORT).",
                         {kHelpOption},
                         {},
                         ""});
  c.push_back(CommandDoc{"lldbinit",
                         {""},
                         "print the LLDB commands rewind replay -d lldb runs",
                         "The commands the LLDB launcher gives LLDB: loading rewind's plugin "
                         "(whose `rewind` command replays traces) from where it is installed.",
                         {kHelpOption},
                         {},
                         ""});
  c.push_back(CommandDoc{"help",
                         {"[COMMAND]"},
                         "print help about rewind or one command",
                         "Without COMMAND, the list of commands; with it, that command's help, "
                         "as its man page rewind-COMMAND(1) has it.",
                         {},
                         {ArgKind::Command},
                         ""});
  return c;
}

}  // namespace

const std::vector<CommandDoc>& commands() {
  static const std::vector<CommandDoc> all = make_commands();
  return all;
}

const CommandDoc* find_command(const std::string& name) {
  for (const CommandDoc& c : commands())
    if (c.name == name) return &c;
  return nullptr;
}

}  // namespace rwd::cli
