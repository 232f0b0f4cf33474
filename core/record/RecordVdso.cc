// The vDSO stays visible to the program (AT_SYSINFO_EHDR), as it is
// natively: a program may read its ELF image or call it directly (Go's
// runtime does). Its time functions would read the kernel's data page,
// which replay cannot reproduce, so each one the dynamic symbols name is
// rewritten, at every exec, to make the syscall instead:
//
//     mov $NR, %eax; syscall; cmp $-4095, %rax; ret
//
// The recorder then records those syscalls as any other, and once the
// preload library has started, its patcher sends them through the library
// like libc's (SyscallPatch.h, OwnSyscallSite), so they are buffered. The
// exec event carries the vDSO's whole patched image, which replay writes
// over its own (ReplaySyscall.cc's post_exec), so the program reads the
// recorded bytes there in replay too. Where a function is too short for
// the rewrite, or the image cannot be read, the vDSO is hidden from the
// program as before (glibc then makes the syscalls itself).
#include <gelf.h>
#include <sys/syscall.h>

#include <algorithm>
#include <cstring>

#include "core/base/Log.h"
#include "core/record/RecordSession.h"

namespace rwd {

namespace {

struct VdsoFunction {
  const char* name;
  int32_t nr;
};
constexpr VdsoFunction kVdsoFunctions[] = {
    {"clock_gettime", SYS_clock_gettime},
    {"__vdso_clock_gettime", SYS_clock_gettime},
    {"gettimeofday", SYS_gettimeofday},
    {"__vdso_gettimeofday", SYS_gettimeofday},
    {"time", SYS_time},
    {"__vdso_time", SYS_time},
    {"clock_getres", SYS_clock_getres},
    {"__vdso_clock_getres", SYS_clock_getres},
    {"getcpu", SYS_getcpu},
    {"__vdso_getcpu", SYS_getcpu},
};
constexpr size_t kStubLength = 14;

// The vDSO's dynamic symbols that name one of kVdsoFunctions: (offset in
// the image, syscall), or nullopt if one is too short for the stub.
std::optional<std::vector<std::pair<uint64_t, int32_t>>> vdso_functions(
    std::vector<uint8_t>& image) {
  elf_version(EV_CURRENT);
  Elf* elf = elf_memory(reinterpret_cast<char*>(image.data()), image.size());
  if (!elf) return std::nullopt;
  std::vector<std::pair<uint64_t, int32_t>> out;
  bool ok = elf_kind(elf) == ELF_K_ELF;
  for (Elf_Scn* scn = nullptr; ok && (scn = elf_nextscn(elf, scn));) {
    GElf_Shdr sh;
    if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_DYNSYM || !sh.sh_entsize) continue;
    Elf_Data* data = elf_getdata(scn, nullptr);
    if (!data) continue;
    for (size_t i = 0; i < sh.sh_size / sh.sh_entsize; ++i) {
      GElf_Sym sym;
      if (!gelf_getsym(data, static_cast<int>(i), &sym)) continue;
      const char* name = elf_strptr(elf, sh.sh_link, sym.st_name);
      if (!name || GELF_ST_TYPE(sym.st_info) != STT_FUNC || !sym.st_value) continue;
      for (const VdsoFunction& f : kVdsoFunctions) {
        if (strcmp(name, f.name) != 0) continue;
        if (sym.st_size < kStubLength || sym.st_value + kStubLength > image.size()) ok = false;
        // (Each function has two names: clock_gettime, __vdso_clock_gettime.)
        if (std::find(out.begin(), out.end(), std::make_pair(uint64_t{sym.st_value}, f.nr)) ==
            out.end())
          out.emplace_back(sym.st_value, f.nr);
      }
    }
  }
  elf_end(elf);
  if (!ok || out.empty()) return std::nullopt;
  return out;
}

}  // namespace

Result<std::optional<trace::MemWrite>> RecordSession::patch_vdso(
    RecTask& t, const std::vector<KernelMapping>& maps) {
  // Whatever an earlier process at this address left (the key is a
  // pointer, which a new address space may reuse): sites of the vDSO of
  // this exec or none.
  vdso_sites_.erase(&t.task->as());
  const KernelMapping* vdso = nullptr;
  for (const KernelMapping& k : maps)
    if (k.name == "[vdso]") vdso = &k;
  if (!vdso) return std::optional<trace::MemWrite>();
  trace::MemWrite image{vdso->start, std::vector<uint8_t>(vdso->end - vdso->start)};
  if (t.task->as().read_partial(RemotePtr(image.addr), image.bytes.data(), image.bytes.size()) !=
      image.bytes.size())
    return std::optional<trace::MemWrite>();
  auto functions = vdso_functions(image.bytes);
  if (!functions) {
    REWIND_LOG(Record, "the vDSO's functions cannot be rewritten: it is hidden");
    return std::optional<trace::MemWrite>();
  }
  std::vector<OwnSyscallSite>& sites = vdso_sites_[&t.task->as()];
  sites.clear();
  for (auto [offset, nr] : *functions) {
    uint8_t* p = &image.bytes[offset];
    const uint8_t stub[kStubLength] = {0xb8, 0,    0,    0,    0,           // mov $nr, %eax
                                       0x0f, 0x05,                          // syscall
                                       0x48, 0x3d, 0x01, 0xf0, 0xff, 0xff,  // cmp $-4095, %rax
                                       0xc3};                               // ret
    memcpy(p, stub, sizeof stub);
    memcpy(p + 1, &nr, 4);
    sites.push_back({image.addr + offset + 5, nr});
  }
  REWIND_TRY(t.task->write_mem(RemotePtr(image.addr), image.bytes.data(), image.bytes.size()));
  return std::optional<trace::MemWrite>(std::move(image));
}

}  // namespace rwd
