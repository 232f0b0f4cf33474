// rewind sources / buildid: build ids and DWARF source files of the
// trace's copies of the recorded binaries (core/api/Sources.h).
//
// DWARF is read with libdw (elfutils) rather than a parser of our own:
// the line-table header alone differs between DWARF 4 (include_directories
// and file_names as strings) and DWARF 5 (entry formats, .debug_line_str,
// .debug_str_offsets), Debian's -dbgsym packages compress their sections
// (SHF_COMPRESSED, zlib) and share strings through dwz (.gnu_debugaltlink),
// and every one of those is bounds-checked input from a possibly hostile
// file. libdw handles all of it and is what eu-readelf, systemtap and
// valgrind trust with arbitrary binaries; rr's hand-written reader
// (src/DwarfReader.cc) is the cost we avoid.
#include "core/api/Sources.h"

#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwelf.h>
#include <fcntl.h>
#include <gelf.h>
#include <sys/stat.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <optional>
#include <set>

#include "core/api/RecordedFiles.h"
#include "core/base/FileIo.h"

namespace rwd::api {
namespace fs = std::filesystem;
namespace {

// libelf's pending error; our own header checks set none.
std::string elf_error() {
  const int e = elf_errno();
  return e ? elf_errmsg(e) : "inconsistent ELF headers";
}

// One libelf descriptor and the fd under it, ended with the scope. libdw
// reads through the Elf lazily (and finds a dwz .gnu_debugaltlink file
// relative to the fd's path), so the fd lives exactly as long.
class ElfFile {
 public:
  // ELF_C_READ, not ELF_C_READ_MMAP: a copy that shrinks while it is
  // read then fails a pread instead of raising SIGBUS.
  static Result<ElfFile> open(ScopedFd fd, const std::string& what) {
    elf_version(EV_CURRENT);
    Elf* elf = elf_begin(fd.get(), ELF_C_READ, nullptr);
    if (!elf) return Error{what + ": not a readable ELF file: " + elf_error()};
    ElfFile f(std::move(fd), elf);
    if (std::string why = f.header_problem(); !why.empty())
      return Error{what + ": not a readable ELF file: " + why};
    return f;
  }
  ElfFile(ElfFile&& o) noexcept : fd_(std::move(o.fd_)), elf_(std::exchange(o.elf_, nullptr)) {}
  ElfFile& operator=(ElfFile&& o) noexcept {
    if (this != &o) {
      if (elf_) elf_end(elf_);
      elf_ = std::exchange(o.elf_, nullptr);
      fd_ = std::move(o.fd_);  // after elf_end: libelf may still read the old fd
    }
    return *this;
  }
  ElfFile(const ElfFile&) = delete;
  ~ElfFile() {
    if (elf_) elf_end(elf_);
  }
  Elf* get() const { return elf_; }
  int fd() const { return fd_.get(); }

 private:
  ElfFile(ScopedFd fd, Elf* elf) : fd_(std::move(fd)), elf_(elf) {}

