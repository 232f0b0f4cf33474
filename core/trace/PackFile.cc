#include "core/trace/PackFile.h"

#include <capnp/message.h>
#include <capnp/serialize.h>
#include <kj/exception.h>
#include <lz4.h>
#include <sys/stat.h>

#include <cstring>
#include <string_view>

#include "core/base/FileIo.h"
#include "core/trace/BlockStream.h"
#include "core/trace/checkpoint.capnp.h"

namespace rwd::trace {

namespace {

constexpr std::string_view kHeaderMagic = "RWCKPACK";
constexpr std::string_view kTrailerMagic = "RWPKEND1";
constexpr size_t kHeaderSize = 32;   // magic | version | 0 | uuid
constexpr size_t kTrailerSize = 32;  // index offset | index length | checksum | magic
// An index names each page in about 40 bytes: a pack of a million pages
// (4 GiB of new memory in one checkpoint) has a 40 MiB index.
constexpr uint64_t kMaxIndexBytes = 1ull << 30;
constexpr size_t kMaxBlockBytes = kPagesPerBlock * kPageSize;
static_assert(kMaxBlockBytes <= kMaxBlock);

Error pack_error(const std::string& path, const std::string& what) {
  return Error{"checkpoint pack " + path + ": " + what};
}

// The index message, decoded and checked against the file it came from.
Result<PackIndex> decode_index(kj::ArrayPtr<const capnp::word> words, uint64_t index_offset,
                               const std::string& path) {
  try {
    capnp::ReaderOptions options;
    // Lists of plain values, traversed once; the bound stops pointer
    // aliasing from multiplying the work.
    options.traversalLimitInWords = 4 * words.size() + 1024;
    options.nestingLimit = 8;
    capnp::FlatArrayMessageReader reader(words, options);
    auto r = reader.getRoot<schema::PackIndex>();
    PackIndex index;
    auto blocks = r.getBlocks();
    index.blocks.reserve(blocks.size());
    uint64_t next_free = kHeaderSize;  // blocks come in file order, without overlap
    for (auto b : blocks) {
      PackBlock pb{b.getOffset(), b.getCompressedSize(), b.getPages()};
      const std::string which = "index: block " + std::to_string(index.blocks.size());
      if (pb.pages == 0 || pb.pages > kPagesPerBlock)
        return pack_error(path, which + " holds " + std::to_string(pb.pages) + " pages");
      const auto bound =
          static_cast<uint32_t>(LZ4_compressBound(static_cast<int>(pb.pages * kPageSize)));
      if (pb.compressed_size == 0 || pb.compressed_size > bound)
        return pack_error(path, which + " has a compressed size out of range");
      if (pb.offset < next_free || pb.offset > index_offset ||
          index_offset - pb.offset < kBlockHeaderSize + pb.compressed_size)
        return pack_error(path, which + " lies outside the blocks of the file");
      next_free = pb.offset + kBlockHeaderSize + pb.compressed_size;
      index.blocks.push_back(pb);
    }
    auto hashes = r.getPageHashes();
    auto page_blocks = r.getPageBlocks();
    auto page_slots = r.getPageSlots();
    const size_t n = page_blocks.size();
    if (hashes.size() != n * sizeof(PageHash) || page_slots.size() != n)
      return pack_error(path, "index: page lists of different lengths");
    index.pages.resize(n);
    for (size_t i = 0; i < n; ++i) {
      PackPage& p = index.pages[i];
      std::memcpy(p.hash.data(), hashes.begin() + i * sizeof(PageHash), sizeof(PageHash));
      p.block = page_blocks[i];
      p.slot = page_slots[i];
      if (p.block >= index.blocks.size() || p.slot >= index.blocks[p.block].pages)
        return pack_error(path, "index: page " + std::to_string(i) + " is in no block");
    }
    return index;
  } catch (const kj::Exception& e) {
    return pack_error(path, std::string("malformed index: ") + e.getDescription().cStr());
  }
}

}  // namespace

Result<PackIndex> read_pack_index(int fd, const std::string& path, const Uuid& uuid,
                                  SharedPack shared) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return Error::from_errno("fstat " + path);
  const auto size = static_cast<uint64_t>(st.st_size);
  if (size < kHeaderSize + kTrailerSize)
    return pack_error(path, "truncated: " + std::to_string(size) + " bytes");
  uint8_t header[kHeaderSize];
  auto got = pread_full(fd, header, kHeaderSize, 0, path);
  if (!got) return got.error();
  if (*got < kHeaderSize) return pack_error(path, "truncated header");
  if (std::memcmp(header, kHeaderMagic.data(), kHeaderMagic.size()) != 0)
    return pack_error(path, "not a rewind checkpoint pack (bad magic)");
  const auto version = get_le<uint32_t>(header + 8);
  if (version != kCheckpointFormatVersion) {
    return pack_error(path, "written by checkpoint format version " + std::to_string(version) +
                                ", this rewind reads " + std::to_string(kCheckpointFormatVersion));
  }
  Uuid file_uuid;
  std::memcpy(file_uuid.data(), header + 16, file_uuid.size());
  const bool shared_ok = shared == SharedPack::Accept && file_uuid == kSharedPackUuid;
  if (file_uuid != uuid && !shared_ok) {
    if (file_uuid == kSharedPackUuid)
      return pack_error(path,
                        "is a pack of a store shared by traces (rewind pack --pack-dir), "
                        "whose name must be pages-h<its BLAKE2b-256>.pack");
    return pack_error(path, "belongs to another trace (uuid " + hex(file_uuid) + ")");
  }

