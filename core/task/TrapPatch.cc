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
    w.u8(s.length);
  }
  return w.take();
}

std::optional<std::vector<TrapSite>> TrapScan::decode(std::string_view payload) {
  PayloadReader r(payload);
  std::vector<TrapSite> sites(r.count(8 + 1 + 1));  // offset, kind, length
  if (!r.ok()) return std::nullopt;
  for (TrapSite& s : sites) {
    s.offset = r.u64();
    const uint8_t kind = r.u8();
    s.length = r.u8();
    if (!r.ok() || kind > static_cast<uint8_t>(kLastTrapInsn) || s.length < 2 ||
        s.length > kMaxTrapInsnLength)
      return std::nullopt;
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
  // ud2, and nops over the rest (never executed: the emulation skips the
  // whole instruction).
  static constexpr uint8_t kUd2[kMaxTrapInsnLength] = {0x0f, 0x0b, 0x90, 0x90,
                                                       0x90, 0x90, 0x90, 0x90};
  // What is mapped here now is fresh from the file: forget the sites of
  // whatever this range held before.
  auto& sites = task.as().trap_sites;
  sites.erase(sites.lower_bound(start), sites.lower_bound(end));
  std::vector<std::pair<uint64_t, size_t>> found;  // address, length
  for (const TrapSite& insn : file_sites) {
    if (insn.offset < offset) continue;
    const uint64_t addr = start + (insn.offset - offset);
    if (addr < start || addr + insn.length > end) continue;
    found.emplace_back(addr, insn.length);
  }
  if (found.empty()) return 0;
  std::sort(found.begin(), found.end());
  // Sites less than a page apart are read and written back together
  // (CodeRuns.h): ld.so has ~60 within a few pages, and a pread and a
  // pwrite per site were ~4800 of the recorder's ~20,000 syscalls for the
  // 98 execs of a make -j1 of 31 files.
  const std::vector<CodeRun> runs = code_runs_of(found);
  std::vector<uint8_t> code;
  const std::vector<size_t> got = read_code_runs(task, runs, code);
  std::vector<std::pair<uint64_t, uint64_t>> dirty(runs.size(), {UINT64_MAX, 0});
  std::vector<std::pair<uint64_t, PatchedTrap>> patched;
  size_t run = 0;
  for (const auto& [addr, len] : found) {
    while (addr >= runs[run].end) ++run;
    const uint64_t off = addr - runs[run].start;
    if (off + len > got[run]) continue;
    uint8_t* now = &code[runs[run].at + off];
    // The scan may come from the store: patch only what is still there.
    const std::optional<TrapInsnInfo> insn = decode_trap_insn(now, len);
    if (!insn || insn->length != len) continue;
    PatchedTrap p{*insn, {}};
    memcpy(p.orig.data(), now, len);
    patched.emplace_back(addr, p);
    memcpy(now, kUd2, len);
    dirty[run].first = std::min(dirty[run].first, addr);
    dirty[run].second = std::max(dirty[run].second, addr + len);
  }
  // The bytes between two sites go back as they were read: the code is not
  // writable, so nothing can have changed them meanwhile.
  for (size_t i = 0; i < runs.size(); ++i) {
    const auto [lo, hi] = dirty[i];
    if (lo < hi)
      REWIND_TRY(task.as().write(RemotePtr(lo), &code[runs[i].at + (lo - runs[i].start)], hi - lo));
  }
  for (const auto& [addr, p] : patched) sites[addr] = p;
  if (!patched.empty())
    REWIND_LOG(Record, "tid %d: %zu rdtsc/cpuid/rdrand sites patched", task.real_tid(),
               patched.size());
  return patched.size();
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

std::optional<TrapInsnInfo> patched_trap_at(const Task& task, uint64_t rip) {
  const auto& sites = task.shared_as()->trap_sites;
  auto it = sites.find(rip);
  if (it == sites.end()) return std::nullopt;
  return it->second.insn;
}

std::optional<TrapInsnInfo> trapped_insn_at(const Task& task, int sig, const siginfo_t& si,
                                            uint64_t rip) {
  if (sig == SIGILL) return patched_trap_at(task, rip);
  if (sig != SIGSEGV || si.si_code != SI_KERNEL) return std::nullopt;
  uint8_t insn[kMaxTrapInsnLength] = {};
  const size_t n = task.shared_as()->read_partial(RemotePtr(rip), insn, sizeof insn);
  std::optional<TrapInsnInfo> t = decode_trap_insn(insn, n);
  // Only these fault: rdtsc under PR_SET_TSC, cpuid under CPUID faulting.
  if (t && t->kind != TrapInsn::Rdtsc && t->kind != TrapInsn::Rdtscp && t->kind != TrapInsn::Cpuid)
    return std::nullopt;
  return t;
}

}  // namespace rwd
