// Sharing checkpoint pages across traces (CheckpointPages.h).
#include "pack/CheckpointPages.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <system_error>
#include <vector>

#include "core/base/Fd.h"
#include "core/base/FileIo.h"
#include "core/base/Log.h"
#include "core/trace/CheckpointFiles.h"
#include "core/trace/CheckpointStore.h"
#include "core/trace/PackFile.h"
#include "pack/PackIo.h"

namespace rwd::pack {

namespace fs = std::filesystem;
using trace::ContentHash;
using trace::PageHash;

namespace {

constexpr const char* kStoreDir = "checkpoint-pages";

// The most pages in one store pack: one block. A trace links whole store
// packs, so a store pack that also holds pages of other traces brings them
// along (disk space when the trace is moved alone, and memory of other
// recordings); the smaller the packs, the fewer such pages. Two recordings
// of one program share pages scattered through their memory: on
// tests/programs/checkpoint_mix, packs of one block carry about half as
// many foreign pages as packs of 16 blocks.
constexpr size_t kStorePackPages = trace::kPagesPerBlock;

// One checkpoint pack file, in the store or in the trace.
struct PackEntry {
  std::string name;
  std::optional<ContentHash> content;  // set: pages-h<hex>.pack, a store pack or a link to one
  fs::path path;
  InodeKey inode{};
};

// A pack of the store, with the pages its index lists.
struct StorePack {
  PackEntry file;
  trace::PackIndex index;
  bool bytes_checked = false;  // its bytes hashed to its name during this pack
};

// The checkpoint pack files in `dir` (regular files only: a trace must not
// lead outside itself through a symbolic link), by name.
Result<std::vector<PackEntry>> pack_files_in(const fs::path& dir) {
  std::vector<PackEntry> out;
  std::error_code ec;
  for (auto it = fs::directory_iterator(dir, ec); !ec && it != fs::end(it); it.increment(ec)) {
    auto id = trace::parse_pack_file_name(it->path().filename().string());
    struct stat st {};
    if (!id || ::lstat(it->path().c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
    out.push_back({it->path().filename().string(), id->content, it->path(), key_of(st)});
  }
  if (ec) return Error{"reading " + dir.string() + ": " + ec.message()};
  std::sort(out.begin(), out.end(),
            [](const PackEntry& a, const PackEntry& b) { return a.name < b.name; });
  return out;
}

Error damaged(const std::string& what, const Error& why) {
  return Error{"damaged " + what + ": " + why.message + "; remove it and pack again"};
}

// Checks a shared pack: its header (the shared uuid), trailer and index
// against its size, and with `whole` also that its bytes hash to its name,
// which reads it all. Only a pack that passed the whole check is linked.
Result<trace::PackIndex> check_shared_pack(const PackEntry& f, bool whole,
                                           const std::string& what) {
  auto fd = open_regular_file(f.path.string());
  if (!fd) return fd.error();
  auto index = trace::read_pack_index(fd->get(), f.path.string(), trace::kSharedPackUuid);
  if (!index) return damaged(what, index.error());
  if (whole) {
    auto digest = hash_file(f.path, nullptr);
    if (!digest) return digest.error();
    if (*digest != *f.content)
      return damaged(what, Error{"checkpoint pack " + f.path.string() +
                                 ": its bytes do not hash to its name"});
  }
  return index;
}

// The pages the trace's checkpoints need, or none (with a warning) when a
// checkpoint cannot be loaded: its pages cannot all be moved, and which
// pages an unreadable one needs is unknown, so the trace keeps its packs.
std::optional<std::vector<PageHash>> needed_pages(const trace::CheckpointStore& cps,
                                                  const fs::path& trace) {
  for (const trace::CheckpointInfo& info : cps.list()) {
    auto data = cps.load(info.events);
    if (!data) {
      warn("%s; the checkpoint pages of %s stay in the trace, unshared",
           data.error().message.c_str(), trace.c_str());
      return std::nullopt;
    }
  }
  auto pages = cps.pages_in_use();
  if (!pages) {
    warn("%s; the checkpoint pages of %s stay in the trace, unshared",
         pages.error().message.c_str(), trace.c_str());
    return std::nullopt;
  }
  return *pages;
}

// A store pack that the trace links but the store lost (removed by hand)
// goes back into the store from the trace's link, checked, as a lost file
// of the pack directory does: the store then holds every pack a trace
// links, and its pages are not written again.
Result<bool> restore_from_trace(const std::vector<PackEntry>& trace_packs, const fs::path& store) {
  bool restored = false;
  for (const PackEntry& f : trace_packs) {
    if (!f.content) continue;
    const fs::path dest = store / f.name;
    struct stat st {};
    if (::lstat(dest.c_str(), &st) == 0) continue;
    if (errno != ENOENT) return Error::from_errno("stat " + dest.string());
    auto checked = check_shared_pack(f, true, "checkpoint pack of the trace");
    if (!checked) return checked.error();
    if (::link(f.path.c_str(), dest.c_str()) != 0 && errno != EEXIST)
      return Error::from_errno("linking " + f.path.string() + " to " + dest.string());
    restored = true;
  }
  if (restored) REWIND_TRY(fsync_path(store.string()));
  return restored;
}

// Every pack of the store, its index checked: a damaged one is an Error,
// since the pages it should hold would otherwise be taken for missing and
// the damage would go unnoticed.
Result<std::vector<StorePack>> index_store(const fs::path& store) {
  auto files = pack_files_in(store);
  if (!files) return files.error();
  std::vector<StorePack> packs;
  for (PackEntry& f : *files) {
    if (!f.content) continue;  // not a name the store gives
    auto index = check_shared_pack(f, false, "pack directory file");
    if (!index) return index.error();
    packs.push_back({std::move(f), std::move(*index), false});
  }
  return packs;
}

// Which store packs the trace needs, and the pages no store pack holds.
struct Plan {
  std::set<size_t> chosen;        // positions in the store's packs
  std::vector<PageHash> missing;  // in the order the trace needs them
};

// For each needed page, a store pack that holds it: preferably one the
// trace links already, so that packing again keeps the links it made,
// else the first by name.
Plan plan(const std::vector<StorePack>& store, const std::vector<PackEntry>& trace_packs,
          const std::vector<PageHash>& needed) {
  std::set<std::string> linked;
  for (const PackEntry& f : trace_packs)
    if (f.content) linked.insert(f.name);
  std::map<PageHash, size_t> where;
  for (bool linked_pass : {true, false}) {
    for (size_t i = 0; i < store.size(); ++i) {
      if (linked.count(store[i].file.name) != (linked_pass ? 1u : 0u)) continue;
      for (const trace::PackPage& pg : store[i].index.pages) where.try_emplace(pg.hash, i);
    }
  }
  Plan out;
  for (const PageHash& h : needed) {
    auto it = where.find(h);
    if (it == where.end())
      out.missing.push_back(h);
    else
      out.chosen.insert(it->second);
  }
  return out;
}

// Writes `pages`, read from the trace's own packs (read_page checks each
// against its hash), into one new store pack, and puts it in place under
// its content's name, fsynced and renamed; the caller fsyncs the store
// once for all the packs it adds.
Result<StorePack> write_store_pack(const trace::CheckpointStore& cps, const PageHash* pages,
                                   size_t n, const fs::path& store) {
  auto builder = trace::PackBuilder::create(store, trace::kSharedPackUuid);
  if (!builder) return builder.error();
  std::vector<uint8_t> page(trace::kPageSize);
  for (size_t i = 0; i < n; ++i) {
    REWIND_TRY(cps.read_page(pages[i], page.data()));
    REWIND_TRY(builder->add(pages[i], page.data()));
  }
  REWIND_TRY(builder->finish());
  auto digest = hash_file(builder->file().path(), nullptr);
  if (!digest) return digest.error();
  StorePack p;
  p.file.content = *digest;
  p.file.name = trace::pack_file_name(trace::PackId(*digest));
  p.file.path = store / p.file.name;
  p.index = builder->index();
  p.bytes_checked = true;
  auto done = builder->file().commit(p.file.path, trace::TempFile::Replace::No,
                                     trace::TempFile::SyncDir::No);
  if (!done) {
    if (done.error().errnum != EEXIST) return done.error();
    // A file of that name appeared since the store was indexed, which only
    // a hand can do (packs into one store take turns): it is checked
    // before it is linked.
    p.bytes_checked = false;
  }
  struct stat st {};
  if (::lstat(p.file.path.c_str(), &st) != 0)
    return Error::from_errno("stat " + p.file.path.string());
  p.file.inode = key_of(st);
  return p;
}

// Writes `missing` into new store packs of up to kStorePackPages pages,
// in the order the trace needs them, and adds them to `packs` and
// `chosen`; they are durable when this returns.
Result<void> add_to_store(const trace::CheckpointStore& cps, const std::vector<PageHash>& missing,
                          const fs::path& store, std::vector<StorePack>& packs,
                          std::set<size_t>& chosen) {
  for (size_t at = 0; at < missing.size(); at += kStorePackPages) {
    const size_t n = std::min(kStorePackPages, missing.size() - at);
    auto added = write_store_pack(cps, missing.data() + at, n, store);
    if (!added) return added.error();
    packs.push_back(std::move(*added));
    chosen.insert(packs.size() - 1);
  }
  return fsync_path(store.string());
}

// The chosen store packs, each checked whole unless this pack wrote it:
// what the trace links must be what its name says.
Result<std::vector<const StorePack*>> checked_packs(const std::vector<StorePack>& packs,
                                                    const std::set<size_t>& chosen) {
  std::vector<const StorePack*> out;
  for (size_t i : chosen) {
    if (!packs[i].bytes_checked) {
      auto checked = check_shared_pack(packs[i].file, true, "pack directory file");
      if (!checked) return checked.error();
    }
    out.push_back(&packs[i]);
  }
  return out;
}

// Makes each chosen store pack's name in the trace a link to it; the links
// are durable when this returns.
Result<bool> link_into_trace(const std::vector<const StorePack*>& chosen, const fs::path& cpdir) {
  bool linked = false;
  for (const StorePack* p : chosen) {
    const fs::path dest = cpdir / p->file.name;
    struct stat st {};
    if (::lstat(dest.c_str(), &st) == 0 && S_ISREG(st.st_mode) && key_of(st) == p->file.inode)
      continue;
    REWIND_TRY(link_atomically(p->file.path, dest));
    linked = true;
  }
  if (linked) REWIND_TRY(fsync_path(cpdir.string()));
  return linked;
}

// Removes the trace's packs that are not links to a chosen store pack:
// every page of theirs that a checkpoint needs is in one of those.
Result<bool> remove_replaced(const std::vector<PackEntry>& trace_packs,
                             const std::vector<const StorePack*>& chosen, const fs::path& cpdir) {
  std::set<std::string> keep;
  for (const StorePack* p : chosen) keep.insert(p->file.name);
  bool removed = false;
  for (const PackEntry& f : trace_packs) {
    if (keep.count(f.name)) continue;
    if (::unlink(f.path.c_str()) != 0 && errno != ENOENT)
      return Error::from_errno("removing " + f.path.string());
    removed = true;
  }
  if (removed) REWIND_TRY(fsync_path(cpdir.string()));
  return removed;
}

// The store, created if need be, locked for as long as the ScopedFd
// lives: two packs into one store at a time would each write the pages the
// other is writing.
Result<ScopedFd> open_store(const fs::path& pack_dir, const fs::path& store) {
  auto made = make_dir(store);
  if (!made) return made.error();
  if (*made) REWIND_TRY(fsync_path(pack_dir.string()));
  ScopedFd fd(::open(store.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd.is_open()) return Error::from_errno("pack directory " + store.string());
  while (::flock(fd.get(), LOCK_EX) != 0)
    if (errno != EINTR) return Error::from_errno("locking " + store.string());
  // What packs killed while writing into the store or the trace left.
  trace::remove_stale_temp_files(store);
  remove_stale_temporaries(store);
  return fd;
}

}  // namespace

Result<CheckpointPageStats> share_checkpoint_pages(const fs::path& trace,
                                                   const std::array<uint8_t, 16>& uuid,
                                                   const fs::path& pack_dir) {
  CheckpointPageStats stats;
  const fs::path cpdir = trace / "checkpoints";
  struct stat st {};
  if (::lstat(cpdir.c_str(), &st) != 0) {
    if (errno == ENOENT) return stats;  // no checkpoints
    return Error::from_errno(cpdir.string());
  }
  // Listed before the CheckpointStore opens, so that only packs whose
  // pages it has seen are ever removed.
  auto trace_packs = pack_files_in(cpdir);
  if (!trace_packs) return trace_packs.error();
  auto cps = trace::CheckpointStore::open(trace, uuid);
  if (!cps) return cps.error();
  if ((*cps)->list().empty()) return stats;

  // The store is checked before the trace's checkpoints are: a damaged
  // store pack that the trace links makes them unreadable, and must be
  // named as what is wrong.
  const fs::path store = pack_dir / kStoreDir;
  auto lock = open_store(pack_dir, store);
  if (!lock) return lock.error();
  remove_stale_temporaries(cpdir);
  auto restored = restore_from_trace(*trace_packs, store);
  if (!restored) return restored.error();
  stats.changed = *restored;
  auto packs = index_store(store);
  if (!packs) return packs.error();
  const auto needed = needed_pages(**cps, trace);
  if (!needed || needed->empty()) return stats;

  Plan p = plan(*packs, *trace_packs, *needed);
  stats.pages_in_store = needed->size() - p.missing.size();
  stats.pages_added = p.missing.size();
  if (!p.missing.empty()) {
    auto added = add_to_store(**cps, p.missing, store, *packs, p.chosen);
    if (!added) return added.error().context("adding the checkpoint pages of " + trace.string());
    stats.changed = true;
  }
  auto chosen = checked_packs(*packs, p.chosen);
  if (!chosen) return chosen.error();
  // The store packs are durable (add_to_store), then the links, and only
  // then do the trace's own packs go.
  auto linked = link_into_trace(*chosen, cpdir);
  if (!linked) return linked.error();
  auto removed = remove_replaced(*trace_packs, *chosen, cpdir);
  if (!removed) return removed.error();
  stats.changed = stats.changed || *linked || *removed;
  REWIND_LOG(Trace, "%s: %zu checkpoint pages, %llu added to %s, %zu store packs linked",
             trace.c_str(), needed->size(), (unsigned long long)stats.pages_added, store.c_str(),
             chosen->size());
  return stats;
}

}  // namespace rwd::pack
