// The files a trace holds copies of: what its processes executed and
// mapped. Front ends that work from local files use these instead of the
// originals, which may have been rebuilt, upgraded or removed since:
// the gdb launcher's sysroot, `rewind sources` and `rewind buildid`.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "core/base/Error.h"

namespace rwd::api {

struct RecordedFile {
  std::string recorded_path;   // as the recording saw it (absolute)
  std::filesystem::path copy;  // the trace's copy on this machine
  bool executed = false;       // an exec's program or ELF interpreter
  // Another name for a copy listed before (a PT_INTERP or SONAME name):
  // for whoever looks files up by name; skip it to see each binary once.
  bool alias = false;
};

// Each recorded path once, executables first in exec order, then mapped
// files in mapping order, then the other names the program's link maps
// use: an executable's PT_INTERP, and <dir>/SONAME of each library. `trace` is a directory
// (api::resolve_trace); an incomplete trace gives what it holds so far.
Result<std::vector<RecordedFile>> recorded_files(const std::filesystem::path& trace);

}  // namespace rwd::api
