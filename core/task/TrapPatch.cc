#include "core/task/TrapPatch.h"

#include <fcntl.h>
#include <gelf.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>

#include "core/base/Fd.h"
#include "core/base/Log.h"
#include "core/task/CodeRuns.h"
#include "core/task/ElfHandle.h"
#include "core/task/ProcMaps.h"

namespace rwd {

namespace {

// [offset, offset + size) of the file that holds instructions: executable
// sections, or executable segments where there are no section headers
// (stripped with sstrip, or hand-made).
std::vector<std::pair<uint64_t, uint64_t>> code_ranges(Elf* elf) {
  std::vector<std::pair<uint64_t, uint64_t>> out;
  for (Elf_Scn* scn = elf_nextscn(elf, nullptr); scn; scn = elf_nextscn(elf, scn)) {
    GElf_Shdr sh;
    if (!gelf_getshdr(scn, &sh)) continue;
    if (sh.sh_type == SHT_PROGBITS && (sh.sh_flags & SHF_EXECINSTR) && sh.sh_size > 0)
      out.emplace_back(sh.sh_offset, sh.sh_size);
  }
  if (!out.empty()) return out;
  size_t count = 0;
  if (elf_getphdrnum(elf, &count) != 0) return out;
  for (size_t i = 0; i < count; ++i) {
    GElf_Phdr ph;
    if (gelf_getphdr(elf, static_cast<int>(i), &ph) && ph.p_type == PT_LOAD && (ph.p_flags & PF_X))
      out.emplace_back(ph.p_offset, ph.p_filesz);
  }
  return out;
}

std::vector<TrapSite> scan_file(int fd, const struct stat& st) {
  std::vector<TrapSite> sites;
  ElfHandle elf(fd);
  if (!elf.is_elf()) return sites;
  for (auto [offset, size] : code_ranges(elf.get())) {
    if (offset >= static_cast<uint64_t>(st.st_size)) continue;
    size = std::min<uint64_t>(size, static_cast<uint64_t>(st.st_size) - offset);
    std::vector<uint8_t> code(size);
    ssize_t n = ::pread(fd, code.data(), size, static_cast<off_t>(offset));
    if (n <= 0) continue;
    for (TrapSite insn : find_trap_insns(code.data(), static_cast<size_t>(n))) {
      insn.offset += offset;
      sites.push_back(insn);
    }
  }
  return sites;
}

}  // namespace

std::vector<std::pair<uint64_t, uint64_t>> elf_code_ranges(int fd) {
  ElfHandle elf(fd);
  if (!elf.is_elf()) return {};
  return code_ranges(elf.get());
}

std::vector<TrapSite> TrapScan::scan(int fd, const struct stat& st) {
  return scan_file(fd, st);
}

std::string TrapScan::encode(const std::vector<TrapSite>& sites) {
  PayloadWriter w;
  w.u64(sites.size());
  for (const TrapSite& s : sites) {
    w.u64(s.offset);
    w.u8(static_cast<uint8_t>(s.kind));
  }
  return w.take();
}

std::optional<std::vector<TrapSite>> TrapScan::decode(std::string_view payload) {
  PayloadReader r(payload);
  std::vector<TrapSite> sites(r.count(8 + 1));  // offset, kind
  if (!r.ok()) return std::nullopt;
  for (TrapSite& s : sites) {
    s.offset = r.u64();
    const uint8_t kind = r.u8();
    if (!r.ok() || kind > static_cast<uint8_t>(kLastTrapInsn)) return std::nullopt;
    s.kind = static_cast<TrapInsn>(kind);
  }
  if (!r.at_end()) return std::nullopt;
  return sites;
}

namespace {

// Patches `file_sites` (by file offset) where they fall in the private
// mapping [start, end) whose first byte is the file's byte `offset`.
Result<size_t> patch_sites(Task& task, const std::vector<TrapSite>& file_sites, uint64_t start,
                           uint64_t end, uint64_t offset) {
  static constexpr uint8_t kUd2[] = {0x0f, 0x0b, 0x90};  // ud2; nop for rdtscp's third byte
  // What is mapped here now is fresh from the file: forget the sites of
  // whatever this range held before.
  auto& sites = task.as().trap_sites;
  sites.erase(sites.lower_bound(start), sites.lower_bound(end));
  struct Found {
    uint64_t addr;
    TrapInsn kind;
    bool patched = false;
  };
  std::vector<Found> found;
  std::vector<std::pair<uint64_t, size_t>> spans;  // address, length
  for (const TrapSite& insn : file_sites) {
    const size_t len = trap_insn_length(insn.kind);
    if (insn.offset < offset) continue;
    const uint64_t addr = start + (insn.offset - offset);
    if (addr < start || addr + len > end) continue;
    found.push_back({addr, insn.kind});
  }
  if (found.empty()) return 0;
  std::sort(found.begin(), found.end(),
            [](const Found& a, const Found& b) { return a.addr < b.addr; });
  for (const Found& f : found) spans.emplace_back(f.addr, trap_insn_length(f.kind));
  // Sites less than a page apart are read and written back together
  // (CodeRuns.h): ld.so has ~60 within a few pages, and a pread and a
  // pwrite per site were ~4800 of the recorder's ~20,000 syscalls for the
  // 98 execs of a make -j1 of 31 files.
  const std::vector<CodeRun> runs = code_runs_of(spans);
  std::vector<uint8_t> code;
  const std::vector<size_t> got = read_code_runs(task, runs, code);
  std::vector<std::pair<uint64_t, uint64_t>> dirty(runs.size(), {UINT64_MAX, 0});
  size_t run = 0, patched = 0;
  for (Found& f : found) {
    const size_t len = trap_insn_length(f.kind);
    while (f.addr >= runs[run].end) ++run;
    const uint64_t off = f.addr - runs[run].start;
    uint8_t* now = &code[runs[run].at + off];
    // The scan may come from the store: patch only what is still there.
    if (off + len > got[run] || memcmp(now, trap_insn_bytes(f.kind), len) != 0) continue;
    memcpy(now, kUd2, len);
    f.patched = true;
    dirty[run].first = std::min(dirty[run].first, f.addr);
    dirty[run].second = std::max(dirty[run].second, f.addr + len);
  }
  // The bytes between two sites go back as they were read: the code is not
  // writable, so nothing can have changed them meanwhile.
  for (size_t i = 0; i < runs.size(); ++i) {
    const auto [lo, hi] = dirty[i];
    if (lo < hi)
      REWIND_TRY(task.as().write(RemotePtr(lo), &code[runs[i].at + (lo - runs[i].start)], hi - lo));
  }
  for (const Found& f : found) {
    if (!f.patched) continue;
    sites[f.addr] = f.kind;
    ++patched;
  }
  if (patched)
    REWIND_LOG(Record, "tid %d: %zu rdtsc/cpuid sites patched", task.real_tid(), patched);
  return patched;
}

}  // namespace

Result<size_t> patch_trap_mapping(Task& task, TrapSiteCache& cache, int fd, const struct stat& st,
                                  uint64_t start, uint64_t end, uint64_t offset) {
  return patch_sites(task, cache.sites_of(fd, st), start, end, offset);
}

Result<size_t> patch_trap_mapping(Task& task, TrapSiteCache& cache, const char* path,
                                  const struct stat& st, uint64_t start, uint64_t end,
                                  uint64_t offset) {
  auto open_file = [path] { return ScopedFd(::open(path, O_RDONLY | O_CLOEXEC)); };
  return patch_sites(task, cache.sites_of(st, open_file), start, end, offset);
}

Result<size_t> patch_trap_sites(Task& task, TrapSiteCache& cache, uint64_t start, uint64_t end) {
  auto maps = read_proc_maps(task.real_tid());
  if (!maps) return maps.error();
  return patch_trap_sites(task, cache, *maps, start, end);
}

Result<size_t> patch_trap_sites(Task& task, TrapSiteCache& cache,
                                const std::vector<KernelMapping>& maps, uint64_t start,
                                uint64_t end) {
  size_t patched = 0;
  for (const KernelMapping& m : maps) {
    // A shared mapping would carry the patch into the file itself.
    if (!(m.prot & PROT_EXEC) || m.shared || !m.is_file() || m.end <= start || m.start >= end)
      continue;
    // map_files names the very file mapped, even if its name was replaced.
    // (A stat, and an open only where the file must be scanned.)
    char map_file[96];
    std::snprintf(map_file, sizeof map_file, "/proc/%d/map_files/%llx-%llx", task.real_tid(),
                  static_cast<unsigned long long>(m.start), static_cast<unsigned long long>(m.end));
    const char* path = map_file;
    struct stat st {};
    bool found = ::stat(path, &st) == 0;
    if (!found) {
      path = m.name.c_str();
      found = ::stat(path, &st) == 0;
    }
    if (!found || st.st_ino != m.inode) {
      REWIND_LOG(Record,
                 "cannot open %s to look for rdtsc and cpuid; PR_SET_TSC (and CPUID faulting, "
                 "where the CPU has it) must catch them",
                 m.name.c_str());
      continue;
    }
    // The part of [start, end) in this mapping, whose first byte is the
    // file's byte m.offset + (lo - m.start).
    const uint64_t lo = std::max(m.start, start), hi = std::min(m.end, end);
    auto n = patch_trap_mapping(task, cache, path, st, lo, hi, m.offset + (lo - m.start));
    if (!n) return n.error();
    patched += *n;
  }
  return patched;
}

std::optional<TrapInsn> patched_trap_at(const Task& task, uint64_t rip) {
  const auto& sites = task.shared_as()->trap_sites;
  auto it = sites.find(rip);
  if (it == sites.end()) return std::nullopt;
  return it->second;
}

}  // namespace rwd
