#include "pack/PackIo.h"

#include <blake2.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <random>
#include <system_error>
#include <vector>

#include "core/base/Fd.h"
#include "core/base/FileIo.h"

namespace rwd::pack {

namespace fs = std::filesystem;

namespace {

// A name for a temporary file in `dir` that no other pack picks.
fs::path temp_name(const fs::path& dir) {
  static std::mt19937_64 rng(std::random_device{}());
  return dir / (".pack-tmp-" + std::to_string(::getpid()) + "-" + std::to_string(rng() % 1000000));
}

}  // namespace

std::string hex(const Digest& d) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string s;
  for (uint8_t b : d) {
    s += kHex[b >> 4];
    s += kHex[b & 15];
  }
  return s;
}

Result<Digest> hash_file(const fs::path& path, Meter* meter) {
  ScopedFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.is_open()) return Error::from_errno("opening " + path.string());
  blake2b_state st;
  blake2b_init(&st, 32);
  std::vector<uint8_t> buf(1 << 20);
  for (;;) {
    ssize_t n = ::read(fd.get(), buf.data(), buf.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return Error::from_errno("reading " + path.string());
    }
    if (n == 0) break;
    blake2b_update(&st, buf.data(), static_cast<size_t>(n));
    if (meter) meter->add(static_cast<uint64_t>(n));
  }
  Digest d;
  blake2b_final(&st, d.data(), d.size());
  return d;
}

Result<void> copy_atomically(const fs::path& src, const fs::path& dest) {
  ScopedFd in(::open(src.c_str(), O_RDONLY | O_CLOEXEC));
  if (!in.is_open()) return Error::from_errno("opening " + src.string());
  struct stat st {};
  if (::fstat(in.get(), &st) != 0) return Error::from_errno("stat " + src.string());
  // Replay may execve the file (a captured executable), so keep it runnable.
  const mode_t mode = (st.st_mode & 0111) ? 0700 : 0600;
  const fs::path tmp = temp_name(dest.parent_path());
  ScopedFd out(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode));
  if (!out.is_open()) return Error::from_errno("creating " + tmp.string());
  Result<void> r = copy_fd(in.get(), out.get(), src.string());
  if (r.ok() && ::fsync(out.get()) != 0) r = Error::from_errno("fsync " + tmp.string());
  if (r.ok() && ::rename(tmp.c_str(), dest.c_str()) != 0)
    r = Error::from_errno("renaming " + tmp.string() + " to " + dest.string());
  if (!r.ok()) ::unlink(tmp.c_str());
  return r;
}

Result<void> link_atomically(const fs::path& src, const fs::path& dest) {
  const fs::path tmp = temp_name(dest.parent_path());
  if (::link(src.c_str(), tmp.c_str()) != 0)
    return Error::from_errno("linking " + src.string() + " to " + tmp.string());
  if (::rename(tmp.c_str(), dest.c_str()) != 0) {
    Error e = Error::from_errno("renaming " + tmp.string() + " to " + dest.string());
    ::unlink(tmp.c_str());
    return e;
  }
  return ok_result();
}

void remove_stale_temporaries(const fs::path& dir) {
  std::error_code ec;
  for (auto it = fs::directory_iterator(dir, ec); !ec && it != fs::end(it); it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (!name.starts_with(".pack-tmp-")) continue;
    const pid_t pid = static_cast<pid_t>(std::atoi(name.c_str() + 10));
    if (pid > 0 && ::kill(pid, 0) != 0 && errno == ESRCH) ::unlink(it->path().c_str());
  }
}

Result<bool> make_dir(const fs::path& dir) {
  if (::mkdir(dir.c_str(), 0700) == 0) return true;
  if (errno != EEXIST) return Error::from_errno("creating " + dir.string());
  return false;
}

}  // namespace rwd::pack
