// rewind's command line. main() parses the subcommand and hands over to its
// file in cli/; nothing here touches ptrace. What each command takes is
// described once, in cli/HelpText.cc.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>

#include "cli/Commands.h"
#include "cli/Help.h"
#include "cli/InfoCommands.h"
#include "core/base/Log.h"

namespace rwd::cli {
namespace {

// rewind help [COMMAND], and the build's --man-dir DIR and
// --bash-completion (cli/CMakeLists.txt).
int cmd_help(int argc, char** argv) {
  if (argc == 0) {
    print_overview(stdout);
    return 0;
  }
  const std::string a = argv[0];
  if (a == "--bash-completion" && argc == 1) {
    fputs(bash_completion().c_str(), stdout);
    return 0;
  }
  if (a == "--man-dir" && argc == 2) {
    const std::filesystem::path dir = argv[1];
    auto write = [&](const std::string& name, const std::string& text) {
      FILE* f = fopen((dir / name).c_str(), "w");
      if (!f) return false;
      const bool ok = fputs(text.c_str(), f) >= 0;
      return fclose(f) == 0 && ok;
    };
    bool ok = write("rewind.1", man_page(nullptr));
    for (const CommandDoc& c : commands())
      ok = ok && write("rewind-" + c.name + ".1", man_page(&c));
    if (!ok) return fail(Error::from_errno("writing man pages into " + dir.string()));
    return 0;
  }
  if (a == "--man" && argc == 2) {
    const CommandDoc* c = find_command(argv[1]);
    if (!c && strcmp(argv[1], "rewind") != 0) return usage_error("help", "no command " + a);
    fputs(man_page(c).c_str(), stdout);
    return 0;
  }
  const CommandDoc* c = find_command(a);
  if (!c || argc > 1) {
    fprintf(stderr, "rewind help: no command '%s'\n", a.c_str());
    print_overview(stderr);
    return kExitUsage;
  }
  print_command_help(stdout, *c);
  return 0;
}

int dispatch(const std::string& cmd, int argc, char** argv) {
  if (cmd == "record") return cmd_record(argc, argv);
  if (cmd == "replay") return cmd_replay(argc, argv);
  if (cmd == "ls") return cmd_ls(argc, argv);
  if (cmd == "rm") return cmd_rm(argc, argv);
  if (cmd == "mv") return cmd_mv(argc, argv);
  if (cmd == "bundle") return cmd_bundle(argc, argv);
  if (cmd == "pack") return cmd_pack(argc, argv);
  if (cmd == "checkpoint") return cmd_checkpoint(argc, argv);
  if (cmd == "sources") return cmd_sources(argc, argv);
  if (cmd == "buildid") return cmd_buildid(argc, argv);
  if (cmd == "gdbinit") return cmd_gdbinit(argc, argv);
  if (cmd == "lldbinit") return cmd_lldbinit(argc, argv);
  if (cmd == "help") return cmd_help(argc, argv);
  const std::string trace_arg = argc > 0 ? argv[0] : "";
  if (cmd == "info" && argc <= 1) return cmd_info(trace_arg);
  if (cmd == "ps" && argc <= 1) return cmd_ps(trace_arg);
  if (cmd == "dump" && argc == 3 && std::string(argv[1]) == "--checkpoint")
    return show_checkpoint(trace_arg, std::strtoull(argv[2], nullptr, 10), false);
  if (cmd == "dump" && argc == 2 && std::string(argv[0]) == "--checkpoint")
    return show_checkpoint("", std::strtoull(argv[1], nullptr, 10), false);
  if (cmd == "dump" && argc <= 1) return cmd_dump(trace_arg);
  return usage_error(cmd.c_str(), "unexpected arguments");
}

}  // namespace
}  // namespace rwd::cli

int main(int argc, char** argv) {
  using namespace rwd::cli;
  rwd::parse_log_env();
  if (argc < 2) {
    print_overview(stderr);
    return kExitUsage;
  }
  const std::string cmd = argv[1];
  if (cmd == "-h" || cmd == "--help") return print_overview(stdout), 0;
  if (cmd == "--version" || cmd == "-V" || cmd == "version") {
    printf("%s\n", version_line().c_str());
    return 0;
  }
  const CommandDoc* doc = find_command(cmd);
  if (!doc) {
    fprintf(stderr, "rewind: unknown command '%s'\n\n", cmd.c_str());
    print_overview(stderr);
    return kExitUsage;
  }
  // `rewind COMMAND --help`, when --help comes first: later, it may be
  // the recorded program's own (rewind record ls --help).
  if (argc > 2 && (!strcmp(argv[2], "--help") || !strcmp(argv[2], "-h")) && cmd != "help") {
    print_command_help(stdout, *doc);
    return 0;
  }
  return dispatch(cmd, argc - 2, argv + 2);
}
