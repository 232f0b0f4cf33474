// rewind pack: make traces self-contained and deduplicated (core/api/Pack.h).
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "cli/Commands.h"
#include "core/api/Pack.h"
#include "core/api/Trace.h"

namespace rwd::cli {
namespace {

std::string human(uint64_t bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(bytes);
  unsigned u = 0;
  while (v >= 1024 && u + 1 < sizeof units / sizeof *units) {
    v /= 1024;
    ++u;
  }
  char buf[64];
  if (u == 0)
    snprintf(buf, sizeof buf, "%llu B", static_cast<unsigned long long>(bytes));
  else
    snprintf(buf, sizeof buf, "%.1f %s", v, units[u]);
  return buf;
}

// A progress line on stderr when it is a terminal, redrawn at most every
// 100 ms and erased before the summary.
class ProgressLine {
 public:
  explicit ProgressLine(std::string trace) : trace_(std::move(trace)), tty_(isatty(2) == 1) {}
  void update(const api::PackProgress& p) {
    if (!tty_) return;
    const auto now = std::chrono::steady_clock::now();
    const bool finished = p.total_bytes && p.done_bytes >= p.total_bytes;
    if (shown_ && now - last_ < std::chrono::milliseconds(100) && !finished) return;
    last_ = now;
    shown_ = true;
    if (p.total_bytes)
      fprintf(stderr, "\r\033[K%s: %s %s of %s", trace_.c_str(), p.phase,
              human(p.done_bytes).c_str(), human(p.total_bytes).c_str());
    else
      fprintf(stderr, "\r\033[K%s: %s %s", trace_.c_str(), p.phase, human(p.done_bytes).c_str());
  }
  ~ProgressLine() {
    if (shown_) fputs("\r\033[K", stderr);
  }

 private:
  std::string trace_;
  bool tty_;
  bool shown_ = false;
  std::chrono::steady_clock::time_point last_;
};

}  // namespace

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
      with_progress.progress = [&](const api::PackProgress& p) { line.update(p); };
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
             human(stats->bytes_after).c_str(), (unsigned long long)stats->files_after);
      continue;
    }
    printf("%s: %s -> %s; %llu files -> %llu (%llu distinct), %llu copied in (%s)", dir->c_str(),
           human(stats->bytes_before).c_str(), human(stats->bytes_after).c_str(),
           (unsigned long long)stats->files_before, (unsigned long long)stats->files_after,
           (unsigned long long)stats->distinct_contents, (unsigned long long)stats->copied_files,
           human(stats->copied_bytes).c_str());
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
    printf("total: %s -> %s\n", human(total_before).c_str(), human(total_after).c_str());
  return failures ? kExitError : 0;
}

}  // namespace rwd::cli
