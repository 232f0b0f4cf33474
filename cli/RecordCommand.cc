// rewind record: run a program under the recorder and write its trace. The
// recording itself is api::record (core/api/Recorder.h); this parses the
// options and says how it went.
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "cli/Commands.h"
#include "core/api/Recorder.h"

extern char** environ;

namespace rwd::cli {

int cmd_record(int argc, char** argv) {
  api::RecordRequest req;
  int i = 0;
  for (; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "-o" && i + 1 < argc) {
      req.out_dir = argv[++i];
    } else if (a == "-n" || a == "--no-syscall-buffer") {
      req.syscall_buffering = api::SyscallBuffering::Off;
    } else if (a == "--checkpoint-interval" || a.starts_with("--checkpoint-interval=")) {
      const char* v = a.size() > 21 ? argv[i] + 22 : (i + 1 < argc ? argv[++i] : "");
      char* end = nullptr;
      req.checkpoint_interval = strtod(v, &end);
      if (!*v || *end || !(req.checkpoint_interval > 0)) {
        fprintf(stderr, "rewind: record: --checkpoint-interval needs seconds > 0\n%s", kUsage);
        return kExitUsage;
      }
    } else if (a == "--checkpoint-wait") {
      req.checkpoint_wait = api::CheckpointWait::Wait;
    } else if (a == "--cpu-features" || a.starts_with("--cpu-features=")) {
      std::string spec;
      if (a.size() > 14) {
        spec = a.substr(15);
      } else if (i + 1 < argc) {
        spec = argv[++i];
      } else {
        fprintf(stderr, "rewind: record: --cpu-features needs a LEVEL\n%s", kUsage);
        return kExitUsage;
      }
      if (spec == "list") {
        fputs(api::describe_cpu_feature_choices().c_str(), stdout);
        return 0;
      }
      auto allowed = api::expand_cpu_features(spec);
      if (!allowed) {
        fprintf(stderr,
                "rewind: record: --cpu-features: %s (`rewind record --cpu-features list` "
                "lists them)\n",
                allowed.error().message.c_str());
        return kExitUsage;
      }
      req.cpu_features = std::move(*allowed);
    } else if (a == "--") {
      ++i;
      break;
    } else if (a.size() > 1 && a[0] == '-') {
      fprintf(stderr, "rewind: record: unknown option %s\n%s", a.c_str(), kUsage);
      return kExitUsage;
    } else {
      break;
    }
  }
  if (req.checkpoint_wait == api::CheckpointWait::Wait && !(req.checkpoint_interval > 0)) {
    fprintf(stderr, "rewind: record: --checkpoint-wait goes with --checkpoint-interval\n%s",
            kUsage);
    return kExitUsage;
  }
  if (i >= argc) {
    fprintf(stderr, "rewind: record: no program given\n%s", kUsage);
    return kExitUsage;
  }
  req.argv.assign(argv + i, argv + argc);
  for (char** e = environ; *e; ++e) req.env.emplace_back(*e);
  auto outcome = api::record(req);
  if (!outcome) return fail(outcome.error());
  if (!outcome->wait_status) {
    fprintf(stderr, "rewind: recording failed: %s\n", outcome->wait_status.error().message.c_str());
    fprintf(stderr, "rewind: the incomplete trace is in %s\n", outcome->trace_dir.c_str());
    return kExitError;
  }
  return exit_code_for(*outcome->wait_status);
}

}  // namespace rwd::cli
