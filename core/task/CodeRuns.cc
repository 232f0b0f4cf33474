#include "core/task/CodeRuns.h"

#include <sys/uio.h>

#include <algorithm>
#include <climits>

namespace rwd {

namespace {
constexpr uint64_t kPage = 4096;
}  // namespace

std::vector<CodeRun> code_runs_of(const std::vector<std::pair<uint64_t, size_t>>& sites) {
  std::vector<CodeRun> runs;
  size_t total = 0;
  for (auto [addr, len] : sites) {
    if (!runs.empty() && addr < runs.back().end + kPage) {
      total += std::max(runs.back().end, addr + len) - runs.back().end;
      runs.back().end = std::max(runs.back().end, addr + len);
    } else {
      runs.push_back({addr, addr + len, total});
      total += len;
    }
  }
  return runs;
}

std::vector<size_t> read_code_runs(Task& task, const std::vector<CodeRun>& runs,
                                   std::vector<uint8_t>& code) {
  code.resize(runs.empty() ? 0 : runs.back().at + (runs.back().end - runs.back().start));
  std::vector<size_t> got(runs.size(), 0);
  std::vector<iovec> local, remote;
  for (const CodeRun& r : runs) {
    local.push_back({&code[r.at], r.end - r.start});
    remote.push_back({reinterpret_cast<void*>(r.start), r.end - r.start});
  }
  ssize_t n = 0;
  for (size_t i = 0; i < runs.size() && n >= 0;) {
    const size_t k = std::min<size_t>(runs.size() - i, IOV_MAX);
    n = ::process_vm_readv(task.real_tid(), &local[i], k, &remote[i], k, 0);
    for (size_t j = i; j < i + k && n > 0; ++j) {
      got[j] = std::min<size_t>(static_cast<size_t>(n), local[j].iov_len);
      n -= static_cast<ssize_t>(got[j]);
    }
    i += k;
  }
  for (size_t i = 0; i < runs.size(); ++i)
    if (got[i] < local[i].iov_len)
      got[i] =
          task.as().read_partial(RemotePtr(runs[i].start), &code[runs[i].at], local[i].iov_len);
  return got;
}

}  // namespace rwd
