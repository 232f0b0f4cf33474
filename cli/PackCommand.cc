// rewind pack: make traces self-contained and deduplicated (core/api/Pack.h).
#include <cstdio>
#include <string>
#include <vector>

#include "cli/Commands.h"
#include "cli/Progress.h"
#include "core/api/Pack.h"
#include "core/api/Trace.h"
#include "core/base/Units.h"

namespace rwd::cli {

int cmd_pack(int argc, char** argv) {
  api::PackOptions options;
  std::vector<std::string> traces;
  for (int i = 0; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--pack-dir") {
      if (i + 1 >= argc) {
        fprintf(stderr, "rewind: pack: --pack-dir needs a directory\n%s", kUsage);
        return kExitUsage;
      }
      options.pack_dir = argv[++i];
    } else if (a.rfind("--pack-dir=", 0) == 0) {
      options.pack_dir = a.substr(11);
    } else if (a == "--") {
      traces.insert(traces.end(), argv + i + 1, argv + argc);
      break;
    } else if (a.size() > 1 && a[0] == '-') {
      fprintf(stderr, "rewind: pack: unknown option %s\n%s", a.c_str(), kUsage);
      return kExitUsage;
    } else {
      traces.push_back(a);
    }
  }
  if (options.pack_dir && options.pack_dir->empty()) {
    fprintf(stderr, "rewind: pack: --pack-dir needs a directory\n%s", kUsage);
    return kExitUsage;
  }
  if (traces.empty()) traces.push_back("");  // the latest trace

  uint64_t total_before = 0, total_after = 0;
  int failures = 0;
  for (const std::string& arg : traces) {
    auto dir = api::resolve_trace(arg);
    if (!dir) {
      fail(dir.error());
      ++failures;
      continue;
    }
    auto stats = [&] {
      ProgressLine line(dir->string());  // erased when pack is done
      api::PackOptions with_progress = options;
      with_progress.progress = [&](const api::PackProgress& p) {
        line.update(p.phase, p.done_bytes, p.total_bytes);
      };
      return api::pack_trace(*dir, with_progress);
    }();
    if (!stats) {
      fail(stats.error());
      ++failures;
      continue;
    }
    total_before += stats->bytes_before;
    total_after += stats->bytes_after;
    if (!stats->changed) {
      printf("%s: already packed, %s in %llu files\n", dir->c_str(),
             human_bytes(stats->bytes_after).c_str(), (unsigned long long)stats->files_after);
      continue;
    }
    printf("%s: %s -> %s; %llu files -> %llu (%llu distinct), %llu copied in (%s)", dir->c_str(),
           human_bytes(stats->bytes_before).c_str(), human_bytes(stats->bytes_after).c_str(),
           (unsigned long long)stats->files_before, (unsigned long long)stats->files_after,
           (unsigned long long)stats->distinct_contents, (unsigned long long)stats->copied_files,
           human_bytes(stats->copied_bytes).c_str());
    if (options.pack_dir) {
      printf("; %llu new in %s", (unsigned long long)stats->store_files_added,
             options.pack_dir->c_str());
      if (stats->checkpoint_pages_in_store + stats->checkpoint_pages_added > 0)
        printf("; checkpoint pages: %llu already there, %llu added",
               (unsigned long long)stats->checkpoint_pages_in_store,
               (unsigned long long)stats->checkpoint_pages_added);
    }
    printf("\n");
  }
  if (traces.size() > 1)
    printf("total: %s -> %s\n", human_bytes(total_before).c_str(),
           human_bytes(total_after).c_str());
  return failures ? kExitError : 0;
}

}  // namespace rwd::cli
