#include "core/record/SyscallPatch.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "core/base/Fd.h"
#include "core/base/Log.h"
#include "core/syscalls/SyscallTable.h"
#include "core/task/CodeRuns.h"
#include "core/task/ProcMaps.h"
#include "core/task/RemoteSyscall.h"

namespace rwd {

namespace {

constexpr uint64_t kPage = 4096;
constexpr size_t kStubBytes = 104;  // per site, see stub_for
// A stub page must be this close to every site it serves (rel32 jumps).
constexpr uint64_t kReach = 1ull << 30;

void put32(std::vector<uint8_t>& b, size_t at, int64_t v) {
  const int32_t x = static_cast<int32_t>(v);
  memcpy(&b[at], &x, 4);
}

// The stub at `at` of one site, whose bytes are `site` with the syscall at
// `syscall_at`, and which makes syscall `nr` (-1: any); the entry's address
// is in the 8 bytes at `slot`; execution goes on at `resume`.
std::vector<uint8_t> stub_for(uint64_t at, const std::vector<uint8_t>& site, size_t syscall_at,
                              int32_t nr, uint64_t slot, uint64_t resume) {
  std::vector<uint8_t> b(site.begin(), site.begin() + syscall_at);  // mov $nr, %eax
  // Syscalls that must run where they are (cmp $nr, %eax; je raw): those
  // that need their own stack and return address, and execve, which a
  // debugger stepping to the `syscall` should meet within a few steps.
  // (Sites known to make one of them are not patched at all; a site known
  // to make another needs no test.)
  static const uint32_t kRaw[] = {SYS_rt_sigreturn, SYS_clone,  SYS_fork,
                                  SYS_vfork,        SYS_clone3, SYS_execve};
  std::vector<size_t> to_raw;
  for (uint32_t raw : kRaw) {
    if (nr >= 0) break;
    b.push_back(0x3d);
    for (int i = 0; i < 4; ++i) b.push_back(static_cast<uint8_t>(raw >> (8 * i)));
    b.insert(b.end(), {0x74, 0x00});
    to_raw.push_back(b.size() - 1);
  }
  b.insert(b.end(), {0x48, 0x8d, 0x64, 0x24, 0x80});  // lea -0x80(%rsp), %rsp: the red zone
  b.insert(b.end(), {0xff, 0x15, 0, 0, 0, 0});        // call *slot(%rip)
  put32(b, b.size() - 4, static_cast<int64_t>(slot) - static_cast<int64_t>(at + b.size()));
  b.insert(b.end(), {0x48, 0x8d, 0xa4, 0x24, 0x80, 0x00, 0x00, 0x00});  // lea 0x80(%rsp), %rsp
  auto cmp_and_back = [&] {
    b.insert(b.end(), site.begin() + syscall_at + 2, site.end());
    b.insert(b.end(), {0xe9, 0, 0, 0, 0});
    put32(b, b.size() - 4, static_cast<int64_t>(resume) - static_cast<int64_t>(at + b.size()));
  };
  cmp_and_back();
  const size_t raw = b.size();
  for (size_t j : to_raw) b[j] = static_cast<uint8_t>(raw - (j + 1));
  b.insert(b.end(), {0x0f, 0x05});  // syscall
  cmp_and_back();
  return b;
}

// The highest free range of `size` bytes below `near` (and above it if
// none), within kReach of it.
std::optional<uint64_t> free_range_near(const std::vector<KernelMapping>& maps,
                                        std::vector<std::pair<uint64_t, uint64_t>> used,
                                        uint64_t near, uint64_t size) {
  for (const KernelMapping& m : maps) used.emplace_back(m.start, m.end);
  std::sort(used.begin(), used.end());
  auto fits = [&](uint64_t start) {
    for (auto [s, e] : used)
      if (start < e && start + size > s) return false;
    return start >= 0x10000;
  };
  uint64_t cand = (near - size) & ~(kPage - 1);
  while (near - cand < kReach) {
    if (fits(cand)) return cand;
    // Below the mapping in the way.
    uint64_t lowest = cand;
    for (auto [s, e] : used)
      if (cand < e && cand + size > s) lowest = std::min(lowest, s);
    if (lowest < size) break;
    cand = (lowest - size) & ~(kPage - 1);
  }
  return std::nullopt;
}

bool buffered(int32_t nr) {
  const sys::SyscallDesc* d = sys::find(nr);
  return d && (d->flags & sys::kBuffered);
}

// The C library and the dynamic loader hold nearly every syscall
// instruction a dynamic program runs. Other code (the program's own, cc1's
// 25 MB) is not worth its decoding (~50 ns a byte): its rare syscalls stay
// traced.
bool makes_syscalls(const std::string& path) {
  const std::string name = path.substr(path.rfind('/') + 1);
  return name.rfind("libc.so", 0) == 0 || name.rfind("ld-linux", 0) == 0 ||
         name.rfind("libpthread.so", 0) == 0 || name.rfind("librt.so", 0) == 0;
}

// Writes the patches out.writes[first...] into the task, one write per run
// that holds any. The code is not writable, so no syscall of another thread
// can change the bytes between the patches meanwhile.
Result<void> write_patches(Task& task, const std::vector<CodeRun>& runs, std::vector<uint8_t>& code,
                           const std::vector<trace::MemWrite>& writes, size_t first) {
  size_t r = 0;
  for (size_t i = first; i < writes.size();) {
    while (writes[i].addr >= runs[r].end) ++r;
    uint64_t lo = writes[i].addr, hi = lo;
    for (; i < writes.size() && writes[i].addr < runs[r].end; ++i) {
      memcpy(&code[runs[r].at + (writes[i].addr - runs[r].start)], writes[i].bytes.data(),
             writes[i].bytes.size());
      hi = writes[i].addr + writes[i].bytes.size();
    }
    REWIND_TRY(task.write_mem(RemotePtr(lo), &code[runs[r].at + (lo - runs[r].start)], hi - lo));
  }
  return ok_result();
}

}  // namespace

Result<SyscallPatches> patch_syscall_sites(Task& task, SyscallSiteCache& cache, uint64_t entry,
                                           uint64_t skip_start, uint64_t skip_end,
                                           const std::vector<OwnSyscallSite>& own) {
  SyscallPatches out;
  std::vector<std::pair<uint64_t, uint64_t>> taken;  // stub pages mapped here
  auto maps = read_proc_maps(task.real_tid());
  if (!maps) return maps.error();
  static const std::vector<uint8_t> kOwnSiteBytes = {0x0f, 0x05, 0x48, 0x3d,
                                                     0x01, 0xf0, 0xff, 0xff};
  for (const KernelMapping& m : *maps) {
    struct Site {
      uint64_t addr;
      size_t syscall_at;
      const std::vector<uint8_t>* bytes;  // the cache's, which outlives this call
      int32_t nr;
    };
    std::vector<Site> sites;
    for (const OwnSyscallSite& o : own)
      if (o.addr >= m.start && o.addr + kOwnSiteBytes.size() <= m.end && buffered(o.nr))
        sites.push_back({o.addr, 0, &kOwnSiteBytes, o.nr});
    if (sites.empty() && (!(m.prot & PROT_EXEC) || m.shared || !m.is_file())) continue;
    if (m.start < skip_end && m.end > skip_start) continue;  // the library itself
    if (sites.empty() && !makes_syscalls(m.name)) continue;
    char path[96];
    snprintf(path, sizeof path, "/proc/%d/map_files/%lx-%lx", task.real_tid(),
             static_cast<unsigned long>(m.start), static_cast<unsigned long>(m.end));
    // Sites, by address, in the code this mapping holds, where memory
    // still has the file's bytes. (The file is opened only if the cache
    // must scan it.)
    struct stat st;
    auto open_file = [&path] { return ScopedFd(::open(path, O_RDONLY | O_CLOEXEC)); };
    const bool scan = sites.empty() && ::stat(path, &st) == 0;
    if (sites.empty() && !scan) continue;
    static const std::vector<SyscallSiteCache::Site> kNoFile;
    const std::vector<SyscallSiteCache::Site>& file_sites =
        scan ? cache.sites_of(st, open_file) : kNoFile;
    for (const SyscallSiteCache::Site& fs : file_sites) {
      if (fs.offset < m.offset || fs.offset + fs.bytes.size() > m.offset + (m.end - m.start))
        continue;
      // A site that only ever makes a syscall the library would hand to the
      // traced path anyway (mmap, brk, clone...) is faster left alone: about
      // two thirds of libc's.
      if (fs.nr >= 0 && !buffered(fs.nr)) continue;
      sites.push_back({m.start + (fs.offset - m.offset), fs.syscall_at, &fs.bytes, fs.nr});
    }
    if (sites.empty()) continue;
    // A site is patched only where memory still holds the bytes the file
    // has there. Each run of sites (CodeRuns.h) is read once and written
    // back once, rather than each site (216 in libc, in every process):
    // libc's make ~24 runs of ~100 KB in all, of its 1.1 MB of code.
    std::sort(sites.begin(), sites.end(), [](auto& a, auto& b) { return a.addr < b.addr; });
    std::vector<std::pair<uint64_t, size_t>> spans;
    for (const Site& s : sites) spans.emplace_back(s.addr, s.bytes->size());
    const std::vector<CodeRun> runs = code_runs_of(spans);
    std::vector<uint8_t> code;
    const std::vector<size_t> got = read_code_runs(task, runs, code);
    size_t run = 0;
    std::erase_if(sites, [&](const Site& s) {
      while (s.addr >= runs[run].end) ++run;
      const uint64_t off = s.addr - runs[run].start;
      return off + s.bytes->size() > got[run] ||
             memcmp(&code[runs[run].at + off], s.bytes->data(), s.bytes->size()) != 0;
    });
    if (sites.empty()) continue;
    const uint64_t size = (16 + sites.size() * kStubBytes + kPage - 1) & ~(kPage - 1);
    auto at = free_range_near(*maps, taken, m.start, size);
    if (!at) {
      warn("no room for syscall stubs near %s: its syscalls stay traced", m.name.c_str());
      continue;
    }
    AutoRemoteSyscalls remote(task);
    auto r = remote.syscall(SYS_mmap, *at, size, PROT_READ | PROT_EXEC,
                            MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE,
                            static_cast<uint64_t>(-1), 0);
    if (!r) return r.error();
    if (static_cast<uint64_t>(*r) != *at) {
      warn("cannot map syscall stubs near %s: its syscalls stay traced", m.name.c_str());
      continue;
    }
    trace::MappingRecord rec;
    rec.start = *at;
    rec.end = *at + size;
    rec.prot = PROT_READ | PROT_EXEC;
    rec.flags = MAP_PRIVATE | MAP_ANONYMOUS;
    out.stub_pages.push_back(rec);
    taken.emplace_back(rec.start, rec.end);

    const size_t first_patch = out.writes.size();
    trace::MemWrite page{*at, std::vector<uint8_t>(16, 0)};
    page.bytes.reserve(16 + sites.size() * kStubBytes);
    memcpy(page.bytes.data(), &entry, 8);
    for (const Site& s : sites) {
      const uint64_t site = s.addr;
      const std::vector<uint8_t>& orig = *s.bytes;
      const uint64_t stub = *at + page.bytes.size();
      auto code = stub_for(stub, orig, s.syscall_at, s.nr, *at, site + orig.size());
      code.resize(kStubBytes, 0xcc);
      page.bytes.insert(page.bytes.end(), code.begin(), code.end());
      trace::MemWrite patch{site, std::vector<uint8_t>(orig.size(), 0x90)};
      patch.bytes[0] = 0xe9;  // jmp stub
      const int32_t rel =
          static_cast<int32_t>(static_cast<int64_t>(stub) - static_cast<int64_t>(site + 5));
      memcpy(&patch.bytes[1], &rel, 4);
      out.writes.push_back(std::move(patch));
      ++out.sites;
    }
    REWIND_TRY(task.write_mem(RemotePtr(page.addr), page.bytes.data(), page.bytes.size()));
    REWIND_TRY(write_patches(task, runs, code, out.writes, first_patch));
    out.writes.insert(out.writes.begin() + first_patch, std::move(page));
  }
  REWIND_LOG(Record, "tid %d: %zu syscall sites patched, %zu stub pages", task.real_tid(),
             out.sites, out.stub_pages.size());
  return out;
}

}  // namespace rwd