  // libelf opens anything that starts with the magic, reads headers
  // lazily, and treats a section header table past the end of the file as
  // no sections at all. Checking every header and every range against the
  // file's size now turns garbage after the magic, or a copy truncated
  // anywhere, into one clear error instead of quiet "no build id" or "no
  // debug info" answers later. Returns what is wrong; empty if nothing.
  std::string header_problem() const {
    struct stat st {};
    GElf_Ehdr ehdr;
    size_t shnum = 0, phnum = 0, shstrndx = 0;
    if (::fstat(fd_.get(), &st) != 0 || elf_kind(elf_) != ELF_K_ELF || !gelf_getehdr(elf_, &ehdr) ||
        ehdr.e_version != EV_CURRENT || elf_getshdrnum(elf_, &shnum) != 0 ||
        elf_getphdrnum(elf_, &phnum) != 0 || (shnum && elf_getshdrstrndx(elf_, &shstrndx) != 0))
      return elf_error();
    const uint64_t size = static_cast<uint64_t>(st.st_size);
    auto within = [size](uint64_t off, uint64_t len) { return off <= size && len <= size - off; };
    const std::string truncated =
        "truncated: its headers describe data past its end (" + std::to_string(size) + " bytes)";
    if (ehdr.e_shoff &&
        !within(ehdr.e_shoff, uint64_t{ehdr.e_shentsize} * std::max<uint64_t>(ehdr.e_shnum, 1)))
      return truncated;
    if (ehdr.e_phoff && !within(ehdr.e_phoff, uint64_t{ehdr.e_phentsize} * phnum)) return truncated;
    for (size_t i = 0; i < phnum; ++i) {
      GElf_Phdr phdr;
      if (!gelf_getphdr(elf_, static_cast<int>(i), &phdr)) return elf_error();
      if (!within(phdr.p_offset, phdr.p_filesz)) return truncated;
    }
    size_t seen = 0;
    for (Elf_Scn* scn = elf_nextscn(elf_, nullptr); scn; scn = elf_nextscn(elf_, scn), ++seen) {
      GElf_Shdr shdr;
      if (!gelf_getshdr(scn, &shdr)) return elf_error();
      if (shdr.sh_type != SHT_NOBITS && !within(shdr.sh_offset, shdr.sh_size)) return truncated;
    }
    // Section 0 is not iterated.
    return shnum == 0 || seen + 1 == shnum ? "" : truncated;
  }

  ScopedFd fd_;
  Elf* elf_ = nullptr;
};

// One libdw session over an ElfFile, which must outlive it.
class DwarfSession {
 public:
  explicit DwarfSession(const ElfFile& elf)
      : dw_(dwarf_begin_elf(elf.get(), DWARF_C_READ, nullptr)) {}
  ~DwarfSession() {
    if (dw_) dwarf_end(dw_);
  }
  DwarfSession(const DwarfSession&) = delete;
  DwarfSession& operator=(const DwarfSession&) = delete;
  Dwarf* get() const { return dw_; }

 private:
  Dwarf* dw_;
};

// Whether the file starts with the ELF magic. Recorded mappings include
// locale archives, fonts and caches: those are skipped without a word,
// while a file that claims to be ELF and is not readable gets a warning.
bool has_elf_magic(int fd) {
  std::array<char, SELFMAG> magic{};
  return ::pread(fd, magic.data(), magic.size(), 0) == SELFMAG &&
         std::equal(magic.begin(), magic.end(), ELFMAG);
}

// Lowercase hex of NT_GNU_BUILD_ID: "" when the binary has none.
Result<std::string> build_id_of(const ElfFile& elf, const std::string& what) {
  const void* bytes = nullptr;
  const ssize_t n = dwelf_elf_gnu_build_id(elf.get(), &bytes);
  if (n < 0) return Error{what + ": reading the build id: " + dwarf_errmsg(-1)};
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  for (ssize_t i = 0; i < n; ++i) {
    const auto b = static_cast<const unsigned char*>(bytes)[i];
    hex += kHex[b >> 4];
    hex += kHex[b & 15];
  }
  return hex;
}

// Whether the file holds DWARF of its own: a .debug_info (or old-style
// compressed .zdebug_info) with contents. A stripped binary keeps neither;
// a debug file's copy of the program's sections are SHT_NOBITS instead.
bool has_debug_info(const ElfFile& elf) {
  size_t shstrndx = 0;
  if (elf_getshdrstrndx(elf.get(), &shstrndx) != 0) return false;
  for (Elf_Scn* scn = elf_nextscn(elf.get(), nullptr); scn; scn = elf_nextscn(elf.get(), scn)) {
    GElf_Shdr shdr;
    if (!gelf_getshdr(scn, &shdr) || shdr.sh_type == SHT_NOBITS) continue;
    const char* name = elf_strptr(elf.get(), shstrndx, shdr.sh_name);
    if (name &&
        (std::string_view(name) == ".debug_info" || std::string_view(name) == ".zdebug_info"))
      return true;
  }
  return false;
}

// The .gnu_debuglink CRC: the reflected CRC-32 of zlib and gdb's
// gnu_debuglink_crc32, over the whole debug file.
std::optional<uint32_t> file_crc32(int fd) {
  uint32_t crc = 0xffffffff;
  std::array<unsigned char, 1 << 16> buf;
  for (off_t at = 0;;) {
    const ssize_t n = ::pread(fd, buf.data(), buf.size(), at);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return std::nullopt;
    if (n == 0) return ~crc;
    for (ssize_t i = 0; i < n; ++i) {
      crc ^= buf[i];
      for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0xedb88320 & (0 - (crc & 1)));
    }
    at += n;
  }
}

// A candidate debug file, opened as gdb would: symbolic links followed
// (.build-id/xx/yyyy.debug entries are links), but only a regular file, and
// never blocking on a FIFO put in its place.
std::optional<ElfFile> open_debug_candidate(const fs::path& path) {
  ScopedFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK));
  struct stat st {};
  if (!fd.is_open() || ::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) return std::nullopt;
  if (!has_elf_magic(fd.get())) return std::nullopt;
  auto elf = ElfFile::open(std::move(fd), path.string());
  if (!elf || !has_debug_info(*elf)) return std::nullopt;
  return std::move(*elf);
}