  uint8_t trailer[kTrailerSize];
  got = pread_full(fd, trailer, kTrailerSize, size - kTrailerSize, path);
  if (!got) return got.error();
  if (*got < kTrailerSize) return pack_error(path, "truncated trailer");
  if (std::memcmp(trailer + 24, kTrailerMagic.data(), kTrailerMagic.size()) != 0)
    return pack_error(path, "no index at its end: truncated, or not written to the end");
  const auto index_offset = get_le<uint64_t>(trailer);
  const auto index_len = get_le<uint64_t>(trailer + 8);
  const uint64_t index_end = size - kTrailerSize;
  if (index_offset < kHeaderSize || index_offset > index_end ||
      index_len != index_end - index_offset || index_len == 0 ||
      index_len % sizeof(capnp::word) != 0 || index_len > kMaxIndexBytes) {
    return pack_error(path, "the trailer's index offset " + std::to_string(index_offset) +
                                " and length " + std::to_string(index_len) +
                                " do not fit the file's " + std::to_string(size) + " bytes");
  }
  auto words = kj::heapArray<capnp::word>(index_len / sizeof(capnp::word));
  got = pread_full(fd, words.begin(), index_len, index_offset, path);
  if (!got) return got.error();
  if (*got < index_len) return pack_error(path, "truncated index");
  uint8_t sum[8];
  blake2b_of(sum, sizeof sum, words.begin(), index_len);
  if (std::memcmp(sum, trailer + 16, sizeof sum) != 0)
    return pack_error(path, "the index is corrupt (checksum mismatch)");
  auto index = decode_index(words, index_offset, path);
  if (!index) return index.error();
  index->file_size = size;
  return index;
}

Result<void> read_pack_block(int fd, const std::string& path, const PackIndex& index,
                             uint32_t number, std::vector<uint8_t>& scratch,
                             std::vector<uint8_t>& out) {
  // read_pack_index checked the block against the file and its size bounds.
  REWIND_ASSERT(number < index.blocks.size(), "block " + std::to_string(number) + " of " + path);
  const PackBlock& b = index.blocks[number];
  auto where = [&](const std::string& what) {
    return pack_error(path, "block " + std::to_string(number) + " at byte offset " +
                                std::to_string(b.offset) + ": " + what);
  };
  const size_t len = kBlockHeaderSize + b.compressed_size;
  scratch.resize(len);
  auto got = pread_full(fd, scratch.data(), len, b.offset, path);
  if (!got) return got.error();
  if (*got < len) return where("truncated");
  auto sizes = parse_block_header(scratch.data());
  if (!sizes) return where(sizes.error().message);
  if (sizes->uncompressed != b.pages * kPageSize || sizes->compressed != b.compressed_size)
    return where("its header does not match the index");
  auto decoded = decode_block(scratch.data(), *sizes, scratch.data() + kBlockHeaderSize, out);
  if (!decoded) {
    out.clear();
    return where(decoded.error().message);
  }
  return ok_result();
}

// ---- Writing ----

