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

namespace rwd::trace {

// The largest block, uncompressed: writers never produce more, and readers
// allocate no more for one block, whatever its size fields say.
constexpr size_t kMaxBlock = 1 << 20;

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

 private:
  Result<bool> load_block();
  std::filesystem::path path_;
  ScopedFd fd_;
  std::vector<uint8_t> block_;
  size_t pos_ = 0;
  uint64_t file_offset_ = 0;
};

}  // namespace rwd::trace
