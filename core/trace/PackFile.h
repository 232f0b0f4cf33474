// The pages-<id>.pack files of a checkpoint store (CheckpointStore.h):
//
//   header   32 bytes: "RWCKPACK" | u32 kCheckpointFormatVersion | u32 0 |
//            the trace's uuid
//   blocks   blocks as in BlockStream.h (magic, sizes, BLAKE2b-64 of the
//            compressed bytes, LZ4 data) of up to kPagesPerBlock pages each
//   index    a Cap'n Proto PackIndex (checkpoint.capnp): each page's hash,
//            block and slot; each block's offset, compressed size and pages
//   trailer  32 bytes: u64 index offset | u64 index length | BLAKE2b-64 of
//            the index | "RWPKEND1"
//
// The trailer finds the index from the end, so a pack is written in one
// pass, a block at a time, and a truncated pack has no trailer. Blocks of
// 64 pages (256 KiB) compress well, and a page costs at most one block's
// decompression to read.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "core/base/Error.h"
#include "core/trace/CheckpointFiles.h"
#include "core/trace/CheckpointStore.h"

namespace rwd::trace {

constexpr size_t kPagesPerBlock = 64;

struct PackPage {
  PageHash hash{};
  uint32_t block = 0;  // in PackIndex::blocks
  uint32_t slot = 0;   // its place in the block, in pages
};
struct PackBlock {
  uint64_t offset = 0;  // of its header, in the file
  uint32_t compressed_size = 0;
  uint32_t pages = 0;
};
struct PackIndex {
  std::vector<PackPage> pages;
  std::vector<PackBlock> blocks;
  uint64_t file_size = 0;
};

// The uuid in the header of a pack of a page store shared by traces
// (pages-h<hex>.pack, `rewind pack --pack-dir`): such a pack holds pages of
// several traces and belongs to none of them. A trace's uuid is random, so
// never this one.
constexpr Uuid kSharedPackUuid{};

// Whether read_pack_index() takes a shared pack (kSharedPackUuid) beside
// one of the trace with `uuid`: a trace does for its pages-h<hex>.pack
// files, which are links into a shared store, and for no other name.
enum class SharedPack { Refuse, Accept };

// Reads and checks a pack's header, trailer and index: magic numbers,
// version, uuid, the index's checksum, and every offset and size in it
// against the file. Reads no block. Errors say what is wrong and name `path`.
Result<PackIndex> read_pack_index(int fd, const std::string& path, const Uuid& uuid,
                                  SharedPack shared = SharedPack::Refuse);

// Reads, checks and decompresses block `number` of a pack into `out`
// (pages * kPageSize bytes). `scratch` holds the compressed bytes between
// calls, so that a restore does not allocate per block.
Result<void> read_pack_block(int fd, const std::string& path, const PackIndex& index,
                             uint32_t number, std::vector<uint8_t>& scratch,
                             std::vector<uint8_t>& out);

// Writes a pack under a temporary name (TempFile): the header at once, a
// block each kPagesPerBlock pages (one write(2) per block), then finish()
// writes the rest; the caller puts the file in place with file().commit().
// The same pages added in the same order make the same bytes.
class PackBuilder {
 public:
  // `uuid`: the trace's, or kSharedPackUuid for a shared store's pack.
  static Result<PackBuilder> create(const std::filesystem::path& dir, const Uuid& uuid);

  // One page of kPageSize bytes, whose hash is `hash`.
  Result<void> add(const PageHash& hash, const void* page);
  size_t pages() const { return index_.pages.size(); }
  // Writes the last block, the index and the trailer (no fsync: commit()
  // does it).
  Result<void> finish();
  // What was written; file_size is set by finish().
  const PackIndex& index() const { return index_; }
  TempFile& file() { return file_; }

 private:
  PackBuilder() = default;
  Result<void> write_block();

  TempFile file_;
  uint64_t offset_ = 0;         // where the next block goes
  std::vector<uint8_t> block_;  // the pages of the block being filled
  size_t in_block_ = 0;
  std::unique_ptr<uint8_t[]> out_;  // one encoded block
  PackIndex index_;
  bool finished_ = false;
};

}  // namespace rwd::trace
