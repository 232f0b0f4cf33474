#include "core/api/RecordedFiles.h"

#include <elf.h>
#include <fcntl.h>
#include <unistd.h>

#include <climits>
#include <cstring>
#include <optional>
#include <set>
#include <vector>

#include "core/base/Fd.h"

#include "core/trace/TraceReader.h"

namespace rwd::api {
namespace {

// The ELF interpreter an executable names (PT_INTERP), as the program's
// link map will: /lib64/ld-linux-x86-64.so.2, where the kernel's maps, and
// so the trace, name the file it resolves to. Empty if none or unreadable.
// The program headers of a 64-bit ELF file, read with bounds checked
// (the file comes from a trace); empty if it is not one.
struct ElfFile {
  ScopedFd fd;
  std::vector<Elf64_Phdr> phdrs;
  bool read(void* out, size_t len, uint64_t offset) const {
    return offset < static_cast<uint64_t>(INT64_MAX) &&
           ::pread(fd.get(), out, len, static_cast<off_t>(offset)) == static_cast<ssize_t>(len);
  }
  // A NUL-terminated string at `offset`, at most 4 KiB.
  std::string string_at(uint64_t offset) const {
    char buf[4096] = {};
    const ssize_t n = offset < static_cast<uint64_t>(INT64_MAX)
                          ? ::pread(fd.get(), buf, sizeof buf - 1, static_cast<off_t>(offset))
                          : -1;
    return n > 0 ? std::string(buf, strnlen(buf, static_cast<size_t>(n))) : std::string();
  }
  // The file offset of virtual address `vaddr`, through the PT_LOADs.
  std::optional<uint64_t> offset_of(uint64_t vaddr) const {
    for (const auto& ph : phdrs)
      if (ph.p_type == PT_LOAD && vaddr >= ph.p_vaddr && vaddr - ph.p_vaddr < ph.p_filesz)
        return ph.p_offset + (vaddr - ph.p_vaddr);
    return std::nullopt;
  }
};

std::optional<ElfFile> open_elf(const std::filesystem::path& path) {
  ElfFile f{ScopedFd(::open(path.c_str(), O_RDONLY | O_CLOEXEC)), {}};
  Elf64_Ehdr eh;
  if (!f.fd.is_open() || !f.read(&eh, sizeof eh, 0) || memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 ||
      eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_phentsize != sizeof(Elf64_Phdr) ||
      eh.e_phnum > 512)
    return std::nullopt;
  f.phdrs.resize(eh.e_phnum);
  if (!f.read(f.phdrs.data(), f.phdrs.size() * sizeof(Elf64_Phdr), eh.e_phoff)) return std::nullopt;
  return f;
}

// The ELF interpreter an executable names (PT_INTERP), as the program's
// link map will: /lib64/ld-linux-x86-64.so.2, where the kernel's maps, and
// so the trace, name the file it resolves to. Empty if none or unreadable.
std::string interpreter_name(const std::filesystem::path& exe) {
  auto elf = open_elf(exe);
  if (!elf) return {};
  for (const auto& ph : elf->phdrs)
    if (ph.p_type == PT_INTERP) return elf->string_at(ph.p_offset);
  return {};
}

// A shared library's DT_SONAME: the dynamic loader opens libraries by it
// (DT_NEEDED names it), so the link map says <dir>/libtinfo.so.6 where the
// maps say the file that name links to, libtinfo.so.6.4.
std::string soname(const std::filesystem::path& lib) {
  auto elf = open_elf(lib);
  if (!elf) return {};
  for (const auto& ph : elf->phdrs) {
    if (ph.p_type != PT_DYNAMIC || ph.p_filesz > (1u << 20)) continue;
    std::vector<Elf64_Dyn> dyn(ph.p_filesz / sizeof(Elf64_Dyn));
    if (!elf->read(dyn.data(), dyn.size() * sizeof(Elf64_Dyn), ph.p_offset)) return {};
    std::optional<uint64_t> strtab, name;
    for (const auto& d : dyn) {
      if (d.d_tag == DT_NULL) break;
      if (d.d_tag == DT_STRTAB) strtab = elf->offset_of(d.d_un.d_ptr);
      if (d.d_tag == DT_SONAME) name = d.d_un.d_val;
    }
    if (strtab && name) return elf->string_at(*strtab + *name);
  }
  return {};
}

}  // namespace

Result<std::vector<RecordedFile>> recorded_files(const std::filesystem::path& trace) {
  auto reader = trace::TraceReader::open(trace, trace::IncompleteTraces::ReadPrefix);
  if (!reader) return reader.error();
  const trace::TraceReader& r = **reader;
  std::vector<RecordedFile> out;
  std::set<std::string> seen;
  auto add = [&](const std::string& recorded, const std::string& file, bool executed,
                 bool alias = false) {
    if (recorded.empty() || file.empty() || !seen.insert(recorded).second) return;
    out.push_back({recorded, r.file_path(file), executed, alias});
  };
  for (const auto& te : r.task_events()) {
    if (te.kind != trace::TaskEventKind::Exec) continue;
    add(te.exe_path, te.exe_trace_file, true);
    add(te.interp_path, te.interp_trace_file, true);
    if (!te.interp_trace_file.empty())
      add(interpreter_name(r.file_path(te.exe_trace_file)), te.interp_trace_file, true, true);
  }
  for (const auto& m : r.mappings()) add(m.orig_path, m.trace_file, false);
  // The names the link maps use for libraries whose files are named
  // otherwise (after the loop: a recorded file of that name wins).
  const size_t recorded = out.size();
  for (size_t i = 0; i < recorded; ++i) {
    const std::string so = soname(out[i].copy);
    if (so.empty() || so.find('/') != std::string::npos) continue;
    const std::filesystem::path alias =
        std::filesystem::path(out[i].recorded_path).parent_path() / so;
    add(alias.string(), out[i].copy.lexically_relative(r.dir()).string(), false, true);
  }
  return out;
}

}  // namespace rwd::api
