#include "core/record/SyscallSiteCache.h"

#include <unistd.h>

#include <algorithm>

#include "core/cpu/Insn.h"
#include "core/task/TrapPatch.h"

namespace rwd {

namespace {
constexpr size_t kMaxSiteBytes = 16;
}  // namespace

std::vector<SyscallSiteScan::Site> SyscallSiteScan::scan(int fd, const struct stat& st) {
  std::vector<Site> sites;
  for (auto [offset, size] : elf_code_ranges(fd)) {
    if (offset >= static_cast<uint64_t>(st.st_size)) continue;
    std::vector<uint8_t> code(std::min<uint64_t>(size, st.st_size - offset));
    const ssize_t n = ::pread(fd, code.data(), code.size(), static_cast<off_t>(offset));
    if (n <= 0) continue;
    code.resize(static_cast<size_t>(n));
    for (const SyscallSite& s : find_syscall_sites(code.data(), code.size()))
      sites.push_back(
          {offset + s.offset, s.syscall_at,
           std::vector<uint8_t>(code.begin() + s.offset, code.begin() + s.offset + s.length),
           s.nr});
  }
  return sites;
}

std::string SyscallSiteScan::encode(const std::vector<Site>& sites) {
  PayloadWriter w;
  w.u64(sites.size());
  for (const Site& s : sites) {
    w.u64(s.offset);
    w.u8(static_cast<uint8_t>(s.syscall_at));
    w.u8(static_cast<uint8_t>(s.bytes.size()));
    w.bytes(s.bytes.data(), s.bytes.size());
    w.u64(static_cast<uint64_t>(static_cast<int64_t>(s.nr)));
  }
  return w.take();
}

std::optional<std::vector<SyscallSiteScan::Site>> SyscallSiteScan::decode(
    std::string_view payload) {
  PayloadReader r(payload);
  std::vector<Site> sites(r.count(8 + 1 + 1 + 2 + 8));  // offset, syscall_at, len, bytes, nr
  if (!r.ok()) return std::nullopt;
  for (Site& s : sites) {
    s.offset = r.u64();
    s.syscall_at = r.u8();
    const uint8_t len = r.u8();
    if (!r.ok() || len > kMaxSiteBytes || s.syscall_at + 2 > len) return std::nullopt;
    s.bytes.resize(len);
    if (!r.bytes(s.bytes.data(), len)) return std::nullopt;
    const int64_t nr = static_cast<int64_t>(r.u64());
    if (!r.ok() || nr < -1 || nr > INT32_MAX) return std::nullopt;
    s.nr = static_cast<int32_t>(nr);
  }
  if (!r.at_end()) return std::nullopt;
  return sites;
}

}  // namespace rwd
