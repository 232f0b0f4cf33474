// The checkpoint store: which checkpoints and packs a trace has, where each
// page is, and the rules that keep the two consistent on disk (a pack is
// in place before any meta names its pages; a pack goes only when no meta
// needs it). The file formats are in CheckpointMeta.h and PackFile.h.
#include "core/trace/CheckpointStore.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <map>
#include <random>
#include <unordered_map>
#include <unordered_set>

#include "core/base/FileIo.h"
#include "core/base/Log.h"
#include "core/trace/CheckpointFiles.h"
#include "core/trace/CheckpointMeta.h"
#include "core/trace/PackFile.h"

namespace rwd::trace {

namespace fs = std::filesystem;

PageHash hash_page(const void* page) {
  PageHash h;
  blake2b_of(h.data(), h.size(), page, kPageSize);
  return h;
}

namespace {

// Page hashes are BLAKE2b output, so any 8 of their bytes would do as a
// hash table's hash; but then a hostile pack could fill one bucket with
// hashes that share those bytes and make open() quadratic. All 32 bytes,
// mixed with a key drawn per store, leave it nothing to aim at.
struct PageHashHasher {
  std::array<uint64_t, 4> key{};
  size_t operator()(const PageHash& h) const {
    static constexpr uint64_t kOdd[4] = {0x9e3779b97f4a7c15, 0xc2b2ae3d27d4eb4f, 0x165667b19e3779f9,
                                         0xd6e8feb86659fd93};
    uint64_t v = 0;
    for (size_t i = 0; i < 4; ++i) v += (get_le<uint64_t>(h.data() + 8 * i) ^ key[i]) * kOdd[i];
    return v ^ (v >> 29);
  }
};
using PageSet = std::unordered_set<PageHash, PageHashHasher>;

// Restoring reads from many packs in turn; keeping every one open could
// run a long session with thousands of checkpoints out of descriptors.
constexpr size_t kMaxOpenPacks = 32;

std::string page_address(uint64_t addr) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(addr));
  return buf;
}

}  // namespace

struct CheckpointStore::Impl {
  struct Pack {
    PackId id;
    fs::path path;
    PackIndex index;
    ScopedFd fd;  // opened by the first read from it
    uint64_t last_use = 0;
  };
  struct PageLoc {
    Pack* pack;  // in packs, whose nodes stay put
    uint32_t block, slot;
  };
  struct Meta {
    fs::path path;
    uint64_t bytes = 0;
    std::optional<MetaHeader> header;  // none: unreadable, which load() explains
  };
  struct CachedBlock {
    const Pack* pack = nullptr;
    uint32_t block = 0;
    std::vector<uint8_t> data;
  };

  fs::path dir;  // TRACE/checkpoints
  Uuid uuid{};
  PageHashHasher hasher;
  std::map<PackId, Pack> packs;
  std::unordered_map<PageHash, PageLoc, PageHashHasher> pages;  // built with `hasher`
  std::map<uint64_t, Meta> metas;                               // by events
  // The Writer in progress: its pages count as needed by remove(), since
  // its metadata will name them.
  const PageSet* writer_pages = nullptr;
  bool writer_active = false;

  // What read_page() keeps between calls. A restore reads pages by
  // address, which is mostly the order a pack stores them in; the second
  // entry covers a neighbouring page from another block or pack.
  std::array<CachedBlock, 2> cache;
  std::vector<uint8_t> scratch;  // a compressed block
  uint64_t use_clock = 0;

  ~Impl() { REWIND_ASSERT(!writer_active, "a CheckpointStore::Writer outlived its store"); }

  void add_pack(PackId id, const fs::path& path, PackIndex index) {
    auto [it, added] = packs.try_emplace(id);
    REWIND_ASSERT(added, "pack " + path.string() + " added twice");
    Pack& p = it->second;
    p.id = id;
    p.path = path;
    p.index = std::move(index);
    for (const PackPage& pg : p.index.pages)
      pages.try_emplace(pg.hash, PageLoc{&p, pg.block, pg.slot});
  }

