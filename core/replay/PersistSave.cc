// Saving a replay's state as a persistent checkpoint (issue 13;
// core/trace/CheckpointStore.h has the files, docs/checkpoints.md the
// design). The state is read from the frozen copies checkpoint() makes, so
// the live session is held up only as long as a mark takes.
//
// Each mapping is saved as where its contents come from, plus the pages
// that differ from that source:
//  - a private mapping of a file the trace holds (replay maps the trace's
//    copies, ReplaySyscall.cc): the pages the program or rewind wrote, which
//    pagemap shows as anonymous (bit 61 clear), whatever they hold;
//  - private anonymous memory: the pages that were ever touched and are not
//    zero (pagemap bits 63 and 62 tell touched pages without reading them);
//  - a shared mapping of a per-replay copy of a written file
//    (ReplaySession::live_copy): the pages that differ from the trace's file;
//  - shared memory without such a file (MAP_SHARED|MAP_ANONYMOUS, SysV):
//    every page that is not zero, and an id shared by every process that
//    maps the same object (its inode), so a restore shares it again;
//  - any other file (one replay mapped from this machine, such as the ELF
//    interpreter found to match the trace's): if the trace holds a copy of
//    it, that copy, else its pages, as anonymous memory.
// rewind's own pages (counted breakpoints' stubs, the preemption stub) are
// left out; its stub mapping is saved like program memory, since the
// preload library keeps state there (preload/abi.h).
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "core/base/ByteCodec.h"
#include "core/base/Log.h"
#include "core/replay/PersistCodec.h"
#include "core/replay/ReplaySession.h"
#include "core/task/ProcMaps.h"
#include "core/task/ProcessState.h"
#include "core/task/RemoteSyscall.h"

namespace rwd {

using trace::kPageSize;

std::vector<uint8_t> ReplaySession::encode_session() const {
  ByteWriter w;
  w.put(persist::kEngineVersion);
  w.put(current_.value);
  w.put(root_.value);
  w.put(root_status_.has_value());
  w.put(root_status_.value_or(0));
  w.put<uint64_t>(last_event_.size());
  for (const auto& [tid, le] : last_event_) {
    w.put(tid);
    w.put(le.events_before);
    w.put(le.kind);
    w.put(le.regs);
  }
  return w.take();
}

namespace {

constexpr uint64_t kPresent = 1ull << 63, kSwapped = 1ull << 62, kFilePage = 1ull << 61;

bool all_zero(const uint8_t* p, size_t n) {
  return std::all_of(p, p + n, [](uint8_t b) { return b == 0; });
}

// The kernel's own mappings, which a restore leaves out. Not the vDSO: the
// recording rewrote it (RecordVdso.cc), and the program may call it; it is
// saved as anonymous memory, every page of it.
bool is_special(const KernelMapping& m) {
  return m.name == "[vsyscall]" || m.name.rfind("[vvar", 0) == 0;
}

// Which pages of a mapping a checkpoint stores (see the file comment).
// SharedNonZero: every page not zero, touched or not (shared memory, and
// files the trace has no copy of).
enum class Keep { Written, NonZero, SharedNonZero, DiffersFromFile };

// Reads the pages of [start, end) of `f` that `keep` asks for, and adds them.
class PageCapture {
 public:
  PageCapture(Task& f, trace::CheckpointStore::Writer& w, std::vector<trace::CpPage>& out)
      : f_(f), w_(w), out_(out) {
    const std::string path = "/proc/" + std::to_string(f.real_tid()) + "/pagemap";
    pagemap_ = ScopedFd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  }

