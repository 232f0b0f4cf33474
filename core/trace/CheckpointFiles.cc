#include "core/trace/CheckpointFiles.h"

#include <blake2.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <charconv>
#include <cstdio>
#include <system_error>
#include <utility>

#include "core/base/FileIo.h"
#include "core/base/Log.h"

namespace rwd::trace {

namespace fs = std::filesystem;

void blake2b_of(uint8_t* out, size_t out_len, const void* data, size_t len) {
  // blake2b only fails on bad parameters (out/key lengths), which callers fix.
  int rc = blake2b(out, data, nullptr, out_len, len, 0);
  REWIND_ASSERT(rc == 0, "blake2b");
}

std::string hex(const uint8_t* p, size_t n) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string s;
  s.reserve(2 * n);
  for (size_t i = 0; i < n; ++i) {
    s += kDigits[p[i] >> 4];
    s += kDigits[p[i] & 15];
  }
  return s;
}

namespace {

std::string digits20(uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "%020llu", static_cast<unsigned long long>(v));
  return buf;
}

// The decimal number of min..max digits at the front of `s`, consumed.
template <class T>
std::optional<T> take_digits(std::string_view& s, size_t min, size_t max) {
  size_t n = 0;
  while (n < s.size() && n < max + 1 && s[n] >= '0' && s[n] <= '9') ++n;
  if (n < min || n > max) return std::nullopt;
  T v{};
  auto [end, ec] = std::from_chars(s.data(), s.data() + n, v);
  if (ec != std::errc() || end != s.data() + n) return std::nullopt;
  s.remove_prefix(n);
  return v;
}

// Exactly 2 * N lower-case hex digits at the front of `s`, consumed: the
// one spelling hex() writes, so that a content has one file name.
template <class Bytes>
std::optional<Bytes> take_hex(std::string_view& s) {
  Bytes out{};
  if (s.size() < 2 * out.size()) return std::nullopt;
  auto digit = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  for (size_t i = 0; i < out.size(); ++i) {
    const int hi = digit(s[2 * i]), lo = digit(s[2 * i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  s.remove_prefix(2 * out.size());
  return out;
}

bool take(std::string_view& s, std::string_view prefix) {
  if (!s.starts_with(prefix)) return false;
  s.remove_prefix(prefix.size());
  return true;
}

}  // namespace

std::string pack_file_name(const PackId& id) {
  if (id.content) return "pages-h" + hex(id.content->data(), id.content->size()) + ".pack";
  std::string s = "pages-" + digits20(id.events);
  if (id.seq != 0) s += "-" + std::to_string(id.seq);
  return s + ".pack";
}

std::optional<PackId> parse_pack_file_name(std::string_view name) {
  PackId id;
  if (!take(name, "pages-")) return std::nullopt;
  if (take(name, "h")) {
    id.content = take_hex<ContentHash>(name);
    if (!id.content || name != ".pack") return std::nullopt;
    return id;
  }
  auto events = take_digits<uint64_t>(name, 20, 20);
  if (!events) return std::nullopt;
  id.events = *events;
  if (take(name, "-")) {
    auto seq = take_digits<uint32_t>(name, 1, 9);
    if (!seq || *seq == 0) return std::nullopt;
    id.seq = *seq;
  }
  if (name != ".pack") return std::nullopt;
  return id;
}

std::string meta_file_name(uint64_t events) {
  return "cp-" + digits20(events) + ".meta";
}

std::optional<uint64_t> parse_meta_file_name(std::string_view name) {
  if (!take(name, "cp-")) return std::nullopt;
  auto events = take_digits<uint64_t>(name, 20, 20);
  if (!events || name != ".meta") return std::nullopt;
  return events;
}

void remove_stale_temp_files(const fs::path& dir) {
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (!name.starts_with(kTempPrefix)) continue;
    // .tmp-<stem>-<pid>-<random>: the pid is the field before the last.
    const size_t last = name.rfind('-');
    if (last == std::string::npos || last == 0) continue;
    const size_t before = name.rfind('-', last - 1);
    if (before == std::string::npos) continue;
    std::string_view pid_text = std::string_view(name).substr(before + 1, last - before - 1);
    auto pid = take_digits<pid_t>(pid_text, 1, 10);
    if (!pid || !pid_text.empty() || *pid <= 0) continue;
    if (::kill(*pid, 0) == 0 || errno != ESRCH) continue;  // its writer may live yet
    struct stat st {};
    if (::lstat(it->path().c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
    if (::unlink(it->path().c_str()) == 0)
      REWIND_LOG(Trace, "removed %s, left by a writer that is gone", it->path().c_str());
  }
}

Result<size_t> pread_full(int fd, void* out, size_t len, uint64_t offset, const std::string& path) {
  auto* p = static_cast<uint8_t*>(out);
  size_t got = 0;
  while (got < len) {
    ssize_t n = ::pread(fd, p + got, len - got, static_cast<off_t>(offset + got));
    if (n < 0) {
      if (errno == EINTR) continue;
      return Error::from_errno("reading " + path);
    }
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  return got;
}

// ---- TempFile ----

Result<TempFile> TempFile::create(const fs::path& dir, const std::string& stem) {
  std::string name =
      (dir / (std::string(kTempPrefix) + stem + "-" + std::to_string(::getpid()) + "-XXXXXX"))
          .string();
  // mkostemp: a fresh name (O_EXCL) with mode 0600, whatever the umask.
  int fd = ::mkostemp(name.data(), O_CLOEXEC);
  if (fd < 0) return Error::from_errno("creating a temporary file in " + dir.string());
  TempFile f;
  f.path_ = name;
  f.fd_ = ScopedFd(fd);
  return f;
}

TempFile::TempFile(TempFile&& o) noexcept
    : path_(std::exchange(o.path_, {})), fd_(std::move(o.fd_)) {}

TempFile& TempFile::operator=(TempFile&& o) noexcept {
  if (this != &o) {
    discard();
    path_ = std::exchange(o.path_, {});
    fd_ = std::move(o.fd_);
  }
  return *this;
}

TempFile::~TempFile() {
  discard();
}

void TempFile::discard() {
  if (!path_.empty()) ::unlink(path_.c_str());
  path_.clear();
  fd_.reset();
}

namespace {

// rename(2) that refuses to replace `to`. RENAME_NOREPLACE needs support
// from the filesystem (EINVAL without it, as on some network filesystems);
// link(2) then unlink(2) does the same there.
Result<void> rename_noreplace(const fs::path& from, const fs::path& to) {
  if (::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), RENAME_NOREPLACE) == 0)
    return ok_result();
  if (errno != EINVAL && errno != ENOSYS) return Error::from_errno("renaming to " + to.string());
  if (::link(from.c_str(), to.c_str()) != 0) return Error::from_errno("linking " + to.string());
  ::unlink(from.c_str());
  return ok_result();
}

}  // namespace

Result<void> TempFile::commit(const fs::path& final_path, Replace replace, SyncDir sync_dir) {
  REWIND_ASSERT(fd_.is_open(), "commit() of a TempFile that holds no file");
  if (::fsync(fd_.get()) != 0) return Error::from_errno("fsync " + path_.string());
  if (replace == Replace::No) {
    REWIND_TRY(rename_noreplace(path_, final_path));
  } else if (::rename(path_.c_str(), final_path.c_str()) != 0) {
    return Error::from_errno("renaming to " + final_path.string());
  }
  path_.clear();  // it has its final name now: nothing to remove
  fd_.reset();
  if (sync_dir == SyncDir::No) return ok_result();
  return fsync_path(final_path.parent_path().string());
}

}  // namespace rwd::trace
