// One-file trace bundles (Bundle.h, docs/bundles.md): writing one from a
// trace, and unpacking one into the cache with every member checked.
#include "core/api/Bundle.h"

#include <archive.h>
#include <archive_entry.h>
#include <blake2.h>
#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "core/api/Pack.h"
#include "core/base/Fd.h"
#include "core/base/FileIo.h"
#include "core/base/ScratchDir.h"
#include "core/trace/CheckpointStore.h"
#include "core/trace/TraceReader.h"

namespace rwd::api {

namespace {

namespace fs = std::filesystem;

constexpr char kManifestName[] = "rewind-bundle";
constexpr char kTraceRoot[] = "trace";
constexpr size_t kManifestMax = 4096;
constexpr size_t kChunk = 1 << 20;
// Beyond any real trace; a manifest claiming more is not believed.
constexpr uint64_t kMaxMembers = 10'000'000;
constexpr uint64_t kMaxBytes = uint64_t{1} << 50;

// --- libarchive handles, one owner each -------------------------------------

struct WriteFree {
  void operator()(archive* a) const { archive_write_free(a); }
};
struct ReadFree {
  void operator()(archive* a) const { archive_read_free(a); }
};
struct EntryFree {
  void operator()(archive_entry* e) const { archive_entry_free(e); }
};
using ArchiveWriter = std::unique_ptr<archive, WriteFree>;
using ArchiveReader = std::unique_ptr<archive, ReadFree>;
using Entry = std::unique_ptr<archive_entry, EntryFree>;

Error archive_error(archive* a, const std::string& what) {
  const char* s = archive_error_string(a);
  return Error{what + ": " + (s ? s : "unknown libarchive error"), archive_errno(a)};
}

// "3.4 MiB", "12.0 KiB": sizes in messages.
std::string mib(uint64_t bytes) {
  char buf[32];
  if (bytes < (1 << 20))
    std::snprintf(buf, sizeof buf, "%.1f KiB", static_cast<double>(bytes) / 1024);
  else
    std::snprintf(buf, sizeof buf, "%.1f MiB", static_cast<double>(bytes) / (1 << 20));
  return buf;
}

std::string hex(const uint8_t* p, size_t n) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string s;
  for (size_t i = 0; i < n; ++i) {
    s += digits[p[i] >> 4];
    s += digits[p[i] & 15];
  }
  return s;
}

// 'name' for messages, with any byte that is not printable ASCII as \xNN:
// a hostile name must not send escape sequences to the user's terminal.
std::string shown(std::string_view name) {
  std::string q = "'";
  for (unsigned char c : name) {
    if (c >= 0x20 && c < 0x7f) {
      q += static_cast<char>(c);
    } else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      q += buf;
    }
  }
  return q + "'";
}

// --- The manifest ------------------------------------------------------------

// A few "key value" lines, the first naming the format: small enough to read
// whole before anything else, and plain text, so that `tar -xOf B
// rewind-bundle` says what a bundle is.
struct Manifest {
  int version = kBundleFormatVersion;
  std::string uuid;    // the trace's, 32 hex digits
  uint64_t files = 0;  // members under trace/, directories included
  uint64_t bytes = 0;  // the sum of their sizes
};

std::string encode_manifest(const Manifest& m) {
  return std::string(kManifestName) + " " + std::to_string(m.version) + "\nuuid " + m.uuid +
         "\nfiles " + std::to_string(m.files) + "\nbytes " + std::to_string(m.bytes) + "\n";
}

Result<uint64_t> parse_count(std::string_view v, uint64_t max) {
  uint64_t n = 0;
  if (v.empty() || v.size() > 19) return Error{"bad number " + shown(v)};
  for (char c : v) {
    if (c < '0' || c > '9') return Error{"bad number " + shown(v)};
    n = n * 10 + static_cast<uint64_t>(c - '0');
  }
  if (n > max) return Error{"implausible number " + shown(v)};
  return n;
}

