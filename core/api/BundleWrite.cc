// Writing a bundle from a trace (Bundle.h, docs/bundles.md).
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

namespace {

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

}  // namespace rwd::api
