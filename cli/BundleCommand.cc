// rewind bundle: a trace as one compressed, self-contained file
// (core/api/Bundle.h); and the same after `rewind record --bundle OUT`.
#include <sys/stat.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "cli/Bundle.h"
#include "cli/Commands.h"
#include "cli/Progress.h"
#include "core/api/Bundle.h"
#include "core/api/Trace.h"
#include "core/base/Units.h"

namespace rwd::cli {

namespace {

// Bundles `trace` into `out` with a progress bar, then prints one summary
// line to `summary`: bundle's own stdout, but record's stderr, since
// record's stdout is the program's.
int write_bundle(const std::filesystem::path& trace, const std::string& out,
                 api::BundleOptions options, FILE* summary) {
  const auto start = std::chrono::steady_clock::now();
  auto stats = [&] {
    ProgressLine line(out);  // erased before the summary
    options.progress = [&](const api::BundleProgress& p) {
      line.update(p.phase, p.done_bytes, p.total_bytes);
    };
    return api::bundle_trace(trace, out, options);
  }();
  if (!stats) return fail(stats.error().context("bundling " + trace.string()));
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const double ratio =
      stats->bundle_bytes ? double(stats->trace_bytes_before) / double(stats->bundle_bytes) : 0;
  fprintf(summary, "%s: %s, from a trace of %s (%s packed), %.1fx smaller, in %.1f s\n",
          out.c_str(), human_bytes(stats->bundle_bytes).c_str(),
          human_bytes(stats->trace_bytes_before).c_str(), human_bytes(stats->trace_bytes).c_str(),
          ratio, secs);
  return 0;
}

// "--level N" or "--level=N"; advances i past a separate value.
bool option_value(const std::string& a, const char* name, int argc, char** argv, int& i,
                  std::string& value) {
  const std::string n = name;
  if (a == n) {
    if (i + 1 >= argc) return false;
    value = argv[++i];
    return true;
  }
  if (a.rfind(n + "=", 0) != 0) return false;
  value = a.substr(n.size() + 1);
  return true;
}

}  // namespace

int cmd_bundle(int argc, char** argv) {
  api::BundleOptions options;
  std::vector<std::string> args;
  for (int i = 0; i < argc; ++i) {
    const std::string a = argv[i];
    std::string v;
    if (a == "-f" || a == "--force") {
      options.overwrite = api::Overwrite::Replace;
    } else if (a == "--level" || a.rfind("--level=", 0) == 0) {
      if (!option_value(a, "--level", argc, argv, i, v))
        return usage_error("bundle", "--level needs a number");
      char* end = nullptr;
      const long level = std::strtol(v.c_str(), &end, 10);
      if (v.empty() || *end || level < 1 || level > 19)
        return usage_error("bundle", "--level takes 1 to 19, not '" + v + "'");
      options.level = static_cast<int>(level);
    } else if (a == "--") {
      args.insert(args.end(), argv + i + 1, argv + argc);
      break;
    } else if (a.size() > 1 && a[0] == '-') {
      return usage_error("bundle", "unknown option " + a);
    } else {
      args.push_back(a);
    }
  }
  if (args.empty()) return usage_error("bundle", "name the file to write (OUT.tar.zst)");
  if (args.size() > 2) return usage_error("bundle", "one trace at a time");
  const std::string out = args.back();
  const std::string trace_arg = args.size() == 2 ? args[0] : "";  // "": the latest trace
  struct stat st {};
  if (::stat(out.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode))
      return usage_error("bundle", out +
                                       " is a directory; to bundle that trace, name the file "
                                       "to write too: rewind bundle " +
                                       out + " OUT.tar.zst");
    if (options.overwrite == api::Overwrite::Refuse)
      return usage_error("bundle", out + " exists already (-f replaces it)");
  }
  auto trace = api::resolve_trace(trace_arg);
  if (!trace) return fail(trace.error());
  return write_bundle(*trace, out, options, stdout);
}

int bundle_after_record(const std::filesystem::path& trace_dir, const std::string& out) {
  const int rc = write_bundle(trace_dir, out, api::BundleOptions{}, stderr);
  if (rc != 0) fprintf(stderr, "rewind: the trace is still in %s\n", trace_dir.c_str());
  return rc;
}

}  // namespace rwd::cli
