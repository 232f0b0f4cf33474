// What the files of a checkpoint store (CheckpointStore.h) have in common:
// their names, their fixed-size little-endian fields, their checksums, and
// how each one reaches the disk (TempFile). Internal to core/trace/.
#pragma once

#include <array>
#include <bit>
#include <compare>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "core/base/Error.h"
#include "core/base/Fd.h"

namespace rwd::trace {

using Uuid = std::array<uint8_t, 16>;

// The fixed fields are stored little-endian; rewind runs on x86-64 only
// (the top-level CMakeLists.txt refuses anything else), so memcpy is the
// conversion.
static_assert(std::endian::native == std::endian::little);
template <class T>
void put_le(uint8_t* p, T v) {
  std::memcpy(p, &v, sizeof v);
}
template <class T>
T get_le(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

// BLAKE2b with an output of `out_len` bytes (8: a block or header checksum,
// 32: a page hash or a body checksum).
void blake2b_of(uint8_t* out, size_t out_len, const void* data, size_t len);

std::string hex(const uint8_t* p, size_t n);
inline std::string hex(const Uuid& u) {
  return hex(u.data(), u.size());
}

// A pack file's name: pages-<events, 20 digits>.pack for the pack written
// by the checkpoint at `events`; pages-<events>-<seq>.pack (seq >= 1) when
// that name was taken by a pack that outlived an earlier checkpoint at the
// same event (remove() keeps a pack while other checkpoints use its pages).
// pages-h<64 hex digits>.pack is a pack of a page store shared by traces
// (`rewind pack --pack-dir`), named by the BLAKE2b-256 of its bytes; the
// trace holds a hard link to it, and reads it like its own.
using ContentHash = std::array<uint8_t, 32>;
struct PackId {
  PackId() = default;
  PackId(uint64_t e, uint32_t s) : events(e), seq(s) {}
  explicit PackId(const ContentHash& c) : content(c) {}
  uint64_t events = 0;
  uint32_t seq = 0;
  std::optional<ContentHash> content;  // set: pages-h<hex>.pack (events and seq are 0)
  auto operator<=>(const PackId&) const = default;
};
std::string pack_file_name(const PackId& id);
std::optional<PackId> parse_pack_file_name(std::string_view name);
// cp-<events, 20 digits>.meta
std::string meta_file_name(uint64_t events);
std::optional<uint64_t> parse_meta_file_name(std::string_view name);
// Temporary names start with this: .tmp-<stem>-<pid>-<random>.
constexpr std::string_view kTempPrefix = ".tmp-";
// Removes the temporary files in `dir` whose writer (by the pid in the
// name) is gone: a crash between creating and renaming one leaves it.
void remove_stale_temp_files(const std::filesystem::path& dir);

// pread(2) until `len` bytes or the end of the file; returns how many.
Result<size_t> pread_full(int fd, void* out, size_t len, uint64_t offset, const std::string& path);

// A file written under a temporary name in the directory it belongs in,
// and put in place by commit(): fsync, rename, fsync of the directory. So a
// crash leaves the old file or the whole new one, never part of one. One
// owner: destroyed before commit() (an error, an abandoned checkpoint), it
// removes its file.
class TempFile {
 public:
  // Creates <dir>/.tmp-<stem>-<pid>-XXXXXX, mode 0600.
  static Result<TempFile> create(const std::filesystem::path& dir, const std::string& stem);
  TempFile() = default;
  TempFile(TempFile&& o) noexcept;
  TempFile& operator=(TempFile&& o) noexcept;
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  ~TempFile();

  int fd() const { return fd_.get(); }
  const std::filesystem::path& path() const { return path_; }

  enum class Replace { Yes, No };
  // SyncDir::No leaves the directory's fsync to the caller, who puts many
  // files in place and then syncs the directory once.
  enum class SyncDir { Yes, No };
  // Makes the file durable under `final_path`, in the same directory. With
  // Replace::No an existing file there is left alone and the Error's
  // errnum is EEXIST.
  Result<void> commit(const std::filesystem::path& final_path, Replace replace,
                      SyncDir sync_dir = SyncDir::Yes);

 private:
  void discard();
  std::filesystem::path path_;
  ScopedFd fd_;
};

}  // namespace rwd::trace