  void rebuild_page_map() {
    pages.clear();
    for (auto& [id, p] : packs)
      for (const PackPage& pg : p.index.pages)
        pages.try_emplace(pg.hash, PageLoc{&p, pg.block, pg.slot});
    for (CachedBlock& c : cache) c.pack = nullptr;
  }

  CheckpointInfo info(uint64_t events, const Meta& m) const {
    CheckpointInfo i;
    i.events = events;
    i.meta_bytes = m.bytes;
    i.path = m.path;
    if (m.header) {
      i.recorded_time_ns = m.header->recorded_time_ns;
      i.pages = m.header->pages;
      if (m.header->pack) {
        auto p = packs.find(*m.header->pack);
        if (p != packs.end()) i.pack_bytes = p->second.index.file_size;
      }
    }
    return i;
  }

  Result<int> pack_fd(Pack& p) {
    p.last_use = ++use_clock;
    if (p.fd.is_open()) return p.fd.get();
    size_t open = 0;
    Pack* oldest = nullptr;
    for (auto& [id, q] : packs) {
      if (!q.fd.is_open()) continue;
      ++open;
      if (!oldest || q.last_use < oldest->last_use) oldest = &q;
    }
    if (open >= kMaxOpenPacks) oldest->fd.reset();
    auto fd = open_regular_file(p.path.string());
    if (!fd) return fd.error();
    p.fd = std::move(*fd);
    return p.fd.get();
  }

  Result<const std::vector<uint8_t>*> block(const PageLoc& loc) {
    for (size_t i = 0; i < cache.size(); ++i) {
      if (cache[i].pack == loc.pack && cache[i].block == loc.block) {
        if (i != 0) std::swap(cache[0], cache[i]);
        return &cache[0].data;
      }
    }
    // The least recently used entry's buffer takes the new block.
    std::swap(cache[0], cache[1]);
    CachedBlock& c = cache[0];
    c.pack = nullptr;
    auto fd = pack_fd(*loc.pack);
    if (!fd) return fd.error();
    REWIND_TRY(
        read_pack_block(*fd, loc.pack->path.string(), loc.pack->index, loc.block, scratch, c.data));
    c.pack = loc.pack;
    c.block = loc.block;
    return &c.data;
  }

  // Every page the checkpoints name, each once, in the order they name
  // them: by events, then process, then address.
  Result<std::vector<PageHash>> pages_in_use() const {
    PageSet seen(0, hasher);
    std::vector<PageHash> out;
    for (const auto& [events, m] : metas) {
      auto data = read_meta(m.path, uuid, events);
      if (!data) return data.error();
      for (const CpProcess& p : data->processes)
        for (const CpPage& pg : p.pages)
          if (seen.insert(pg.hash).second) out.push_back(pg.hash);
    }
    return out;
  }

  // Deletes every pack that no checkpoint (nor the Writer in progress)
  // needs. Unsure means needed: a checkpoint that cannot be read keeps
  // every pack.
  Result<void> collect_garbage() {
    auto in_use = pages_in_use();
    if (!in_use) {
      warn("%s; keeping every checkpoint pack, since it may need any of them",
           in_use.error().message.c_str());
      return ok_result();
    }
    PageSet needed(in_use->begin(), in_use->end(), 0, hasher);
    if (writer_pages) needed.insert(writer_pages->begin(), writer_pages->end());
    std::optional<Error> failed;
    size_t removed = 0;
    for (auto it = packs.begin(); it != packs.end();) {
      const auto& index_pages = it->second.index.pages;
      const bool used = std::any_of(index_pages.begin(), index_pages.end(),
                                    [&](const PackPage& pg) { return needed.count(pg.hash); });
      if (used) {
        ++it;
        continue;
      }
      if (::unlink(it->second.path.c_str()) != 0 && errno != ENOENT) {
        failed =
            Error::from_errno("deleting the unneeded checkpoint pack " + it->second.path.string());
        ++it;
        continue;
      }
      REWIND_LOG(Trace, "deleted %s: no checkpoint needs its pages", it->second.path.c_str());
      it = packs.erase(it);
      ++removed;
    }
    if (removed > 0) {
      rebuild_page_map();
      REWIND_TRY(fsync_path(dir.string()));
    }
    if (failed) return *failed;
    return ok_result();
  }