  Result<void> capture(uint64_t start, uint64_t end, Keep keep, int source_fd = -1,
                       uint64_t source_offset = 0) {
    const uint64_t pages = (end - start) / kPageSize;
    std::vector<uint64_t> entries(pages, kPresent);  // unknown: read every page
    // Shared memory's pagemap shows only the pages this process touched;
    // another may have written the rest.
    if ((keep == Keep::Written || keep == Keep::NonZero) && pagemap_.is_open()) {
      const ssize_t want = static_cast<ssize_t>(pages * 8);
      if (pread(pagemap_.get(), entries.data(), want, static_cast<off_t>(start / kPageSize * 8)) !=
          want)
        std::fill(entries.begin(), entries.end(), kPresent);
    }
    constexpr uint64_t kChunk = 256;  // pages read from memory at once
    std::vector<uint8_t> buf(kChunk * kPageSize), file_page(kPageSize);
    for (uint64_t i = 0; i < pages;) {
      if (!wanted(entries[i], keep)) {
        ++i;
        continue;
      }
      uint64_t n = 1;
      while (i + n < pages && n < kChunk && wanted(entries[i + n], keep)) ++n;
      const uint64_t addr = start + i * kPageSize;
      const size_t got = f_.as().read_partial(RemotePtr(addr), buf.data(), n * kPageSize);
      for (uint64_t k = 0; k < n; ++k) {
        const uint8_t* page = buf.data() + k * kPageSize;
        // A page past the end of its file reads as nothing (SIGBUS if
        // touched): there is nothing to restore there.
        if ((k + 1) * kPageSize > got) break;
        if ((keep == Keep::NonZero || keep == Keep::SharedNonZero) && all_zero(page, kPageSize))
          continue;
        if (keep == Keep::DiffersFromFile) {
          std::fill(file_page.begin(), file_page.end(), 0);
          const off_t off = static_cast<off_t>(source_offset + (i + k) * kPageSize);
          if (pread(source_fd, file_page.data(), kPageSize, off) >= 0 &&
              std::memcmp(page, file_page.data(), kPageSize) == 0)
            continue;
        }
        auto h = w_.add_page(page);
        if (!h) return h.error();
        out_.push_back({addr + k * kPageSize, *h});
      }
      i += n;
    }
    return ok_result();
  }

