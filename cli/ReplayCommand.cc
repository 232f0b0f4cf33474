// rewind replay: replay a trace, either on its own (-a) or under a debugger
// connected to rewind's gdb server.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <future>
#include <limits>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "cli/Commands.h"
#include "core/base/Log.h"
#include "core/replay/ConfinedTarget.h"
#include "core/replay/ReplaySession.h"
#include "core/replay/ReplayTarget.h"
#include "core/trace/TraceReader.h"
#include "gdbstub/GdbServer.h"

namespace rwd::cli {
namespace {

struct ReplayArgs {
  bool autopilot = false;
  ReplayOptions options;
  std::string trace;
  std::optional<uint16_t> server_port;  // -s
  std::string host = "127.0.0.1";
  std::string debugger = "gdb";
  uint64_t goto_event = 0;  // -g
  pid_t pid = 0;            // -p / -f
  bool from_fork = false;
  std::vector<std::string> debugger_args;  // after --
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
    } else if (s == "--debugger") {
      if (!(v = value("--debugger"))) return std::nullopt;
      a.debugger = v;
    } else if (s == "-g") {
      if (!(v = value("-g")) || !parse_number(v, a.goto_event))
        return fprintf(stderr, "rewind: replay: -g needs an event number\n"), std::nullopt;
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
  return a;
}

int replay_autopilot(const std::filesystem::path& dir, const ReplayArgs& a) {
  auto session = ReplaySession::open(dir, a.options);
  if (!session) return fail(session.error());
  auto status = (*session)->run_to_end();
  if (!status) return fail(status.error());
  return exit_code_for(*status);
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

int run_debugger(const ReplayArgs& a, const std::filesystem::path& dir, uint16_t port) {
  char script[] = "/tmp/rewind-gdb-XXXXXX";
  int fd = mkstemp(script);
  if (fd < 0) return fail(Error::from_errno("mkstemp"));
  (void)!write(fd, kGdbScript, sizeof kGdbScript - 1);
  close(fd);
  std::string where = a.host + ":" + std::to_string(port);
  std::vector<std::string> args = {
      a.debugger, "-q",   "-ex", "echo rewind: replaying " + dir.string() + "\\n",
      "-x",       script, "-ex", "target extended-remote " + where};
  args.insert(args.end(), a.debugger_args.begin(), a.debugger_args.end());
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
  unlink(script);
  return exit_code_for(status);
}

}  // namespace

int cmd_replay(int argc, char** argv) {
  auto a = parse(argc, argv);
  if (!a) return kExitUsage;
  auto dir = trace::resolve_trace_arg(a->trace);
  if (!dir) return fail(dir.error());
  if (a->autopilot) return replay_autopilot(*dir, *a);

  // The engine lives on its own tracer thread (ptrace is per thread); the
  // server calls it from its threads.
  auto target =
      ConfinedTarget<ReplayTarget>::create([&] { return ReplayTarget::open(*dir, a->options); });
  if (!target) return fail(target.error());
  auto started = (*target)->with_inner([&](ReplayTarget& t) {
    if (a->pid) t.select_process(a->pid, a->from_fork);
    return t.start(a->goto_event);
  });
  if (!started) return fail(started.error());

  gdbstub::ServerOptions so;
  so.host = a->host;
  so.port = a->server_port.value_or(0);
  gdbstub::GdbServer server(**target, so);
  auto port = server.listen();
  if (!port) return fail(port.error());
  if (a->server_port) {
    printf("rewind: replaying %s; waiting for a debugger on %s:%u\n", dir->c_str(), a->host.c_str(),
           *port);
    printf("rewind: connect with: gdb -ex 'target extended-remote %s:%u'\n", a->host.c_str(),
           *port);
    fflush(stdout);
    auto served = server.serve_one_client();
    if (!served) return fail(served.error());
    return 0;
  }
  // The server runs beside the debugger; the debugger's exit ends rewind.
  std::promise<Result<void>> done;
  auto served = done.get_future();
  std::thread serving([&] { done.set_value(server.serve_one_client()); });
  int code = run_debugger(*a, *dir, *port);
  // A debugger that exits has detached, killed or dropped the connection,
  // which ends serving at once; one that never connected leaves the server
  // in accept(). Then leave without unwinding under the server thread:
  // PTRACE_O_EXITKILL takes the tracees down with rewind.
  if (served.wait_for(std::chrono::seconds(5)) != std::future_status::ready) {
    fflush(nullptr);
    _exit(code);
  }
  serving.join();
  auto r = served.get();
  if (!r) warn("debugger connection: %s", r.error().message.c_str());
  return code;
}

}  // namespace rwd::cli
