// Private scratch directories under /tmp that must not outlive rewind:
// replay's writable copies of mapped files and redirected executables
// (LiveFiles in core/replay/ReplaySession.h) hold the recorded program's
// data.
//
// Three ways out are covered:
// - normal exit and errors: the owner (ScratchDir) removes the directory;
// - SIGTERM, SIGINT, SIGHUP: remove_scratch_dirs_on_signals() installs a
//   handler that removes every live scratch directory with async-signal-safe
//   calls, then dies of the signal as before;
// - SIGKILL, a crash: nothing runs then, so the next ScratchDir::create()
//   removes the scratch directories (named after their owner's pid) of
//   processes that are gone.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <string>

#include "core/base/Error.h"

namespace rwd {

class ScratchDir {
 public:
  // Creates <root>/<prefix>-<pid>-XXXXXX, mode 0700, after removing this
  // user's stale ones of the same prefix there.
  static Result<ScratchDir> create(const std::string& prefix,
                                   const std::filesystem::path& root = "/tmp");
  ScratchDir() = default;
  ScratchDir(ScratchDir&& other) noexcept;
  ScratchDir& operator=(ScratchDir&& other) noexcept;
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  ~ScratchDir();

  const std::filesystem::path& path() const { return path_; }
  bool empty() const { return path_.empty(); }

 private:
  void reset();
  std::filesystem::path path_;
  int slot_ = -1;  // in the table the signal handler reads
};

// Installs the handler for SIGTERM, SIGINT and SIGHUP (where they are not
// ignored). It keeps no state of its own beyond the directory table.
void remove_scratch_dirs_on_signals();

// Removes `root`/<prefix>-<pid>-* directories of this user whose pid is no
// longer alive; returns how many. (ScratchDir::create calls it for /tmp.)
int remove_stale_scratch_dirs(const std::filesystem::path& root, const std::string& prefix);

}  // namespace rwd