  // Creates TRACE/checkpoints when the first checkpoint is saved: mode
  // 0700, since packs hold the recorded program's memory.
  Result<void> make_dir() {
    if (::mkdir(dir.c_str(), 0700) == 0) return fsync_path(dir.parent_path().string());
    if (errno != EEXIST) return Error::from_errno("creating " + dir.string());
    struct stat st {};
    if (::lstat(dir.c_str(), &st) != 0) return Error::from_errno(dir.string());
    if (!S_ISDIR(st.st_mode))
      return Error{dir.string() + " is " + file_kind(st.st_mode) + ", not a directory"};
    return ok_result();
  }
};

// ---- Opening ----

CheckpointStore::CheckpointStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
CheckpointStore::~CheckpointStore() = default;

Result<std::unique_ptr<CheckpointStore>> CheckpointStore::open(const fs::path& trace_dir,
                                                               const Uuid& uuid) {
  auto impl = std::make_unique<Impl>();
  impl->dir = trace_dir / "checkpoints";
  impl->uuid = uuid;
  std::random_device random;
  for (uint64_t& k : impl->hasher.key) k = uint64_t{random()} << 32 | random();
  impl->pages = decltype(impl->pages)(0, impl->hasher);
  struct stat st {};
  if (::stat(trace_dir.c_str(), &st) != 0) return Error::from_errno("trace " + trace_dir.string());
  if (!S_ISDIR(st.st_mode)) return Error{"trace " + trace_dir.string() + " is not a directory"};
  // lstat: a trace must not lead outside itself, so a symbolic link here
  // is refused rather than followed.
  if (::lstat(impl->dir.c_str(), &st) != 0) {
    if (errno == ENOENT)
      return std::unique_ptr<CheckpointStore>(new CheckpointStore(std::move(impl)));
    return Error::from_errno(impl->dir.string());
  }
  if (!S_ISDIR(st.st_mode))
    return Error{impl->dir.string() + " is " + file_kind(st.st_mode) + ", not a directory"};
  remove_stale_temp_files(impl->dir);

  std::error_code ec;
  for (fs::directory_iterator it(impl->dir, ec), end; it != end; it.increment(ec)) {
    if (ec) break;
    const fs::path path = it->path();
    const std::string name = path.filename().string();
    if (auto events = parse_meta_file_name(name)) {
      Impl::Meta m;
      m.path = path;
      auto fd = open_regular_file(path.string());
      if (fd) {
        struct stat fst {};
        if (::fstat(fd->get(), &fst) == 0) m.bytes = static_cast<uint64_t>(fst.st_size);
        auto header = read_meta_header(fd->get(), path.string(), uuid, *events);
        if (header) m.header = *header;
      }
      impl->metas.emplace(*events, std::move(m));
    } else if (auto id = parse_pack_file_name(name)) {
      // pages-h<hex>.pack: a link into a store shared by traces, whose
      // packs belong to no one trace (PackFile.h).
      const SharedPack shared = id->content ? SharedPack::Accept : SharedPack::Refuse;
      auto fd = open_regular_file(path.string());
      auto index = fd ? read_pack_index(fd->get(), path.string(), uuid, shared)
                      : Result<PackIndex>(fd.error());
      if (!index) {
        warn("%s; skipping it: checkpoints that need its pages cannot be loaded",
             index.error().message.c_str());
        continue;
      }
      impl->add_pack(*id, path, std::move(*index));
    }
  }
  if (ec) return Error::from_errno("listing " + impl->dir.string(), ec.value());
  REWIND_LOG(Trace, "%s: %zu checkpoints, %zu packs, %zu pages", impl->dir.c_str(),
             impl->metas.size(), impl->packs.size(), impl->pages.size());
  return std::unique_ptr<CheckpointStore>(new CheckpointStore(std::move(impl)));
}

// ---- Reading ----

std::vector<CheckpointInfo> CheckpointStore::list() const {
  std::vector<CheckpointInfo> out;
  out.reserve(impl_->metas.size());
  for (const auto& [events, m] : impl_->metas) out.push_back(impl_->info(events, m));
  return out;
}

