// Small file helpers shared by the trace library, the sessions and pack.
#pragma once

#include <cstddef>
#include <string>

#include "core/base/Error.h"

namespace rwd {

// write(2) until all of len is written, retrying EINTR. `what` names the
// file in the error ("writing <what>: <errno>").
Result<void> write_all(int fd, const void* data, size_t len, const std::string& what);

// Copies everything from `in`'s offset to its end into `out`. `what` names
// the source in errors.
Result<void> copy_fd(int in, int out, const std::string& what);

// fsync(2) of a file or directory by path: a rename or link is durable once
// the directory holding it is synced.
Result<void> fsync_path(const std::string& path);

}  // namespace rwd
