// One-file trace bundles (docs/bundles.md): a trace packed, archived and
// compressed into one tar.zst that replays on a machine with nothing else,
// and the other way, a bundle unpacked into a per-user cache.
//
//   rewind-bundle          the manifest, always the first member: format
//                          version, the trace's uuid, the sizes to expect
//   trace/                 the packed trace directory
//   trace/...              its regular files and directories, nothing else
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>

#include "core/base/Error.h"

namespace rwd::api {

// Bumped when a reader of older bundles could misread newer ones.
constexpr int kBundleFormatVersion = 1;

struct BundleProgress {
  const char* phase;  // "hashing", "copying" (packing), "compressing", "unpacking"
  uint64_t done_bytes = 0, total_bytes = 0;
};

enum class Overwrite { Refuse, Replace };

struct BundleOptions {
  // zstd level: 3 is where the trace's page data stops paying for more
  // (docs/bundles.md has the measurements).
  int level = 3;
  // zstd worker threads; 0: one per online CPU.
  int threads = 0;
  Overwrite overwrite = Overwrite::Refuse;
  // Called as work proceeds (often; the callee throttles).
  std::function<void(const BundleProgress&)> progress;
};

struct BundleStats {
  uint64_t trace_bytes_before = 0;  // the trace before packing, each inode once
  uint64_t trace_bytes = 0;         // what went into the bundle, uncompressed
  uint64_t files = 0;               // members under trace/ (files and directories)
  uint64_t bundle_bytes = 0;        // the bundle file
};

// Packs `trace_dir` in place (api::pack_trace, so that it needs nothing
// outside itself), then writes the bundle to `out`. The bundle is written
// under OUT.partial-XXXXXX and renamed to `out` only once complete and
// synced, so a failed or interrupted run never leaves a partial file under
// that name. A trace still being recorded, or one whose recording did not
// finish, is refused.
Result<BundleStats> bundle_trace(const std::filesystem::path& trace_dir,
                                 const std::filesystem::path& out, const BundleOptions& options);

// Whether a TRACE argument names a bundle rather than a trace directory:
// an existing regular file (or a link to one).
bool is_bundle_path(const std::filesystem::path& path);

// The trace directory of a bundle, unpacked into
// <cache>/bundles/<id>/trace, where <cache> is $REWIND_CACHE_DIR, else
// $XDG_CACHE_HOME/rewind, else ~/.cache/rewind (REWIND_CACHE_DIR=-: a
// scratch directory removed at exit), and <id> is the BLAKE2b of the
// bundle file: a bundle already unpacked is not unpacked again. Unpacking
// writes a temporary sibling and renames it into place, so concurrent
// opens and an interrupted one are safe. A hostile or damaged bundle is an
// Error saying what is wrong with it, and nothing is written outside the
// cache.
Result<std::filesystem::path> open_bundle(const std::filesystem::path& bundle);

}  // namespace rwd::api
