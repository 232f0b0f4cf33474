// A stream of LZ4-compressed blocks in one file. Each block:
//   u32 magic 'RWB1' | u32 uncompressed size | u32 compressed size |
//   8-byte BLAKE2b-64 of the compressed bytes | compressed bytes
// A reader detects truncation and corruption per block and says which.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "core/base/Error.h"
#include "core/base/Fd.h"
#include "core/trace/TraceTypes.h"

namespace rwd::trace {

// The largest block, uncompressed: writers never produce more, and readers
// allocate no more for one block, whatever its size fields say.
constexpr size_t kMaxBlock = 1 << 20;

// One block on its own, for files that hold blocks among other things (the
// checkpoint packs, CheckpointStore.h): the same layout and the same checks
// as in a stream. Errors say what is wrong but not where; callers add that.
constexpr size_t kBlockHeaderSize = 20;
struct BlockSizes {
  uint32_t uncompressed = 0, compressed = 0;
};
// The most bytes encode_block() writes for `len` bytes.
size_t max_encoded_block(size_t len);
// Compresses `len` bytes (1..kMaxBlock) into `out` (max_encoded_block(len)
// bytes) as one block, header first; returns the block's size.
size_t encode_block(const void* data, size_t len, uint8_t* out);
// Checks a block header's magic and sizes (nothing over kMaxBlock).
Result<BlockSizes> parse_block_header(const uint8_t* header);
// Checks the compressed body against the header's checksum, then
// decompresses it into `out`, which ends up `sizes.uncompressed` long.
Result<void> decode_block(const uint8_t* header, BlockSizes sizes, const uint8_t* body,
                          std::vector<uint8_t>& out);

class BlockWriter {
 public:
  static Result<std::unique_ptr<BlockWriter>> create(const std::filesystem::path& path);
  // Appends bytes to the current block; a full block (kMaxBlock) is
  // compressed and written out.
  Result<void> append(const void* data, size_t len);
  // Writes out the pending partial block as a (smaller) block of its own,
  // without fsync: what is written survives the death of this process,
  // which is what a killed recorder needs.
  Result<void> flush();
  // Bytes appended but not yet written out.
  size_t pending_bytes() const { return pending_.size(); }
  // Writes out the pending partial block and fsyncs the file (unless told
  // not to: then its owner syncs it later, as TraceWriter::close does).
  Result<void> finish(bool sync = true);

 private:
  std::filesystem::path path_;
  ScopedFd fd_;
  std::vector<uint8_t> pending_;
  // The compressed block, kept between flushes: a fresh 1 MiB buffer each
  // time is a fresh mapping, faulted in page by page.
  std::unique_ptr<uint8_t[]> out_;
  size_t out_size_ = 0;
};

class BlockReader {
 public:
  static Result<std::unique_ptr<BlockReader>> open(const std::filesystem::path& path);
  // Reads exactly len bytes. Returns false (not an error) only at the clean
  // end of the stream when len bytes could not start; an end in the middle of
  // a block, a bad checksum or a decompression failure is an Error.
  Result<bool> read(void* out, size_t len);
  bool at_end();
  // An independent reader at the same position (its own fd), for replay
  // checkpoints that must resume reading where they were taken.
  Result<std::unique_ptr<BlockReader>> clone() const;

  // Where the next read() starts: the offset of the block it is in and the
  // bytes of that block already read. At the end of a block this is that
  // block and its size, which open_at() turns back into the same place.
  StreamPos position() const { return {block_offset_, pos_}; }
  // A reader of `path` at `pos` (a position() of a reader of the same
  // file). It loads and checks that block; an offset that is not a block
  // start, or a byte count past the block's end, is an Error.
  static Result<std::unique_ptr<BlockReader>> open_at(const std::filesystem::path& path,
                                                      const StreamPos& pos);

 private:
  Result<bool> load_block();
  std::filesystem::path path_;
  ScopedFd fd_;
  std::vector<uint8_t> block_;
  size_t pos_ = 0;
  uint64_t block_offset_ = 0;  // where block_ starts in the file
  uint64_t file_offset_ = 0;   // where the next block starts
};

}  // namespace rwd::trace