std::optional<CheckpointInfo> CheckpointStore::at_or_before(uint64_t events) const {
  auto it = impl_->metas.upper_bound(events);
  if (it == impl_->metas.begin()) return std::nullopt;
  --it;
  return impl_->info(it->first, it->second);
}

Result<CheckpointData> CheckpointStore::load(uint64_t events) const {
  auto it = impl_->metas.find(events);
  if (it == impl_->metas.end()) {
    return Error{"no checkpoint at event " + std::to_string(events) + " in " + impl_->dir.string()};
  }
  auto data = read_meta(it->second.path, impl_->uuid, events);
  if (!data) return data.error();
  size_t missing = 0;
  std::string first;
  for (const CpProcess& p : data->processes) {
    for (const CpPage& pg : p.pages) {
      if (impl_->pages.count(pg.hash)) continue;
      if (missing++ == 0)
        first = page_address(pg.addr) + " of process " + std::to_string(p.rec_tgid);
    }
  }
  if (missing > 0) {
    return Error{"checkpoint " + it->second.path.string() + ": " + std::to_string(missing) +
                 " of its pages (the first at " + first +
                 ") are in no pack: a pack file is missing, or was skipped as damaged"};
  }
  return data;
}

Result<void> CheckpointStore::read_page(const PageHash& hash, void* out) const {
  auto it = impl_->pages.find(hash);
  if (it == impl_->pages.end())
    return Error{"page " + hex(hash.data(), hash.size()) + " is in no pack of " +
                 impl_->dir.string()};
  const Impl::PageLoc& loc = it->second;
  auto block = impl_->block(loc);
  if (!block) return block.error();
  const uint8_t* page = (*block)->data() + size_t{loc.slot} * kPageSize;
  // The block's checksum covers what was written; the hash also covers
  // what was meant (an index that points at the wrong slot).
  if (hash_page(page) != hash) {
    return Error{"checkpoint pack " + loc.pack->path.string() + ": page " +
                 std::to_string(loc.slot) + " of block " + std::to_string(loc.block) +
                 " does not match its hash: the pack is corrupt"};
  }
  std::memcpy(out, page, kPageSize);
  return ok_result();
}

Result<std::vector<PageHash>> CheckpointStore::pages_in_use() const {
  return impl_->pages_in_use();
}

// ---- Writing ----

class CheckpointStore::StoreWriter final : public CheckpointStore::Writer {
 public:
  explicit StoreWriter(CheckpointStore::Impl& store) : store_(store), added_(0, store.hasher) {
    store_.writer_active = true;
    store_.writer_pages = &added_;
  }
  ~StoreWriter() override {
    // pack_, if any, removes its temporary file.
    store_.writer_active = false;
    store_.writer_pages = nullptr;
  }

  Result<PageHash> add_page(const void* page) override {
    if (done_) return Error{"CheckpointStore::Writer: add_page() after commit()"};
    if (failed_) return Error{"CheckpointStore::Writer: add_page() after a failed one"};
    const PageHash hash = hash_page(page);
    if (!added_.insert(hash).second || store_.pages.count(hash)) return hash;
    // A page that did not make it into the pack must not be taken for
    // stored by a later add_page() or commit().
    failed_ = true;
    if (!pack_) {
      auto pack = PackBuilder::create(store_.dir, store_.uuid);
      if (!pack) return pack.error();
      pack_ = std::move(*pack);
    }
    REWIND_TRY(pack_->add(hash, page));
    failed_ = false;
    return hash;
  }

  Result<CheckpointInfo> commit(CheckpointData data) override;

 private:
  Result<PackId> commit_pack(uint64_t events);

  CheckpointStore::Impl& store_;
  PageSet added_;  // every page add_page() saw, new or not
  std::optional<PackBuilder> pack_;
  bool done_ = false;
  bool failed_ = false;  // an add_page() failed: nothing can be committed
};

Result<PackId> CheckpointStore::StoreWriter::commit_pack(uint64_t events) {
  REWIND_TRY(pack_->finish());
  // pages-<events>.pack is taken when a pack outlived an earlier
  // checkpoint at the same event (PackId); the next free seq is ours.
  for (uint32_t seq = 0; seq < 1000; ++seq) {
    const PackId id{events, seq};
    const fs::path path = store_.dir / pack_file_name(id);
    auto done = pack_->file().commit(path, TempFile::Replace::No);
    if (done) {
      store_.add_pack(id, path, pack_->index());
      return id;
    }
    if (done.error().errnum != EEXIST) return done.error();
  }
  return Error{"checkpoint at event " + std::to_string(events) + ": " + store_.dir.string() +
               " holds a thousand packs for that event already"};
}

