// Where the patchable syscall sites of a file are (SyscallPatch.h), found
// once per file and kept: in memory for the recording (each of make's gcc
// runs maps the same libc), and in the scan store (core/task/
// FileScanStore.h) for the next recordings: decoding Debian 12's libc
// costs ~35 ms, more than half of what recording /bin/true does.
#pragma once

#include <sys/stat.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/task/FileScanStore.h"

namespace rwd {

struct SyscallSiteScan {
  struct Site {
    uint64_t offset;    // in the file, of the patched bytes
    size_t syscall_at;  // the syscall's offset within them
    std::vector<uint8_t> bytes;
    int32_t nr = -1;  // the syscall it always makes, -1 if unknown
    bool operator==(const Site&) const = default;
  };
  static constexpr std::string_view kKind = "syscall-sites2";
  static std::vector<Site> scan(int fd, const struct stat& st);
  static std::string encode(const std::vector<Site>& sites);
  static std::optional<std::vector<Site>> decode(std::string_view payload);
};
using SyscallSiteCache = FileScanCache<SyscallSiteScan>;

}  // namespace rwd