Result<Manifest> parse_manifest(std::string_view text) {
  Manifest m;
  bool first = true, have_uuid = false, have_files = false, have_bytes = false;
  while (!text.empty()) {
    const size_t nl = text.find('\n');
    if (nl == std::string_view::npos) return Error{"its manifest does not end with a newline"};
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl + 1);
    const size_t sp = line.find(' ');
    const std::string_view key = line.substr(0, sp);
    const std::string_view value = sp == std::string_view::npos ? "" : line.substr(sp + 1);
    if (first) {
      if (key != kManifestName) return Error{"its manifest does not start with rewind-bundle"};
      if (value != std::to_string(kBundleFormatVersion))
        return Error{"it is bundle format " + shown(value) + ", and this rewind reads " +
                     std::to_string(kBundleFormatVersion) +
                     ": unpack it with the rewind that made it"};
      first = false;
    } else if (key == "uuid") {
      if (value.size() != 32 || value.find_first_not_of("0123456789abcdef") != value.npos)
        return Error{"its manifest has a bad uuid"};
      m.uuid = value;
      have_uuid = true;
    } else if (key == "files" || key == "bytes") {
      auto n = parse_count(value, key == "files" ? kMaxMembers : kMaxBytes);
      if (!n) return n.error().context("its manifest's " + std::string(key));
      (key == "files" ? m.files : m.bytes) = *n;
      (key == "files" ? have_files : have_bytes) = true;
    }  // other keys: added by a later version that readers of this one may ignore
  }
  if (!have_uuid || !have_files || !have_bytes)
    return Error{"its manifest lacks the uuid, files or bytes line"};
  return m;
}

// --- Writing -----------------------------------------------------------------

// A member of the trace directory, relative to it.
struct Member {
  std::string name;
  bool dir = false;
  uint64_t size = 0;
  bool executable = false;
};

// Everything under `dir`, parents before their contents (a sorted list of
// paths has that order). A trace holds only files and directories; anything
// else is refused rather than left out, since a reader might need it.
Result<std::vector<Member>> list_trace(const fs::path& dir) {
  std::vector<Member> members;
  std::error_code ec;
  fs::recursive_directory_iterator it(dir, ec), end;
  for (; !ec && it != end; it.increment(ec)) {
    struct stat st {};
    if (::lstat(it->path().c_str(), &st) != 0) return Error::from_errno(it->path().string());
    const bool is_dir = S_ISDIR(st.st_mode);
    if (!is_dir && !S_ISREG(st.st_mode))
      return Error{it->path().string() + " is " + file_kind(st.st_mode) +
                   ": a trace holds only files and directories"};
    members.push_back(Member{it->path().lexically_relative(dir).generic_string(), is_dir,
                             is_dir ? 0 : static_cast<uint64_t>(st.st_size),
                             (st.st_mode & S_IXUSR) != 0});
  }
  if (ec) return Error{"listing " + dir.string() + ": " + ec.message(), ec.value()};
  std::sort(members.begin(), members.end(),
            [](const Member& a, const Member& b) { return a.name < b.name; });
  return members;
}

// Removes OUT.partial-<pid>-* files of ours whose writer is gone (killed,
// or stopped by SIGXFSZ or Ctrl-C: no destructor ran then).
void remove_stale_partials(const fs::path& out) {
  const fs::path dir = out.parent_path().empty() ? fs::path(".") : out.parent_path();
  const std::string start = out.filename().string() + ".partial-";
  std::error_code ec;
  for (const auto& f : fs::directory_iterator(dir, ec)) {
    const std::string name = f.path().filename().string();
    if (!name.starts_with(start)) continue;
    char* end = nullptr;
    const long pid = std::strtol(name.c_str() + start.size(), &end, 10);
    struct stat st {};
    if (pid <= 0 || *end != '-' || ::lstat(f.path().c_str(), &st) != 0 || !S_ISREG(st.st_mode) ||
        st.st_uid != ::geteuid())
      continue;
    if (::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH) ::unlink(f.path().c_str());
  }
}

// OUT.partial-<pid>-XXXXXX: unlinked on destruction unless committed.
class PartialFile {
 public:
  static Result<PartialFile> create(const fs::path& out) {
    remove_stale_partials(out);
    PartialFile p;
    std::string tmpl = out.string() + ".partial-" + std::to_string(::getpid()) + "-XXXXXX";
    p.fd_ = ScopedFd(::mkostemp(tmpl.data(), O_CLOEXEC));  // mode 0600: process memory
    if (!p.fd_.is_open()) return Error::from_errno("creating " + tmpl);
    p.path_ = tmpl;
    return p;
  }
  PartialFile() = default;
  PartialFile(PartialFile&& o) noexcept
      : fd_(std::move(o.fd_)), path_(std::exchange(o.path_, {})) {}
  PartialFile& operator=(PartialFile&&) = delete;
  ~PartialFile() {
    if (!path_.empty()) ::unlink(path_.c_str());
  }
  int fd() const { return fd_.get(); }

