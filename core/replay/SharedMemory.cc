// Shared memory in fork checkpoints: saved at the checkpoint, mapped afresh
// by each restore (SharedMemory.h).
#include "core/replay/SharedMemory.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <set>

#include "core/base/FileIo.h"
#include "core/base/Log.h"
#include "core/replay/ReplaySession.h"
#include "core/task/ProcMaps.h"
#include "core/task/RemoteSyscall.h"

namespace rwd {

namespace {

constexpr uint64_t kPage = 4096;
// The files a restore makes, in its LiveFiles directory.
const std::string kRestoredPrefix = "shared-";

// Appends [p, p + n), found at `offset` of the object, leaving out its
// pages of zeros: a restore's fresh file reads zeros there anyway.
void add_nonzero(std::vector<SharedObject::Extent>& out, uint64_t offset, const uint8_t* p,
                 size_t n) {
  for (size_t at = 0; at < n; at += kPage) {
    const size_t len = std::min<size_t>(kPage, n - at);
    if (std::all_of(p + at, p + at + len, [](uint8_t b) { return b == 0; })) continue;
    SharedObject::Extent* last = out.empty() ? nullptr : &out.back();
    if (last && last->offset + last->bytes.size() == offset + at)
      last->bytes.insert(last->bytes.end(), p + at, p + at + len);
    else
      out.push_back({offset + at, std::vector<uint8_t>(p + at, p + at + len)});
  }
}

// A file's contents, its holes skipped (SEEK_DATA / SEEK_HOLE).
Result<void> read_file_data(const std::string& path, SharedObject& o) {
  ScopedFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.is_open()) return Error::from_errno("opening " + path + " for a checkpoint");
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return Error::from_errno("fstat " + path);
  o.size = static_cast<uint64_t>(st.st_size);
  std::vector<uint8_t> buf(1 << 20);
  off_t at = 0;
  while (static_cast<uint64_t>(at) < o.size) {
    const off_t data = ::lseek(fd.get(), at, SEEK_DATA);
    if (data < 0) break;  // (ENXIO) only a hole is left
    off_t hole = ::lseek(fd.get(), data, SEEK_HOLE);
    if (hole < 0) hole = static_cast<off_t>(o.size);
    for (off_t pos = data; pos < hole;) {
      const size_t want = static_cast<size_t>(std::min<off_t>(hole - pos, buf.size()));
      const ssize_t got = ::pread(fd.get(), buf.data(), want, pos);
      if (got < 0) return Error::from_errno("reading " + path + " for a checkpoint");
      if (got == 0) break;
      add_nonzero(o.data, static_cast<uint64_t>(pos), buf.data(), static_cast<size_t>(got));
      pos += got;
    }
    at = hole;
  }
  return ok_result();
}

// MAP_SHARED|MAP_ANONYMOUS memory: the kernel names it after /dev/zero.
bool is_anonymous_shared(const KernelMapping& k) {
  return k.shared && k.name.rfind("/dev/zero", 0) == 0;
}

}  // namespace