Result<PackBuilder> PackBuilder::create(const std::filesystem::path& dir, const Uuid& uuid) {
  auto file = TempFile::create(dir, "pages");
  if (!file) return file.error();
  PackBuilder b;
  b.file_ = std::move(*file);
  uint8_t header[kHeaderSize] = {};
  std::memcpy(header, kHeaderMagic.data(), kHeaderMagic.size());
  put_le<uint32_t>(header + 8, kCheckpointFormatVersion);
  std::memcpy(header + 16, uuid.data(), uuid.size());
  REWIND_TRY(write_all(b.file_.fd(), header, sizeof header, b.file_.path().string()));
  b.offset_ = kHeaderSize;
  b.block_.resize(kMaxBlockBytes);
  b.out_.reset(new uint8_t[max_encoded_block(kMaxBlockBytes)]);
  return b;
}

Result<void> PackBuilder::add(const PageHash& hash, const void* page) {
  REWIND_ASSERT(!finished_, "PackBuilder::add after finish()");
  // A failed write_block() leaves the block full; its caller gives up then.
  REWIND_ASSERT(in_block_ < kPagesPerBlock, "PackBuilder::add after a failed add()");
  std::memcpy(block_.data() + in_block_ * kPageSize, page, kPageSize);
  index_.pages.push_back(PackPage{hash, static_cast<uint32_t>(index_.blocks.size()),
                                  static_cast<uint32_t>(in_block_)});
  if (++in_block_ == kPagesPerBlock) return write_block();
  return ok_result();
}

Result<void> PackBuilder::write_block() {
  if (in_block_ == 0) return ok_result();
  const size_t n = encode_block(block_.data(), in_block_ * kPageSize, out_.get());
  REWIND_TRY(write_all(file_.fd(), out_.get(), n, file_.path().string()));
  index_.blocks.push_back(PackBlock{offset_, static_cast<uint32_t>(n - kBlockHeaderSize),
                                    static_cast<uint32_t>(in_block_)});
  offset_ += n;
  in_block_ = 0;
  return ok_result();
}

Result<void> PackBuilder::finish() {
  REWIND_ASSERT(!finished_, "PackBuilder::finish twice");
  REWIND_TRY(write_block());
  const size_t n = index_.pages.size();
  // One segment of about the right size: the index of a large pack would
  // otherwise grow through many.
  capnp::MallocMessageBuilder message(static_cast<unsigned>(n * 6 + index_.blocks.size() * 3 + 64));
  auto r = message.initRoot<schema::PackIndex>();
  auto hashes = r.initPageHashes(static_cast<unsigned>(n * sizeof(PageHash)));
  auto blocks = r.initPageBlocks(static_cast<unsigned>(n));
  auto slots = r.initPageSlots(static_cast<unsigned>(n));
  for (size_t i = 0; i < n; ++i) {
    const PackPage& p = index_.pages[i];
    std::memcpy(hashes.begin() + i * sizeof(PageHash), p.hash.data(), sizeof(PageHash));
    blocks.set(static_cast<unsigned>(i), p.block);
    slots.set(static_cast<unsigned>(i), static_cast<uint8_t>(p.slot));
  }
  auto list = r.initBlocks(static_cast<unsigned>(index_.blocks.size()));
  for (size_t i = 0; i < index_.blocks.size(); ++i) {
    list[static_cast<unsigned>(i)].setOffset(index_.blocks[i].offset);
    list[static_cast<unsigned>(i)].setCompressedSize(index_.blocks[i].compressed_size);
    list[static_cast<unsigned>(i)].setPages(index_.blocks[i].pages);
  }
  auto words = capnp::messageToFlatArray(message);
  const auto bytes = words.asBytes();
  uint8_t trailer[kTrailerSize];
  put_le<uint64_t>(trailer, offset_);
  put_le<uint64_t>(trailer + 8, bytes.size());
  blake2b_of(trailer + 16, 8, bytes.begin(), bytes.size());
  std::memcpy(trailer + 24, kTrailerMagic.data(), kTrailerMagic.size());
  REWIND_TRY(write_all(file_.fd(), bytes.begin(), bytes.size(), file_.path().string()));
  REWIND_TRY(write_all(file_.fd(), trailer, sizeof trailer, file_.path().string()));
  index_.file_size = offset_ + bytes.size() + kTrailerSize;
  finished_ = true;
  return ok_result();
}

}  // namespace rwd::trace
