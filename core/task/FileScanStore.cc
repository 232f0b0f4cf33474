#include "core/task/FileScanStore.h"

#include <blake2.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "core/base/Fd.h"
#include "core/base/FileIo.h"
#include "core/base/Log.h"

namespace rwd {

namespace {

constexpr char kMagic[8] = {'R', 'W', 'D', 'S', 'C', 'A', 'N', '1'};
constexpr size_t kKindSize = 16;
constexpr size_t kHeadSize = sizeof kMagic + kKindSize + 32 + 8;
constexpr size_t kSumSize = 16;
constexpr size_t kMaxFile = 64 << 20;

std::string default_dir() {
  if (const char* d = std::getenv("REWIND_CACHE_DIR"); d && *d) return d;
  if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x == '/')
    return std::string(x) + "/rewind";
  const char* home = std::getenv("HOME");
  if (!home || !*home) {
    const passwd* pw = ::getpwuid(::getuid());
    if (!pw) return {};
    home = pw->pw_dir;
  }
  return std::string(home) + "/.cache/rewind";
}

// mkdir -p, 0700 for what it creates: the cache says what the user's
// programs map.
bool make_dirs(const std::string& dir) {
  for (size_t at = 1; at <= dir.size(); ++at) {
    if (at != dir.size() && dir[at] != '/') continue;
    if (::mkdir(dir.substr(0, at).c_str(), 0700) < 0 && errno != EEXIST) return false;
  }
  return true;
}

std::string checksum(std::string_view data) {
  std::string sum(kSumSize, '\0');
  blake2b(reinterpret_cast<uint8_t*>(sum.data()), data.data(), nullptr, kSumSize, data.size(), 0);
  return sum;
}

}  // namespace

FileId FileId::of(const struct stat& st) {
  return {uint64_t{st.st_dev}, uint64_t{st.st_ino}, int64_t{st.st_size},
          int64_t{st.st_mtim.tv_sec} * 1000000000 + st.st_mtim.tv_nsec};
}

FileScanStore::FileScanStore(std::string dir) : dir_(dir.empty() ? default_dir() : std::move(dir)) {
  // "-", given or from $REWIND_CACHE_DIR: keep nothing (not a directory
  // named "-" in the working directory, as an earlier version made).
  if (dir_ == "-") dir_.clear();
}

std::string FileScanStore::encode(std::string_view kind, const FileId& file,
                                  std::string_view payload) {
  PayloadWriter w;
  w.bytes(kMagic, sizeof kMagic);
  char k[kKindSize] = {};
  memcpy(k, kind.data(), std::min(kind.size(), kKindSize - 1));
  w.bytes(k, sizeof k);
  w.u64(file.dev);
  w.u64(file.ino);
  w.u64(static_cast<uint64_t>(file.size));
  w.u64(static_cast<uint64_t>(file.mtime_ns));
  w.u64(payload.size());
  w.bytes(payload.data(), payload.size());
  std::string s = w.take();
  return s + checksum(s);
}

std::optional<std::string> FileScanStore::decode(std::string_view kind, const FileId& file,
                                                 std::string_view bytes) {
  if (bytes.size() < kHeadSize + kSumSize) return std::nullopt;
  const std::string_view body = bytes.substr(0, bytes.size() - kSumSize);
  if (checksum(body) != bytes.substr(body.size())) return std::nullopt;
  // Everything before the payload must be what this kind and file make.
  if (encode(kind, file, {}).compare(0, kHeadSize - 8, body.substr(0, kHeadSize - 8)) != 0)
    return std::nullopt;
  PayloadReader r(body.substr(kHeadSize - 8));
  const uint64_t len = r.u64();
  if (!r.ok() || len != body.size() - kHeadSize) return std::nullopt;
  return std::string(body.substr(kHeadSize));
}

std::string FileScanStore::path_of(std::string_view kind, const FileId& file) const {
  char name[128];
  snprintf(name, sizeof name, "/%.*s-%llx-%llx-%llx-%llx", static_cast<int>(kind.size()),
           kind.data(), static_cast<unsigned long long>(file.dev),
           static_cast<unsigned long long>(file.ino), static_cast<unsigned long long>(file.size),
           static_cast<unsigned long long>(file.mtime_ns));
  return dir_ + name;
}

std::optional<std::string> FileScanStore::load(std::string_view kind, const FileId& file) const {
  if (dir_.empty()) return std::nullopt;
  const std::string path = path_of(kind, file);
  auto fd = open_regular_file(path);
  if (!fd) return std::nullopt;
  struct stat st;
  if (fstat(fd->get(), &st) < 0 || static_cast<uint64_t>(st.st_size) > kMaxFile)
    return std::nullopt;
  std::string bytes(static_cast<size_t>(st.st_size), '\0');
  if (::pread(fd->get(), bytes.data(), bytes.size(), 0) != st.st_size) return std::nullopt;
  auto payload = decode(kind, file, bytes);
  if (!payload) REWIND_LOG(Trace, "ignoring the damaged scan cache %s", path.c_str());
  return payload;
}

void FileScanStore::store(std::string_view kind, const FileId& file,
                          std::string_view payload) const {
  if (dir_.empty() || !make_dirs(dir_)) return;
  const std::string path = path_of(kind, file);
  std::string tmp = path + ".XXXXXX";
  ScopedFd fd(::mkstemp(tmp.data()));
  if (!fd.is_open()) return;
  const std::string bytes = encode(kind, file, payload);
  if (!write_all(fd.get(), bytes.data(), bytes.size(), tmp) ||
      ::rename(tmp.c_str(), path.c_str()) < 0)
    ::unlink(tmp.c_str());
}

uint8_t PayloadReader::u8() {
  uint8_t v = 0;
  bytes(&v, 1);
  return v;
}

uint64_t PayloadReader::u64() {
  uint64_t v = 0;
  bytes(&v, 8);
  return v;
}

uint64_t PayloadReader::count(size_t item_bytes) {
  const uint64_t n = u64();
  if (ok_ && n > (s_.size() - at_) / item_bytes) ok_ = false;
  return ok_ ? n : 0;
}

bool PayloadReader::bytes(void* out, size_t n) {
  if (!ok_ || s_.size() - at_ < n) return ok_ = false;
  memcpy(out, s_.data() + at_, n);
  at_ += n;
  return true;
}

}  // namespace rwd