 private:
  static bool wanted(uint64_t entry, Keep keep) {
    switch (keep) {
      case Keep::Written:
        return (entry & (kPresent | kSwapped)) && !(entry & kFilePage);
      case Keep::NonZero:
        return entry & (kPresent | kSwapped);
      case Keep::SharedNonZero:
      case Keep::DiffersFromFile:
        return true;
    }
    return true;
  }
  Task& f_;
  trace::CheckpointStore::Writer& w_;
  std::vector<trace::CpPage>& out_;
  ScopedFd pagemap_;
};

// [start, end) less the pages in `skip`, as ranges.
std::vector<std::pair<uint64_t, uint64_t>> without_pages(uint64_t start, uint64_t end,
                                                         const std::set<uint64_t>& skip) {
  std::vector<std::pair<uint64_t, uint64_t>> out;
  uint64_t from = start;
  for (auto it = skip.lower_bound(start); it != skip.end() && *it < end; ++it) {
    if (*it > from) out.emplace_back(from, *it);
    from = *it + kPageSize;
  }
  if (from < end) out.emplace_back(from, end);
  return out;
}

}  // namespace

// The trace file a mapping of `path` (as /proc/PID/maps names it) can be
// rebuilt from, and whether it is a per-replay copy that the program
// writes (live_copy); nullopt if the trace holds no copy of it.
Result<std::optional<std::pair<std::string, bool>>> ReplaySession::trace_file_of(
    const std::string& path) const {
  using R = std::optional<std::pair<std::string, bool>>;
  std::error_code ec;
  const std::string dir = std::filesystem::canonical(reader_->dir(), ec).string() + "/";
  if (!ec && path.rfind(dir, 0) == 0) return R({path.substr(dir.size()), false});
  for (const auto& [key, copy] : live_->copies)
    if (copy == path) return R({std::get<2>(key), true});
  for (const auto& [exe_file, exe] : live_->exes)
    if (exe.path == path) return R({exe_file, false});
  // The ELF interpreter, run from this machine's file where it matched
  // the trace's (exe_to_run).
  for (const trace::TaskEvent& te : reader_->task_events())
    if (te.interp_path == path && !te.interp_trace_file.empty())
      return R({te.interp_trace_file, false});
  return R();
}

Result<void> ReplaySession::capture_process(const SessionCheckpoint& cp, pid_t group,
                                            trace::CpProcess& out,
                                            trace::CheckpointStore::Writer& w) {
  const SessionCheckpoint::Process& p = cp.processes_.at(group);
  Task& f = *p.frozen;
  RepTask* leader = find(Tid{group});
  if (!leader) return Error{"no leader for process " + std::to_string(group)};
  out.rec_tgid = group;
  std::set<uint64_t> ours = f.as().count_pages;
  if (uint64_t s = leader->task->as().preempt_stub_page) ours.insert(s);
  // The scratch pages injected syscalls use hold whatever the last
  // injection left: not program state, and different from run to run.
  std::set<uint64_t> scratch;
  for (uint64_t a = kScratchAddr; a < kScratchAddr + kScratchSize; a += kPageSize)
    scratch.insert(a);

  auto maps = read_proc_maps(f.real_tid());
  if (!maps) return maps.error();
  ByteWriter engine;
  engine.put(persist::kEngineVersion);
  // The per-replay copies its shared mappings map: (dev, inode) by trace file.
  std::map<std::string, std::pair<uint64_t, uint64_t>> live;
  PageCapture pages(f, w, out.pages);
  for (const KernelMapping& km : *maps) {
    if (is_special(km)) continue;
    trace::CpMapping m;
    m.prot = static_cast<uint32_t>(km.prot);
    m.offset = km.offset;
    m.name = km.name;
    Keep keep = Keep::NonZero;
    ScopedFd source;
    if (km.is_file() && !km.name.ends_with(" (deleted)")) {
      auto tf = trace_file_of(km.name);
      if (!tf) return tf.error();
      if (*tf) {
        m.trace_file = (*tf)->first;
        if ((*tf)->second && km.shared) {
          keep = Keep::DiffersFromFile;
          source = ScopedFd(::open(reader_->file_path(m.trace_file).c_str(), O_RDONLY | O_CLOEXEC));
          if (!source.is_open()) return Error::from_errno("opening the trace's " + m.trace_file);
          for (const auto& [key, copy] : live_->copies)
            if (copy == km.name) live[m.trace_file] = {std::get<0>(key), std::get<1>(key)};
        } else {
          keep = Keep::Written;
        }
      } else {
        REWIND_LOG(Replay, "checkpoint: %s has no copy in the trace; saved as memory",
                   km.name.c_str());
      }
    }
    // A file the trace has no copy of (deleted, say): every page, read
    // through the mapping, since pagemap shows only those touched.
    if (km.inode && m.trace_file.empty() && !km.shared) keep = Keep::SharedNonZero;
    if (km.name == "[vdso]") keep = Keep::SharedNonZero;  // the kernel's pages: not "touched"
    if (km.shared && keep != Keep::DiffersFromFile) {
      m.trace_file.clear();
      m.shared_object = km.inode ? km.inode : km.start;
      keep = Keep::SharedNonZero;
    }
    m.flags = km.shared ? MAP_SHARED : MAP_PRIVATE;
    if (m.trace_file.empty()) m.flags |= MAP_ANONYMOUS;
    if (km.name == "[stack]") m.flags |= MAP_GROWSDOWN;
    for (auto [from, to] : without_pages(km.start, km.end, ours)) {
      trace::CpMapping piece = m;
      piece.start = from;
      piece.end = to;
      piece.offset = km.offset + (from - km.start);
      for (auto [pf, pt] : without_pages(from, to, scratch))
        REWIND_TRY(pages.capture(pf, pt, keep, source.get(), piece.offset + (pf - from)));
      out.mappings.push_back(std::move(piece));
    }
  }
  // The kernel keeps some neighbours apart that it would merge when they
  // are made anew (a restore does): one entry for each run of them, so a
  // restored process saves the same list.
  std::vector<trace::CpMapping> merged;
  for (trace::CpMapping& m : out.mappings) {
    if (!merged.empty()) {
      trace::CpMapping& last = merged.back();
      const bool file_follows =
          !m.trace_file.empty() && m.offset == last.offset + (last.end - last.start);
      if (last.end == m.start && last.prot == m.prot && last.flags == m.flags &&
          last.trace_file == m.trace_file && last.shared_object == m.shared_object &&
          !(m.flags & MAP_GROWSDOWN) && (m.trace_file.empty() ? !m.shared_object : file_follows)) {
        last.end = m.end;
        continue;
      }
    }
    merged.push_back(std::move(m));
  }
  out.mappings = std::move(merged);
  engine.put<uint64_t>(live.size());
  for (const auto& [file, id] : live) {
    engine.put_string(file);
    engine.put(id.first);
    engine.put(id.second);
  }
  engine.put<uint64_t>(f.as().trap_sites.size());
  for (const auto& [addr, site] : f.as().trap_sites) {
    engine.put(addr);
    engine.put(static_cast<uint8_t>(site.insn.length));
    for (uint8_t i = 0; i < site.insn.length; ++i) engine.put(site.orig[i]);
  }
  // rewind's own code in the process (AddressSpace::in_rewind_code).
  engine.put(f.as().preload_text.first);
  engine.put(f.as().preload_text.second);
  engine.put<uint64_t>(f.as().syscall_stubs.size());
  for (const auto& [start, end] : f.as().syscall_stubs) {
    engine.put(start);
    engine.put(end);
  }
  out.engine = engine.take();

  auto acts = read_sigactions(f);
  if (!acts) return acts.error();
  for (const auto& [sig, act] : *acts) {
    const auto* b = reinterpret_cast<const uint8_t*>(&act);
    out.sigactions.push_back({sig, std::vector<uint8_t>(b, b + sizeof act)});
  }
  auto layout = read_mm_layout(f);
  if (!layout) return layout.error();
  out.mm_layout.assign(layout->fields.begin(), layout->fields.end());
  out.mm_layout.insert(out.mm_layout.end(), layout->auxv.begin(), layout->auxv.end());
  // Only the leader can have an alternate signal stack here
  // (can_checkpoint), and its frozen copy, a fork, has it too.
  auto altstack = read_altstack(f);
  if (!altstack) return altstack.error();

  for (const SessionCheckpoint::Thread& th : p.threads) {
    trace::CpThread t;
    t.rec_tid = th.rec_tid.value;
    const auto* r = reinterpret_cast<const uint8_t*>(&th.image.regs);
    t.regs.assign(r, r + sizeof th.image.regs);
    t.xstate = th.image.xstate;
    t.sigmask = th.image.sigmask;
    if (th.rec_tid.value == group && *altstack) {
      const auto* s = reinterpret_cast<const uint8_t*>(&**altstack);
      t.altstack.assign(s, s + sizeof(stack_t));
    }
    t.engine = persist::encode_task(th.state);
    out.threads.push_back(std::move(t));
  }
  return ok_result();
}

Result<trace::CheckpointInfo> ReplaySession::persist(trace::CheckpointStore& store) {
  if (!can_persist()) return Error{"the replay cannot be saved here (not between events)"};
  auto cp = checkpoint();
  if (!cp) return cp.error();
  auto w = store.begin();
  if (!w) return w.error();
  trace::CheckpointData data;
  data.events = events_completed_;
  data.recorded_time_ns = static_cast<int64_t>(recorded_time_ns_);
  data.reader = (*cp)->reader_->position();
  data.engine = encode_session();
  for (const auto& [group, p] : (*cp)->processes_) {
    trace::CpProcess out;
    auto r = capture_process(**cp, group, out, **w);
    if (!r) return r.error().context("saving process " + std::to_string(group));
    data.processes.push_back(std::move(out));
  }
  auto info = (*w)->commit(std::move(data));
  if (!info) return info.error();
  REWIND_LOG(Replay, "persisted the checkpoint at %llu events (%zu pages)",
             (unsigned long long)events_completed_, info->pages);
  return info;
}

}  // namespace rwd

