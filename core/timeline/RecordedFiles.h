// The files a debugger may read through a replay (gdb's vFile packets):
// the trace's copies of what the recording executed or mapped, and separate
// debug info installed on this machine, looked up by build-id. Nothing else
// on the machine: the server may run as another user (root, to replay a
// root-owned program) than the one who connects to it.
#pragma once

#include <string>
#include <string_view>

#include "core/base/Error.h"
#include "core/base/Fd.h"

namespace rwd {

// Where Debian's -dbgsym packages, and gdb's default debug-file-directory,
// keep separate debug info by build-id: .build-id/<2 hex>/<38 hex>.debug.
inline constexpr std::string_view kBuildIdDebugDir = "/usr/lib/debug/.build-id";

// Opens `path` (as the debugger asked for it) if it names a regular file
// under `dir`, without leaving `dir` on the way: the kernel resolves the rest
// of the path beneath it (openat2 RESOLVE_BENEATH), so neither ".." nor an
// absolute or /proc "magic" symlink gets out, and a directory, FIFO or
// device is refused. Errors carry errno: ENOENT when `path` is not under
// `dir` or is absent, EACCES when it tries to leave `dir` or is not a
// regular file.
Result<ScopedFd> open_file_beneath(std::string_view dir, std::string_view path);

}  // namespace rwd
