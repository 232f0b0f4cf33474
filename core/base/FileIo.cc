#include "core/base/FileIo.h"

#include <unistd.h>

#include <cstdint>

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

}  // namespace rwd
