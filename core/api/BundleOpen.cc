// Opening a bundle: unpacking it into the cache with every member checked
// (Bundle.h, docs/bundles.md).
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
#include "core/api/internal/BundleFormat.h"
#include "core/base/Fd.h"
#include "core/base/FileIo.h"
#include "core/base/ScratchDir.h"
#include "core/trace/CheckpointStore.h"
#include "core/trace/TraceReader.h"

namespace rwd::api {

using namespace bundle;
namespace fs = std::filesystem;

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
    return Error{"unpacking " + bundle + " needs " + human_bytes(need) + " in " + dir.string() +
                 ", which has " + human_bytes(avail) +
                 " free; set REWIND_CACHE_DIR to a roomier place"};
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
               human_bytes(src->size()).c_str(), entry.c_str());
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
