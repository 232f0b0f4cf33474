#include "pack/Pack.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <map>
#include <set>
#include <vector>

#include "core/base/Fd.h"
#include "core/base/FileIo.h"
#include "core/base/Log.h"
#include "core/trace/CheckpointStore.h"
#include "core/trace/TraceReader.h"
#include "core/trace/TraceWriter.h"
#include "pack/CheckpointPages.h"
#include "pack/PackIo.h"

namespace rwd::pack {

namespace fs = std::filesystem;

namespace {

// The trace's size as `du --apparent-size -b` sees it: each inode once.
struct DirSize {
  uint64_t bytes = 0;
  uint64_t files_in_files_dir = 0;
};
DirSize measure(const fs::path& dir) {
  DirSize out;
  std::set<InodeKey> seen;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    struct stat st {};
    if (::lstat(it->path().c_str(), &st) != 0) continue;
    if (S_ISREG(st.st_mode) && it->path().parent_path().filename() == "files")
      ++out.files_in_files_dir;
    if (seen.insert(key_of(st)).second) out.bytes += static_cast<uint64_t>(st.st_size);
  }
  return out;
}

// "libc.so.6" from "/usr/lib/x86_64-linux-gnu/libc.so.6", reduced to
// characters any filesystem and shell take as they are.
std::string readable_base(const std::string& orig_path) {
  std::string base = fs::path(orig_path).filename().string();
  std::string out;
  for (char c : base) {
    const bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                       c == '.' || c == '_' || c == '+' || c == '-';
    out += plain ? c : '_';
  }
  if (out.size() > 80) out.resize(80);
  if (out.empty() || out[0] == '.') out = "file" + out;
  return out;
}

// One referenced name in files/ and the original path it stands for.
struct Ref {
  std::string name;
  std::string orig;
};

std::vector<Ref> referenced_files(const std::vector<trace::MappingRecord>& mappings,
                                  const std::vector<trace::TaskEvent>& tasks) {
  std::vector<Ref> refs;
  // Task events first: the executable's canonical name then comes from its
  // exec, not from whichever library mapping happens to share its content.
  for (const auto& t : tasks) {
    if (!t.exe_trace_file.empty()) refs.push_back({t.exe_trace_file, t.exe_path});
    if (!t.interp_trace_file.empty()) refs.push_back({t.interp_trace_file, t.interp_path});
  }
  for (const auto& m : mappings)
    if (!m.trace_file.empty()) refs.push_back({m.trace_file, m.orig_path});
  return refs;
}

// The files that the trace's checkpoints name and no record does. Pack
// renames the records first and the checkpoints' mappings after: a pack
// killed in between leaves checkpoints naming files that only they name,
// and packing again must rename those too before it removes the old names.
// A checkpoint that cannot be loaded is left out (it is left as it is
// later), and so is a name outside files/ or one that is gone.
std::vector<Ref> checkpoint_only_files(const fs::path& dir, const std::array<uint8_t, 16>& uuid,
                                       const std::vector<Ref>& refs) {
  std::set<std::string> named;
  for (const Ref& r : refs) named.insert(r.name);
  std::vector<Ref> out;
  auto cps = trace::CheckpointStore::open(dir, uuid);
  if (!cps) return out;  // reported when the checkpoints are saved again
  for (const trace::CheckpointInfo& info : (*cps)->list()) {
    auto data = (*cps)->load(info.events);
    if (!data) continue;
    for (const trace::CpProcess& p : data->processes) {
      for (const trace::CpMapping& m : p.mappings) {
        const fs::path rel(m.trace_file);
        if (m.trace_file.empty() || named.count(m.trace_file) || rel.parent_path() != "files" ||
            rel.filename() == ".." || rel.filename() == ".")
          continue;
        struct stat st {};
        if (::stat((dir / rel).c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
        named.insert(m.trace_file);
        out.push_back({m.trace_file, m.name});
      }
    }
  }
  return out;
}

// A recorded hard link shares its inode with the original file. If that
// file was rewritten in place after the recording, the trace's copy changed
// with it and nothing can bring the recorded content back.
Result<void> check_links_unchanged(const fs::path& dir,
                                   const std::vector<trace::MappingRecord>& mappings) {
  for (const auto& m : mappings) {
    if (m.storage != trace::FileStorage::Linked) continue;
    struct stat st {};
    const fs::path p = dir / m.trace_file;
    if (::stat(p.c_str(), &st) != 0) return Error::from_errno("stat " + p.string());
    const int64_t mtime = int64_t{st.st_mtim.tv_sec} * 1000000000 + st.st_mtim.tv_nsec;
    if (static_cast<uint64_t>(st.st_size) != m.size || mtime != m.mtime_ns)
      return Error{p.string() + " is a hard link to " + m.orig_path +
                   ", which was modified in place after the recording: the recorded content "
                   "is lost and the trace cannot be packed or replayed"};
  }
  return ok_result();
}

}  // namespace

Result<PackStats> pack_trace(const fs::path& trace_arg, const PackOptions& options) {
  std::error_code ec;
  fs::path dir = fs::absolute(trace_arg, ec).lexically_normal();
  if (ec) dir = trace_arg;
  if (dir.filename().empty()) dir = dir.parent_path();  // "trace/"
  const fs::path files = dir / "files";

  // One writer per trace at a time: a second pack, or a replay still
  // saving checkpoints (lock_trace_for_writing).
  auto locked = trace::lock_trace_for_writing(dir);
  if (!locked) return locked.error();
  ScopedFd dir_fd = std::move(*locked);
  // Checks that the trace is complete and names only files it has.
  auto reader = trace::TraceReader::open(dir);
  if (!reader) return reader.error();
  std::vector<trace::MappingRecord> mappings = (*reader)->mappings();
  std::vector<trace::TaskEvent> tasks = (*reader)->task_events();
  REWIND_TRY(check_links_unchanged(dir, mappings));

  struct stat dir_st {};
  if (::fstat(dir_fd.get(), &dir_st) != 0) return Error::from_errno("stat " + dir.string());
  std::optional<fs::path> store;
  if (options.pack_dir) {
    store = fs::absolute(*options.pack_dir, ec).lexically_normal();
    if (ec) store = *options.pack_dir;
    REWIND_TRY(make_dir(*store));
    struct stat st {};
    if (::stat(store->c_str(), &st) != 0)
      return Error::from_errno("pack directory " + store->string());
    if (!S_ISDIR(st.st_mode))
      return Error{"pack directory " + store->string() + " is not a directory"};
    if (st.st_dev != dir_st.st_dev)
      return Error{"pack directory " + store->string() + " is on another filesystem than trace " +
                   dir.string() + ": the trace hard-links the files it keeps there"};
  }

  PackStats stats;
  const DirSize before = measure(dir);
  stats.bytes_before = before.bytes;
  stats.files_before = before.files_in_files_dir;

  // How many names each inode has inside files/. An inode with no names
  // elsewhere (st_nlink equal to this count) is the trace's own and can be
  // hard-linked under its new name instead of copied.
  std::map<InodeKey, nlink_t> names_in_trace;
  for (auto it = fs::directory_iterator(files, ec); !ec && it != fs::end(it); it.increment(ec)) {
    struct stat st {};
    if (::lstat(it->path().c_str(), &st) == 0 && S_ISREG(st.st_mode)) ++names_in_trace[key_of(st)];
  }
  if (ec) return Error{"reading " + files.string() + ": " + ec.message()};

  // Each referenced name, stat'ed once, then each inode hashed once.
  std::vector<Ref> refs = referenced_files(mappings, tasks);
  for (Ref& r : checkpoint_only_files(dir, (*reader)->header().uuid, refs))
    refs.push_back(std::move(r));
  struct Named {
    Digest digest{};
    struct stat st {};
    bool trace_owned = false;  // a regular file with no name outside files/
  };
  std::map<std::string, Named> by_name;
  Meter hashing{options, {"hashing", 0, 0}};
  std::map<InodeKey, std::optional<Digest>> by_inode;
  for (const Ref& r : refs) {
    if (by_name.count(r.name)) continue;
    const fs::path p = dir / r.name;
    Named n;
    struct stat lst {};
    if (::stat(p.c_str(), &n.st) != 0 || ::lstat(p.c_str(), &lst) != 0)
      return Error::from_errno("stat " + p.string());
    if (!S_ISREG(n.st.st_mode)) return Error{p.string() + " is not a regular file"};
    n.trace_owned = S_ISREG(lst.st_mode) && lst.st_nlink == names_in_trace[key_of(lst)];
    if (by_inode.emplace(key_of(n.st), std::nullopt).second) hashing.p.total_bytes += n.st.st_size;
    by_name[r.name] = n;
  }
  for (auto& [name, n] : by_name) {
    std::optional<Digest>& d = by_inode[key_of(n.st)];
    if (!d) {
      auto h = hash_file(dir / name, &hashing);
      if (!h) return h.error();
      d = *h;
    }
    n.digest = *d;
  }

  // One canonical name per content, from the first record that names it.
  std::map<Digest, std::string> canonical;
  for (const Ref& r : refs) {
    const Digest& d = by_name[r.name].digest;
    if (!canonical.count(d)) canonical[d] = "files/" + readable_base(r.orig) + "-" + hex(d);
  }
  stats.distinct_contents = canonical.size();

  // Create each canonical file that is missing.
  Meter copying{options, {"copying", 0, 0}};
  bool created = false;
  std::set<fs::path> store_dirs_touched;
  for (const auto& [digest, name] : canonical) {
    const fs::path dest = dir / name;
    // A source with this content, preferably one only the trace holds.
    const Named* source = nullptr;
    fs::path src;
    for (const auto& [n, named] : by_name) {
      if (named.digest != digest || (source && (source->trace_owned || !named.trace_owned)))
        continue;
      source = &named;
      src = dir / n;
    }
    const bool trace_owned = source->trace_owned;
    const struct stat& src_st = source->st;
    struct stat dest_st {};
    const bool have_dest = ::lstat(dest.c_str(), &dest_st) == 0 && S_ISREG(dest_st.st_mode);

    if (store) {
      const std::string h = hex(digest);
      const fs::path sub = *store / h.substr(0, 2);
      const fs::path stored = sub / h;
      struct stat st {};
      if (::lstat(stored.c_str(), &st) != 0) {
        REWIND_TRY(make_dir(sub));
        remove_stale_temporaries(sub);
        if (trace_owned) {
          REWIND_TRY(link_atomically(src, stored));
        } else {
          REWIND_TRY(copy_atomically(src, stored));
          ++stats.copied_files;
          stats.copied_bytes += src_st.st_size;
          copying.add(src_st.st_size);
        }
        store_dirs_touched.insert(sub);
        ++stats.store_files_added;
        if (::lstat(stored.c_str(), &st) != 0) return Error::from_errno("stat " + stored.string());
      }
      if (!S_ISREG(st.st_mode) || st.st_size != src_st.st_size)
        return Error{"pack directory file " + stored.string() +
                     " is damaged (not the size of its content); remove it and pack again"};
      if (have_dest && key_of(dest_st) == key_of(st)) continue;
      REWIND_TRY(link_atomically(stored, dest));
    } else {
      if (have_dest) continue;
      if (trace_owned) {
        REWIND_TRY(link_atomically(src, dest));
      } else {
        REWIND_TRY(copy_atomically(src, dest));
        ++stats.copied_files;
        stats.copied_bytes += src_st.st_size;
        copying.add(src_st.st_size);
      }
    }
    created = true;
  }
  // The new names must be durable before any record names them.
  for (const fs::path& sub : store_dirs_touched) REWIND_TRY(fsync_path(sub));
  if (!store_dirs_touched.empty()) REWIND_TRY(fsync_path(*store));
  if (created) REWIND_TRY(fsync_path(files));

  // Point the records at the canonical names.
  bool records_changed = false;
  auto rename_ref = [&](std::string& name) {
    if (name.empty()) return;
    const std::string& c = canonical[by_name[name].digest];
    if (c != name) {
      name = c;
      records_changed = true;
    }
  };
  for (auto& m : mappings) {
    rename_ref(m.trace_file);
    if (!m.trace_file.empty() && m.storage != trace::FileStorage::Copied) {
      m.storage = trace::FileStorage::Copied;
      records_changed = true;
    }
  }
  for (auto& t : tasks) {
    rename_ref(t.exe_trace_file);
    rename_ref(t.interp_trace_file);
  }
  if (records_changed) REWIND_TRY(trace::replace_records(dir, mappings, tasks));

  // Persistent checkpoints name the files their mappings come from: they
  // are saved again naming the canonical ones (their pages stay as they
  // are), before the old names go.
  {
    auto cps = trace::CheckpointStore::open(dir, (*reader)->header().uuid);
    if (!cps) return cps.error();
    for (const trace::CheckpointInfo& info : (*cps)->list()) {
      auto data = (*cps)->load(info.events);
      if (!data) {
        // Left as it is: replay refuses it the same way.
        warn("the checkpoint at event %llu cannot be read (%s); it is left as it is",
             (unsigned long long)info.events, data.error().message.c_str());
        continue;
      }
      bool renamed = false;
      for (trace::CpProcess& p : data->processes)
        for (trace::CpMapping& m : p.mappings) {
          if (m.trace_file.empty() || !by_name.count(m.trace_file)) continue;
          const std::string& c = canonical[by_name[m.trace_file].digest];
          if (c != m.trace_file) m.trace_file = c, renamed = true;
        }
      if (!renamed) continue;
      auto w = (*cps)->begin();
      if (!w) return w.error();
      auto done = (*w)->commit(std::move(*data));
      if (!done) return done.error().context("rewriting a checkpoint");
      records_changed = true;
    }
  }

  // With a pack directory, the checkpoints' pages move to its shared page
  // store, once the checkpoints name the canonical files.
  bool pages_changed = false;
  if (store) {
    auto shared = share_checkpoint_pages(dir, (*reader)->header().uuid, *store);
    if (!shared) return shared.error();
    stats.checkpoint_pages_in_store = shared->pages_in_store;
    stats.checkpoint_pages_added = shared->pages_added;
    pages_changed = shared->changed;
  }

  // Remove what no record names any more, and temporaries of killed packs.
  std::set<std::string> keep;
  for (const auto& [d, name] : canonical) keep.insert(fs::path(name).filename().string());
  std::vector<fs::path> garbage;
  for (auto it = fs::directory_iterator(files, ec); !ec && it != fs::end(it); it.increment(ec)) {
    struct stat st {};
    if (keep.count(it->path().filename().string()) || ::lstat(it->path().c_str(), &st) != 0 ||
        S_ISDIR(st.st_mode))
      continue;
    garbage.push_back(it->path());
  }
  if (ec) return Error{"reading " + files.string() + ": " + ec.message()};
  for (const fs::path& p : garbage)
    if (::unlink(p.c_str()) != 0) return Error::from_errno("removing " + p.string());
  const bool removed = !garbage.empty();
  if (removed) REWIND_TRY(fsync_path(files));

  const DirSize after = measure(dir);
  stats.bytes_after = after.bytes;
  stats.files_after = after.files_in_files_dir;
  stats.changed = created || records_changed || pages_changed || removed;
  REWIND_LOG(Trace, "packed %s: %llu -> %llu bytes", dir.c_str(),
             (unsigned long long)stats.bytes_before, (unsigned long long)stats.bytes_after);
  return stats;
}

}  // namespace rwd::pack
