// rewind pack: makes a trace self-contained (the files it maps copied in)
// and deduplicated, one copy per content, optionally in a content store
// shared between traces (pack/Pack.h does the work).
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>

#include "core/base/Error.h"

namespace rwd::api {

struct PackProgress {
  const char* phase;  // "hashing", "copying"
  uint64_t done_bytes = 0, total_bytes = 0;
};

struct PackOptions {
  // Shared content store, on the trace's filesystem (the trace hard-links
  // into it). Unset: the trace keeps its own single copies.
  std::optional<std::filesystem::path> pack_dir;
  // Called as work proceeds (often; the callee throttles).
  std::function<void(const PackProgress&)> progress;
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

// `trace` is a directory (api::resolve_trace).
Result<PackStats> pack_trace(const std::filesystem::path& trace, const PackOptions& options);

}  // namespace rwd::api