  // fsync, then the rename that makes it `out`, then fsync of the directory.
  Result<uint64_t> commit(const fs::path& out, Overwrite overwrite) {
    struct stat st {};
    if (::fsync(fd_.get()) != 0 || ::fstat(fd_.get(), &st) != 0)
      return Error::from_errno("writing " + path_);
    fd_.reset();
    const unsigned flags = overwrite == Overwrite::Refuse ? RENAME_NOREPLACE : 0;
    if (::renameat2(AT_FDCWD, path_.c_str(), AT_FDCWD, out.c_str(), flags) != 0)
      return Error::from_errno(errno == EEXIST ? out.string() + " appeared meanwhile; not replaced"
                                               : "renaming " + path_ + " to " + out.string());
    path_.clear();
    REWIND_TRY(fsync_path(out.parent_path().empty() ? "." : out.parent_path().string()));
    return static_cast<uint64_t>(st.st_size);
  }

 private:
  ScopedFd fd_;
  std::string path_;
};

Result<ArchiveWriter> open_writer(int fd, const BundleOptions& options, const std::string& what) {
  ArchiveWriter a(archive_write_new());
  if (!a) return Error{"archive_write_new failed"};
  const int threads =
      options.threads > 0 ? options.threads : static_cast<int>(::sysconf(_SC_NPROCESSORS_ONLN));
  const std::string zstd_opts = "zstd:compression-level=" + std::to_string(options.level) +
                                ",zstd:threads=" + std::to_string(std::max(threads, 1));
  // pax: names of any length (files/<basename>-<64 hex> can exceed ustar's
  // 100 bytes); "restricted" adds a pax header only where ustar falls short.
  if (archive_write_add_filter_zstd(a.get()) != ARCHIVE_OK ||
      archive_write_set_format_pax_restricted(a.get()) != ARCHIVE_OK ||
      archive_write_set_options(a.get(), zstd_opts.c_str()) != ARCHIVE_OK ||
      archive_write_set_bytes_in_last_block(a.get(), 1) != ARCHIVE_OK ||
      archive_write_open_fd(a.get(), fd) != ARCHIVE_OK)
    return archive_error(a.get(), what);
  return a;
}

Result<void> write_header(archive* a, const std::string& name, bool dir, uint64_t size,
                          bool executable, const std::string& what) {
  Entry e(archive_entry_new());
  archive_entry_set_pathname(e.get(), name.c_str());
  archive_entry_set_filetype(e.get(), dir ? AE_IFDIR : AE_IFREG);
  archive_entry_set_perm(e.get(), dir || executable ? 0700 : 0600);
  archive_entry_set_size(e.get(), static_cast<la_int64_t>(size));
  archive_entry_set_mtime(e.get(), ::time(nullptr), 0);
  if (archive_write_header(a, e.get()) != ARCHIVE_OK) return archive_error(a, what);
  return ok_result();
}

Result<void> write_data(archive* a, const void* p, size_t n, const std::string& what) {
  const la_ssize_t w = archive_write_data(a, p, n);
  if (w < 0 || static_cast<size_t>(w) != n) return archive_error(a, what);
  return ok_result();
}

// Copies one file of the trace into the archive; `done` counts its bytes.
Result<void> write_file(archive* a, const fs::path& src, const Member& m, const std::string& what,
                        const std::function<void(uint64_t)>& advanced) {
  auto fd = open_regular_file(src.string());
  if (!fd) return fd.error();
  REWIND_TRY(
      write_header(a, std::string(kTraceRoot) + "/" + m.name, false, m.size, m.executable, what));
  std::vector<char> buf(kChunk);
  uint64_t left = m.size;
  while (left > 0) {
    const ssize_t n = ::read(fd->get(), buf.data(), std::min<uint64_t>(left, buf.size()));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Error::from_errno("reading " + src.string());
    // The trace is locked against rewind's writers; anything else that
    // changes it under us makes the tar header's size a lie.
    if (n == 0) return Error{src.string() + " shrank while it was being bundled"};
    REWIND_TRY(write_data(a, buf.data(), static_cast<size_t>(n), what));
    left -= static_cast<uint64_t>(n);
    advanced(static_cast<uint64_t>(n));
  }
  return ok_result();
}

