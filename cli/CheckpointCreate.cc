// rewind checkpoint create: parses its options; api::create_checkpoints
// (core/api/Checkpoints.h) replays and saves. With --follow (hidden;
// record --checkpoint-interval starts it) it replays a trace still being
// recorded, keeping up with the recorder until it finishes.
#include <sched.h>

#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>

#include "cli/CheckpointCli.h"
#include "cli/Commands.h"
#include "core/api/Checkpoints.h"
#include "core/base/Units.h"

namespace rwd::cli {

namespace {

// Returns an exit code when the arguments are not usable.
std::optional<int> parse(int argc, char** argv, api::CheckpointCreateRequest& o) {
  for (int i = 0; i < argc; ++i) {
    std::string s = argv[i];
    if (s == "--every" && i + 1 < argc) {
      if (!parse_u64(argv[++i], o.every) || !o.every)
        return fprintf(stderr, "rewind: checkpoint create: --every needs a positive number\n"),
               kExitUsage;
    } else if (s == "--interval" && i + 1 < argc) {
      char* end = nullptr;
      o.interval = strtod(argv[++i], &end);
      if (*end || !(o.interval > 0))
        return fprintf(stderr, "rewind: checkpoint create: --interval needs seconds > 0\n"),
               kExitUsage;
    } else if (s == "--follow") {
      o.follow = api::Follow::Yes;
    } else if (s == "--cpu" && i + 1 < argc) {
      uint64_t cpu;
      if (!parse_u64(argv[++i], cpu) || cpu >= CPU_SETSIZE)
        return fprintf(stderr, "rewind: checkpoint create: --cpu needs a CPU number\n"), kExitUsage;
      o.cpu = static_cast<int>(cpu);
    } else if (!s.empty() && s[0] == '-') {
      return fprintf(stderr, "rewind: checkpoint create: unknown option %s\n%s", s.c_str(),
                     kCheckpointUsage),
             kExitUsage;
    } else if (o.trace_arg.empty()) {
      o.trace_arg = s;
    } else {
      return fputs(kCheckpointUsage, stderr), kExitUsage;
    }
  }
  if (o.every && o.interval)
    return fprintf(stderr,
                   "rewind: checkpoint create: --every and --interval exclude each other\n"),
           kExitUsage;
  return std::nullopt;
}

}  // namespace

int create_checkpoints(int argc, char** argv) {
  api::CheckpointCreateRequest o;
  if (auto code = parse(argc, argv, o)) return *code;
  auto made = api::create_checkpoints(o);
  if (!made) return fail(made.error());
  printf("%zu checkpoint%s, %s, in %s%s\n", made->count, made->count == 1 ? "" : "s",
         human_bytes(made->bytes).c_str(), seconds(made->seconds).c_str(),
         made->stopped ? " (stopped before the end)" : "");
  return 0;
}

}  // namespace rwd::cli