struct DebugFile {
  fs::path path;
  ElfFile elf;
};

// gdb's build-id lookup: DIR/.build-id/ab/cdef....debug, whose own build
// id must be the binary's.
std::optional<DebugFile> find_by_build_id(const std::string& build_id,
                                          const SourcesOptions& options) {
  if (build_id.size() < 4) return std::nullopt;
  for (const fs::path& dir : options.debug_dirs) {
    fs::path p = dir / ".build-id" / build_id.substr(0, 2) / (build_id.substr(2) + ".debug");
    auto elf = open_debug_candidate(p);
    if (!elf) continue;
    auto id = build_id_of(*elf, p.string());
    if (id && *id == build_id) return DebugFile{std::move(p), std::move(*elf)};
  }
  return std::nullopt;
}

// gdb's .gnu_debuglink lookup, relative to where the binary was recorded
// (the debug file lives beside the original, not beside the trace's copy):
// DIR/NAME, DIR/.debug/NAME, then DEBUGDIR/DIR/NAME. The CRC must match,
// which also rejects the binary itself (Debian's ld.so links to its own
// name) and a debug file left from an earlier build.
std::optional<DebugFile> find_by_debuglink(const ElfFile& binary, const std::string& recorded_path,
                                           const SourcesOptions& options) {
  GElf_Word crc = 0;
  const char* link = dwelf_elf_gnu_debuglink(binary.get(), &crc);
  if (!link || !*link || std::string_view(link).find('/') != std::string_view::npos)
    return std::nullopt;
  const fs::path dir = fs::path(recorded_path).parent_path();
  std::vector<fs::path> candidates{dir / link, dir / ".debug" / link};
  for (const fs::path& d : options.debug_dirs) candidates.push_back(d / dir.relative_path() / link);
  for (fs::path& p : candidates) {
    auto elf = open_debug_candidate(p);
    if (elf && file_crc32(elf->fd()) == crc) return DebugFile{std::move(p), std::move(*elf)};
  }
  return std::nullopt;
}

// How a compilation unit's file names are resolved: against DW_AT_comp_dir,
// or against the --substitute directory. An absolute comp_dir is replaced
// by it (rr's meaning: the build tree moved), also where a DWARF 5 line
// table repeats the comp_dir as directory 0; a relative comp_dir, as
// Debian's packages have (-fdebug-prefix-map=/build/glibc-XXX=. leaves
// "./csu"), is taken relative to it, since each unit's is different.
struct CompDir {
  std::string original;
  std::string used;

