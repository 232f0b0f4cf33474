// Small file helpers shared by the trace library, the sessions and pack.
#pragma once

#include <cstddef>
#include <string>

#include "core/base/Error.h"
#include "core/base/Fd.h"

namespace rwd {

// write(2) until all of len is written, retrying EINTR. `what` names the
// file in the error ("writing <what>: <errno>").
Result<void> write_all(int fd, const void* data, size_t len, const std::string& what);

// Copies everything from `in`'s offset to its end into `out`. `what` names
// the source in errors. A sparse file's holes stay holes in `out`.
Result<void> copy_fd(int in, int out, const std::string& what);

// Opens a file that must be a regular file, for reading, as a trace reader
// needs: O_NOFOLLOW so that a symbolic link is refused rather than followed
// out of the trace, and O_NONBLOCK so that a FIFO or device put in a file's
// place cannot block the open; fstat then refuses anything not regular. The
// error names the file and what it is instead.
Result<ScopedFd> open_regular_file(const std::string& path);

// What kind of file a mode says, for messages: "a FIFO", "a directory", ...
const char* file_kind(unsigned mode);

// fsync(2) of a file or directory by path: a rename or link is durable once
// the directory holding it is synced.
Result<void> fsync_path(const std::string& path);

}  // namespace rwd
