// `rewind pack`: makes a trace self-contained and deduplicated, in place.
//
// A fresh recording refers to each mapped file through a name in files/. A
// system file there is a hard link to the original inode (cheap, but an
// in-place rewrite of the original would change the trace), and a file that
// was captured twice with different metadata is stored twice. Packing:
//   1. hashes every referenced file (BLAKE2b-256) and picks one canonical
//      name per distinct content: files/<basename>-<64 hex digits>;
//   2. creates each canonical file that is missing: a hard link when the
//      content already lives in a file only the trace holds, a copy (written
//      to a temporary name, fsynced, renamed) otherwise; with a pack
//      directory, the content lives once in DIR/<2 hex>/<64 hex> and every
//      trace hard-links it;
//   3. rewrites the mapping and task records to the canonical names, each
//      stream replaced by an atomic rename;
//   4. with a pack directory, moves the checkpoints' pages into its shared
//      page store and links the store's packs into the trace instead
//      (CheckpointPages.h);
//   5. removes the files no record names any more.
// Every step leaves a trace whose records name files that exist, so a pack
// killed at any moment leaves a replayable trace, and packing again finishes
// the job. Packing a packed trace finds nothing to do and writes nothing.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>

#include "core/base/Error.h"

namespace rwd::pack {

struct Progress {
  const char* phase;  // "hashing", "copying"
  uint64_t done_bytes = 0, total_bytes = 0;
};

struct PackOptions {
  // Shared content store, on the trace's filesystem (the trace hard-links
  // into it). Unset: the trace keeps its own single copies.
  std::optional<std::filesystem::path> pack_dir;
  // Called as work proceeds (often; the callee throttles).
  std::function<void(const Progress&)> progress;
};

struct PackStats {
  // Apparent size of the trace directory, each inode counted once.
  uint64_t bytes_before = 0, bytes_after = 0;
  // Regular files under files/ before and after.
  uint64_t files_before = 0, files_after = 0;
  uint64_t distinct_contents = 0;
  uint64_t copied_files = 0, copied_bytes = 0;  // written out during this pack
  uint64_t store_files_added = 0;               // new content in the pack directory
  // With a pack directory: the pages the trace's checkpoints name (each
  // once) that its page store held already, and those this pack added.
  uint64_t checkpoint_pages_in_store = 0, checkpoint_pages_added = 0;
  bool changed = false;  // false: the trace was already packed
};

Result<PackStats> pack_trace(const std::filesystem::path& trace, const PackOptions& options);

}  // namespace rwd::pack
