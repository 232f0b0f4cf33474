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
#include "cli/ReplayVerify.h"
#include "core/api/Replay.h"
#include "core/api/Trace.h"
#include "core/base/Fd.h"
#include "core/base/Log.h"
#include "core/base/ScratchDir.h"
#include "gdbstub/GdbServer.h"

namespace rwd::cli {
namespace {

struct ReplayArgs {
  bool autopilot = false;
  api::ReplayOptions options;
  std::string trace;
  std::optional<uint16_t> server_port;  // -s
  std::optional<std::string> host;      // --host, with -s
  bool stdio = false;                   // --stdio
  std::string debugger = "gdb";
  uint64_t goto_event = 0;  // -g
  pid_t pid = 0;            // -p / -f
  bool from_fork = false;
  std::vector<std::string> debugger_args;                       // after --
  unsigned jobs = 0;                                            // --jobs, with -a
  std::optional<std::pair<uint64_t, uint64_t>> verify_stretch;  // a --jobs worker
};

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
    } else if (s == "-s") {
      uint16_t port;
      if (!(v = value("-s")) || !parse_number(v, port))
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
    } else if (s == "-g") {
      if (!(v = value("-g")) || !parse_number(v, a.goto_event))
        return fprintf(stderr, "rewind: replay: -g needs an event number\n"), std::nullopt;
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
    } else if (s == "-p" || s == "-f") {
      if (!(v = value(s.c_str())) || !parse_number(v, a.pid) || a.pid <= 0)
        return fprintf(stderr, "rewind: replay: %s needs a pid\n", s.c_str()), std::nullopt;
      a.from_fork = s == "-f";
    } else if (s == "--") {
      a.debugger_args.assign(argv + i + 1, argv + argc);
      break;
    } else if (s.size() > 1 && s[0] == '-') {
      fprintf(stderr, "rewind: replay: unknown option %s\n%s", s.c_str(), kUsage);
      return std::nullopt;
    } else if (a.trace.empty()) {
      a.trace = s;
    } else {
      fprintf(stderr, "rewind: replay: more than one trace given\n");
      return std::nullopt;
    }
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

// gdb's own checkpoint/restart and a `when` command, mapped to rewind's
// monitor commands, as rr's gdb script does.
const char kGdbScript[] =
    "define checkpoint\n  monitor checkpoint\nend\n"
    "document checkpoint\nSave the current replay position (rewind).\nend\n"
    "define restart\n  monitor restart $arg0\n  maintenance flush register-cache\n  frame\nend\n"
    "document restart\nGo back to a rewind checkpoint: restart N.\nend\n"
    "define seek\n  monitor seek $arg0\n  maintenance flush register-cache\n  frame\nend\n"
    "document seek\nMove the replay to event N: seek N.\nend\n"
    "define when\n  monitor when\nend\n"
    "document when\nPrint the current rewind event number.\nend\n";

// Runs the debugger with `args` and waits for it; returns its exit code.
int run_debugger(const std::vector<std::string>& args) {
  pid_t child = fork();
  if (child < 0) return fail(Error::from_errno("fork"));
  if (child == 0) {
    std::vector<char*> cargv;
    for (auto& s : args) cargv.push_back(const_cast<char*>(s.c_str()));
    cargv.push_back(nullptr);
    execvp(cargv[0], cargv.data());
    fprintf(stderr, "rewind: cannot run the debugger '%s': %s\n", cargv[0], strerror(errno));
    _exit(127);
  }
  // Ctrl-C belongs to the debugger, which turns it into an interrupt packet.
  signal(SIGINT, SIG_IGN);
  int status = 0;
  while (waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  return exit_code_for(status);
}

// `s` as one word for /bin/sh, which runs gdb's "target remote | COMMAND".
std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// The options that choose what the server replays, as they were given.
std::string replay_flags(const ReplayArgs& a) {
  std::string flags;
  if (a.options.force_cpu) flags += " --force";
  if (a.goto_event) flags += " -g " + std::to_string(a.goto_event);
  if (a.pid) flags += (a.from_fork ? " -f " : " -p ") + std::to_string(a.pid);
  return flags;
}

// Where gdb's pipe command finds rewind's stderr (see debug_in_gdb): a
// POSIX shell's redirections take only single-digit descriptors.
constexpr int kServerLogFd = 9;

// gdb starts the server itself, with the protocol on its stdin and stdout:
// nothing listens, so no other user (nor another process of this one) can
// take the connection.
int debug_in_gdb(const ReplayArgs& a, const std::filesystem::path& dir) {
  char self[PATH_MAX];
  const ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  if (n < 0) return fail(Error::from_errno("readlink /proc/self/exe"));
  self[n] = '\0';
  char script[] = "/tmp/rewind-gdb-XXXXXX";
  int fd = mkstemp(script);
  if (fd < 0) return fail(Error::from_errno("mkstemp"));
  (void)!write(fd, kGdbScript, sizeof kGdbScript - 1);
  close(fd);
  // gdb polls its pipe command's stderr after every byte it reads from the
  // command (one read(2) per byte), which makes reading the program's
  // files through vFile several times slower than over a socket, until
  // that stderr pipe is closed. So the server writes its messages straight
  // to our stderr, passed down through gdb and its shell as `log_fd`, and
  // replaces the shell (exec), so that nothing holds gdb's pipe open.
  ScopedFd log_fd(fcntl(STDERR_FILENO, F_DUPFD, kServerLogFd));  // inherited: no CLOEXEC
  std::string server = "exec " + shell_quote(self) + " replay --stdio" + replay_flags(a) + " " +
                       shell_quote(dir.string());
  if (log_fd.is_open() && log_fd.get() <= kServerLogFd) {
    const std::string fd_number = std::to_string(log_fd.get());
    server += " 2>&" + fd_number + " " + fd_number + ">&-";
  }
  std::vector<std::string> args = {
      a.debugger, "-q", "-ex", "echo rewind: replaying " + dir.string() + "\\n", "-x", script,
      // The server replays to the start (or to -g EVENT) before it answers
      // the first packet, which can take longer than gdb's default 2 s; a
      // server that dies closes the pipe, so gdb never waits in vain.
      "-ex", "set remotetimeout unlimited", "-ex", "target extended-remote | " + server};
  args.insert(args.end(), a.debugger_args.begin(), a.debugger_args.end());
  const int code = run_debugger(args);
  unlink(script);
  return code;
}

bool is_lldb(const std::string& debugger) {
  if (debugger == "lldb") return true;
  return std::filesystem::path(debugger).filename().string().find("lldb") != std::string::npos;
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

// The LLDB plugin that goes with this rewind: $REWIND_LLDB_PLUGIN, the
// build tree's (build/cli/rewind, build/lldb-plugin/), or the installed
// one (/usr/bin/rewind, /usr/lib/<triple>/rewind/).
std::optional<std::string> lldb_plugin(const std::filesystem::path& self) {
  if (const char* env = getenv("REWIND_LLDB_PLUGIN"); env && *env) return std::string(env);
  const auto dir = self.parent_path();
  for (const auto& p : {dir / "../lldb-plugin/librewind-lldb.so",
                        dir / "../lib/x86_64-linux-gnu/rewind/librewind-lldb.so"}) {
    std::error_code ec;
    if (std::filesystem::exists(p, ec)) return std::filesystem::weakly_canonical(p, ec).string();
  }
  return std::nullopt;
}

// `-d lldb`: LLDB 22 if it is there, else whatever lldb is on PATH.
std::string lldb_command(const std::string& debugger) {
  if (debugger != "lldb") return debugger;
  for (const char* dir : {"/usr/bin/", "/usr/local/bin/"})
    if (access((std::string(dir) + "lldb-22").c_str(), X_OK) == 0) return "lldb-22";
  return "lldb";
}

// LLDB gets the plugin, whose `rewind replay` starts the server as its own
// child over a socketpair (no socket listens) and loads the trace's copies
// of the recorded files; rewind itself becomes LLDB.
int debug_in_lldb(const ReplayArgs& a, const std::filesystem::path& dir) {
  char self[PATH_MAX];
  const ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  if (n < 0) return fail(Error::from_errno("readlink /proc/self/exe"));
  self[n] = '\0';
  auto plugin = lldb_plugin(self);
  if (!plugin)
    return fail(Error{"the LLDB plugin librewind-lldb.so is not next to " + std::string(self) +
                      "; set REWIND_LLDB_PLUGIN to its path"});
  std::string replay = "rewind replay" + replay_flags(a) + " \"" + dir.string() + "\"";
  std::vector<std::string> args = {lldb_command(a.debugger), "-o", "plugin load " + *plugin,
                                   "-o", replay};
  args.insert(args.end(), a.debugger_args.begin(), a.debugger_args.end());
  setenv("REWIND_EXE", self, 1);
  std::vector<char*> cargv;
  for (auto& s : args) cargv.push_back(const_cast<char*>(s.c_str()));
  cargv.push_back(nullptr);
  fflush(nullptr);
  execvp(cargv[0], cargv.data());
  return fail(Error::from_errno("cannot run the debugger '" + args[0] + "'"));
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