  CompDir(std::string comp_dir, const std::string& substitute) : original(std::move(comp_dir)) {
    if (substitute.empty())
      used = original;
    else if (original.starts_with('/'))
      used = substitute;
    else
      used = substitute + "/" + original;
  }

  // Absolute when the name, or a comp_dir for it, is; else relative to a
  // build directory the DWARF does not name. Lexically normal:
  // "dir/./x.c" and "build/../src/x.c" as gdb shows them.
  std::string resolve(std::string_view name) const {
    std::string path(name);
    if (original.starts_with('/') && used != original && path.starts_with(original) &&
        (path.size() == original.size() || path[original.size()] == '/'))
      path = used + path.substr(original.size());
    if (!path.starts_with('/') && !used.empty()) path = used + "/" + path;
    std::string norm = fs::path(path).lexically_normal().string();
    if (norm.size() > 1 && norm.back() == '/') norm.pop_back();
    return norm;
  }
};

// Not files: gcc's "<built-in>" (which libdw joins to a directory, as
// "argp/<built-in>"), and "???" that libdw puts in the unused DWARF 4 file
// slot 0.
bool is_pseudo_file(std::string_view name) {
  const size_t slash = name.rfind('/');
  const std::string_view base = slash == std::string_view::npos ? name : name.substr(slash + 1);
  return base.empty() || base[0] == '<' || base == "???";
}

// The source files of every unit of `dw`, with the units whose line table
// was unreadable counted and the first error kept, so that a garbage
// .debug_line costs a warning and not the binary's other units.
struct UnitSources {
  std::set<std::string> files;       // absolute
  std::set<std::string> unanchored;  // relative to an unnamed build directory
  size_t bad_units = 0;
  std::string first_error;
};

void add_file(const char* name, const CompDir& comp_dir, UnitSources& out) {
  if (!name || is_pseudo_file(name)) return;
  std::string path = comp_dir.resolve(name);
  (path.starts_with('/') ? out.files : out.unanchored).insert(std::move(path));
}

void add_unit_files(Dwarf_Die* cudie, const CompDir& comp_dir, UnitSources& out) {
  add_file(dwarf_diename(cudie), comp_dir, out);
  if (!dwarf_hasattr(cudie, DW_AT_stmt_list)) return;  // no line table: not an error
  Dwarf_Files* files = nullptr;
  size_t count = 0;
  if (dwarf_getsrcfiles(cudie, &files, &count) != 0) {
    if (out.bad_units++ == 0) out.first_error = dwarf_errmsg(-1);
    return;
  }
  for (size_t i = 0; i < count; ++i)
    add_file(dwarf_filesrc(files, i, nullptr, nullptr), comp_dir, out);
}

Result<UnitSources> unit_sources(const ElfFile& elf, const std::string& substitute,
                                 const std::string& what) {
  DwarfSession dw(elf);
  if (!dw.get()) return Error{what + ": unreadable DWARF: " + dwarf_errmsg(-1)};
  UnitSources out;
  Dwarf_CU* cu = nullptr;
  for (;;) {
    Dwarf_CU* next = nullptr;
    Dwarf_Half version = 0;
    uint8_t unit_type = 0;
    Dwarf_Die cudie, subdie;
    const int r = dwarf_get_units(dw.get(), cu, &next, &version, &unit_type, &cudie, &subdie);
    if (r == 1) break;
    // A unit header that cannot be read ends the walk: the next unit's
    // offset comes from this one's length, so nothing after it is reliable.
    if (r != 0) {
      if (out.bad_units++ == 0) out.first_error = dwarf_errmsg(-1);
      break;
    }
    cu = next;
    if (dwarf_tag(&cudie) == DW_TAG_invalid) continue;  // unknown version or unit type
    Dwarf_Attribute attr;
    const char* dir = dwarf_formstring(dwarf_attr(&cudie, DW_AT_comp_dir, &attr));
    add_unit_files(&cudie, CompDir(dir ? dir : "", substitute), out);
  }
  return out;
}

