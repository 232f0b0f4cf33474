// rewind sources and rewind buildid: what the recorded binaries' debug
// information names, and their build ids (core/api/Sources.h), printed for
// people and scripts.
//
// Exit status, both commands: 0 when every recorded binary was read; 1 when
// the trace could not be read (nothing printed) or some binary could not be
// (a warning names it, the others are printed); 2 for bad arguments.
#include <sys/stat.h>

#include <cstdio>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "cli/Commands.h"
#include "core/api/Sources.h"
#include "core/api/Trace.h"

namespace rwd::cli {
namespace {
namespace fs = std::filesystem;

enum class Layout { Paths, Binaries, Json };
enum class Filter { All, Existing, Missing };

struct SourcesArgs {
  Layout layout = Layout::Paths;
  Filter filter = Filter::All;
  api::SourcesOptions options;
  std::string trace;
};

bool exists_here(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

bool wanted(Filter filter, const std::string& path) {
  if (filter == Filter::All) return true;
  return exists_here(path) == (filter == Filter::Existing);
}

// Paths are bytes; control characters, quotes and backslashes are escaped
// and everything else (UTF-8 or not) is passed through.
std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20) {
      char buf[8];
      snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

std::string json_or_null(const std::string& s) {
  return s.empty() ? "null" : json_string(s);
}

int warn_all(const char* command, const std::vector<std::string>& warnings) {
  for (const auto& w : warnings) fprintf(stderr, "rewind %s: warning: %s\n", command, w.c_str());
  return warnings.empty() ? 0 : kExitError;
}

// A value for OPTION: "--opt VALUE" or "--opt=VALUE". Returns false when
// `a` is not OPTION.
bool option_value(const std::string& a, const std::string& option, int& i, int argc, char** argv,
                  std::string& value, bool& missing) {
  if (a == option) {
    missing = i + 1 >= argc;
    if (!missing) value = argv[++i];
    return true;
  }
  if (a.starts_with(option + "=")) {
    value = a.substr(option.size() + 1);
    missing = value.empty();
    return true;
  }
  return false;
}

// Parses sources' arguments; returns 0 or the usage error's exit code.
int parse_sources_args(int argc, char** argv, SourcesArgs& out) {
  bool default_debug_dirs = true;
  std::vector<std::string> positional;
  for (int i = 0; i < argc; ++i) {
    const std::string a = argv[i];
    std::string value;
    bool missing = false;
    if (a == "--binaries" || a == "--json") {
      out.layout = a == "--json" ? Layout::Json : Layout::Binaries;
    } else if (a == "--existing" || a == "--missing") {
      out.filter = a == "--existing" ? Filter::Existing : Filter::Missing;
    } else if (option_value(a, "--debug-dir", i, argc, argv, value, missing)) {
      if (missing) return usage_error("sources", "--debug-dir needs a directory");
      // The first one replaces /usr/lib/debug, as gdb's debug-file-directory.
      if (std::exchange(default_debug_dirs, false)) out.options.debug_dirs.clear();
      out.options.debug_dirs.push_back(fs::absolute(value));
    } else if (option_value(a, "--substitute", i, argc, argv, value, missing)) {
      const size_t eq = value.find('=');
      if (missing || eq == std::string::npos || eq == 0 || eq + 1 == value.size())
        return usage_error("sources", "--substitute needs LIBRARY=DIR, e.g. libfoo.so.1=/src/foo");
      out.options.comp_dir_substitutions[value.substr(0, eq)] =
          fs::absolute(value.substr(eq + 1)).lexically_normal().string();
    } else if (a == "--") {
      positional.insert(positional.end(), argv + i + 1, argv + argc);
      break;
    } else if (a.size() > 1 && a[0] == '-') {
      return usage_error("sources", "unknown option " + a);
    } else {
      positional.push_back(a);
    }
  }
  if (positional.size() > 1) return usage_error("sources", "one TRACE at most");
  if (!positional.empty()) out.trace = positional[0];
  return 0;
}

void print_paths(const std::vector<api::BinarySources>& bins, Filter filter) {
  std::set<std::string> all;
  for (const auto& b : bins) all.insert(b.sources.begin(), b.sources.end());
  for (const auto& s : all)
    if (wanted(filter, s)) printf("%s\n", s.c_str());
}

// One header line per binary, then its sources indented; "(missing)"
// marks a source that is not on this machine.
void print_binaries(const std::vector<api::BinarySources>& bins, Filter filter) {
  for (const auto& b : bins) {
    const bool none = b.sources.empty() && b.unanchored.empty();
    std::string where = !b.debug_file.empty() ? "debug info " + b.debug_file.string()
                        : none                ? "no debug info"
                                              : "debug info inside";
    if (!b.binary.warnings.empty()) where = "unreadable";
    printf("%s (build id %s, %s)\n", b.binary.recorded_path.c_str(),
           b.binary.build_id.empty() ? "-" : b.binary.build_id.c_str(), where.c_str());
    for (const auto& s : b.sources) {
      const bool here = exists_here(s);
      if (filter == Filter::All || here == (filter == Filter::Existing))
        printf("  %s%s\n", s.c_str(), here ? "" : " (missing)");
    }
    // Relative: whether they exist depends on a directory we do not know.
    if (filter == Filter::All)
      for (const auto& s : b.unanchored) printf("  %s\n", s.c_str());
  }
}

// Names that stayed relative are not printed by the plain form; say so, and
// how to get them.
void note_unanchored(const std::vector<api::BinarySources>& bins) {
  for (const auto& b : bins) {
    if (b.unanchored.empty()) continue;
    fprintf(stderr,
            "rewind sources: note: %s: %zu source files are relative to a build directory its "
            "debug info does not name (a relative DW_AT_comp_dir); --substitute %s=DIR lists "
            "them under DIR, --binaries shows them as they are\n",
            b.binary.recorded_path.c_str(), b.unanchored.size(),
            fs::path(b.binary.recorded_path).filename().c_str());
  }
}

void print_json(const std::vector<api::BinarySources>& bins, Filter filter) {
  std::map<std::string, bool> all;  // source -> exists here
  printf("{\n  \"binaries\": [");
  const char* sep = "\n";
  for (const auto& b : bins) {
    printf(
        "%s    {\"path\": %s, \"trace_copy\": %s, \"executed\": %s, \"build_id\": %s, "
        "\"debug_file\": %s,\n     \"sources\": [",
        sep, json_string(b.binary.recorded_path).c_str(), json_string(b.binary.copy).c_str(),
        b.binary.executed ? "true" : "false", json_or_null(b.binary.build_id).c_str(),
        json_or_null(b.debug_file).c_str());
    const char* s_sep = "";
    for (const auto& s : b.sources) {
      if (!wanted(filter, s)) continue;
      printf("%s%s", s_sep, json_string(s).c_str());
      s_sep = ", ";
      all.emplace(s, exists_here(s));
    }
    printf("],\n     \"relative_sources\": [");
    for (size_t i = 0; i < b.unanchored.size(); ++i)
      printf("%s%s", i ? ", " : "", json_string(b.unanchored[i]).c_str());
    printf("],\n     \"warnings\": [");
    for (size_t i = 0; i < b.binary.warnings.size(); ++i)
      printf("%s%s", i ? ", " : "", json_string(b.binary.warnings[i]).c_str());
    printf("]}");
    sep = ",\n";
  }
  printf("\n  ],\n  \"sources\": [");
  sep = "\n";
  for (const auto& [s, here] : all) {
    printf("%s    {\"path\": %s, \"exists\": %s}", sep, json_string(s).c_str(),
           here ? "true" : "false");
    sep = ",\n";
  }
  printf("\n  ]\n}\n");
}

}  // namespace

int cmd_sources(int argc, char** argv) {
  SourcesArgs args;
  if (int rc = parse_sources_args(argc, argv, args)) return rc;
  auto trace = api::resolve_trace(args.trace);
  if (!trace) return fail(trace.error());
  auto bins = api::recorded_sources(*trace, args.options);
  if (!bins) return fail(bins.error());
  if (args.layout == Layout::Paths) {
    print_paths(*bins, args.filter);
    note_unanchored(*bins);
  }
  if (args.layout == Layout::Binaries) print_binaries(*bins, args.filter);
  if (args.layout == Layout::Json) print_json(*bins, args.filter);
  fflush(stdout);
  std::vector<std::string> warnings;
  for (const auto& b : *bins)
    warnings.insert(warnings.end(), b.binary.warnings.begin(), b.binary.warnings.end());
  return warn_all("sources", warnings);
}

// "BUILDID PATH" per recorded ELF binary, "-" for one without a build id;
// a binary that could not be read is left out and named in a warning.
int cmd_buildid(int argc, char** argv) {
  std::vector<std::string> positional;
  for (int i = 0; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--") {
      positional.insert(positional.end(), argv + i + 1, argv + argc);
      break;
    }
    if (a.size() > 1 && a[0] == '-') return usage_error("buildid", "unknown option " + a);
    positional.push_back(a);
  }
  if (positional.size() > 1) return usage_error("buildid", "one TRACE at most");
  const std::string trace_arg = positional.empty() ? "" : positional[0];
  auto trace = api::resolve_trace(trace_arg);
  if (!trace) return fail(trace.error());
  auto ids = api::recorded_build_ids(*trace);
  if (!ids) return fail(ids.error());
  std::vector<std::string> warnings;
  for (const auto& b : *ids) {
    if (b.warnings.empty())
      printf("%s %s\n", b.build_id.empty() ? "-" : b.build_id.c_str(), b.recorded_path.c_str());
    warnings.insert(warnings.end(), b.warnings.begin(), b.warnings.end());
  }
  fflush(stdout);
  return warn_all("buildid", warnings);
}

}  // namespace rwd::cli
