#include "core/base/FileIo.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <vector>

#include "core/base/Fd.h"

namespace rwd {

Result<void> write_all(int fd, const void* data, size_t len, const std::string& what) {
  auto* p = static_cast<const uint8_t*>(data);
  while (len > 0) {
    ssize_t n = ::write(fd, p, len);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Error::from_errno("writing " + what);
    }
    p += n;
    len -= static_cast<size_t>(n);
  }
  return ok_result();
}

const char* file_kind(unsigned mode) {
  switch (mode & S_IFMT) {
    case S_IFREG:
      return "a regular file";
    case S_IFDIR:
      return "a directory";
    case S_IFIFO:
      return "a FIFO";
    case S_IFSOCK:
      return "a socket";
    case S_IFCHR:
      return "a character device";
    case S_IFBLK:
      return "a block device";
    case S_IFLNK:
      return "a symbolic link";
  }
  return "an unknown kind of file";
}

Result<ScopedFd> open_regular_file(const std::string& path) {
  ScopedFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOFOLLOW));
  if (!fd.is_open()) {
    if (errno == ELOOP) return Error{path + " is a symbolic link, not a regular file"};
    return Error::from_errno("opening " + path);
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return Error::from_errno("fstat " + path);
  if (!S_ISREG(st.st_mode))
    return Error{path + " is " + file_kind(st.st_mode) + ", not a regular file"};
  return fd;
}

namespace {

// Copies [from, to) of `in` to `out` at `at`.
Result<void> copy_range(int in, int out, off_t from, off_t to, off_t at, std::vector<uint8_t>& buf,
                        const std::string& what) {
  buf.resize(1 << 20);
  while (from < to) {
    const size_t want = static_cast<size_t>(std::min<off_t>(to - from, off_t(buf.size())));
    const ssize_t n = ::pread(in, buf.data(), want, from);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Error::from_errno("reading " + what);
    if (n == 0) return ok_result();  // shrunk meanwhile
    for (ssize_t done = 0; done < n;) {
      const ssize_t w = ::pwrite(out, buf.data() + done, static_cast<size_t>(n - done), at + done);
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) return Error::from_errno("writing " + what + " (copy)");
      done += w;
    }
    from += n;
    at += n;
  }
  return ok_result();
}

// A sparse regular file (fewer blocks allocated than its size: a memfd or
// a file grown with ftruncate) is copied extent by extent, from SEEK_DATA
// to SEEK_HOLE, and `out` gets the same holes. Mapping one page of a
// 20 GiB sparse memfd made a recording copy 20 GiB of zeros into the trace
// (76 s) before. false: not sparse, or the filesystem cannot tell (then
// nothing was copied and the offsets are as they were).
Result<bool> copy_sparse(int in, int out, const std::string& what) {
  struct stat st {};
  if (::fstat(in, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size <= 0 ||
      static_cast<uint64_t>(st.st_blocks) * 512 >= static_cast<uint64_t>(st.st_size))
    return false;
  const off_t start = ::lseek(in, 0, SEEK_CUR), out_start = ::lseek(out, 0, SEEK_CUR);
  if (start < 0 || out_start < 0 || start >= st.st_size) return false;
  std::vector<uint8_t> buf;
  for (off_t pos = start; pos < st.st_size;) {
    const off_t data = ::lseek(in, pos, SEEK_DATA);
    if (data < 0 && errno == ENXIO) break;  // holes to the end
    if (data < 0 && pos == start) {
      ::lseek(in, start, SEEK_SET);
      return false;  // no SEEK_DATA here
    }
    if (data < 0) return Error::from_errno("seeking data in " + what);
    off_t hole = ::lseek(in, data, SEEK_HOLE);
    if (hole < 0) return Error::from_errno("seeking a hole in " + what);
    hole = std::min<off_t>(hole, st.st_size);
    REWIND_TRY(copy_range(in, out, data, hole, out_start + (data - start), buf, what));
    pos = hole;
  }
  const off_t end = out_start + (st.st_size - start);
  if (::ftruncate(out, end) != 0) return Error::from_errno("writing " + what + " (copy)");
  ::lseek(in, st.st_size, SEEK_SET);
  ::lseek(out, end, SEEK_SET);
  return true;
}

}  // namespace

Result<void> copy_fd(int in, int out, const std::string& what) {
  auto sparse = copy_sparse(in, out, what);
  if (!sparse) return sparse.error();
  if (*sparse) return ok_result();
  // copy_file_range shares extents on reflink filesystems and avoids a trip
  // through user space otherwise. It fails with EXDEV/EINVAL/ENOSYS/EOPNOTSUPP
  // where unsupported, and before 5.19 it returned 0 for procfs-like files that
  // report a size of 0; the read/write loop below handles all of those, going
  // on from the offsets copy_file_range left.
  for (;;) {
    ssize_t n = ::copy_file_range(in, nullptr, out, nullptr, 1 << 30, 0);
    if (n > 0) continue;
    if (n < 0 && errno == EINTR) continue;
    break;
  }
  std::vector<uint8_t> buf(1 << 20);
  for (;;) {
    ssize_t n = ::read(in, buf.data(), buf.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return Error::from_errno("reading " + what);
    }
    if (n == 0) return ok_result();
    REWIND_TRY(write_all(out, buf.data(), static_cast<size_t>(n), what + " (copy)"));
  }
}

Result<void> fsync_path(const std::string& path) {
  ScopedFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.is_open()) return Error::from_errno("opening " + path);
  if (::fsync(fd.get()) != 0) return Error::from_errno("fsync " + path);
  return ok_result();
}

}  // namespace rwd