// The trace's copy of one recorded file as an ElfFile; nullopt (and no
// warning) when it is not ELF at all.
Result<std::optional<ElfFile>> open_copy(const RecordedFile& f, const std::string& what) {
  auto fd = open_regular_file(f.copy.string());
  if (!fd) return fd.error().context(what);
  if (!has_elf_magic(fd->get())) return std::optional<ElfFile>();
  auto elf = ElfFile::open(std::move(*fd), what);
  if (!elf) return elf.error();
  return std::optional<ElfFile>(std::move(*elf));
}

std::string describe(const RecordedFile& f) {
  return f.recorded_path + " (trace copy " + f.copy.string() + ")";
}

// Fills `out.sources` (and debug_file) for one opened binary; problems
// become warnings.
void read_sources(const ElfFile& elf, const RecordedFile& f, const SourcesOptions& options,
                  BinarySources& out) {
  std::optional<DebugFile> debug;
  if (!has_debug_info(elf)) {
    debug = find_by_build_id(out.binary.build_id, options);
    if (!debug) debug = find_by_debuglink(elf, f.recorded_path, options);
    if (!debug) return;  // stripped, and no debug file here: no sources, no error
    out.debug_file = debug->path;
  }
  const auto sub = options.comp_dir_substitutions.find(fs::path(f.recorded_path).filename());
  const std::string substitute = sub == options.comp_dir_substitutions.end() ? "" : sub->second;
  const std::string what = debug ? debug->path.string() : describe(f);
  auto units = unit_sources(debug ? debug->elf : elf, substitute, what);
  if (!units) {
    out.binary.warnings.push_back(units.error().message);
    return;
  }
  if (units->bad_units)
    out.binary.warnings.push_back(
        what + ": " + std::to_string(units->bad_units) +
        " compilation unit(s) with an unreadable line table: " + units->first_error);
  out.sources.assign(units->files.begin(), units->files.end());
  out.unanchored.assign(units->unanchored.begin(), units->unanchored.end());
}

// Opens each recorded ELF binary and hands it to `each`; a binary that
// cannot be opened is passed as nullptr with its warning set.
template <class Each>
Result<void> for_each_binary(const fs::path& trace, Each each) {
  auto files = recorded_files(trace);
  if (!files) return files.error();
  for (const RecordedFile& f : *files) {
    if (f.alias) continue;  // the same copy, under the name a link map uses
    BinaryBuildId id{f.recorded_path, f.copy, f.executed, "", {}};
    auto elf = open_copy(f, describe(f));
    if (!elf) {
      id.warnings.push_back(elf.error().message);
      each(f, nullptr, std::move(id));
      continue;
    }
    if (!elf->has_value()) continue;  // not ELF: data the program mapped
    auto bid = build_id_of(**elf, describe(f));
    if (bid)
      id.build_id = *bid;
    else
      id.warnings.push_back(bid.error().message);
    each(f, &**elf, std::move(id));
  }
  return ok_result();
}

}  // namespace

Result<std::vector<BinaryBuildId>> recorded_build_ids(const fs::path& trace) {
  std::vector<BinaryBuildId> out;
  REWIND_TRY(for_each_binary(trace, [&](const RecordedFile&, const ElfFile*, BinaryBuildId id) {
    out.push_back(std::move(id));
  }));
  return out;
}

Result<std::vector<BinarySources>> recorded_sources(const fs::path& trace,
                                                    const SourcesOptions& options) {
  std::vector<BinarySources> out;
  REWIND_TRY(
      for_each_binary(trace, [&](const RecordedFile& f, const ElfFile* elf, BinaryBuildId id) {
        BinarySources b{std::move(id), {}, {}, {}};
        if (elf) read_sources(*elf, f, options, b);
        out.push_back(std::move(b));
      }));
  return out;
}

}  // namespace rwd::api
