#include "core/trace/BlockStream.h"

#include <blake2.h>
#include <fcntl.h>
#include <lz4.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cstring>
#include <memory>

#include "core/base/FileIo.h"
#include "core/base/Log.h"

namespace rwd::trace {

namespace {

constexpr std::array<uint8_t, 4> kMagic = {'R', 'W', 'B', '1'};
constexpr size_t kChecksumSize = 8;
// magic | uncompressed size | compressed size | checksum
static_assert(kBlockHeaderSize == 4 + 4 + 4 + kChecksumSize);

void put_u32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}

uint32_t get_u32(const uint8_t* p) {
  return uint32_t{p[0]} | uint32_t{p[1]} << 8 | uint32_t{p[2]} << 16 | uint32_t{p[3]} << 24;
}

std::array<uint8_t, kChecksumSize> checksum(const uint8_t* data, size_t len) {
  std::array<uint8_t, kChecksumSize> out{};
  // blake2b only fails on bad parameters (out/key lengths), which are fixed here.
  int rc = blake2b(out.data(), data, nullptr, kChecksumSize, len, 0);
  REWIND_ASSERT(rc == 0, "blake2b");
  return out;
}

// Reads up to len bytes, stopping early only at end of file.
Result<size_t> read_full(int fd, uint8_t* p, size_t len, const std::filesystem::path& path) {
  size_t got = 0;
  while (got < len) {
    ssize_t n = ::read(fd, p + got, len - got);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Error::from_errno("reading " + path.string());
    }
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  return got;
}

}  // namespace

size_t max_encoded_block(size_t len) {
  return kBlockHeaderSize + static_cast<size_t>(LZ4_compressBound(static_cast<int>(len)));
}

size_t encode_block(const void* data, size_t len, uint8_t* out) {
  REWIND_ASSERT(len > 0 && len <= kMaxBlock, "block of " + std::to_string(len) + " bytes");
  const int bound = LZ4_compressBound(static_cast<int>(len));
  int csize = LZ4_compress_default(static_cast<const char*>(data),
                                   reinterpret_cast<char*>(out + kBlockHeaderSize),
                                   static_cast<int>(len), bound);
  // With a destination of LZ4_compressBound bytes, compression cannot fail.
  REWIND_ASSERT(csize > 0, "LZ4_compress_default");
  std::memcpy(out, kMagic.data(), kMagic.size());
  put_u32(out + 4, static_cast<uint32_t>(len));
  put_u32(out + 8, static_cast<uint32_t>(csize));
  auto sum = checksum(out + kBlockHeaderSize, static_cast<size_t>(csize));
  std::memcpy(out + 12, sum.data(), sum.size());
  return kBlockHeaderSize + static_cast<size_t>(csize);
}

Result<BlockSizes> parse_block_header(const uint8_t* header) {
  if (std::memcmp(header, kMagic.data(), kMagic.size()) != 0) return Error{"bad block magic"};
  const BlockSizes s{get_u32(header + 4), get_u32(header + 8)};
  if (s.uncompressed == 0 || s.uncompressed > kMaxBlock) {
    return Error{"uncompressed size " + std::to_string(s.uncompressed) + " out of range (1.." +
                 std::to_string(kMaxBlock) + ")"};
  }
  const auto max_csize = static_cast<uint32_t>(LZ4_compressBound(static_cast<int>(s.uncompressed)));
  if (s.compressed == 0 || s.compressed > max_csize) {
    return Error{"compressed size " + std::to_string(s.compressed) + " out of range (1.." +
                 std::to_string(max_csize) + ")"};
  }
  return s;
}

Result<void> decode_block(const uint8_t* header, BlockSizes sizes, const uint8_t* body,
                          std::vector<uint8_t>& out) {
  if (std::memcmp(checksum(body, sizes.compressed).data(), header + 12, kChecksumSize) != 0)
    return Error{"checksum mismatch: the block is corrupt"};
  out.resize(sizes.uncompressed);
  int n =
      LZ4_decompress_safe(reinterpret_cast<const char*>(body), reinterpret_cast<char*>(out.data()),
                          static_cast<int>(sizes.compressed), static_cast<int>(sizes.uncompressed));
  if (n != static_cast<int>(sizes.uncompressed)) return Error{"LZ4 decompression failed"};
  return ok_result();
}

Result<std::unique_ptr<BlockWriter>> BlockWriter::create(const std::filesystem::path& path) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return Error::from_errno("creating " + path.string());
  std::unique_ptr<BlockWriter> w(new BlockWriter);
  w->path_ = path;
  w->fd_ = ScopedFd(fd);
  w->pending_.reserve(kMaxBlock);
  return w;
}

Result<void> BlockWriter::append(const void* data, size_t len) {
  if (!fd_.is_open()) return Error{path_.string() + ": append after finish()"};
  auto* p = static_cast<const uint8_t*>(data);
  while (len > 0) {
    size_t n = std::min(len, kMaxBlock - pending_.size());
    pending_.insert(pending_.end(), p, p + n);
    p += n;
    len -= n;
    if (pending_.size() == kMaxBlock) REWIND_TRY(flush());
  }
  return ok_result();
}

Result<void> BlockWriter::flush() {
  if (pending_.empty()) return ok_result();
  // Uninitialized: zeroing up to 1 MiB per block, all overwritten, showed in
  // the recorder's profile.
  const size_t out_size = max_encoded_block(pending_.size());
  if (out_size_ < out_size) {
    out_.reset(new uint8_t[out_size]);
    out_size_ = out_size;
  }
  const size_t n = encode_block(pending_.data(), pending_.size(), out_.get());
  REWIND_TRY(write_all(fd_.get(), out_.get(), n, path_.string()));
  REWIND_LOG(Trace, "%s: block of %zu bytes (%zu compressed)", path_.c_str(), pending_.size(),
             n - kBlockHeaderSize);
  pending_.clear();
  return ok_result();
}

