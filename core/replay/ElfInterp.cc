#include "core/replay/ElfInterp.h"

#include <fcntl.h>
#include <gelf.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <vector>

#include "core/base/Fd.h"
#include "core/base/FileIo.h"
#include "core/task/ElfHandle.h"

namespace rwd {

namespace {

Result<void> pread_all(int fd, void* buf, size_t len, uint64_t off, const std::string& what) {
  auto* p = static_cast<uint8_t*>(buf);
  while (len > 0) {
    ssize_t n = ::pread(fd, p, len, static_cast<off_t>(off));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Error::from_errno("reading " + what);
    if (n == 0) return Error{what + ": unexpected end of file"};
    p += n;
    off += static_cast<uint64_t>(n);
    len -= static_cast<size_t>(n);
  }
  return ok_result();
}

}  // namespace

Result<std::optional<PtInterp>> read_pt_interp(const std::string& elf_path) {
  ScopedFd fd(::open(elf_path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.is_open()) return Error::from_errno("opening " + elf_path);
  ElfHandle elf(fd.get());
  if (!elf.is_elf()) return std::optional<PtInterp>();
  size_t count = 0;
  if (elf_getphdrnum(elf.get(), &count) != 0)
    return Error{elf_path + ": malformed ELF program headers: " + elf_errmsg(-1)};
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return Error::from_errno("stat " + elf_path);
  for (size_t i = 0; i < count; ++i) {
    GElf_Phdr ph;
    if (!gelf_getphdr(elf.get(), static_cast<int>(i), &ph))
      return Error{elf_path + ": malformed ELF program header: " + elf_errmsg(-1)};
    if (ph.p_type != PT_INTERP) continue;
    if (ph.p_filesz < 2 || ph.p_filesz > 4096 ||
        ph.p_offset + ph.p_filesz > static_cast<uint64_t>(st.st_size))
      return Error{elf_path + ": PT_INTERP lies outside the file"};
    PtInterp out{ph.p_offset, ph.p_filesz, {}, {}};
    std::vector<char> bytes(ph.p_filesz);
    REWIND_TRY(pread_all(fd.get(), bytes.data(), bytes.size(), ph.p_offset, elf_path));
    out.path.assign(bytes.data(), strnlen(bytes.data(), bytes.size()));
    out.raw.assign(bytes.data(), bytes.size());
    return std::optional(out);
  }
  return std::optional<PtInterp>();
}

Result<void> write_with_interp(const std::string& src, const PtInterp& interp,
                               const std::string& new_path, const std::string& dest) {
  if (new_path.size() + 1 > interp.size)
    return Error{src + ": its PT_INTERP has room for " + std::to_string(interp.size - 1) +
                 " bytes, not for " + new_path};
  ScopedFd in(::open(src.c_str(), O_RDONLY | O_CLOEXEC));
  if (!in.is_open()) return Error::from_errno("opening " + src);
  ScopedFd out(::open(dest.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0700));
  if (!out.is_open()) return Error::from_errno("creating " + dest);
  REWIND_TRY(copy_fd(in.get(), out.get(), src));
  std::vector<char> bytes(interp.size, '\0');
  std::memcpy(bytes.data(), new_path.data(), new_path.size());
  if (::pwrite(out.get(), bytes.data(), bytes.size(), static_cast<off_t>(interp.file_offset)) !=
      static_cast<ssize_t>(bytes.size()))
    return Error::from_errno("writing " + dest);
  return ok_result();
}

Result<bool> same_file_content(const std::string& a, const std::string& b) {
  ScopedFd fa(::open(a.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fa.is_open()) return Error::from_errno("opening " + a);
  ScopedFd fb(::open(b.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fb.is_open()) return Error::from_errno("opening " + b);
  struct stat sa {
  }, sb{};
  if (::fstat(fa.get(), &sa) != 0 || ::fstat(fb.get(), &sb) != 0)
    return Error::from_errno("stat " + a + " or " + b);
  if (sa.st_size != sb.st_size) return false;
  if (sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino) return true;
  std::vector<char> ba(1 << 20), bb(1 << 20);
  for (uint64_t off = 0; off < static_cast<uint64_t>(sa.st_size);) {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(ba.size(), sa.st_size - off));
    REWIND_TRY(pread_all(fa.get(), ba.data(), n, off, a));
    REWIND_TRY(pread_all(fb.get(), bb.data(), n, off, b));
    if (std::memcmp(ba.data(), bb.data(), n) != 0) return false;
    off += n;
  }
  return true;
}

}  // namespace rwd
