// Restoring a persistent checkpoint into fresh processes (issue 13;
// PersistSave.cc says what a checkpoint holds). Each recorded process gets
// an empty traced process (ProcessState.h: spawned from rewind's own
// executable and emptied), which then takes, through injected syscalls:
// the heap and stack layout (PR_SET_MM_MAP), every mapping (the trace's
// files mapped as replay maps them, anonymous and shared memory), the
// signal dispositions and alternate stack; then its threads are cloned
// and given their registers (ReplayCheckpoint.cc's restore_threads, as for
// in-memory checkpoints), and the saved pages are written last. Nothing
// depends on the machine that saved the checkpoint beyond the trace.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstring>
#include <set>

#include "core/base/ByteCodec.h"
#include "core/base/Log.h"
#include "core/replay/PersistCodec.h"
#include "core/replay/ReplaySession.h"
#include "core/task/ProcessState.h"
#include "core/task/RemoteSyscall.h"
#include "preload/abi.h"

namespace rwd {

using trace::kPageSize;

Result<void> ReplaySession::decode_session(const std::vector<uint8_t>& bytes) {
  ByteReader r(bytes);
  if (r.get<uint32_t>() != persist::kEngineVersion)
    return Error{"the checkpoint's engine state has another version"};
  current_ = EventNum(r.get<uint64_t>());
  root_ = Tid(r.get<pid_t>());
  const bool has_status = r.get<bool>();
  const int status = r.get<int>();
  if (has_status) root_status_ = status;
  const uint64_t n = r.get_count(8 + 8 + 1 + sizeof(user_regs_struct));
  for (uint64_t i = 0; i < n && r.ok(); ++i) {
    const pid_t tid = r.get<pid_t>();
    LastEvent le;
    le.events_before = r.get<uint64_t>();
    le.kind = r.get<trace::EventKind>();
    le.regs = r.get<user_regs_struct>();
    last_event_[tid] = le;
  }
  if (!r.ok() || !r.at_end()) return Error{"the checkpoint's engine state is malformed"};
  return ok_result();
}

namespace {

// A range of pages to write, gathered from consecutive saved pages.
Result<void> write_pages(Task& t, const trace::CheckpointStore& store,
                         const std::vector<trace::CpPage>& pages) {
  std::vector<uint8_t> run;
  uint64_t run_start = 0;
  auto flush = [&]() -> Result<void> {
    if (run.empty()) return ok_result();
    auto r = t.write_mem(RemotePtr(run_start), run.data(), run.size());
    run.clear();
    return r;
  };
  for (const trace::CpPage& p : pages) {
    if (p.addr % kPageSize) return Error{"a saved page is not page-aligned"};
    if (!run.empty() && (p.addr != run_start + run.size() || run.size() >= (1u << 20)))
      REWIND_TRY(flush());
    if (run.empty()) run_start = p.addr;
    run.resize(run.size() + kPageSize);
    REWIND_TRY(store.read_page(p.hash, run.data() + run.size() - kPageSize));
  }
  return flush();
}

bool in_stub(const trace::CpMapping& m) {
  return m.start >= kStubPageAddr && m.end <= kStubPageAddr + kStubMappingSize;
}

}  // namespace

Result<void> ReplaySession::restore_persisted_process(const trace::CpProcess& p,
                                                      const trace::CheckpointStore& store,
                                                      const std::map<uint64_t, int>& shared) {
  const std::string what = "process " + std::to_string(p.rec_tgid);
  if (p.threads.empty() || p.threads.front().rec_tid != p.rec_tgid)
    return Error{what + " has no leader thread first"};
  std::optional<SeccompFilter> filter;
  if (under_filter()) filter = replay_filter();
  auto leader = spawn_empty_process(Tid{p.rec_tgid}, cpu_, filter, syscallbuf::kModeReplay);
  if (!leader) return leader.error();
  std::vector<std::unique_ptr<Task>> tasks;
  tasks.push_back(std::move(*leader));
  Task& t = *tasks.front();
  // Killed with everything else if anything below fails.
  auto kill_it = [&](const Error& e) -> Error {
    kill(t.real_tid(), SIGKILL);
    while (waitpid(t.real_tid(), nullptr, __WALL) < 0 && errno == EINTR) {
    }
    return e.context("restoring " + what);
  };

  // Replay's per-process state.
  ByteReader er(p.engine);
  if (er.get<uint32_t>() != persist::kEngineVersion)
    return kill_it(Error{"its engine state has another version"});
  std::map<std::string, std::pair<uint64_t, uint64_t>> live;
  for (uint64_t n = er.get_count(24), i = 0; i < n && er.ok(); ++i) {
    std::string file = er.get_string();
    const uint64_t dev = er.get<uint64_t>(), ino = er.get<uint64_t>();
    live[file] = {dev, ino};
  }
  // Each patched site: its address, length and original bytes, decoded
  // again (TrapPatch.h).
  bool bad_site = false;
  for (uint64_t n = er.get_count(8 + 1 + 2), i = 0; i < n && er.ok() && !bad_site; ++i) {
    const uint64_t addr = er.get<uint64_t>();
    const uint8_t len = er.get<uint8_t>();
    PatchedTrap site;
    bad_site = len > kMaxTrapInsnLength;
    for (uint8_t k = 0; k < len && !bad_site; ++k) site.orig[k] = er.get<uint8_t>();
    std::optional<TrapInsnInfo> insn;
    if (!bad_site) insn = decode_trap_insn(site.orig.data(), len);
    bad_site = bad_site || !insn || insn->length != len;
    if (!bad_site) {
      site.insn = *insn;
      t.as().trap_sites[addr] = site;
    }
  }
  t.as().preload_text.first = er.get<uint64_t>();
  t.as().preload_text.second = er.get<uint64_t>();
  for (uint64_t n = er.get_count(16), i = 0; i < n && er.ok(); ++i) {
    const uint64_t start = er.get<uint64_t>();
    t.as().syscall_stubs.emplace_back(start, er.get<uint64_t>());
  }
  if (bad_site || !er.ok() || !er.at_end()) return kill_it(Error{"its engine state is malformed"});

  if (p.mm_layout.size() < 11) return kill_it(Error{"its memory layout is missing"});
  MmLayout layout;
  std::copy(p.mm_layout.begin(), p.mm_layout.begin() + 11, layout.fields.begin());
  layout.auxv.assign(p.mm_layout.begin() + 11, p.mm_layout.end());
  if (auto r = set_mm_layout(t, layout); !r) return kill_it(r.error());

  for (const trace::CpMapping& m : p.mappings) {
    if (in_stub(m)) continue;  // spawn_empty_process made it
    if (m.start % kPageSize || m.end <= m.start || m.end % kPageSize)
      return kill_it(Error{"a mapping has a bad range"});
    AutoRemoteSyscalls remote(t);
    const uint64_t len = m.end - m.start;
    int flags = MAP_FIXED | (m.flags & MAP_GROWSDOWN);
    std::string path;
    int open_flags = O_RDONLY;
    if (m.shared_object) {
      maybe_shared_anonymous_ = true;
      auto it = shared.find(m.shared_object);
      if (it == shared.end()) return kill_it(Error{"a shared mapping names no object"});
      path = "/proc/" + std::to_string(getpid()) + "/fd/" + std::to_string(it->second);
      flags |= MAP_SHARED;
      open_flags = O_RDWR;
    } else if (!m.trace_file.empty()) {
      if (m.trace_file.find("..") != std::string::npos || m.trace_file[0] == '/')
        return kill_it(Error{"a mapping names a file outside the trace: " + m.trace_file});
      path = reader_->file_path(m.trace_file).string();
      flags |= MAP_PRIVATE;
      if (auto it = live.find(m.trace_file); it != live.end() && (m.flags & MAP_SHARED)) {
        trace::MappingRecord rec;
        rec.dev = it->second.first;
        rec.inode = it->second.second;
        rec.trace_file = m.trace_file;
        auto copy = live_copy(rec);
        if (!copy) return kill_it(copy.error());
        path = *copy;
        flags = (flags & ~MAP_PRIVATE) | MAP_SHARED;
        open_flags = O_RDWR;
      }
    } else {
      flags |= MAP_PRIVATE | MAP_ANONYMOUS;
    }
    Result<int64_t> r = int64_t(0);
    if (path.empty()) {
      r = remote.syscall(SYS_mmap, m.start, len, m.prot, flags, static_cast<uint64_t>(-1), 0);
    } else {
      r = remote.map_file(path, open_flags,
                          {m.start, len, m.prot, static_cast<uint64_t>(flags), m.offset});
    }
    if (!r) return kill_it(r.error());
    if (static_cast<uint64_t>(*r) != m.start) {
      char buf[160];
      snprintf(buf, sizeof buf, "mapping 0x%llx-0x%llx (%s) failed: %s",
               (unsigned long long)m.start, (unsigned long long)m.end,
               m.name.empty() ? "anonymous" : m.name.c_str(),
               *r < 0 ? strerror(static_cast<int>(-*r)) : "it went elsewhere");
      return kill_it(Error{buf});
    }
  }

  // Every other signal at SIG_DFL: the empty process inherited rewind's
  // ignored signals through its execve.
  std::set<int> saved;
  for (const trace::CpSigaction& a : p.sigactions) saved.insert(a.signo);
  for (int sig = 1; sig < 65; ++sig) {
    if (sig == SIGKILL || sig == SIGSTOP || saved.count(sig)) continue;
    if (auto r = set_sigaction(t, sig, KernelSigaction{}); !r) return kill_it(r.error());
  }
  for (const trace::CpSigaction& a : p.sigactions) {
    KernelSigaction act;
    if (a.act.size() != sizeof act || a.signo < 1 || a.signo > 64)
      return kill_it(Error{"a signal disposition is malformed"});
    std::memcpy(&act, a.act.data(), sizeof act);
    if (auto r = set_sigaction(t, a.signo, act); !r) return kill_it(r.error());
  }
  if (const auto& ss = p.threads.front().altstack; !ss.empty()) {
    stack_t st;
    if (ss.size() != sizeof st) return kill_it(Error{"an alternate signal stack is malformed"});
    std::memcpy(&st, ss.data(), sizeof st);
    if (auto r = set_altstack(t, st); !r) return kill_it(r.error());
  }

  std::vector<SessionCheckpoint::Thread> threads;
  for (const trace::CpThread& th : p.threads) {
    SessionCheckpoint::Thread out;
    out.rec_tid = Tid(th.rec_tid);
    auto state = persist::decode_task(th.engine);
    if (!state) return kill_it(state.error());
    out.state = *state;
    if (th.regs.size() != sizeof out.image.regs) return kill_it(Error{"registers are malformed"});
    std::memcpy(&out.image.regs, th.regs.data(), sizeof out.image.regs);
    // The leader stands at a syscall-exit stop, not at the SIGSTOP the
    // other threads (and a fork's copy) start at: the kernel would not
    // restart a syscall its registers show interrupted.
    if (threads.empty() && !out.state.in_syscall) restart_interrupted_syscall(out.image.regs);
    out.image.xstate = th.xstate;
    out.image.sigmask = th.sigmask;
    threads.push_back(std::move(out));
  }
  // The pages go in before the threads enter their syscalls: writing
  // memory needs no particular stop, but the scratch page the injections
  // use is saved too.
  if (auto r = write_pages(t, store, p.pages); !r) return kill_it(r.error());
  if (auto r = restore_threads(threads, entry_stop(), tasks); !r) return kill_it(r.error());
  for (size_t i = 0; i < tasks.size(); ++i) {
    auto rt = std::make_unique<RepTask>();
    static_cast<RepTaskState&>(*rt) = threads[i].state;
    rt->kicked = false;
    rt->count_arrived = 0;
    rt->stopped_at_bp = 0;
    rt->task = std::move(tasks[i]);
    tasks_[threads[i].rec_tid.value] = std::move(rt);
  }
  return ok_result();
}

Result<std::unique_ptr<ReplaySession>> ReplaySession::restore_persisted(
    const trace::TraceReader& reader, const trace::CheckpointStore& store,
    const trace::CheckpointData& data, const ReplayOptions& options) {
  if (data.trace_uuid != reader.header().uuid)
    return Error{"the checkpoint belongs to another trace"};
  std::unique_ptr<ReplaySession> s(new ReplaySession());
  s->options_ = options;
  auto r = reader.clone_at(data.reader);
  if (!r) return r.error().context("the checkpoint's trace position");
  s->reader_ = std::move(*r);
  s->index_trace();
  REWIND_TRY(s->check_cpu_and_pin());
  REWIND_TRY(s->decode_session(data.engine));
  s->events_completed_ = data.events;
  s->recorded_time_ns_ = static_cast<uint64_t>(data.recorded_time_ns);

  // Shared memory objects, made here and opened by the restored processes
  // through /proc/<rewind>/fd, so that every process maps the same one.
  std::map<uint64_t, ScopedFd> objects;
  std::map<uint64_t, int> shared;
  for (const trace::CpProcess& p : data.processes) {
    for (const trace::CpMapping& m : p.mappings) {
      if (!m.shared_object) continue;
      ScopedFd& fd = objects[m.shared_object];
      if (!fd.is_open())
        fd = ScopedFd(static_cast<int>(syscall(SYS_memfd_create, "rewind-shm", 0)));
      if (!fd.is_open()) return Error::from_errno("memfd_create for a checkpoint's shared memory");
      struct stat st;
      const uint64_t need = m.offset + (m.end - m.start);
      if (fstat(fd.get(), &st) == 0 && static_cast<uint64_t>(st.st_size) < need &&
          ftruncate(fd.get(), static_cast<off_t>(need)) < 0)
        return Error::from_errno("sizing a checkpoint's shared memory");
      shared[m.shared_object] = fd.get();
    }
  }
  for (const trace::CpProcess& p : data.processes) {
    auto done = s->restore_persisted_process(p, store, shared);
    if (!done)
      return done.error().context("restoring the checkpoint at event " +
                                  std::to_string(data.events));
  }
  if (!s->find(s->root_) && !s->root_status_)
    REWIND_LOG(Replay, "restored checkpoint: the initial process is gone");
  REWIND_LOG(Replay, "restored the persisted checkpoint at %llu events",
             (unsigned long long)data.events);
  return s;
}

}  // namespace rwd