Result<std::vector<SharedObject>> ReplaySession::snapshot_shared_memory() {
  std::vector<SharedObject> out;
  std::map<std::pair<uint64_t, uint64_t>, size_t> by_identity;  // (dev, inode) -> out[i]
  for (const auto& [key, path] : live_->copies) {
    struct stat st;
    if (::stat(path.c_str(), &st) != 0) return Error::from_errno("stat " + path);
    SharedObject o;
    o.copy_key = key;
    REWIND_TRY(read_file_data(path, o));
    by_identity[{st.st_dev, st.st_ino}] = out.size();
    out.push_back(std::move(o));
  }
  const std::string restored_prefix =
      live_->dir.empty() ? std::string() : (live_->dir.path() / kRestoredPrefix).string();
  std::set<pid_t> groups;
  for (auto& [tid, t] : tasks_) groups.insert(t->rec_tgid.value);
  // (Copies of files and restored objects are mapped from files: a process
  // that maps none of them and no anonymous shared memory needs no look.)
  if (out.empty() && !maybe_shared_anonymous_) groups.clear();
  for (pid_t group : groups) {
    RepTask* leader = find(Tid{group});
    if (!leader) leader = tasks_of(Tid{group}).front();
    auto maps = read_proc_maps(leader->task->real_tid());
    if (!maps) return maps.error();
    for (const KernelMapping& k : *maps) {
      if (!k.shared) continue;
      const std::pair<uint64_t, uint64_t> id{makedev(k.dev_major, k.dev_minor), k.inode};
      auto known = by_identity.find(id);
      if (known == by_identity.end()) {
        // (A restored replay maps such memory from its own files.)
        const bool restored = !restored_prefix.empty() && k.name.rfind(restored_prefix, 0) == 0;
        if (!is_anonymous_shared(k) && !restored) continue;  // a trace file: it never changes
        known = by_identity.emplace(id, out.size()).first;
        out.emplace_back();
      }
      SharedObject& o = out[known->second];
      o.uses.push_back({group, k.start, k.end, k.offset, k.prot});
      if (o.copy_key) continue;
      // Anonymous: what this mapping shows of it (another process's
      // mapping of the same object shows the same pages).
      o.size = std::max(o.size, k.offset + (k.end - k.start));
      std::vector<uint8_t> buf(std::min<uint64_t>(k.end - k.start, 1 << 20));
      for (uint64_t at = k.start; at < k.end;) {
        const size_t want = static_cast<size_t>(std::min<uint64_t>(k.end - at, buf.size()));
        const size_t got = leader->task->as().read_partial(RemotePtr(at), buf.data(), want);
        if (got == 0) break;  // PROT_NONE: nothing to read, and nothing the program reads
        const uint64_t offset = k.offset + (at - k.start);
        bool seen = false;  // by an earlier mapping of it
        for (const SharedObject::Extent& e : o.data)
          seen |= offset < e.offset + e.bytes.size() && e.offset < offset + got;
        if (!seen) add_nonzero(o.data, offset, buf.data(), got);
        at += got;
      }
    }
  }
  std::erase_if(out, [](const SharedObject& o) { return !o.copy_key && o.uses.empty(); });
  return out;
}

Result<std::vector<std::string>> ReplaySession::make_shared_copies(
    const std::vector<SharedObject>& objects) {
  // Its own scratch files, and its own LiveFiles (the copies of written
  // files are the ones saved here now, not the replay's it came from).
  live_ = std::make_shared<LiveFiles>();
  auto dir = live_->make_dir();
  if (!dir) return dir.error();
  std::vector<std::string> paths;
  for (const SharedObject& o : objects) {
    const std::string path = (*dir / (kRestoredPrefix + std::to_string(paths.size()))).string();
    ScopedFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
    if (!fd.is_open()) return Error::from_errno("creating " + path);
    if (::ftruncate(fd.get(), static_cast<off_t>(o.size)) != 0)
      return Error::from_errno("sizing " + path);
    for (const SharedObject::Extent& e : o.data)
      if (::pwrite(fd.get(), e.bytes.data(), e.bytes.size(), static_cast<off_t>(e.offset)) !=
          static_cast<ssize_t>(e.bytes.size()))
        return Error::from_errno("writing " + path);
    if (o.copy_key) live_->copies[*o.copy_key] = path;
    REWIND_LOG(Replay,
               "shared memory of the checkpoint: %s, %zu bytes in %zu extents, %zu mappings",
               path.c_str(), (size_t)o.size, o.data.size(), o.uses.size());
    paths.push_back(path);
  }
  return paths;
}

// In the process of `leader` (a fresh fork of a checkpoint's frozen copy,
// still sharing its memory), the restored files over every range the
// checkpoint's process mapped them.
Result<void> ReplaySession::map_shared_copies(Task& leader, pid_t rec_tgid,
                                              const std::vector<SharedObject>& objects,
                                              const std::vector<std::string>& paths) {
  std::optional<AutoRemoteSyscalls> remote;
  for (size_t i = 0; i < objects.size(); ++i) {
    for (const SharedObject::Use& u : objects[i].uses) {
      if (u.rec_tgid != rec_tgid) continue;
      if (!remote) remote.emplace(leader);
      auto r = remote->map_file(paths[i], O_RDWR,
                                {u.start, u.end - u.start, static_cast<uint64_t>(u.prot),
                                 MAP_SHARED | MAP_FIXED, u.offset});
      if (!r) return r.error().context("restoring a checkpoint");
      if (static_cast<uint64_t>(*r) != u.start)
        return Error{"restoring a checkpoint: shared memory could not be mapped again"};
    }
  }
  return ok_result();
}

}  // namespace rwd