namespace rwd {

namespace {

// Hashes pages without storing them, for verify_against().
class HashOnly : public trace::CheckpointStore::Writer {
 public:
  Result<trace::PageHash> add_page(const void* page) override { return trace::hash_page(page); }
  Result<trace::CheckpointInfo> commit(trace::CheckpointData) override {
    return Error{"nothing to commit"};
  }
};

std::string hexaddr(uint64_t a) {
  char b[24];
  snprintf(b, sizeof b, "0x%llx", (unsigned long long)a);
  return b;
}

// The first difference between two saved processes, or "".
std::string first_difference(const trace::CpProcess& a, const trace::CpProcess& b) {
  if (a.mappings.size() != b.mappings.size())
    return std::to_string(a.mappings.size()) + " mappings where the checkpoint has " +
           std::to_string(b.mappings.size());
  for (size_t i = 0; i < a.mappings.size(); ++i) {
    const trace::CpMapping &x = a.mappings[i], &y = b.mappings[i];
    if (x.start != y.start || x.end != y.end || x.prot != y.prot || x.flags != y.flags ||
        x.trace_file != y.trace_file || (x.offset != y.offset && !x.trace_file.empty()) ||
        !x.shared_object != !y.shared_object)
      return "mapping " + hexaddr(x.start) + "-" + hexaddr(x.end) + " (" + x.name +
             ") where the checkpoint has " + hexaddr(y.start) + "-" + hexaddr(y.end) + " (" +
             y.name + ")";
  }
  for (size_t i = 0; i < std::max(a.pages.size(), b.pages.size()); ++i) {
    if (i >= a.pages.size()) return "no page at " + hexaddr(b.pages[i].addr);
    if (i >= b.pages.size()) return "a page at " + hexaddr(a.pages[i].addr) + " it lacks";
    if (a.pages[i].addr != b.pages[i].addr)
      return "a page at " + hexaddr(std::min(a.pages[i].addr, b.pages[i].addr)) +
             " only one of them has";
    if (a.pages[i].hash != b.pages[i].hash)
      return "the page at " + hexaddr(a.pages[i].addr) + " differs";
  }
  if (a.threads.size() != b.threads.size()) return "another number of threads";
  for (size_t i = 0; i < a.threads.size(); ++i) {
    const trace::CpThread &x = a.threads[i], &y = b.threads[i];
    user_regs_struct rx, ry;
    if (x.rec_tid != y.rec_tid || x.regs.size() != sizeof rx || y.regs.size() != sizeof ry)
      return "thread " + std::to_string(x.rec_tid) + " where the checkpoint has " +
             std::to_string(y.rec_tid);
    std::memcpy(&rx, x.regs.data(), sizeof rx);
    std::memcpy(&ry, y.regs.data(), sizeof ry);
    if (!same_user_registers(rx, ry))
      return "thread " + std::to_string(x.rec_tid) + "'s registers differ (rip " + hexaddr(rx.rip) +
             ", the checkpoint's " + hexaddr(ry.rip) + ")";
    // The x87 and SSE registers (the XSAVE legacy area up to its reserved
    // bytes). The XSAVE header's bits for components in their initial state
    // depend on how the state was last loaded, not on the program.
    constexpr size_t kLegacyRegs = 416;
    if (x.xstate.size() < kLegacyRegs || y.xstate.size() < kLegacyRegs ||
        std::memcmp(x.xstate.data(), y.xstate.data(), kLegacyRegs) != 0)
      return "thread " + std::to_string(x.rec_tid) + "'s x87/SSE registers differ";
    if (x.sigmask != y.sigmask)
      return "thread " + std::to_string(x.rec_tid) + "'s signal mask differs";
  }
  if (a.sigactions != b.sigactions) {
    std::string which;
    for (int sig = 1; sig < 65; ++sig) {
      auto find = [&](const trace::CpProcess& p) {
        for (const trace::CpSigaction& x : p.sigactions)
          if (x.signo == sig) return x.act;
        return std::vector<uint8_t>();
      };
      if (find(a) != find(b)) which += " " + signal_name(sig);
    }
    return "the dispositions of" + which + " differ";
  }
  return "";
}

}  // namespace

Result<void> ReplaySession::verify_against(const trace::CheckpointData& want) {
  if (events_completed_ != want.events)
    return Error{"at event " + std::to_string(events_completed_) + ", not " +
                 std::to_string(want.events)};
  if (!can_persist()) return Error{"the replay cannot be compared here"};
  auto cp = checkpoint();
  if (!cp) return cp.error();
  HashOnly w;
  std::map<int32_t, const trace::CpProcess*> saved;
  for (const trace::CpProcess& p : want.processes) saved[p.rec_tgid] = &p;
  if (saved.size() != (*cp)->processes_.size())
    return Error{std::to_string((*cp)->processes_.size()) + " processes where the checkpoint has " +
                 std::to_string(saved.size())};
  for (const auto& [group, p] : (*cp)->processes_) {
    auto it = saved.find(group);
    if (it == saved.end())
      return Error{"process " + std::to_string(group) + " is not in the checkpoint"};
    trace::CpProcess got;
    REWIND_TRY(capture_process(**cp, group, got, w));
    const std::string diff = first_difference(got, *it->second);
    if (!diff.empty()) return Error{"process " + std::to_string(group) + ": " + diff};
  }
  return ok_result();
}

}  // namespace rwd
