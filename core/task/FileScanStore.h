// What rewind learnt by decoding a file's code, kept on disk for the next
// session: the rdtsc and cpuid sites (TrapPatch.h) and the patchable syscall sites
// (core/record/SyscallSiteCache.h) of the libraries and programs a tracee
// maps.
//
// Decoding is linear with Zydis: 35 ms for Debian 12's libc, and a
// recorded make of 31 files spent 0.4 s of its 1.2 s decoding gcc's
// programs (cc1 is 25 MB), paid again by every recording and replay. The store is a directory of
// small files
// ($REWIND_CACHE_DIR, else $XDG_CACHE_HOME/rewind, else ~/.cache/rewind;
// REWIND_CACHE_DIR=- turns it off), one per kind of scan and file, named by
// the file's identity (device, inode, size, modification time). A stored
// file that is damaged, of another format, or names another file or kind,
// is ignored and written again. Writes are best effort (temporary name,
// then rename): a session without a writable cache only decodes again.
//
// What a stored scan says is only a hint: both users check the bytes at
// each site against memory before they patch it. A user whose scan or
// payload changes must change its kind's name ("syscall-sites2"), or it
// would read the old results.
//
// The store is per user, and trusted like the rest of their home: a scan
// is not evidence of anything but where to look.
#pragma once

#include <sys/stat.h>

#include <compare>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/base/Fd.h"

namespace rwd {

struct FileId {
  uint64_t dev = 0, ino = 0;
  int64_t size = 0, mtime_ns = 0;
  static FileId of(const struct stat& st);
  auto operator<=>(const FileId&) const = default;
};

class FileScanStore {
 public:
  // `dir` empty: the directory named above; "-": keep nothing on disk.
  explicit FileScanStore(std::string dir = {});

  // The payload stored for `kind` (at most 15 characters) of `file`, if any
  // and intact.
  std::optional<std::string> load(std::string_view kind, const FileId& file) const;
  void store(std::string_view kind, const FileId& file, std::string_view payload) const;

  // The file's whole content for a payload, exposed for tests.
  static std::string encode(std::string_view kind, const FileId& file, std::string_view payload);
  static std::optional<std::string> decode(std::string_view kind, const FileId& file,
                                           std::string_view bytes);

 private:
  std::string path_of(std::string_view kind, const FileId& file) const;
  std::string dir_;  // empty: none
};

// The scans of each file a session has seen: in memory for the session (a
// library every process maps is scanned once), and in the store for the
// next sessions. `Scan` says what a scan is:
//   using Site = ...;                       // one finding
//   static constexpr std::string_view kKind;  // the store's name for it
//   static std::vector<Site> scan(int fd, const struct stat& st);
//   static std::string encode(const std::vector<Site>&);
//   static std::optional<std::vector<Site>> decode(std::string_view);
//                                           // nullopt: not a payload
template <class Scan>
class FileScanCache {
 public:
  using Site = typename Scan::Site;
  explicit FileScanCache(FileScanStore store = FileScanStore()) : store_(std::move(store)) {}

  // The findings in the file open at `fd`, whose fstat is `st`.
  const std::vector<Site>& sites_of(int fd, const struct stat& st) {
    const FileId id = FileId::of(st);
    if (const std::vector<Site>* known = find(id)) return *known;
    return scan(id, fd, st);
  }

  // The same for a file whose stat is `st`, opened only if it must be
  // scanned: `open()` returns a ScopedFd. Opening /proc/PID/fd/N for every
  // executable mmap cost the recorder an open and a close each, nearly
  // always for a file the session had seen. A file that does not open has
  // no sites, remembered nowhere.
  template <class Open>
  const std::vector<Site>& sites_of(const struct stat& st, Open&& open) {
    const FileId id = FileId::of(st);
    if (const std::vector<Site>* known = find(id)) return *known;
    const ScopedFd fd = open();
    if (!fd.is_open()) return none_;
    return scan(id, fd.get(), st);
  }

  // How many files this cache scanned (found neither in memory nor stored).
  size_t decoded() const { return decoded_; }

  static std::string encode(const std::vector<Site>& sites) { return Scan::encode(sites); }
  static std::optional<std::vector<Site>> decode(std::string_view payload) {
    return Scan::decode(payload);
  }

 private:
  // Its scan from memory, else from the store; nullptr if neither has it.
  const std::vector<Site>* find(const FileId& id) {
    if (auto it = files_.find(id); it != files_.end()) return &it->second;
    if (auto payload = store_.load(Scan::kKind, id))
      if (auto sites = Scan::decode(*payload))
        return &files_.emplace(id, std::move(*sites)).first->second;
    return nullptr;
  }

  const std::vector<Site>& scan(const FileId& id, int fd, const struct stat& st) {
    ++decoded_;
    auto sites = Scan::scan(fd, st);
    store_.store(Scan::kKind, id, Scan::encode(sites));
    return files_.emplace(id, std::move(sites)).first->second;
  }

  FileScanStore store_;
  std::map<FileId, std::vector<Site>> files_;
  std::vector<Site> none_;  // always empty
  size_t decoded_ = 0;
};

// Little-endian readers and writers for payloads; a Reader fails (ok()
// false) instead of reading past its end.
class PayloadWriter {
 public:
  void u8(uint8_t v) { s_.push_back(static_cast<char>(v)); }
  void u64(uint64_t v) { s_.append(reinterpret_cast<const char*>(&v), 8); }
  void bytes(const void* p, size_t n) { s_.append(static_cast<const char*>(p), n); }
  std::string take() { return std::move(s_); }

 private:
  std::string s_;
};

class PayloadReader {
 public:
  explicit PayloadReader(std::string_view s) : s_(s) {}
  uint8_t u8();
  uint64_t u64();
  // A count of items that take at least `item_bytes` each: fails if what is
  // left cannot hold that many.
  uint64_t count(size_t item_bytes);
  bool bytes(void* out, size_t n);
  bool ok() const { return ok_; }
  bool at_end() const { return at_ == s_.size(); }

 private:
  std::string_view s_;
  size_t at_ = 0;
  bool ok_ = true;
};

}  // namespace rwd