Result<trace::TraceHeader> finished_trace_header(const fs::path& dir) {
  auto reader = trace::TraceReader::open(dir, trace::IncompleteTraces::Refuse);
  if (!reader) return reader.error();
  return (*reader)->header();
}

Result<void> check_out_path(const fs::path& trace_dir, const fs::path& out, Overwrite overwrite) {
  struct stat st {};
  if (::stat(out.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) return Error{out.string() + " is a directory"};
    if (overwrite == Overwrite::Refuse) return Error{out.string() + " already exists"};
  }
  std::error_code ec;
  const fs::path parent = fs::weakly_canonical(fs::absolute(out).parent_path(), ec);
  const fs::path trace = fs::weakly_canonical(fs::absolute(trace_dir), ec);
  const auto rel = parent.lexically_relative(trace);
  if (!ec && !rel.empty() && *rel.begin() != "..")
    return Error{out.string() + " is inside the trace it would hold"};
  return ok_result();
}

}  // namespace

Result<BundleStats> bundle_trace(const fs::path& trace_dir, const fs::path& out,
                                 const BundleOptions& options) {
  auto header = finished_trace_header(trace_dir);
  if (!header) return header.error();
  REWIND_TRY(check_out_path(trace_dir, out, options.overwrite));
  auto report = [&](const char* phase, uint64_t done, uint64_t total) {
    if (options.progress) options.progress(BundleProgress{phase, done, total});
  };

  // Self-contained first: a fresh trace's files/ are hard links to the
  // system's files, and a bundle must not need them.
  PackOptions pack;
  pack.progress = [&](const PackProgress& p) { report(p.phase, p.done_bytes, p.total_bytes); };
  auto packed = pack_trace(trace_dir, pack);
  if (!packed) return packed.error().context("packing " + trace_dir.string());

  // Held while reading, so that no checkpoint is saved or removed under us.
  auto lock = trace::lock_trace_for_writing(trace_dir);
  if (!lock) return lock.error();
  auto members = list_trace(trace_dir);
  if (!members) return members.error();
  BundleStats stats;
  stats.trace_bytes_before = packed->bytes_before;
  stats.files = members->size() + 1;  // with trace/ itself
  for (const Member& m : *members) stats.trace_bytes += m.size;

  auto partial = PartialFile::create(out);
  if (!partial) return partial.error();
  const std::string what = "writing " + out.string();
  auto writer = open_writer(partial->fd(), options, what);
  if (!writer) return writer.error();
  archive* a = writer->get();

  const std::string manifest =
      encode_manifest({kBundleFormatVersion, hex(header->uuid.data(), header->uuid.size()),
                       stats.files, stats.trace_bytes});
  REWIND_TRY(write_header(a, kManifestName, false, manifest.size(), false, what));
  REWIND_TRY(write_data(a, manifest.data(), manifest.size(), what));
  REWIND_TRY(write_header(a, kTraceRoot, true, 0, false, what));
  uint64_t done = 0;
  report("compressing", 0, stats.trace_bytes);
  for (const Member& m : *members) {
    if (m.dir) {
      REWIND_TRY(write_header(a, std::string(kTraceRoot) + "/" + m.name, true, 0, false, what));
      continue;
    }
    REWIND_TRY(write_file(a, trace_dir / m.name, m, what, [&](uint64_t n) {
      done += n;
      report("compressing", done, stats.trace_bytes);
    }));
  }
  if (archive_write_close(a) != ARCHIVE_OK) return archive_error(a, what);
  auto size = partial->commit(out, options.overwrite);
  if (!size) return size.error();
  stats.bundle_bytes = *size;
  return stats;
}

// --- Reading -----------------------------------------------------------------

namespace {

// The bundle file, read once to name its cache entry and once to unpack
// it, hashing both times: a bundle that changes between the two is caught
// rather than cached under the other content's name.
class BundleSource {
 public:
  static Result<BundleSource> open(const fs::path& path) {
    BundleSource s;
    s.path_ = path.string();
    // O_NONBLOCK: a FIFO named as a bundle must not block the open.
    s.fd_ = ScopedFd(::open(s.path_.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK));
    if (!s.fd_.is_open()) return Error::from_errno("bundle " + s.path_);
    struct stat st {};
    if (::fstat(s.fd_.get(), &st) != 0) return Error::from_errno("bundle " + s.path_);
    if (!S_ISREG(st.st_mode))
      return Error{"bundle " + s.path_ + " is " + file_kind(st.st_mode) + ", not a file"};
    s.size_ = static_cast<uint64_t>(st.st_size);
    return s;
  }

