// `rewind pack --pack-dir DIR` for persistent checkpoints: the pages of
// every packed trace's checkpoints are kept once, in DIR/checkpoint-pages/,
// as the files of captured content are kept once in DIR/<2 hex>/<64 hex>.
//
//   DIR/checkpoint-pages/pages-h<64 hex>.pack
//
// is a checkpoint pack (core/trace/PackFile.h) named by the BLAKE2b-256 of
// its bytes, whose header carries no trace's uuid (kSharedPackUuid): it
// holds up to one block of pages that one trace had and the store did not
// (small, because a trace that links it carries all of it). A trace's
// checkpoints/ ends up holding hard links, under the same names, to the
// store packs that hold its pages, and none of its own packs: the
// CheckpointStore reads the links like its own packs, so the trace is
// still whole when moved alone, and a page that two traces share takes
// disk space once.
//
// Packing a trace: every page its checkpoints name is looked up in the
// store; those the store lacks go into new store packs (each fsynced and
// renamed into place); then the trace links each store pack it needs
// (the links fsynced), and only then are its own packs removed. A pack
// killed at any point leaves every page of the trace in some pack of the
// trace, and packing again finds the store packs it wrote and finishes the
// job; packing a trace whose packs are all links writes nothing.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>

#include "core/base/Error.h"

namespace rwd::pack {

struct CheckpointPageStats {
  uint64_t pages_in_store = 0;  // pages the trace needs that the store held already
  uint64_t pages_added = 0;     // pages this pack wrote into the store
  bool changed = false;         // something was written, linked or removed
};

// Moves the checkpoint pages of `trace` (whose uuid is `uuid`) into the
// store under `pack_dir`, as above. A store pack that fails its checks is
// an Error naming it, never linked. A trace whose checkpoints cannot all
// be loaded keeps its packs (with a warning): which pages an unreadable
// checkpoint needs is unknown.
Result<CheckpointPageStats> share_checkpoint_pages(const std::filesystem::path& trace,
                                                   const std::array<uint8_t, 16>& uuid,
                                                   const std::filesystem::path& pack_dir);

}  // namespace rwd::pack
