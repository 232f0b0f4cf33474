#include "core/base/ScratchDir.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>

#include "core/base/Log.h"

namespace rwd {

namespace {

// The one piece of process-wide state here, and it has to be: a signal
// handler can reach nothing else. A slot is claimed with `used` (0 -> 1),
// its path written, then published with `ready`; the handler reads only
// ready slots.
struct Slot {
  std::atomic<int> used{0};
  std::atomic<int> ready{0};
  char path[PATH_MAX];
};
constexpr int kSlots = 64;
Slot g_slots[kSlots];

int claim_slot(const std::string& path) {
  if (path.size() >= PATH_MAX) return -1;
  for (int i = 0; i < kSlots; ++i) {
    int expected = 0;
    if (!g_slots[i].used.compare_exchange_strong(expected, 1)) continue;
    std::memcpy(g_slots[i].path, path.c_str(), path.size() + 1);
    g_slots[i].ready.store(1);
    return i;
  }
  return -1;  // a full table only loses the signal-time cleanup
}

void release_slot(int i) {
  if (i < 0) return;
  g_slots[i].ready.store(0);
  g_slots[i].used.store(0);
}

// Removes a directory of plain files with async-signal-safe calls only:
// open, getdents64, unlinkat, close, rmdir.
void remove_flat_dir(const char* path) {
  int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
  if (fd >= 0) {
    alignas(8) char buf[4096];
    for (;;) {
      long n = syscall(SYS_getdents64, fd, buf, sizeof buf);
      if (n <= 0) break;
      for (long off = 0; off < n;) {
        struct Dirent64 {
          uint64_t ino;
          int64_t off;
          unsigned short reclen;
          unsigned char type;
          char name[1];
        };
        auto* d = reinterpret_cast<Dirent64*>(buf + off);
        const char* name = d->name;
        if (!(name[0] == '.' && (name[1] == 0 || (name[1] == '.' && name[2] == 0))))
          unlinkat(fd, name, 0);
        off += d->reclen;
      }
    }
    close(fd);
  }
  rmdir(path);
}

extern "C" void on_fatal_signal(int sig) {
  const int saved = errno;
  for (Slot& s : g_slots)
    if (s.ready.load()) remove_flat_dir(s.path);
  errno = saved;
  // Die of the signal, as without the handler: the parent sees the same status.
  signal(sig, SIG_DFL);
  raise(sig);
}

bool pid_alive(pid_t pid) {
  return kill(pid, 0) == 0 || errno == EPERM;
}

}  // namespace

int remove_stale_scratch_dirs(const std::filesystem::path& root, const std::string& prefix) {
  int removed = 0;
  std::error_code ec;
  const std::string start = prefix + "-";
  for (const auto& entry : std::filesystem::directory_iterator(root, ec)) {
    const std::string name = entry.path().filename().string();
    if (!name.starts_with(start)) continue;
    // <prefix>-<pid>-XXXXXX
    char* end = nullptr;
    const long pid = std::strtol(name.c_str() + start.size(), &end, 10);
    if (pid <= 0 || !end || *end != '-' || pid_alive(static_cast<pid_t>(pid))) continue;
    struct stat st {};
    if (lstat(entry.path().c_str(), &st) != 0 || !S_ISDIR(st.st_mode) || st.st_uid != geteuid())
      continue;
    std::error_code rm;
    std::filesystem::remove_all(entry.path(), rm);
    if (!rm) {
      ++removed;
      REWIND_LOG(Replay, "removed %s, left by process %ld", entry.path().c_str(), pid);
    }
  }
  return removed;
}

Result<ScratchDir> ScratchDir::create(const std::string& prefix,
                                      const std::filesystem::path& root) {
  remove_stale_scratch_dirs(root, prefix);
  std::string tmpl = (root / (prefix + "-" + std::to_string(getpid()) + "-XXXXXX")).string();
  if (!mkdtemp(tmpl.data())) return Error::from_errno("mkdtemp " + tmpl);  // 0700
  ScratchDir d;
  d.path_ = tmpl;
  d.slot_ = claim_slot(tmpl);
  return d;
}

ScratchDir::ScratchDir(ScratchDir&& other) noexcept
    : path_(std::exchange(other.path_, {})), slot_(std::exchange(other.slot_, -1)) {}

ScratchDir& ScratchDir::operator=(ScratchDir&& other) noexcept {
  if (this != &other) {
    reset();
    path_ = std::exchange(other.path_, {});
    slot_ = std::exchange(other.slot_, -1);
  }
  return *this;
}

ScratchDir::~ScratchDir() {
  reset();
}

void ScratchDir::reset() {
  if (path_.empty()) return;
  release_slot(slot_);
  slot_ = -1;
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
  path_.clear();
}

void remove_scratch_dirs_on_signals() {
  for (int sig : {SIGTERM, SIGINT, SIGHUP}) {
    struct sigaction old {};
    if (sigaction(sig, nullptr, &old) == 0 && old.sa_handler == SIG_IGN) continue;
    struct sigaction sa {};
    sa.sa_handler = on_fatal_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(sig, &sa, nullptr);
  }
}

}  // namespace rwd