Result<void> BlockWriter::finish(bool sync) {
  if (!fd_.is_open()) return ok_result();
  REWIND_TRY(flush());
  if (sync && ::fsync(fd_.get()) != 0) return Error::from_errno("fsync " + path_.string());
  fd_.reset();
  return ok_result();
}

Result<std::unique_ptr<BlockReader>> BlockReader::open(const std::filesystem::path& path) {
  auto fd = open_regular_file(path.string());
  if (!fd) return fd.error();
  std::unique_ptr<BlockReader> r(new BlockReader);
  r->path_ = path;
  r->fd_ = std::move(*fd);
  return r;
}

Result<std::unique_ptr<BlockReader>> BlockReader::clone() const {
  auto r = open(path_);
  if (!r) return r.error();
  if (::lseek((*r)->fd_.get(), static_cast<off_t>(file_offset_), SEEK_SET) < 0)
    return Error::from_errno("seeking in " + path_.string());
  (*r)->block_ = block_;
  (*r)->pos_ = pos_;
  (*r)->block_offset_ = block_offset_;
  (*r)->file_offset_ = file_offset_;
  return r;
}

Result<std::unique_ptr<BlockReader>> BlockReader::open_at(const std::filesystem::path& path,
                                                          const StreamPos& pos) {
  auto r = open(path);
  if (!r) return r.error();
  BlockReader& in = **r;
  auto where = [&](const std::string& what) {
    return Error{path.string() + ": " + what + " (resuming at byte " +
                 std::to_string(pos.in_block) + " of the block at byte offset " +
                 std::to_string(pos.block_offset) + ")"};
  };
  struct stat st {};
  if (::fstat(in.fd_.get(), &st) != 0) return Error::from_errno("fstat " + path.string());
  const auto size = static_cast<uint64_t>(st.st_size);
  // A stream that holds no block yet: position() said {0, 0} before the
  // first read.
  if (pos.block_offset == 0 && pos.in_block == 0 && size == 0) return r;
  if (pos.block_offset >= size) return where("past the end of the file");
  if (::lseek(in.fd_.get(), static_cast<off_t>(pos.block_offset), SEEK_SET) < 0)
    return Error::from_errno("seeking in " + path.string());
  in.file_offset_ = pos.block_offset;
  auto loaded = in.load_block();
  if (!loaded) return loaded.error();  // it names the file and the offset
  if (!*loaded) return where("no block there");
  if (pos.in_block > in.block_.size()) {
    return where("the block holds only " + std::to_string(in.block_.size()) + " bytes");
  }
  in.pos_ = static_cast<size_t>(pos.in_block);
  return r;
}

Result<bool> BlockReader::load_block() {
  const uint64_t at = file_offset_;
  auto where = [&](const std::string& what) {
    return Error{path_.string() + ": " + what + " (block at byte offset " + std::to_string(at) +
                 ")"};
  };
  uint8_t hdr[kBlockHeaderSize];
  auto got = read_full(fd_.get(), hdr, kBlockHeaderSize, path_);
  if (!got) return got.error();
  if (*got == 0) return false;  // clean end: the file ends between blocks
  if (*got < kBlockHeaderSize) {
    return where("truncated block header: " + std::to_string(*got) + " of " +
                 std::to_string(kBlockHeaderSize) + " bytes");
  }
  auto sizes = parse_block_header(hdr);
  if (!sizes) return where(sizes.error().message);
  const uint32_t csize = sizes->compressed;
  std::vector<uint8_t> body(csize);
  got = read_full(fd_.get(), body.data(), csize, path_);
  if (!got) return got.error();
  if (*got < csize) {
    return where("truncated block body: " + std::to_string(*got) + " of " + std::to_string(csize) +
                 " bytes at offset " + std::to_string(at + kBlockHeaderSize));
  }
  auto decoded = decode_block(hdr, *sizes, body.data(), block_);
  if (!decoded) {
    block_.clear();
    pos_ = 0;
    return where(decoded.error().message);
  }
  pos_ = 0;
  block_offset_ = at;
  file_offset_ = at + kBlockHeaderSize + csize;
  return true;
}

Result<bool> BlockReader::read(void* out, size_t len) {
  auto* dst = static_cast<uint8_t*>(out);
  size_t done = 0;
  while (done < len) {
    if (pos_ == block_.size()) {
      auto loaded = load_block();
      if (!loaded) return loaded.error();
      if (!*loaded) {
        if (done == 0) return false;
        return Error{path_.string() + ": stream ends inside a record (" + std::to_string(done) +
                     " of " + std::to_string(len) + " bytes, at byte offset " +
                     std::to_string(file_offset_) + ")"};
      }
    }
    size_t n = std::min(len - done, block_.size() - pos_);
    std::memcpy(dst + done, block_.data() + pos_, n);
    pos_ += n;
    done += n;
  }
  return true;
}

bool BlockReader::at_end() {
  if (pos_ < block_.size()) return false;
  struct stat st {};
  // If fstat fails, claim there is more: the next read() reports the real error.
  if (::fstat(fd_.get(), &st) != 0) return false;
  return file_offset_ >= static_cast<uint64_t>(st.st_size);
}

}  // namespace rwd::trace
