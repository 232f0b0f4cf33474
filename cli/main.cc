// rewind's command line. main() parses the subcommand and hands over to its
// file in cli/; nothing here touches ptrace.
#include <cstdio>
#include <cstdlib>
#include <string>

#include "cli/Commands.h"
#include "cli/InfoCommands.h"
#include "core/base/Log.h"

int main(int argc, char** argv) {
  using namespace rwd::cli;
  rwd::parse_log_env();
  if (argc < 2) {
    fputs(kUsage, stderr);
    return kExitUsage;
  }
  std::string cmd = argv[1];
  std::string trace_arg = argc > 2 ? argv[2] : "";
  if (cmd == "record") return cmd_record(argc - 2, argv + 2);
  if (cmd == "replay") return cmd_replay(argc - 2, argv + 2);
  if (cmd == "pack") return cmd_pack(argc - 2, argv + 2);
  if (cmd == "checkpoint") return cmd_checkpoint(argc - 2, argv + 2);
  if (cmd == "info") return cmd_info(trace_arg);
  if (cmd == "dump" && argc == 5 && std::string(argv[3]) == "--checkpoint")
    return show_checkpoint(trace_arg, std::strtoull(argv[4], nullptr, 10), false);
  if (cmd == "dump" && argc == 4 && std::string(argv[2]) == "--checkpoint")
    return show_checkpoint("", std::strtoull(argv[3], nullptr, 10), false);
  if (cmd == "dump") return cmd_dump(trace_arg);
  if (cmd == "ps") return cmd_ps(trace_arg);
  if (cmd == "-h" || cmd == "--help" || cmd == "help") {
    fputs(kUsage, stdout);
    return 0;
  }
  fprintf(stderr, "rewind: unknown command '%s'\n%s", cmd.c_str(), kUsage);
  return kExitUsage;
}
