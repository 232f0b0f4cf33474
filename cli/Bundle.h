// What `rewind record --bundle OUT` runs once the recording is done
// (cli/BundleCommand.cc).
#pragma once

#include <filesystem>
#include <string>

namespace rwd::cli {

// Bundles the trace just recorded into `out` with the default options (zstd
// level 3, no overwriting): a progress bar on a terminal, then the summary
// line on stderr, since record's stdout is the program's. Returns 0, or 1
// after "rewind: bundling TRACE: ..." and "rewind: the trace is still in
// TRACE" on stderr; the trace itself is kept (packed) either way.
int bundle_after_record(const std::filesystem::path& trace_dir, const std::string& out);

}  // namespace rwd::cli
