// What `rewind sources` and `rewind buildid` print: the build ids of the
// ELF binaries a trace recorded, and the source files their DWARF names
// (rr's `sources`). Everything is read from the trace's own copies of the
// binaries (api::recorded_files), because the originals may have been
// rebuilt or removed since the recording; a stripped binary's DWARF comes
// from a separate debug file found as gdb finds it: by build id under each
// debug directory, then by its .gnu_debuglink.
//
// A binary that cannot be read (a corrupt copy, garbage DWARF) carries
// warnings and the rest of the trace is still listed; an Error means the
// trace itself could not be read. Recorded files that are not ELF (locale
// archives, fonts) are left out.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "core/base/Error.h"

namespace rwd::api {

struct SourcesOptions {
  // Where separate debug files live (gdb's debug-file-directory): each is
  // searched for .build-id/xx/yyyy.debug and for debuglink targets.
  std::vector<std::filesystem::path> debug_dirs{"/usr/lib/debug"};
  // rr's --substitute: for the binary whose recorded path has this
  // basename (e.g. libc.so.6), a directory (absolute) that replaces every
  // compilation unit's absolute DW_AT_comp_dir (the build tree moved), and
  // that a relative DW_AT_comp_dir is resolved against (the source tree
  // of a Debian package, whose comp_dirs are "./csu", "./elf"...).
  std::map<std::string, std::string> comp_dir_substitutions;
};

// One recorded ELF binary.
struct BinaryBuildId {
  std::string recorded_path;          // as the recording saw it
  std::filesystem::path copy;         // the trace's copy that was read
  bool executed = false;              // an exec's program or ELF interpreter
  std::string build_id;               // lowercase hex of NT_GNU_BUILD_ID; empty if none
  std::vector<std::string> warnings;  // why it could not be read, if it could not
};

struct BinarySources {
  BinaryBuildId binary;
  // The separate debug file whose DWARF was read; empty when the DWARF
  // came from the binary itself, or when there was none.
  std::filesystem::path debug_file;
  // Absolute (made so with DW_AT_comp_dir), lexically normal, sorted and
  // unique. Empty for a binary without DWARF.
  std::vector<std::string> sources;
  // The names that stay relative because the compilation unit's
  // DW_AT_comp_dir is relative too (Debian's packages are built with
  // -fdebug-prefix-map=/build/PKG=.): relative to a build directory only
  // the user knows, which a substitution for this binary supplies.
  std::vector<std::string> unanchored;
};

// The build id of each recorded ELF binary, executables first in exec
// order, then mapped files in mapping order.
Result<std::vector<BinaryBuildId>> recorded_build_ids(const std::filesystem::path& trace);

// The same binaries, each with its source files.
Result<std::vector<BinarySources>> recorded_sources(const std::filesystem::path& trace,
                                                    const SourcesOptions& options);

}  // namespace rwd::api
