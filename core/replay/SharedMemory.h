// Memory that mappings share, in fork checkpoints (ReplayCheckpoint.cc).
//
// A fork copies private memory but shares shared memory: the frozen copy a
// checkpoint keeps, and every process restored from it, would map the very
// pages the replay goes on writing, so a reverse move that restarts from a
// mark found the contents of later (and diverged). A checkpoint therefore
// saves the contents of every object its processes share (a per-replay
// copy of a file the program writes, a SysV segment's copy, memory of
// MAP_SHARED|MAP_ANONYMOUS), and each restore maps fresh files holding
// them over the same ranges, in every process that mapped them, so the
// processes of one restored replay share them with each other and with no
// other replay.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

namespace rwd {

struct SharedObject {
  // Set for a per-replay copy of a trace file (LiveFiles::copies): the
  // restored replay's copy takes its place there, so that later mmaps of
  // the file and recorded writes into it reach the restored contents.
  std::optional<std::tuple<uint64_t, uint64_t, std::string>> copy_key;
  uint64_t size = 0;  // of the file to make
  struct Extent {
    uint64_t offset = 0;
    std::vector<uint8_t> bytes;
  };
  std::vector<Extent> data;  // all but holes and zero pages
  // Where the checkpoint's processes map it.
  struct Use {
    pid_t rec_tgid = 0;
    uint64_t start = 0, end = 0, offset = 0;
    int prot = 0;
  };
  std::vector<Use> uses;
};

}  // namespace rwd
