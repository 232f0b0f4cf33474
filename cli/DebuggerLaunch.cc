// The debuggers `rewind replay` launches: gdb, which runs the server
// itself over a pipe, and LLDB, whose plugin does (see ReplayCommand.cc on
// who may connect). Also `rewind gdbinit` and `rewind lldbinit`, which
// print what the launchers give them.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "cli/Commands.h"
#include "cli/ReplayArgs.h"
#include "core/api/RecordedFiles.h"
#include "core/base/Fd.h"
#include "core/base/Log.h"
#include "core/base/ScratchDir.h"

namespace rwd::cli {
namespace {

namespace fs = std::filesystem;

// gdb's own checkpoint/restart and a `when` command, mapped to rewind's
// monitor commands, as rr's gdb script does. gdb has built-in
// `checkpoint` and `restart`, and redefining one asks "Really redefine
// built-in command?" unless confirm is off, even when nobody can answer;
// so the launcher turns confirm off around this script (-iex, before the
// user's ~/.gdbinit, which may then set it as they like).
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

// A directory laid out as the recording machine's filesystem, holding the
// trace's copies of what the recording executed and mapped (symlinks to
// them), for gdb's sysroot. gdb then reads symbols from local files: no
// "File transfers from remote targets can be slow" warning and no line per
// file read through the server, and still nothing but the trace's copies
// (not the originals, which may have been rebuilt since). Paths come from
// the trace, so one that is not absolute or climbs with ".." is left out
// rather than written outside the directory.
Result<void> make_sysroot(const fs::path& root, const fs::path& trace) {
  auto files = api::recorded_files(trace);
  if (!files) return files.error();
  std::error_code ec;
  fs::create_directory(root, ec);
  if (ec) return Error{"creating " + root.string() + ": " + ec.message()};
  // This machine's merged-/usr links (/lib -> usr/lib...): the dynamic
  // loader names libraries through them, the kernel's maps without.
  for (const auto& entry : fs::directory_iterator("/", ec)) {
    if (!entry.is_symlink(ec)) continue;
    const fs::path target = fs::read_symlink(entry.path(), ec);
    if (ec || target.is_absolute() || target.lexically_normal().string().starts_with(".."))
      continue;
    // The target first: a dangling link would stop create_directories below.
    fs::create_directories(root / target, ec);
    fs::create_directory_symlink(target, root / entry.path().filename(), ec);
  }
  const fs::path trace_dir = fs::absolute(trace).lexically_normal();
  for (const api::RecordedFile& f : *files) {
    const fs::path recorded = fs::path(f.recorded_path).lexically_normal();
    const fs::path copy = fs::absolute(f.copy).lexically_normal();
    if (!recorded.is_absolute() || recorded.string().find("/..") != std::string::npos ||
        !copy.string().starts_with(trace_dir.string() + "/"))
      continue;
    const fs::path link = root / recorded.relative_path();
    fs::create_directories(link.parent_path(), ec);
    if (!ec) fs::create_symlink(copy, link, ec);  // a second name for a path: the first wins
  }
  return ok_result();
}

std::string self_exe() {
  char self[PATH_MAX];
  const ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  if (n < 0) return {};
  return std::string(self, static_cast<size_t>(n));
}

// The arguments for gdb on the replay of `dir`, whose scratch files (the
// command script, the sysroot) are in `scratch`.
std::vector<std::string> gdb_args(const ReplayArgs& a, const fs::path& dir, const fs::path& scratch,
                                  const std::string& self, int log_fd) {
  std::string server = "exec " + shell_quote(self) + " replay --stdio" + replay_flags(a) + " " +
                       shell_quote(dir.string());
  if (log_fd >= 0 && log_fd <= kServerLogFd) {
    const std::string fd_number = std::to_string(log_fd);
    server += " 2>&" + fd_number + " " + fd_number + ">&-";
  }
  std::vector<std::string> args = {
      a.debugger, "-q",
      // Before ~/.gdbinit (see kGdbScript), so the user's settings win.
      "-iex", "set confirm off", "-ix", (scratch / "rewind.gdb").string(), "-iex", "set confirm on",
      "-ex", "echo rewind: replaying " + dir.string() + "\\n", "-ex",
      "set sysroot " + (scratch / "sysroot").string(),
      // The server replays to the start (or to -g EVENT) before it answers
      // the first packet, which can take longer than gdb's default 2 s; a
      // server that dies closes the pipe, so gdb never waits in vain.
      "-ex", "set remotetimeout unlimited", "-ex", "target extended-remote | " + server};
  if (!a.command_file.empty()) args.insert(args.end(), {"-x", a.command_file});
  args.insert(args.end(), a.debugger_args.begin(), a.debugger_args.end());
  return args;
}

}  // namespace

// gdb starts the server itself, with the protocol on its stdin and stdout:
// nothing listens, so no other user (nor another process of this one) can
// take the connection.
int debug_in_gdb(const ReplayArgs& a, const fs::path& dir) {
  const std::string self = self_exe();
  if (self.empty()) return fail(Error::from_errno("readlink /proc/self/exe"));
  auto scratch = ScratchDir::create("rewind-gdb");
  if (!scratch) return fail(scratch.error());
  {
    ScopedFd fd(::open((scratch->path() / "rewind.gdb").c_str(),
                       O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
    if (!fd.is_open() || ::write(fd.get(), kGdbScript, sizeof kGdbScript - 1) < 0)
      return fail(Error::from_errno("writing gdb's script in " + scratch->path().string()));
  }
  if (auto made = make_sysroot(scratch->path() / "sysroot", dir); !made) return fail(made.error());
  // gdb polls its pipe command's stderr after every byte it reads from the
  // command (one read(2) per byte), which makes reading the program's
  // files through vFile several times slower than over a socket, until
  // that stderr pipe is closed. So the server writes its messages straight
  // to our stderr, passed down through gdb and its shell as `log_fd`, and
  // replaces the shell (exec), so that nothing holds gdb's pipe open.
  ScopedFd log_fd(fcntl(STDERR_FILENO, F_DUPFD, kServerLogFd));  // inherited: no CLOEXEC
  return run_debugger(
      gdb_args(a, dir, scratch->path(), self, log_fd.is_open() ? log_fd.get() : -1));
}

bool is_lldb(const std::string& debugger) {
  if (debugger == "lldb") return true;
  return std::filesystem::path(debugger).filename().string().find("lldb") != std::string::npos;
}

namespace {

// The LLDB plugin that goes with this rewind: $REWIND_LLDB_PLUGIN, the
// build tree's (build/cli/rewind, build/lldb-plugin/), or the installed
// one (/usr/bin/rewind, /usr/lib/<triple>/rewind/: REWIND_BINDIR_TO_HELPERDIR
// from cmake/Install.cmake, relative, so any install prefix works).
std::optional<std::string> lldb_plugin(const std::filesystem::path& self) {
  if (const char* env = getenv("REWIND_LLDB_PLUGIN"); env && *env) return std::string(env);
  const auto dir = self.parent_path();
  for (const auto& p : {dir / "../lldb-plugin/librewind-lldb.so",
                        dir / REWIND_BINDIR_TO_HELPERDIR / "librewind-lldb.so"}) {
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

}  // namespace

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
  std::vector<std::string> args = {lldb_command(a.debugger), "-o", "plugin load " + *plugin, "-o",
                                   replay};
  if (!a.command_file.empty()) args.insert(args.end(), {"-s", a.command_file});
  args.insert(args.end(), a.debugger_args.begin(), a.debugger_args.end());
  setenv("REWIND_EXE", self, 1);
  std::vector<char*> cargv;
  for (auto& s : args) cargv.push_back(const_cast<char*>(s.c_str()));
  cargv.push_back(nullptr);
  fflush(nullptr);
  execvp(cargv[0], cargv.data());
  return fail(Error::from_errno("cannot run the debugger '" + args[0] + "'"));
}

int cmd_gdbinit(int argc, char**) {
  if (argc) return usage_error("gdbinit", "takes no arguments");
  fputs(kGdbScript, stdout);
  return 0;
}

int cmd_lldbinit(int argc, char**) {
  if (argc) return usage_error("lldbinit", "takes no arguments");
  const std::string self = self_exe();
  auto plugin = lldb_plugin(self);
  if (!plugin)
    return fail(Error{"the LLDB plugin librewind-lldb.so is not next to " + self +
                      "; set REWIND_LLDB_PLUGIN to its path"});
  printf(
      "# rewind's LLDB plugin; then `rewind replay [TRACE]` replays a trace.\n"
      "plugin load %s\n",
      plugin->c_str());
  return 0;
}
}  // namespace rwd::cli
