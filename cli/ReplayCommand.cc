// rewind replay: replay a trace, either on its own (-a) or under a debugger
// connected to rewind's gdb server.
//
// Who may connect: the protocol has no authentication, and a client reads
// the recorded process's memory and files and runs code in a copy of it. So
// a debugger rewind launches is connected without any listening socket:
// gdb runs "rewind replay --stdio" itself ("target extended-remote |
// COMMAND") and speaks to it over the pipe; LLDB, which cannot, loads
// rewind's plugin, which starts the server as its own child over a
// socketpair (lldb-plugin/). TCP is there only for -s PORT.
#include <arpa/inet.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <limits>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "cli/Commands.h"
#include "cli/ReplayArgs.h"
#include "cli/ReplayVerify.h"
#include "core/api/Replay.h"
#include "core/api/Trace.h"
#include "core/api/TraceList.h"
#include "core/base/Fd.h"
#include "core/base/Log.h"
#include "core/base/ScratchDir.h"
#include "gdbstub/GdbServer.h"

namespace rwd::cli {
namespace {

// Parses a decimal number in full, or fails naming the option.
template <class T>
bool parse_number(const char* s, T& out) {
  char* end = nullptr;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno || !*s || *end || v > static_cast<unsigned long long>(std::numeric_limits<T>::max()))
    return false;
  out = static_cast<T>(v);
  return true;
}

std::optional<ReplayArgs> parse(int argc, char** argv) {
  ReplayArgs a;
  for (int i = 0; i < argc; ++i) {
    std::string s = argv[i];
    auto value = [&](const char* what) -> const char* {
      if (i + 1 >= argc) {
        fprintf(stderr, "rewind: replay: %s needs a value\n", what);
        return nullptr;
      }
      return argv[++i];
    };
    const char* v = nullptr;
    if (s == "-a" || s == "--autopilot") {
      a.autopilot = true;
    } else if (s == "--force") {
      a.options.force_cpu = true;
    } else if (s == "-s" || s == "--port") {
      uint16_t port;
      if (!(v = value(s.c_str())) || !parse_number(v, port))
        return fprintf(stderr, "rewind: replay: bad port\n"), std::nullopt;
      a.server_port = port;
    } else if (s == "--host") {
      if (!(v = value("--host"))) return std::nullopt;
      a.host = v;
    } else if (s == "--stdio") {
      a.stdio = true;
    } else if (s == "--debugger" || s == "-d") {
      if (!(v = value(s.c_str()))) return std::nullopt;
      a.debugger = v;
    } else if (s == "-g" || s == "--goto") {
      if (!(v = value(s.c_str())) || !parse_number(v, a.goto_event) || !a.goto_event)
        return fprintf(stderr, "rewind: replay: -g needs an event number\n"), std::nullopt;
    } else if (s == "-e" || s == "--end") {
      a.at_end = true;
    } else if (s == "-x" || s == "--command") {
      if (!(v = value(s.c_str()))) return std::nullopt;
      a.command_file = v;
    } else if (s == "--jobs" || s == "-j") {
      if (!(v = value(s.c_str())) || !parse_number(v, a.jobs) || !a.jobs)
        return fprintf(stderr, "rewind: replay: --jobs needs a number\n"), std::nullopt;
    } else if (s == "--verify-stretch") {
      uint64_t from, to;
      if (!(v = value(s.c_str())) || !parse_number(v, from) || !(v = value(s.c_str())) ||
          !parse_number(v, to))
        return fprintf(stderr, "rewind: replay: --verify-stretch needs two events\n"), std::nullopt;
      a.verify_stretch = {from, to};
    } else if (s == "--cpu") {
      if (!(v = value(s.c_str())) || !parse_number(v, a.options.cpu))
        return fprintf(stderr, "rewind: replay: --cpu needs a number\n"), std::nullopt;
    } else if (s == "-p" || s == "-f" || s == "--pid" || s == "--fork") {
      if (!(v = value(s.c_str())) || !parse_number(v, a.pid) || a.pid <= 0)
        return fprintf(stderr, "rewind: replay: %s needs a pid\n", s.c_str()), std::nullopt;
      a.from_fork = s == "-f" || s == "--fork";
    } else if (s == "--") {
      a.debugger_args.assign(argv + i + 1, argv + argc);
      break;
    } else if (s.size() > 1 && s[0] == '-') {
      usage_error("replay", "unknown option " + s);
      return std::nullopt;
    } else if (a.trace.empty()) {
      a.trace = s;
    } else {
      fprintf(stderr, "rewind: replay: more than one trace given\n");
      return std::nullopt;
    }
  }
  if (a.at_end && a.goto_event) {
    fprintf(stderr, "rewind: replay: -e and -g exclude each other\n");
    return std::nullopt;
  }
  if ((a.at_end || !a.command_file.empty()) && (a.autopilot || a.stdio || a.server_port)) {
    fprintf(stderr, "rewind: replay: -e and -x are for a debugger rewind launches\n");
    return std::nullopt;
  }
  if (!a.command_file.empty() && access(a.command_file.c_str(), R_OK) != 0) {
    fprintf(stderr, "rewind: replay: -x %s: %s\n", a.command_file.c_str(), strerror(errno));
    return std::nullopt;
  }
  if (a.host && !a.server_port) {
    fprintf(stderr, "rewind: replay: --host only applies to -s PORT\n");
    return std::nullopt;
  }
  if (a.stdio + a.server_port.has_value() + a.autopilot > 1) {
    fprintf(stderr, "rewind: replay: -a, -s and --stdio exclude each other\n");
    return std::nullopt;
  }
  if (a.stdio && !a.debugger_args.empty()) {
    fprintf(stderr, "rewind: replay: --stdio launches no debugger to pass arguments to\n");
    return std::nullopt;
  }
  return a;
}

// The exit code of a replay without a debugger.
int replay_exit_code(const api::ReplayEnd& end) {
  // A program killed with its recorder (PTRACE_O_EXITKILL): say so as a
  // shell would, not with an exit status it never had.
  if (!end.wait_status) return 128 + SIGKILL;
  return exit_code_for(*end.wait_status);
}

// True for addresses only this machine can reach: 127.0.0.0/8, ::1 and
// "localhost".
bool is_loopback(const std::string& host) {
  in_addr v4;
  in6_addr v6;
  if (inet_pton(AF_INET, host.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  if (inet_pton(AF_INET6, host.c_str(), &v6) == 1) return IN6_IS_ADDR_LOOPBACK(&v6);
  return host == "localhost";
}

// The replay as the debugger's target, ready at -g EVENT (or the start).
Result<std::unique_ptr<target::Target>> start_target(const std::filesystem::path& dir,
                                                     const ReplayArgs& a) {
  return api::open_replay_target(
      dir, {.options = a.options,
            .goto_event = a.goto_event,
            .pid = a.pid,
            .start = a.from_fork ? api::ProcessStart::Fork : api::ProcessStart::Exec});
}

// rewind replay --stdio, as gdb runs it. The protocol gets its own copies of
// stdin and stdout, and fds 0 and 1 are pointed away from the debugger:
// stdin at /dev/null, stdout at stderr (gdb shows a pipe command's stderr;
// the gdb rewind launches passes rewind's own instead). Then nothing else
// can read the debugger's bytes or write into the packet stream: not a
// stray printf, and not the program, which inherits these descriptors and
// runs live in a diversion (gdb's `print f(3)`); replay itself writes none
// of the recorded output under a debugger.
int serve_stdio(const ReplayArgs& a, const std::filesystem::path& dir) {
  fflush(stdout);
  ScopedFd input(fcntl(STDIN_FILENO, F_DUPFD_CLOEXEC, 3));
  ScopedFd output(fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3));
  if (!input.is_open() || !output.is_open())
    return fail(Error::from_errno("--stdio needs stdin and stdout"));
  ScopedFd null(open("/dev/null", O_RDONLY | O_CLOEXEC));
  if (!null.is_open() || dup2(null.get(), STDIN_FILENO) < 0 ||
      dup2(STDERR_FILENO, STDOUT_FILENO) < 0)
    return fail(Error::from_errno("moving stdin and stdout away from the protocol"));
  auto target = start_target(dir, a);
  if (!target) return fail(target.error());
  gdbstub::GdbServer server(**target, gdbstub::ServerOptions{});
  auto served = server.serve_stream(std::move(input), std::move(output));
  if (!served) return fail(served.error());
  return 0;
}

// rewind replay -s PORT: a server for a debugger started by hand.
int serve_tcp(const ReplayArgs& a, const std::filesystem::path& dir) {
  gdbstub::ServerOptions so;
  so.host = a.host.value_or(so.host);
  so.port = *a.server_port;
  if (!is_loopback(so.host))
    warn(
        "listening on %s: anyone who can reach this port can read the recorded program's "
        "memory and files and run code in it; prefer the default 127.0.0.1 and an SSH tunnel",
        so.host.c_str());
  auto target = start_target(dir, a);
  if (!target) return fail(target.error());
  gdbstub::GdbServer server(**target, so);
  auto port = server.listen();
  if (!port) return fail(port.error());
  printf("rewind: replaying %s; waiting for a debugger on %s:%u\n", dir.c_str(), so.host.c_str(),
         *port);
  printf("rewind: connect with: gdb -ex 'target extended-remote %s:%u'\n", so.host.c_str(), *port);
  fflush(stdout);
  auto served = server.serve_one_client();
  if (!served) return fail(served.error());
  return 0;
}

// replay --verify-stretch FROM TO, a worker of replay -a --jobs
// (ReplayVerify.cc): the last stretch prints the program's wait status for
// it (-1: none).
int verify_stretch(const std::filesystem::path& dir, const ReplayArgs& a) {
  auto [from, to] = *a.verify_stretch;
  auto status = api::verify_stretch(
      dir, from, to,
      {.force_cpu = a.options.force_cpu, .emit_output = false, .cpu = a.options.cpu});
  if (!status) return fail(status.error());
  if (!to) printf("%d\n", status->value_or(-1));
  return 0;
}

}  // namespace

int cmd_replay(int argc, char** argv) {
  auto a = parse(argc, argv);
  if (!a) return kExitUsage;
  // Replay's scratch files (copies of mapped files) go with it, also when it
  // is told to stop.
  remove_scratch_dirs_on_signals();
  auto dir = api::resolve_trace(a->trace);
  if (!dir) return fail(dir.error());
  if (a->verify_stretch) return verify_stretch(*dir, *a);
  if (a->at_end) {
    auto last = api::last_event(*dir);
    if (!last) return fail(last.error());
    a->goto_event = *last;
  }
  if (a->autopilot && a->jobs) return replay_verify_jobs(*dir, a->jobs, a->options);
  if (a->autopilot && a->goto_event) {
    auto end = api::replay_to_end_from(*dir, a->goto_event, a->options);
    if (!end) return fail(end.error());
    return replay_exit_code(*end);
  }
  if (a->autopilot) {
    auto end = api::replay_to_end(*dir, a->options);
    if (!end) return fail(end.error());
    return replay_exit_code(*end);
  }
  if (a->stdio) return serve_stdio(*a, *dir);
  if (a->server_port) return serve_tcp(*a, *dir);
  if (is_lldb(a->debugger)) return debug_in_lldb(*a, *dir);
  return debug_in_gdb(*a, *dir);
}

}  // namespace rwd::cli
