#include "lldb-plugin/ServerLink.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <mutex>

namespace rwd::lldb_plugin {

namespace fs = std::filesystem;

namespace {

std::string errno_text(const char* what) {
  return std::string(what) + ": " + strerror(errno);
}

bool executable(const std::string& p) {
  return !p.empty() && access(p.c_str(), X_OK) == 0;
}

// Where this plugin's .so lies.
std::string plugin_dir() {
  Dl_info info{};
  if (!dladdr(reinterpret_cast<void*>(&find_rewind), &info) || !info.dli_fname) return {};
  std::error_code ec;
  return fs::weakly_canonical(info.dli_fname, ec).parent_path().string();
}

bool write_all(int fd, const std::string& s) {
  size_t done = 0;
  while (done < s.size()) {
    ssize_t n = write(fd, s.data() + done, s.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += n;
  }
  return true;
}

// One packet's body, after skipping acks; empty optional-like false on EOF.
bool read_packet(int fd, std::string& body) {
  char c;
  auto get = [&]() {
    for (;;) {
      ssize_t n = read(fd, &c, 1);
      if (n < 0 && errno == EINTR) continue;
      return n == 1;
    }
  };
  do {
    if (!get()) return false;
  } while (c != '$');
  body.clear();
  for (;;) {
    if (!get()) return false;
    if (c == '#') break;
    if (c == '}') {
      if (!get()) return false;
      c ^= 0x20;
    }
    body += c;
  }
  char sum[2];
  for (char& s : sum) {
    if (!get()) return false;
    s = c;
  }
  return true;
}

std::string frame_packet(const std::string& body) {
  unsigned sum = 0;
  for (unsigned char c : body) sum += c;
  char tail[4];
  snprintf(tail, sizeof tail, "#%02x", sum & 0xff);
  return "$" + body + tail;
}

bool unhex(const std::string& hex, std::string& out) {
  if (hex.size() % 2) return false;
  out.clear();
  for (size_t i = 0; i < hex.size(); i += 2) {
    char* end = nullptr;
    const std::string byte = hex.substr(i, 2);
    long v = strtol(byte.c_str(), &end, 16);
    if (*end) return false;
    out += static_cast<char>(v);
  }
  return true;
}

// exe=HEX;HEX=HEX;... (gdbstub/SessionRewind.cc, qRewindFiles)
bool parse_files(const std::string& reply, ServerLink& link) {
  size_t at = 0;
  while (at < reply.size()) {
    size_t semi = reply.find(';', at);
    if (semi == std::string::npos) semi = reply.size();
    const std::string field = reply.substr(at, semi - at);
    at = semi + 1;
    const size_t eq = field.find('=');
    if (eq == std::string::npos) return false;
    std::string key, value;
    if (!unhex(field.substr(eq + 1), value)) return false;
    if (field.compare(0, eq, "exe") == 0) {
      link.exe = value;
      continue;
    }
    if (!unhex(field.substr(0, eq), key)) return false;
    link.copies.emplace_back(key, value);
  }
  return !link.exe.empty();
}

std::vector<std::string> g_sysroots;  // removed at exit
std::mutex g_sysroots_mutex;

void remove_sysroots() {
  std::lock_guard<std::mutex> lock(g_sysroots_mutex);
  for (const std::string& d : g_sysroots) {
    std::error_code ec;
    fs::remove_all(d, ec);
  }
  g_sysroots.clear();
}

// The recorded paths are the kernel's (/proc/PID/maps: /usr/lib/...), LLDB
// asks for the dynamic loader's (/lib/x86_64-linux-gnu/libc.so.6, from
// ld.so.cache; /lib64/ld-linux-x86-64.so.2, the PT_INTERP). So the mirror
// gets this machine's top-level links (lib -> usr/lib, merged /usr), and
// the links in the multilib directories that lead to a recorded file (the
// loader's /usr/lib64/ld-linux-x86-64.so.2).
void add_host_aliases(const ServerLink& link, const std::string& dir) {
  std::error_code ec;
  for (const auto& e : fs::directory_iterator("/", ec)) {
    std::error_code ec2;
    if (!e.is_symlink(ec2)) continue;
    const fs::path target = fs::read_symlink(e.path(), ec2);
    const fs::path at = fs::path(dir) / e.path().filename();
    if (ec2 || target.is_absolute() || fs::exists(fs::symlink_status(at, ec2))) continue;
    fs::create_symlink(target, at, ec2);
  }
  for (const char* multilib : {"/usr/lib64", "/usr/lib32", "/usr/libx32"}) {
    for (const auto& [recorded, copy] : link.copies) {
      const fs::path alias = fs::path(multilib) / fs::path(recorded).filename();
      std::error_code ec2;
      if (!fs::is_symlink(alias, ec2) || fs::canonical(alias, ec2) != fs::path(recorded)) continue;
      fs::create_directories(fs::path(dir + multilib), ec2);
      fs::create_symlink(copy, dir + alias.string(), ec2);
    }
  }
}

}  // namespace

std::string find_rewind() {
  if (const char* env = getenv("REWIND_EXE"); env && executable(env)) return env;
  const std::string here = plugin_dir();
  // The build tree: build/lldb-plugin/librewind-lldb.so and build/cli/rewind.
  if (!here.empty() && executable(here + "/../cli/rewind")) return here + "/../cli/rewind";
  // Installed: /usr/lib/<triple>/rewind/librewind-lldb.so and /usr/bin/rewind.
  if (!here.empty() && executable(here + "/../../../bin/rewind"))
    return here + "/../../../bin/rewind";
  return "rewind";
}

bool start_server(const std::string& rewind, const std::vector<std::string>& args, ServerLink& link,
                  std::string& error) {
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
    error = errno_text("socketpair");
    return false;
  }
  std::vector<std::string> argv = {rewind, "replay", "--stdio"};
  argv.insert(argv.end(), args.begin(), args.end());
  std::vector<char*> cargv;
  for (auto& s : argv) cargv.push_back(s.data());
  cargv.push_back(nullptr);
  // Twice forked: the server is nobody's child in LLDB, so it leaves no
  // zombie; it ends when the connection closes.
  pid_t child = fork();
  if (child < 0) {
    error = errno_text("fork");
    close(sv[0]);
    close(sv[1]);
    return false;
  }
  if (child == 0) {
    setpgid(0, 0);
    if (fork() != 0) _exit(0);
    dup2(sv[1], STDIN_FILENO);
    dup2(sv[1], STDOUT_FILENO);
    signal(SIGPIPE, SIG_DFL);
    execvp(cargv[0], cargv.data());
    fprintf(stderr, "rewind: cannot run %s: %s\n", cargv[0], strerror(errno));
    _exit(127);
  }
  close(sv[1]);
  int status = 0;
  while (waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  // The first packet waits until the server has replayed to the start.
  std::string reply;
  if (!write_all(sv[0], frame_packet("qRewindFiles")) || !read_packet(sv[0], reply)) {
    close(sv[0]);
    error = "the replay server ended before it answered (its messages are above)";
    return false;
  }
  write_all(sv[0], "+");
  if (reply.empty() || reply[0] == 'E' || !parse_files(reply, link)) {
    close(sv[0]);
    error = "the replay server did not list the trace's files (" + reply.substr(0, 80) + ")";
    return false;
  }
  link.fd = sv[0];
  return true;
}

bool make_sysroot(const ServerLink& link, std::string& dir, std::string& error) {
  const char* tmp = getenv("TMPDIR");
  std::string templ = std::string(tmp && *tmp ? tmp : "/tmp") + "/rewind-lldb-XXXXXX";
  if (!mkdtemp(templ.data())) {
    error = errno_text("mkdtemp");
    return false;
  }
  dir = templ;
  {
    std::lock_guard<std::mutex> lock(g_sysroots_mutex);
    if (g_sysroots.empty()) atexit(remove_sysroots);
    g_sysroots.push_back(dir);
  }
  for (const auto& [recorded, copy] : link.copies) {
    // Only plain absolute paths: nothing may point outside the directory.
    if (recorded.empty() || recorded[0] != '/' || recorded.find("/../") != std::string::npos ||
        recorded.find("/./") != std::string::npos)
      continue;
    fs::path where = fs::path(dir + recorded);
    std::error_code ec;
    fs::create_directories(where.parent_path(), ec);
    if (ec) continue;
    fs::create_symlink(copy, where, ec);  // a path seen twice keeps its first copy
  }
  add_host_aliases(link, dir);
  return true;
}

}  // namespace rwd::lldb_plugin
