#include "core/timeline/RecordedFiles.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace rwd {

Result<ScopedFd> open_file_beneath(std::string_view dir, std::string_view path) {
  const std::string shown(path);
  // A NUL would cut the path short where the kernel reads it.
  if (path.find('\0') != std::string_view::npos) return Error{"NUL in path " + shown, ENOENT};
  if (!path.starts_with(dir) || path.size() <= dir.size() + 1 || path[dir.size()] != '/')
    return Error{shown + " is not in the recording", ENOENT};
  const std::string rest(path.substr(dir.size() + 1));

  ScopedFd root(::open(std::string(dir).c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!root.is_open()) return Error::from_errno("open " + std::string(dir));
  // O_NONBLOCK: opening a FIFO must not wait for a writer; fstat refuses
  // it below.
  open_how how{};
  how.flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK;
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
  long fd;
  do fd = ::syscall(SYS_openat2, root.get(), rest.c_str(), &how, sizeof how);
  while (fd < 0 && errno == EINTR);
  if (fd < 0) {
    // EXDEV: the path, or a symlink on it, leads out of `dir`; ELOOP: a
    // /proc magic link. Both are refusals, not absences. Without openat2
    // (Linux before 5.6) nothing is opened at all.
    const int err = errno == EXDEV || errno == ELOOP || errno == ENOSYS ? EACCES : errno;
    return Error::from_errno("open " + shown, err);
  }
  ScopedFd file(static_cast<int>(fd));
  struct stat st;
  if (::fstat(file.get(), &st) < 0) return Error::from_errno("fstat " + shown);
  if (!S_ISREG(st.st_mode)) return Error{shown + " is not a regular file", EACCES};
  return file;
}

}  // namespace rwd
