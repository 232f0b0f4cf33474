// rewind ls, rm and mv: the traces of the trace directory (core/api/TraceList.h).
#include <sys/wait.h>

#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <string>

#include "cli/Commands.h"
#include "core/api/Trace.h"
#include "core/api/TraceList.h"
#include "core/base/Units.h"

namespace rwd::cli {
namespace {

std::string state_word(const api::TraceSummary& t) {
  switch (t.state) {
    case api::TraceState::Complete:
      return "complete";
    case api::TraceState::Recording:
      return "recording";
    case api::TraceState::Incomplete:
      return "incomplete";
    case api::TraceState::Unreadable:
      break;
  }
  return "unreadable";
}

// "0", "1", "SIGSEGV"...: how the initial process ended; "-" if it has not.
std::string exit_word(const api::TraceSummary& t) {
  if (!t.exit_status) return "-";
  const int st = *t.exit_status;
  if (WIFEXITED(st)) return std::to_string(WEXITSTATUS(st));
  if (WIFSIGNALED(st)) {
    const char* abbrev = sigabbrev_np(WTERMSIG(st));
    return abbrev ? std::string("SIG") + abbrev : "signal " + std::to_string(WTERMSIG(st));
  }
  return "?";
}

std::string when(int64_t ns) {
  if (!ns) return "-";
  const time_t secs = static_cast<time_t>(ns / 1000000000);
  struct tm tm;
  char buf[32];
  strftime(buf, sizeof buf, "%Y-%m-%d %H:%M", localtime_r(&secs, &tm));
  return buf;
}

std::string command_line(const api::TraceSummary& t) {
  std::string s;
  for (const auto& a : t.argv) {
    s += (s.empty() ? "" : " ");
    const bool plain = !a.empty() && a.find_first_of(" \t\n'\"\\$`") == std::string::npos;
    s += plain ? a : "'" + a + "'";
  }
  return s.size() > 200 ? s.substr(0, 197) + "..." : s;
}

}  // namespace

int cmd_ls(int argc, char** argv) {
  bool names_only = false;
  for (int i = 0; i < argc; ++i) {
    if (!strcmp(argv[i], "--names"))
      names_only = true;
    else
      return usage_error("ls", std::string("unexpected argument ") + argv[i]);
  }
  auto traces = api::list_traces(names_only ? api::TraceDetail::Names : api::TraceDetail::Full);
  if (!traces) return fail(traces.error());
  if (names_only) {
    for (const auto& t : *traces) printf("%s\n", t.name.c_str());
    return 0;
  }
  if (traces->empty()) {
    printf("no traces in %s (rewind record PROG makes one)\n", api::trace_root().c_str());
    return 0;
  }
  size_t width = 5;
  for (const auto& t : *traces) width = std::max(width, t.name.size() + 2);
  printf("%-*s %-16s %9s %-7s %-10s %s\n", static_cast<int>(width), "NAME", "RECORDED", "SIZE",
         "EXIT", "STATE", "COMMAND");
  for (const auto& t : *traces) {
    const std::string name = t.name + (t.latest ? " *" : "");
    printf("%-*s %-16s %9s %-7s %-10s %s\n", static_cast<int>(width), name.c_str(),
           when(t.start_time_ns).c_str(), human_bytes(t.bytes).c_str(), exit_word(t).c_str(),
           state_word(t).c_str(),
           t.state == api::TraceState::Unreadable ? t.problem.c_str() : command_line(t).c_str());
  }
  return 0;
}

namespace {

// rm and mv work on trace directories; a bundle file is the user's own
// file (and its unpacked copy in the cache is only a cache).
bool refuse_bundle(const char* command, const char* arg) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(arg, ec)) return false;
  fprintf(stderr, "rewind %s: %s is a file (a bundle?), not a trace directory\n", command, arg);
  return true;
}

}  // namespace

int cmd_rm(int argc, char** argv) {
  if (argc == 0) return usage_error("rm", "no trace given");
  int failures = 0;
  for (int i = 0; i < argc; ++i) {
    if (argv[i][0] == '-') return usage_error("rm", std::string("unknown option ") + argv[i]);
  }
  for (int i = 0; i < argc; ++i) {
    if (refuse_bundle("rm", argv[i])) {
      ++failures;
      continue;
    }
    auto dir = api::resolve_trace(argv[i]);
    auto removed = dir ? api::remove_trace(*dir) : Result<void>(dir.error());
    if (!removed) {
      fail(removed.error());
      ++failures;
    }
  }
  return failures ? kExitError : 0;
}

int cmd_mv(int argc, char** argv) {
  if (argc != 2) return usage_error("mv", "needs TRACE and NEW");
  if (argv[0][0] == '-' || argv[1][0] == '-') return usage_error("mv", "takes no options");
  if (refuse_bundle("mv", argv[0])) return kExitError;
  auto dir = api::resolve_trace(argv[0]);
  if (!dir) return fail(dir.error());
  auto moved = api::rename_trace(*dir, argv[1]);
  if (!moved) return fail(moved.error());
  printf("%s -> %s\n", dir->c_str(), moved->c_str());
  return 0;
}

}  // namespace rwd::cli