  uint64_t size() const { return size_; }
  const std::string& path() const { return path_; }

  // Starts a pass from the beginning of the file.
  Result<void> rewind() {
    if (::lseek(fd_.get(), 0, SEEK_SET) != 0) return Error::from_errno("bundle " + path_);
    blake2b_init(&hash_, 32);
    return ok_result();
  }
  // The next bytes (none at the end), hashed.
  Result<std::string_view> read() {
    buf_.resize(kChunk);
    for (;;) {
      const ssize_t n = ::read(fd_.get(), buf_.data(), buf_.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return Error::from_errno("reading bundle " + path_);
      blake2b_update(&hash_, reinterpret_cast<const uint8_t*>(buf_.data()), size_t(n));
      return std::string_view(buf_.data(), size_t(n));
    }
  }
  // Reads the rest of the pass and returns the hash of the whole file.
  Result<std::string> finish() {
    for (;;) {
      auto chunk = read();
      if (!chunk) return chunk.error();
      if (chunk->empty()) break;
    }
    uint8_t out[32];
    blake2b_final(&hash_, out, sizeof out);
    return hex(out, 16);  // 128 bits name a cache entry well enough
  }

  // libarchive's read callback over read().
  static la_ssize_t on_read(archive* a, void* self, const void** out) {
    auto* s = static_cast<BundleSource*>(self);
    auto chunk = s->read();
    if (!chunk) {
      archive_set_error(a, chunk.error().errnum, "%s", chunk.error().message.c_str());
      return -1;
    }
    *out = chunk->data();
    return static_cast<la_ssize_t>(chunk->size());
  }

 private:
  ScopedFd fd_;
  std::string path_;
  uint64_t size_ = 0;
  std::vector<char> buf_;
  blake2b_state hash_{};
};

// --- The cache ---------------------------------------------------------------

// mkdir -p, 0700 for what it creates.
Result<void> make_private_dirs(const fs::path& dir) {
  const std::string s = dir.string();
  for (size_t at = 1; at <= s.size(); ++at) {
    if (at != s.size() && s[at] != '/') continue;
    if (::mkdir(s.substr(0, at).c_str(), 0700) != 0 && errno != EEXIST)
      return Error::from_errno("creating " + s.substr(0, at));
  }
  return ok_result();
}

// REWIND_CACHE_DIR=-: one scratch directory for this process, removed at
// exit by the process that made it (not by a forked child that exits).
// Process-wide because every TRACE argument may name a bundle and the
// unpacked trace must outlive the call; created only on that path.
ScratchDir* g_scratch_cache = nullptr;
pid_t g_scratch_owner = 0;

void remove_scratch_cache() {
  if (g_scratch_cache && ::getpid() == g_scratch_owner) delete g_scratch_cache;
}

Result<fs::path> cache_dir() {
  if (const char* d = std::getenv("REWIND_CACHE_DIR"); d && *d) {
    if (std::string_view(d) != "-") return fs::path(d);
    if (!g_scratch_cache) {
      auto s = ScratchDir::create("rewind-bundles");
      if (!s) return s.error();
      g_scratch_cache = new ScratchDir(std::move(*s));
      g_scratch_owner = ::getpid();
      std::atexit(remove_scratch_cache);
    }
    return g_scratch_cache->path();
  }
  if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x == '/') return fs::path(x) / "rewind";
  const char* home = std::getenv("HOME");
  if (!home || !*home) {
    const passwd* pw = ::getpwuid(::getuid());
    if (!pw) return Error{"no cache directory: set REWIND_CACHE_DIR or HOME"};
    home = pw->pw_dir;
  }
  return fs::path(home) / ".cache" / "rewind";
}

// <cache>/bundles, made if need be, and only if no one else can write to
// it: a cache entry is trusted once it is there.
Result<fs::path> bundles_dir() {
  auto cache = cache_dir();
  if (!cache) return cache.error();
  const fs::path dir = *cache / "bundles";
  REWIND_TRY(make_private_dirs(dir));
  struct stat st {};
  if (::lstat(dir.c_str(), &st) != 0) return Error::from_errno(dir.string());
  if (!S_ISDIR(st.st_mode)) return Error{dir.string() + " is not a directory"};
  if (st.st_uid != ::geteuid() || (st.st_mode & (S_IWGRP | S_IWOTH)))
    return Error{"bundle cache " + dir.string() +
                 " is writable by other users; make it yours and mode 0700, or set "
                 "REWIND_CACHE_DIR"};
  return dir;
}

// An entry renamed into place is complete: it was checked before.
bool cached_entry_ok(const fs::path& entry) {
  struct stat st {};
  return ::lstat(entry.c_str(), &st) == 0 && S_ISDIR(st.st_mode) && st.st_uid == ::geteuid() &&
         ::lstat((entry / kTraceRoot).c_str(), &st) == 0 && S_ISDIR(st.st_mode) &&
         ::lstat((entry / kManifestName).c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

// --- Checking members ----------------------------------------------------------

// "trace" or "trace/a/b": relative, made of plain components, under trace/.
// libarchive's own checks (ARCHIVE_EXTRACT_SECURE_*) stand behind this one.
Result<void> check_member_name(const std::string& name) {
  if (name.empty()) return Error{"a member has an empty name"};
  if (name.size() > 4096) return Error{"a member's name is longer than 4096 bytes"};
  if (name[0] == '/') return Error{"member " + shown(name) + " has an absolute path"};
  size_t start = 0;
  bool first = true;
  while (start <= name.size()) {
    const size_t slash = std::min(name.find('/', start), name.size());
    const std::string_view part(name.data() + start, slash - start);
    if (part == "..") return Error{"member " + shown(name) + " has a '..' component"};
    if (part.empty() || part == ".")
      return Error{"member " + shown(name) + " has an empty or '.' component"};
    if (first && part != kTraceRoot)
      return Error{"member " + shown(name) + " is outside " + kTraceRoot + "/"};
    first = false;
    start = slash + 1;
  }
  return ok_result();
}

const char* entry_kind(mode_t type) {
  switch (type) {
    case AE_IFLNK:
      return "a symbolic link";
    case AE_IFCHR:
      return "a character device";
    case AE_IFBLK:
      return "a block device";
    case AE_IFIFO:
      return "a FIFO";
    case AE_IFSOCK:
      return "a socket";
    default:
      return "of an unknown type";
  }
}

// What the members so far add up to, against what the manifest declared.
struct Budget {
  Manifest manifest;
  uint64_t files = 0, bytes = 0;
  std::set<std::string> dirs;  // directories unpacked so far
};

// Strips a directory's trailing '/', then checks name, type, parent, size.
Result<std::string> check_member(archive_entry* e, Budget& budget) {
  const char* raw = archive_entry_pathname(e);
  std::string name = raw ? raw : "";
  const mode_t type = archive_entry_filetype(e);
  if (type == AE_IFDIR)
    while (name.size() > 1 && name.back() == '/') name.pop_back();
  REWIND_TRY(check_member_name(name));
  if (const char* to = archive_entry_hardlink(e))
    return Error{"member " + shown(name) + " is a hard link (to " + shown(to) +
                 "): a bundle holds only files and directories"};
  if (type != AE_IFREG && type != AE_IFDIR) {
    const char* to = archive_entry_symlink(e);
    return Error{"member " + shown(name) + " is " + entry_kind(type) +
                 (to ? std::string(" (to ") + shown(to) + ")" : "") +
                 ": a bundle holds only files and directories"};
  }
  const size_t slash = name.rfind('/');
  if (slash != std::string::npos && !budget.dirs.count(name.substr(0, slash)))
    return Error{"member " + shown(name) + " comes before its directory"};
  if (++budget.files > budget.manifest.files)
    return Error{"it has more members than the " + std::to_string(budget.manifest.files) +
                 " its manifest declares"};
  if (type == AE_IFREG) {
    const la_int64_t size = archive_entry_size(e);
    if (!archive_entry_size_is_set(e) || size < 0 ||
        static_cast<uint64_t>(size) > budget.manifest.bytes - budget.bytes)
      return Error{"member " + shown(name) + " is larger than its manifest allows (" +
                   std::to_string(budget.manifest.bytes) + " bytes in all)"};
  } else {
    budget.dirs.insert(name);
  }
  return name;
}

Result<void> check_free_space(const fs::path& dir, const Manifest& m, const std::string& bundle) {
  struct statvfs vfs {};
  if (::statvfs(dir.c_str(), &vfs) != 0) return Error::from_errno("statvfs " + dir.string());
  const uint64_t avail = uint64_t{vfs.f_bavail} * vfs.f_frsize;
  const uint64_t need = m.bytes + m.files * 4096;  // a block per inode, roughly
  if (need > avail)
    return Error{"unpacking " + bundle + " needs " + mib(need) + " in " + dir.string() +
                 ", which has " + mib(avail) + " free; set REWIND_CACHE_DIR to a roomier place"};
  return ok_result();
}

// --- Unpacking -----------------------------------------------------------------

Result<ArchiveReader> open_reader(BundleSource& src) {
  ArchiveReader a(archive_read_new());
  if (!a) return Error{"archive_read_new failed"};
  // Only what a bundle is: tar, compressed with zstd or not at all.
  if (archive_read_support_filter_zstd(a.get()) != ARCHIVE_OK ||
      archive_read_support_format_tar(a.get()) != ARCHIVE_OK ||
      archive_read_open(a.get(), &src, nullptr, BundleSource::on_read, nullptr) != ARCHIVE_OK)
    return archive_error(a.get(), "it is not a rewind bundle (a tar.zst)");
  return a;
}

Result<Manifest> read_manifest(archive* a, const fs::path& root) {
  archive_entry* e = nullptr;
  const int r = archive_read_next_header(a, &e);
  if (r == ARCHIVE_EOF) return Error{"it is an empty archive, not a rewind bundle"};
  if (r != ARCHIVE_OK) return archive_error(a, "it is not a rewind bundle (a tar.zst)");
  const char* name = archive_entry_pathname(e);
  if (!name || std::string_view(name) != kManifestName || archive_entry_filetype(e) != AE_IFREG)
    return Error{"it is not a rewind bundle: its first member is " + shown(name ? name : "") +
                 ", not " + kManifestName};
  if (archive_entry_size(e) < 0 || archive_entry_size(e) > la_int64_t{kManifestMax})
    return Error{"its manifest is larger than " + std::to_string(kManifestMax) + " bytes"};
  std::string text(static_cast<size_t>(archive_entry_size(e)), '\0');
  const la_ssize_t n = archive_read_data(a, text.data(), text.size());
  if (n < 0 || static_cast<size_t>(n) != text.size())
    return archive_error(a, "reading its manifest");
  auto m = parse_manifest(text);
  if (!m) return m.error();
  // Kept beside trace/, so that the cache entry says where it came from.
  auto fd = ScopedFd(::open((root / kManifestName).c_str(),
                            O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!fd.is_open()) return Error::from_errno("creating " + (root / kManifestName).string());
  REWIND_TRY(write_all(fd.get(), text.data(), text.size(), (root / kManifestName).string()));
  return m;
}

// Copies one checked member's data; `budget` counts its bytes.
Result<void> copy_member(archive* in, archive* disk, Budget& budget) {
  std::vector<char> buf(kChunk);
  for (;;) {
    const la_ssize_t n = archive_read_data(in, buf.data(), buf.size());
    if (n < 0) return archive_error(in, "it is damaged");
    if (n == 0) return ok_result();
    budget.bytes += static_cast<uint64_t>(n);
    if (budget.bytes > budget.manifest.bytes)
      return Error{"its members hold more than the " + std::to_string(budget.manifest.bytes) +
                   " bytes its manifest declares"};
    if (archive_write_data(disk, buf.data(), size_t(n)) != n)
      return archive_error(disk, "unpacking it");
  }
}

Result<void> unpack_members(archive* in, const fs::path& root, Budget& budget) {
  ArchiveWriter disk(archive_write_disk_new());
  if (!disk) return Error{"archive_write_disk_new failed"};
  // No owners, times, ACLs, xattrs or flags from the archive; the names are
  // checked above, and libarchive refuses '..' and paths through symlinks
  // again. (ARCHIVE_EXTRACT_SECURE_NOABSOLUTEPATHS cannot be asked for:
  // each name is made absolute under `root`, which is canonical, after
  // check_member_name refused absolute names.)
  archive_write_disk_set_options(disk.get(), ARCHIVE_EXTRACT_SECURE_NODOTDOT |
                                                 ARCHIVE_EXTRACT_SECURE_SYMLINKS |
                                                 ARCHIVE_EXTRACT_NO_OVERWRITE);
  for (;;) {
    archive_entry* e = nullptr;
    const int r = archive_read_next_header(in, &e);
    if (r == ARCHIVE_EOF) break;
    if (r != ARCHIVE_OK) return archive_error(in, "it is damaged");
    auto name = check_member(e, budget);
    if (!name) return name.error();
    const bool dir = archive_entry_filetype(e) == AE_IFDIR;
    const bool exec = (archive_entry_perm(e) & S_IXUSR) != 0;
    archive_entry_set_pathname(e, (root / *name).c_str());
    archive_entry_set_perm(e, dir || exec ? 0700 : 0600);
    if (archive_write_header(disk.get(), e) != ARCHIVE_OK)
      return archive_error(disk.get(), "unpacking member " + shown(*name));
    if (!dir) REWIND_TRY(copy_member(in, disk.get(), budget));
    if (archive_write_finish_entry(disk.get()) != ARCHIVE_OK)
      return archive_error(disk.get(), "unpacking member " + shown(*name));
  }
  if (archive_write_close(disk.get()) != ARCHIVE_OK)
    return archive_error(disk.get(), "unpacking it");
  if (!budget.dirs.count(kTraceRoot)) return Error{"it holds no trace/ directory"};
  if (budget.files != budget.manifest.files || budget.bytes != budget.manifest.bytes)
    return Error{"it is incomplete: " + std::to_string(budget.files) + " members and " +
                 std::to_string(budget.bytes) + " bytes, where its manifest declares " +
                 std::to_string(budget.manifest.files) + " and " +
                 std::to_string(budget.manifest.bytes)};
  return ok_result();
}

// Unpacks `src` into `root` (an empty private directory) and checks that it
// holds the trace its manifest names.
Result<void> unpack(BundleSource& src, const fs::path& root, const std::string& id) {
  REWIND_TRY(src.rewind());
  auto reader = open_reader(src);
  if (!reader) return reader.error();
  auto manifest = read_manifest(reader->get(), root);
  if (!manifest) return manifest.error();
  REWIND_TRY(check_free_space(root, *manifest, src.path()));
  Budget budget{*manifest, 0, 0, {}};
  REWIND_TRY(unpack_members(reader->get(), root, budget));
  auto hash = src.finish();
  if (!hash) return hash.error();
  if (*hash != id) return Error{"it changed while it was being unpacked"};
  auto header = finished_trace_header(root / kTraceRoot);
  if (!header) return header.error().context("its trace does not open");
  if (hex(header->uuid.data(), header->uuid.size()) != manifest->uuid)
    return Error{"its trace is not the one its manifest names (uuid " + manifest->uuid + ")"};
  return ok_result();
}

}  // namespace

bool is_bundle_path(const fs::path& path) {
  struct stat st {};
  return !path.empty() && ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

Result<fs::path> open_bundle(const fs::path& bundle) {
  auto src = BundleSource::open(bundle);
  if (!src) return src.error();
  const std::string what = "bundle " + bundle.string();
  REWIND_TRY(src->rewind());
  auto id = src->finish();
  if (!id) return id.error();
  auto dir = bundles_dir();
  if (!dir) return dir.error();
  const fs::path entry = *dir / *id;
  if (cached_entry_ok(entry)) return entry / kTraceRoot;
  // There but not whole: damaged since (a file of it removed by hand), as
  // entries appear only whole, by rename. Replaced by a fresh copy.
  std::error_code ec;
  if (struct stat st{}; ::lstat(entry.c_str(), &st) == 0) fs::remove_all(entry, ec);

  // A sibling of the entry, renamed into place when whole; one left by a
  // process that died is removed by the next ScratchDir::create here.
  auto scratch = ScratchDir::create(".unpack", *dir);
  if (!scratch) return scratch.error();
  // Canonical: ARCHIVE_EXTRACT_SECURE_SYMLINKS checks every component.
  const fs::path root = fs::canonical(scratch->path(), ec);
  if (ec) return Error{"resolving " + scratch->path().string() + ": " + ec.message()};
  std::fprintf(stderr, "rewind: unpacking %s (%s) into %s\n", bundle.c_str(),
               mib(src->size()).c_str(), entry.c_str());
  if (auto r = unpack(*src, root, *id); !r) return r.error().context(what);
  if (::rename(root.c_str(), entry.c_str()) != 0) {
    const int err = errno;
    // Another rewind unpacking the same bundle got there first: use its copy.
    if ((err == EEXIST || err == ENOTEMPTY) && cached_entry_ok(entry)) return entry / kTraceRoot;
    return Error::from_errno("renaming " + root.string() + " to " + entry.string(), err);
  }
  return entry / kTraceRoot;
}

}  // namespace rwd::api
