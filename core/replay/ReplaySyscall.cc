// The syscalls replay executes rather than emulates: execve, mmap and
// mremap at their recorded addresses, and re-emitting stdout/stderr.
#include <fcntl.h>
#include <linux/mman.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include <array>
#include <cstring>
#include <fstream>
#include <iterator>

#include "core/base/FileIo.h"
#include "core/base/Log.h"
#include "core/replay/ReplaySession.h"
#include "core/syscalls/SyscallTable.h"
#include "core/task/ProcMaps.h"
#include "core/task/RemoteSyscall.h"
#include "preload/abi.h"

namespace rwd {

using trace::Event;

Result<void> ReplaySession::prepare_exec(RepTask& t, const trace::TaskEvent& te) {
  // Exec the trace's copy of the executable, not the original path, which
  // may have changed or vanished since recording. The argv and envp the
  // program passed stay as they are.
  Task& task = *t.task;
  if (!task.as().has_stub_page) return Error{"no stub page in the task that execs"};
  auto exe = exe_to_run(te);
  if (!exe) return exe.error();
  const std::string& path = *exe;
  if (path.size() + 1 > kScratchSize) return Error{"trace path too long: " + path};
  REWIND_TRY(task.write_mem(RemotePtr(kScratchAddr), path.c_str(), path.size() + 1));
  auto regs = task.get_regs();
  if (!regs) return regs.error();
  user_regs_struct r = *regs;
  if (t.syscall_nr == SYS_execveat) {
    r.rdi = static_cast<uint64_t>(AT_FDCWD);
    r.rsi = kScratchAddr;
    r.r8 &= ~static_cast<uint64_t>(AT_EMPTY_PATH);
  } else {
    r.rdi = kScratchAddr;
  }
  return task.set_regs(r);
}

Result<std::string> ReplaySession::exe_to_run(const trace::TaskEvent& te) {
  if (auto it = live_->exes.find(te.exe_trace_file); it != live_->exes.end())
    return it->second.path;
  const std::string exe = reader_->file_path(te.exe_trace_file).string();
  LiveFiles::Exe out{exe, std::nullopt};
  auto interp = read_pt_interp(exe);
  if (!interp) return interp.error();
  if (*interp && !te.interp_trace_file.empty()) {
    const std::string recorded = reader_->file_path(te.interp_trace_file).string();
    // The kernel resolves PT_INTERP here, as it did when recording. Every
    // exec of a dynamic program asks, so the answer is kept.
    const std::string key = (*interp)->path + '\n' + te.interp_trace_file;
    auto known = live_->interp_matches.find(key);
    if (known == live_->interp_matches.end()) {
      auto same = same_file_content((*interp)->path, recorded);
      known = live_->interp_matches.emplace(key, same && *same).first;
    }
    if (!known->second) {
      ScopedFd& fd = live_->interps[te.interp_trace_file];
      if (!fd.is_open()) fd = ScopedFd(::open(recorded.c_str(), O_RDONLY | O_CLOEXEC));
      if (!fd.is_open()) return Error::from_errno("opening " + recorded);
      // The tracee opens it through this process's fd table: the path is
      // short enough for any PT_INTERP ("/lib64/ld-linux-x86-64.so.2" has 28
      // bytes), and the tracer outlives every tracee that needs it.
      const std::string via =
          "/proc/" + std::to_string(::getpid()) + "/fd/" + std::to_string(fd.get());
      auto dir = live_->make_dir();
      if (!dir) return dir.error();
      const std::string patched = (*dir / ("exe-" + std::to_string(live_->exes.size()))).string();
      auto w = write_with_interp(exe, **interp, via, patched);
      if (!w)
        return w.error().context("redirecting " + te.exe_path + " to the recorded " +
                                 (*interp)->path);
      REWIND_LOG(Replay, "%s is missing or not the recorded one: %s loads %s",
                 (*interp)->path.c_str(), te.exe_path.c_str(), recorded.c_str());
      out = {patched, *interp};
    }
  }
  live_->exes[te.exe_trace_file] = out;
  return out.path;
}

// After a redirected execve (exe_to_run), puts the recorded PT_INTERP
// string back into the executable's mapping: ld.so reads it (its own name
// in the link map, which debuggers show), and so may the program.
Result<void> ReplaySession::restore_pt_interp(RepTask& t, const trace::TaskEvent& te) {
  auto it = live_->exes.find(te.exe_trace_file);
  if (it == live_->exes.end() || !it->second.interp) return ok_result();
  const LiveFiles::Exe& exe = it->second;
  auto maps = read_proc_maps(t.task->real_tid());
  if (!maps) return maps.error();
  for (const KernelMapping& km : *maps) {
    if (km.name != exe.path || exe.interp->file_offset < km.offset ||
        exe.interp->file_offset + exe.interp->size > km.offset + (km.end - km.start))
      continue;
    const uint64_t addr = km.start + (exe.interp->file_offset - km.offset);
    return t.task->write_mem(RemotePtr(addr), exe.interp->raw.data(), exe.interp->raw.size());
  }
  return ok_result();  // PT_INTERP not in a loaded segment: nothing sees it
}

// The recording's vDSO, rewritten to make syscalls (RecordVdso.cc), is one
// of the exec's memory writes, at the address the kernel put it there: the
// kernel's vDSO here must stand at that address, with that size, for the
// write to replace it. A vDSO of another size (another kernel) cannot.
Result<void> ReplaySession::place_vdso(RepTask& t, const Event& e,
                                       const std::vector<KernelMapping>& maps) {
  const trace::MappingRecord* rec = nullptr;
  auto [lo, hi] = mappings_.equal_range(t.entry_event.value);
  for (auto it = lo; it != hi; ++it)
    if (it->second->tid == e.tid && it->second->orig_path == "[vdso]") rec = it->second;
  const KernelMapping* here = nullptr;
  for (const KernelMapping& k : maps)
    if (k.name == "[vdso]") here = &k;
  bool written = false;  // whether the recording kept it visible (its image is a write)
  for (const trace::MemWrite& w : e.writes)
    written |= rec && w.addr == rec->start && w.bytes.size() == rec->end - rec->start;
  if (!written || (here && here->start == rec->start && here->end == rec->end)) return ok_result();
  if (!here || here->end - here->start != rec->end - rec->start)
    return divergence(e,
                      "the recorded vDSO has another size than this kernel's, which replay "
                      "cannot stand in for: replay on the recording's kernel");
  AutoRemoteSyscalls remote(*t.task);
  auto r = remote.syscall(SYS_mremap, here->start, here->end - here->start, rec->end - rec->start,
                          MREMAP_MAYMOVE | MREMAP_FIXED, rec->start);
  if (!r) return r.error();
  if (static_cast<uint64_t>(*r) != rec->start)
    return divergence(e, "the vDSO could not be moved where the recording had it");
  return ok_result();
}

Result<void> ReplaySession::post_exec(RepTask& t, const Event& e) {
  Task& task = *t.task;
  const trace::TaskEvent* te = task_event(t.entry_event, trace::TaskEventKind::Exec);
  if (!te) return divergence(e, "an execve succeeded that failed in the recording");
  auto as = std::make_shared<AddressSpace>();
  REWIND_TRY(as->open_for(task.real_tid()));
  task.set_address_space(as);
  REWIND_TRY(restore_pt_interp(t, *te));
  REWIND_TRY(install_stub_page(task, syscallbuf::kModeReplay));
  if (cpuid_faulting_) REWIND_TRY(make_cpuid_fault(task));
  t.trap_signals.reset();
  if (auto s = read_trap_signals(task)) t.trap_signals = *s;

  // The recorded layout must be what the kernel built here.
  auto maps = read_proc_maps(task.real_tid());
  if (!maps) return maps.error();
  auto [lo, hi] = mappings_.equal_range(t.entry_event.value);
  for (auto it = lo; it != hi; ++it) {
    const trace::MappingRecord& m = *it->second;
    if (m.tid != e.tid || m.trace_file.empty()) continue;
    bool found = false;
    for (const KernelMapping& km : *maps) found |= km.start == m.start && km.end == m.end;
    if (!found) {
      char buf[64];
      snprintf(buf, sizeof buf, "0x%llx-0x%llx", (unsigned long long)m.start,
               (unsigned long long)m.end);
      return divergence(e, std::string("after execve, ") + m.orig_path + " is not mapped at " +
                               buf + " as recorded");
    }
  }
  REWIND_TRY(patch_trap_sites(task, trap_sites_));
  REWIND_TRY(place_vdso(t, e, *maps));

  auto now = task.get_regs();
  if (!now) return now.error();
  if (now->rsp < e.regs.rsp) {
    // Replay exec'd a path of another length, so the kernel's initial
    // stack reaches lower; clear what the recording never had.
    std::vector<uint8_t> zeros(e.regs.rsp - now->rsp);
    REWIND_TRY(task.write_mem(RemotePtr(now->rsp), zeros.data(), zeros.size()));
  }
  REWIND_TRY(task.set_regs(e.regs));
  for (const trace::MemWrite& w : e.writes)
    REWIND_TRY(
        task.as().write_keeping_breakpoints(RemotePtr(w.addr), w.bytes.data(), w.bytes.size()));
  t.initial_rsp = e.regs.rsp;
  t.robust_list_head = 0;  // execve drops the robust list (set_robust_list(2))
  t.clear_child_tid = 0;   // and clear_child_tid (mm_release)
  t.sigaltstack = false;
  t.syscallbuf = 0;  // the new image's library makes its own
  t.inflight_writes.clear();
  t.exec_pending = false;
  t.in_syscall = false;
  return ok_result();
}

Result<void> ReplaySession::replay_mmap(RepTask& t, const Event& e) {
  Task& task = *t.task;
  const user_regs_struct& a = t.entry_regs;
  const uint64_t addr = e.regs.rax, len = a.rsi;
  const int prot = static_cast<int>(a.rdx);
  int flags = static_cast<int>(a.r10);
  flags = (flags & ~MAP_FIXED_NOREPLACE) | MAP_FIXED;

  const trace::MappingRecord* rec = nullptr;
  auto [lo, hi] = mappings_.equal_range(t.entry_event.value);
  // (By address too: the event may also take mmaps the thread buffered
  // before it, with records of their own.)
  for (auto it = lo; it != hi; ++it)
    if (it->second->tid == e.tid && it->second->start == addr) rec = it->second;

  AutoRemoteSyscalls remote(task);
  Result<int64_t> r = int64_t(0);
  std::string mapped_path;  // the file mapped, if any
  if (flags & MAP_ANONYMOUS) {
    if ((flags & MAP_TYPE) != MAP_PRIVATE) maybe_shared_anonymous_ = true;
    r = remote.syscall(SYS_mmap, addr, len, prot, flags, static_cast<uint64_t>(-1), 0);
  } else if (rec && !rec->trace_file.empty()) {
    // Map the trace's copy, privately: replay must never write into the
    // trace. Files written through a shared mapping, or by a syscall while
    // mapped, come from a per-replay copy instead, mapped as recorded (see
    // ReplaySession::shared_files_ and TraceHeader::written_files).
    const bool live = shared_files_.count(rec->trace_file) > 0 ||
                      written_files_.count({rec->dev, rec->inode}) > 0;
    std::string path = reader_->file_path(rec->trace_file).string();
    if (live) {
      auto copy = live_copy(*rec);
      if (!copy) return copy.error();
      path = *copy;
    }
    mapped_path = path;
    if (!live) flags = (flags & ~MAP_TYPE) | MAP_PRIVATE;
    r = remote.map_file(
        path, live ? O_RDWR : O_RDONLY,
        {addr, len, static_cast<uint64_t>(prot), static_cast<uint64_t>(flags), a.r9});
    if (!r) return r.error().context("replay");
  } else {
    // A file replay has no copy of (a device such as /dev/zero): anonymous
    // memory, whose content is what such mappings start with.
    flags = (flags & ~MAP_TYPE) | MAP_PRIVATE | MAP_ANONYMOUS;
    r = remote.syscall(SYS_mmap, addr, len, prot, flags, static_cast<uint64_t>(-1), 0);
  }
  if (!r) return r.error();
  if (static_cast<uint64_t>(*r) != addr) {
    char buf[96];
    snprintf(buf, sizeof buf, "mmap returned 0x%llx in replay, 0x%llx when recorded",
             (unsigned long long)*r, (unsigned long long)addr);
    return divergence(e, buf);
  }
  // As the recorder did at this mmap (RecordSession::record_mmap): the file
  // is the trace's copy of the one it opened.
  // (Its flags, not replay's: replay maps a shared file privately.)
  const int recorded_flags = static_cast<int>(a.r10);
  if ((prot & PROT_EXEC) && (recorded_flags & MAP_TYPE) == MAP_PRIVATE && !mapped_path.empty()) {
    ScopedFd file(::open(mapped_path.c_str(), O_RDONLY | O_CLOEXEC));
    struct stat st;
    if (file.is_open() && ::fstat(file.get(), &st) == 0)
      REWIND_TRY(patch_trap_mapping(task, trap_sites_, file.get(), st, addr,
                                    addr + ((len + 4095) & ~4095ull), a.r9));
  }
  return ok_result();
}

Result<void> ReplaySession::replay_mremap(RepTask& t, const Event& e) {
  const user_regs_struct& a = t.entry_regs;
  const uint64_t result = e.regs.rax;
  uint64_t flags = a.r10;
  AutoRemoteSyscalls remote(*t.task);
  Result<int64_t> r = int64_t(0);
  if (result == a.rdi) {
    r = remote.syscall(SYS_mremap, a.rdi, a.rsi, a.rdx, flags & ~(MREMAP_MAYMOVE | MREMAP_FIXED),
                       0);
  } else {
    r = remote.syscall(SYS_mremap, a.rdi, a.rsi, a.rdx, flags | MREMAP_MAYMOVE | MREMAP_FIXED,
                       result);
  }
  if (!r) return r.error();
  if (static_cast<uint64_t>(*r) != result) return divergence(e, "mremap moved elsewhere in replay");
  return ok_result();
}

// The bytes a write-family syscall wrote: its input buffers, which the
// program still has in memory at the syscall's exit.
std::vector<uint8_t> ReplaySession::written_bytes(RepTask& t, const Event& e) {
  std::vector<uint8_t> buf;
  const int64_t total = static_cast<int64_t>(e.regs.rax);
  if (total <= 0) return buf;
  const user_regs_struct& a = t.entry_regs;
  auto take = [&](uint64_t addr, uint64_t len) {
    size_t old = buf.size();
    buf.resize(old + len);
    buf.resize(old + t.task->as().read_partial(RemotePtr(addr), buf.data() + old, len));
  };
  switch (e.syscall_no) {
    case SYS_write:
    case SYS_pwrite64:
      take(a.rsi, total);
      break;
    case SYS_writev:
    case SYS_pwritev:
    case SYS_pwritev2: {
      uint64_t left = total;
      for (uint64_t i = 0; i < a.rdx && left > 0; ++i) {
        auto iov = t.task->read_val<struct iovec>(RemotePtr(a.rsi + i * sizeof(struct iovec)));
        if (!iov) break;
        uint64_t n = std::min<uint64_t>(left, iov->iov_len);
        take(reinterpret_cast<uint64_t>(iov->iov_base), n);
        left -= n;
      }
      break;
    }
    default:
      break;
  }
  return buf;
}

Result<void> ReplaySession::emit_output(RepTask& t, const Event& e) {
  if (!options_.emit_output) return ok_result();
  const int out_fd = (e.flags & trace::kFlagStderr) ? 2 : 1;
  std::vector<uint8_t> buf = written_bytes(t, e);
  // The program's own output: a closed or full stdout must not stop replay.
  (void)write_all(out_fd, buf.data(), buf.size(), "replayed output");
  return ok_result();
}

Result<void> ReplaySession::apply_file_write(RepTask& t, const Event& e) {
  std::vector<uint8_t> buf;
  for (const auto& [key, path] : live_->copies) {
    if (std::get<0>(key) != e.file_write_dev || std::get<1>(key) != e.file_write_inode) continue;
    ScopedFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
    if (!fd.is_open()) return Error::from_errno("replay: open " + path);
    if (e.flags & trace::kFlagFileTruncate) {
      if (::ftruncate(fd.get(), static_cast<off_t>(e.file_write_offset)) < 0)
        return Error::from_errno("replay: resizing " + path);
      continue;
    }
    if (buf.empty()) buf = written_bytes(t, e);
    if (pwrite(fd.get(), buf.data(), buf.size(), static_cast<off_t>(e.file_write_offset)) !=
        static_cast<ssize_t>(buf.size()))
      return Error::from_errno("replay: writing into " + path);
  }
  return ok_result();
}

// Whether `sig` is blocked in the task's current signal mask (SigBlk in
// /proc/TID/status).
static bool signal_blocked(pid_t tid, int sig) {
  std::ifstream in("/proc/" + std::to_string(tid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("SigBlk:", 0) != 0) continue;
    uint64_t mask = std::stoull(line.substr(7), nullptr, 16);
    return (mask >> (sig - 1)) & 1;
  }
  return false;
}

// rt_sigsuspend, ppoll, pselect6 and epoll_pwait(2) run with a temporary
// signal mask; when a signal interrupts them (-ERESTARTNOHAND) the kernel
// keeps that mask until the signal is delivered, and restores the saved one
// after (TIF_RESTORE_SIGMASK). Replay emulates those syscalls, so the
// temporary mask never existed and the re-sent signal would stay blocked.
// A real rt_sigsuspend with the program's own temporary mask, injected with
// the signal already pending, returns at once and leaves the kernel exactly
// as the recording had it.
Result<void> ReplaySession::restore_temporary_sigmask(RepTask& t, int sig) {
  if (t.last_result != sys::kErestartNoHand) return ok_result();
  const user_regs_struct& a = t.entry_regs;
  uint64_t mask = 0, size = 0;
  switch (t.syscall_nr) {
    case SYS_rt_sigsuspend:
      mask = a.rdi, size = a.rsi;
      break;
    case SYS_ppoll:
      mask = a.r10, size = a.r8;
      break;
    case SYS_epoll_pwait:
    case SYS_epoll_pwait2:
      mask = a.r8, size = a.r9;
      break;
    case SYS_pselect6: {
      if (!a.r9) return ok_result();
      auto ss = t.task->read_val<std::array<uint64_t, 2>>(RemotePtr(a.r9));  // {sigset*, size}
      if (!ss) return ss.error();
      mask = (*ss)[0], size = (*ss)[1];
      break;
    }
    default:
      return ok_result();
  }
  if (!mask || !signal_blocked(t.task->real_tid(), sig)) return ok_result();
  AutoRemoteSyscalls remote(*t.task);
  auto r = remote.syscall(SYS_rt_sigsuspend, mask, size);
  if (!r) return r.error();
  if (*r != sys::kErestartNoHand)
    return Error{"replay: re-creating the temporary signal mask failed (" + std::to_string(*r) +
                 ")"};
  return ok_result();
}

}  // namespace rwd
