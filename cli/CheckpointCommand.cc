// rewind checkpoint list|rm|show: persistent checkpoints in a trace
// (core/api/Checkpoints.h), which replay -g, seek and reverse
// execution start from. `create` is CheckpointCreate.cc.
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "cli/CheckpointCli.h"
#include "cli/Commands.h"
#include "core/api/Checkpoints.h"
#include "core/base/Units.h"

namespace rwd::cli {

const char kCheckpointUsage[] =
    "usage: rewind checkpoint create [TRACE] [--every N | --interval SECONDS]\n"
    "                                 replay TRACE once, saving a checkpoint every N events\n"
    "                                 or every SECONDS of recorded time (default: 1 s)\n"
    "       rewind checkpoint list [TRACE]\n"
    "       rewind checkpoint rm [TRACE] (EVENT... | --all)\n"
    "       rewind checkpoint show [TRACE] EVENT [--pages]\n"
    "                                 what the checkpoint at EVENT holds\n";

bool parse_u64(const char* s, uint64_t& out) {
  char* end = nullptr;
  errno = 0;
  out = strtoull(s, &end, 10);
  return *s && *end == 0 && errno == 0;
}

namespace {

int list(int argc, char** argv) {
  if (argc > 1) return fputs(kCheckpointUsage, stderr), kExitUsage;
  auto listed = api::list_checkpoints(argc ? argv[0] : "");
  if (!listed) return fail(listed.error());
  const auto& cps = *listed;
  if (cps.empty()) {
    printf("no checkpoints (rewind checkpoint create makes them)\n");
    return 0;
  }
  printf("%12s  %10s  %10s  %s\n", "EVENT", "TIME", "SIZE", "PAGES");
  uint64_t total = 0;
  for (const api::CheckpointSummary& c : cps) {
    const uint64_t size = c.bytes;
    total += size;
    printf("%12llu  %10s  %10s  %zu\n", (unsigned long long)c.event,
           seconds(c.recorded_time_ns / 1e9).c_str(), human_bytes(size).c_str(), c.pages);
  }
  printf("%zu checkpoints, %s on disk\n", cps.size(), human_bytes(total).c_str());
  return 0;
}

int remove(int argc, char** argv) {
  std::string trace_arg;
  std::vector<uint64_t> events;
  bool all = false;
  for (int i = 0; i < argc; ++i) {
    uint64_t n;
    if (!strcmp(argv[i], "--all"))
      all = true;
    else if (parse_u64(argv[i], n))
      events.push_back(n);
    else if (trace_arg.empty() && events.empty())
      trace_arg = argv[i];
    else
      return fputs(kCheckpointUsage, stderr), kExitUsage;
  }
  if (all == !events.empty()) return fputs(kCheckpointUsage, stderr), kExitUsage;
  auto removed =
      all ? api::remove_all_checkpoints(trace_arg) : api::remove_checkpoints(trace_arg, events);
  if (!removed) return fail(removed.error());
  printf("removed %zu checkpoint%s\n", *removed, *removed == 1 ? "" : "s");
  return 0;
}

}  // namespace

int show_checkpoint(const std::string& trace_arg, uint64_t event, bool pages) {
  auto shown = api::print_checkpoint(
      trace_arg, event, pages ? api::CheckpointPages::List : api::CheckpointPages::Count);
  return shown ? 0 : fail(shown.error());
}

int cmd_checkpoint(int argc, char** argv) {
  if (argc < 1) return fputs(kCheckpointUsage, stderr), kExitUsage;
  const std::string sub = argv[0];
  if (sub == "create") return create_checkpoints(argc - 1, argv + 1);
  if (sub == "list" || sub == "ls") return list(argc - 1, argv + 1);
  if (sub == "rm") return remove(argc - 1, argv + 1);
  if (sub == "show" && argc >= 2) {
    uint64_t e;
    bool pages = argc >= 3 && !strcmp(argv[argc - 1], "--pages");
    const int n = argc - (pages ? 1 : 0);
    if (n == 2 && parse_u64(argv[1], e)) return show_checkpoint("", e, pages);
    if (n == 3 && parse_u64(argv[2], e)) return show_checkpoint(argv[1], e, pages);
  }
  fprintf(stderr, "rewind: checkpoint: unknown command '%s'\n%s", sub.c_str(), kCheckpointUsage);
  return kExitUsage;
}

}  // namespace rwd::cli