Result<CheckpointInfo> CheckpointStore::StoreWriter::commit(CheckpointData data) {
  if (done_) return Error{"CheckpointStore::Writer: commit() twice"};
  if (failed_) return Error{"CheckpointStore::Writer: commit() after a failed add_page()"};
  done_ = true;
  data.trace_uuid = store_.uuid;
  const std::string what = "checkpoint at event " + std::to_string(data.events);
  for (const CpProcess& p : data.processes) {
    for (const CpPage& pg : p.pages) {
      if (added_.count(pg.hash) || store_.pages.count(pg.hash)) continue;
      return Error{what + ": the page at " + page_address(pg.addr) + " of process " +
                   std::to_string(p.rec_tgid) + " was never added"};
    }
  }
  // The pack first: once the metadata is in place, its pages must be.
  std::optional<PackId> pack_id;
  size_t new_pages = 0;
  if (pack_ && pack_->pages() > 0) {
    new_pages = pack_->pages();
    auto id = commit_pack(data.events);
    if (!id) return id.error().context(what);
    pack_id = *id;
  }
  pack_.reset();

  auto bytes = encode_meta(data, pack_id);
  if (!bytes) return bytes.error();
  const fs::path path = store_.dir / meta_file_name(data.events);
  auto header =
      parse_meta_header(bytes->data(), bytes->size(), path.string(), store_.uuid, data.events);
  REWIND_ASSERT(header.ok(), header.ok() ? "" : header.error().message);
  auto file = TempFile::create(store_.dir, "meta");
  if (!file) return file.error().context(what);
  REWIND_TRY(write_all(file->fd(), bytes->data(), bytes->size(), file->path().string()));
  // Replace: saving again at the same event supersedes the older one.
  auto done = file->commit(path, TempFile::Replace::Yes);
  if (!done) return done.error().context(what);
  CheckpointStore::Impl::Meta& m = store_.metas[data.events];
  m.path = path;
  m.bytes = bytes->size();
  m.header = *header;
  REWIND_LOG(Trace, "%s: %s: %llu pages, %zu of them new", path.c_str(), what.c_str(),
             static_cast<unsigned long long>(header->pages), new_pages);
  return store_.info(data.events, m);
}

Result<std::unique_ptr<CheckpointStore::Writer>> CheckpointStore::begin() {
  if (impl_->writer_active)
    return Error{impl_->dir.string() + ": a checkpoint is being saved already"};
  REWIND_TRY(impl_->make_dir());
  return std::unique_ptr<Writer>(new StoreWriter(*impl_));
}

Result<void> CheckpointStore::remove(uint64_t events) {
  auto it = impl_->metas.find(events);
  if (it == impl_->metas.end()) {
    return Error{"no checkpoint at event " + std::to_string(events) + " in " + impl_->dir.string()};
  }
  if (::unlink(it->second.path.c_str()) != 0 && errno != ENOENT)
    return Error::from_errno("deleting " + it->second.path.string());
  impl_->metas.erase(it);
  REWIND_TRY(fsync_path(impl_->dir.string()));
  return impl_->collect_garbage();
}

Result<ScopedFd> lock_trace_for_writing(const fs::path& trace_dir) {
  ScopedFd fd(::open(trace_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd.is_open()) return Error::from_errno("trace " + trace_dir.string());
  if (::flock(fd.get(), LOCK_EX | LOCK_NB) == 0) return fd;
  if (errno != EWOULDBLOCK) return Error::from_errno("locking " + trace_dir.string());
  return Error{"trace " + trace_dir.string() +
               " is busy: another rewind is packing it or saving its checkpoints (after "
               "`record --checkpoint-interval`, until the replay saving them is done: see " +
               (trace_dir / "checkpoints" / "follow.log").string() + "); try again then"};
}

}  // namespace rwd::trace
