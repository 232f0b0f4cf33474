#include "core/task/ProcMaps.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace rwd {

bool parse_maps_line(const std::string& line, KernelMapping& m) {
  char perms[5] = {};
  unsigned long long start, end, offset, inode;
  unsigned major, minor;
  int name_pos = 0;
  if (sscanf(line.c_str(), "%llx-%llx %4s %llx %x:%x %llu %n", &start, &end, perms, &offset, &major,
             &minor, &inode, &name_pos) < 7)
    return false;
  m.start = start;
  m.end = end;
  m.offset = offset;
  m.dev_major = major;
  m.dev_minor = minor;
  m.inode = inode;
  m.prot = (perms[0] == 'r' ? PROT_READ : 0) | (perms[1] == 'w' ? PROT_WRITE : 0) |
           (perms[2] == 'x' ? PROT_EXEC : 0);
  m.shared = perms[3] == 's';
  m.name =
      name_pos > 0 && static_cast<size_t>(name_pos) <= line.size() ? line.substr(name_pos) : "";
  return true;
}

Result<std::vector<KernelMapping>> read_proc_maps(pid_t tid) {
  std::string path = "/proc/" + std::to_string(tid) + "/maps";
  std::ifstream in(path);
  if (!in) return Error::from_errno("open " + path);
  std::vector<KernelMapping> out;
  std::string line;
  while (std::getline(in, line)) {
    KernelMapping m;
    if (!parse_maps_line(line, m)) return Error{path + ": malformed line: " + line};
    out.push_back(std::move(m));
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
