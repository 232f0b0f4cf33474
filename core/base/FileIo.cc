#include "core/base/FileIo.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

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

Result<void> copy_fd(int in, int out, const std::string& what) {
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
