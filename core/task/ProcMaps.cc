#include "core/task/ProcMaps.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "core/base/Fd.h"

namespace rwd {

namespace {

// Hand-written field parsers for /proc/PID/maps: sscanf and an ifstream
// took ~23 us per read of a short maps file, several times per exec.
// Each advances `p` past what it read; false if nothing matched.
bool hex_field(const char*& p, const char* end, uint64_t& out) {
  uint64_t v = 0;
  const char* start = p;
  for (; p < end; ++p) {
    const char c = *p;
    const int d = c >= '0' && c <= '9'   ? c - '0'
                  : c >= 'a' && c <= 'f' ? c - 'a' + 10
                  : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                         : -1;
    if (d < 0) break;
    v = v << 4 | static_cast<uint64_t>(d);
  }
  out = v;
  return p != start;
}

bool dec_field(const char*& p, const char* end, uint64_t& out) {
  uint64_t v = 0;
  const char* start = p;
  for (; p < end && *p >= '0' && *p <= '9'; ++p) v = v * 10 + static_cast<uint64_t>(*p - '0');
  out = v;
  return p != start;
}

bool skip_char(const char*& p, const char* end, char c) {
  if (p == end || *p != c) return false;
  ++p;
  return true;
}

void skip_blanks(const char*& p, const char* end) {
  while (p < end && (*p == ' ' || *p == '\t')) ++p;
}

// "start-end perms offset major:minor inode   name", as show_map_vma()
// prints it.
bool parse_line(const char* p, const char* end, KernelMapping& m) {
  uint64_t start, stop, offset, major, minor, inode;
  if (!hex_field(p, end, start) || !skip_char(p, end, '-') || !hex_field(p, end, stop) ||
      !skip_char(p, end, ' ') || end - p < 5 || p[4] != ' ')
    return false;
  const char* perms = p;
  p += 5;
  if (!hex_field(p, end, offset) || !skip_char(p, end, ' ') || !hex_field(p, end, major) ||
      !skip_char(p, end, ':') || !hex_field(p, end, minor) || !skip_char(p, end, ' ') ||
      !dec_field(p, end, inode))
    return false;
  skip_blanks(p, end);
  m.start = start;
  m.end = stop;
  m.offset = offset;
  m.dev_major = static_cast<uint32_t>(major);
  m.dev_minor = static_cast<uint32_t>(minor);
  m.inode = inode;
  m.prot = (perms[0] == 'r' ? PROT_READ : 0) | (perms[1] == 'w' ? PROT_WRITE : 0) |
           (perms[2] == 'x' ? PROT_EXEC : 0);
  m.shared = perms[3] == 's';
  m.name.assign(p, end);
  return true;
}

}  // namespace

bool parse_maps_line(const std::string& line, KernelMapping& m) {
  return parse_line(line.data(), line.data() + line.size(), m);
}

Result<std::vector<KernelMapping>> read_proc_maps(pid_t tid) {
  const std::string path = "/proc/" + std::to_string(tid) + "/maps";
  ScopedFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.is_open()) return Error::from_errno("open " + path);
  // The kernel hands out at most a page per read; the buffer is kept, so
  // that a read costs no allocation once it has grown.
  thread_local std::string text;
  if (text.size() < 64 * 1024) text.resize(64 * 1024);
  size_t used = 0;
  for (;;) {
    if (text.size() - used < 4096) text.resize(text.size() * 2);
    const ssize_t n = ::read(fd.get(), text.data() + used, text.size() - used);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Error::from_errno("read " + path);
    }
    if (n == 0) break;
    used += static_cast<size_t>(n);
  }
  std::vector<KernelMapping> out;
  for (const char *p = text.data(), *end = p + used; p < end;) {
    const char* nl = static_cast<const char*>(memchr(p, '\n', static_cast<size_t>(end - p)));
    const char* eol = nl ? nl : end;
    KernelMapping& m = out.emplace_back();
    if (!parse_line(p, eol, m)) return Error{path + ": malformed line: " + std::string(p, eol)};
    p = nl ? nl + 1 : end;
  }
  return out;
}

Result<int64_t> proc_status_field(pid_t tid, const std::string& key) {
  const std::string path = "/proc/" + std::to_string(tid) + "/status";
  std::ifstream in(path);
  if (!in) return Error::from_errno("open " + path);
  std::string line;
  while (std::getline(in, line))
    if (line.size() > key.size() && line.compare(0, key.size(), key) == 0 &&
        line[key.size()] == ':')
      return static_cast<int64_t>(std::strtoll(line.c_str() + key.size() + 1, nullptr, 10));
  return Error{path + " has no " + key + " field"};
}

Result<ThreadActivity> thread_activity(pid_t tid) {
  const std::string path = "/proc/" + std::to_string(tid) + "/status";
  std::ifstream in(path);
  if (!in) return Error::from_errno("open " + path);
  ThreadActivity a;
  int seen = 0;
  std::string line;
  auto field = [&](const char* key) -> const char* {
    const size_t n = strlen(key);
    return line.compare(0, n, key) == 0 ? line.c_str() + n : nullptr;
  };
  while (std::getline(in, line)) {
    if (const char* v = field("State:")) {
      while (*v == ' ' || *v == '\t') ++v;
      a.state = *v;
      ++seen;
    } else if (const char* v = field("voluntary_ctxt_switches:")) {
      a.switches += std::strtoull(v, nullptr, 10);
      ++seen;
    } else if (const char* v = field("nonvoluntary_ctxt_switches:")) {
      a.switches += std::strtoull(v, nullptr, 10);
      ++seen;
    }
  }
  if (seen != 3) return Error{path + ": no State or context switch counts"};
  return a;
}

Result<uint64_t> thread_user_time_ms(pid_t tid) {
  const std::string path = "/proc/" + std::to_string(tid) + "/stat";
  std::ifstream in(path);
  std::string line;
  if (!in || !std::getline(in, line)) return Error::from_errno("read " + path);
  // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so
  // count fields from the last ')'. utime is field 14 (proc(5)), the 12th
  // after it.
  const size_t close = line.rfind(')');
  if (close == std::string::npos) return Error{path + ": unexpected format"};
  std::istringstream fields(line.substr(close + 1));
  std::string field;
  for (int i = 0; i < 12; ++i)
    if (!(fields >> field)) return Error{path + ": unexpected format"};
  const long ticks_per_s = sysconf(_SC_CLK_TCK);
  return std::strtoull(field.c_str(), nullptr, 10) * 1000 /
         static_cast<uint64_t>(ticks_per_s > 0 ? ticks_per_s : 100);
}

}  // namespace rwd
