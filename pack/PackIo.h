// File operations that `rewind pack` does the same way for the trace's
// captured files (Pack.cc) and for its checkpoint pages
// (CheckpointPages.cc): hashing a whole file, hard links that replace a
// name atomically, and the temporaries a killed pack leaves behind.
#pragma once

#include <sys/stat.h>

#include <array>
#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>

#include "core/base/Error.h"
#include "pack/Pack.h"

namespace rwd::pack {

using Digest = std::array<uint8_t, 32>;          // BLAKE2b-256
using InodeKey = std::pair<uint64_t, uint64_t>;  // (st_dev, st_ino)

std::string hex(const Digest& d);
inline InodeKey key_of(const struct stat& st) {
  return {st.st_dev, st.st_ino};
}

// Reports progress over the whole of one phase.
struct Meter {
  const PackOptions& options;
  Progress p;
  void add(uint64_t n) {
    p.done_bytes += n;
    if (options.progress) options.progress(p);
  }
};

// BLAKE2b-256 of the whole file; `meter` (if any) counts the bytes read.
Result<Digest> hash_file(const std::filesystem::path& path, Meter* meter);

// Copies src to dest through a temporary file in dest's directory: dest
// appears whole, fsynced, or not at all.
Result<void> copy_atomically(const std::filesystem::path& src, const std::filesystem::path& dest);

// Makes dest a hard link to src, replacing whatever dest was, atomically.
// Not durable until dest's directory is fsynced.
Result<void> link_atomically(const std::filesystem::path& src, const std::filesystem::path& dest);

// Removes what killed packs left in `dir`: temporaries named for a process
// that no longer exists.
void remove_stale_temporaries(const std::filesystem::path& dir);

// mkdir(2) with mode 0700; a directory that exists already is fine. Returns
// whether it made one (then its parent needs an fsync for it to last).
Result<bool> make_dir(const std::filesystem::path& dir);

}  // namespace rwd::pack
