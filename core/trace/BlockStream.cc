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
constexpr size_t kHeaderSize = 4 + 4 + 4 + kChecksumSize;

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
  int bound = LZ4_compressBound(static_cast<int>(pending_.size()));
  // Uninitialized: zeroing up to 1 MiB per block, all overwritten, showed in
  // the recorder's profile.
  const size_t out_size = kHeaderSize + static_cast<size_t>(bound);
  if (out_size_ < out_size) {
    out_.reset(new uint8_t[out_size]);
    out_size_ = out_size;
  }
  uint8_t* const out_data = out_.get();
  int csize = LZ4_compress_default(reinterpret_cast<const char*>(pending_.data()),
                                   reinterpret_cast<char*>(out_data + kHeaderSize),
                                   static_cast<int>(pending_.size()), bound);
  // With a destination of LZ4_compressBound bytes, compression cannot fail.
  REWIND_ASSERT(csize > 0, "LZ4_compress_default");
  const uint8_t* body = out_data + kHeaderSize;
  std::memcpy(out_data, kMagic.data(), kMagic.size());
  put_u32(out_data + 4, static_cast<uint32_t>(pending_.size()));
  put_u32(out_data + 8, static_cast<uint32_t>(csize));
  auto sum = checksum(body, static_cast<size_t>(csize));
  std::memcpy(out_data + 12, sum.data(), sum.size());
  REWIND_TRY(
      write_all(fd_.get(), out_data, kHeaderSize + static_cast<size_t>(csize), path_.string()));
  REWIND_LOG(Trace, "%s: block of %zu bytes (%d compressed)", path_.c_str(), pending_.size(),
             csize);
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
  (*r)->file_offset_ = file_offset_;
  return r;
}

Result<bool> BlockReader::load_block() {
  const uint64_t at = file_offset_;
  auto where = [&](const std::string& what) {
    return Error{path_.string() + ": " + what + " (block at byte offset " + std::to_string(at) +
                 ")"};
  };
  uint8_t hdr[kHeaderSize];
  auto got = read_full(fd_.get(), hdr, kHeaderSize, path_);
  if (!got) return got.error();
  if (*got == 0) return false;  // clean end: the file ends between blocks
  if (*got < kHeaderSize) {
    return where("truncated block header: " + std::to_string(*got) + " of " +
                 std::to_string(kHeaderSize) + " bytes");
  }
  if (std::memcmp(hdr, kMagic.data(), kMagic.size()) != 0) return where("bad block magic");
  const uint32_t usize = get_u32(hdr + 4);
  const uint32_t csize = get_u32(hdr + 8);
  if (usize == 0 || usize > kMaxBlock) {
    return where("uncompressed size " + std::to_string(usize) + " out of range (1.." +
                 std::to_string(kMaxBlock) + ")");
  }
  const auto max_csize = static_cast<uint32_t>(LZ4_compressBound(static_cast<int>(usize)));
  if (csize == 0 || csize > max_csize) {
    return where("compressed size " + std::to_string(csize) + " out of range (1.." +
                 std::to_string(max_csize) + ")");
  }
  std::vector<uint8_t> body(csize);
  got = read_full(fd_.get(), body.data(), csize, path_);
  if (!got) return got.error();
  if (*got < csize) {
    return where("truncated block body: " + std::to_string(*got) + " of " + std::to_string(csize) +
                 " bytes at offset " + std::to_string(at + kHeaderSize));
  }
  if (std::memcmp(checksum(body.data(), csize).data(), hdr + 12, kChecksumSize) != 0) {
    return where("checksum mismatch: the block is corrupt");
  }
  block_.resize(usize);
  int n = LZ4_decompress_safe(reinterpret_cast<const char*>(body.data()),
                              reinterpret_cast<char*>(block_.data()), static_cast<int>(csize),
                              static_cast<int>(usize));
  if (n != static_cast<int>(usize)) {
    block_.clear();
    pos_ = 0;
    return where("LZ4 decompression failed");
  }
  pos_ = 0;
  file_offset_ = at + kHeaderSize + csize;
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
