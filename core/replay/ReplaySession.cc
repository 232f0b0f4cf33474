#include "core/replay/ReplaySession.h"

#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <algorithm>
#include <cstring>

#include "core/base/Log.h"
#include "core/cpu/CpuFeatures.h"
#include "core/cpu/Cpuid.h"
#include "core/cpu/TrapAnswer.h"
#include "core/replay/PreemptStub.h"
#include "core/syscalls/SyscallTable.h"
#include "core/task/InflightWrites.h"
#include "core/task/ProcMaps.h"
#include "core/task/RemoteSyscall.h"
#include "core/task/RobustList.h"
#include "core/task/Spawn.h"
#include "core/task/StateHash.h"
#include "core/task/WaitWakeup.h"
#include "preload/abi.h"

namespace rwd {

using trace::Event;
using trace::EventKind;

Result<std::unique_ptr<ReplaySession>> ReplaySession::open(const std::filesystem::path& dir,
                                                           const ReplayOptions& options) {
  auto reader = trace::TraceReader::open(dir, trace::IncompleteTraces::ReadPrefix);
  if (!reader) return reader.error();
  return open(std::move(*reader), options);
}

Result<std::unique_ptr<ReplaySession>> ReplaySession::open(
    std::unique_ptr<trace::TraceReader> reader, const ReplayOptions& options) {
  std::unique_ptr<ReplaySession> s(new ReplaySession());
  s->options_ = options;
  s->reader_ = std::move(reader);
  s->index_trace();
  REWIND_TRY(s->check_cpu_and_pin());
  return s;
}

Result<void> ReplaySession::check_cpu_and_pin() {
  const trace::TraceHeader& h = reader_->header();
  // A recording made with --cpu-features told the program not to use the
  // features outside h.cpu_features, so lacking those here is no reason to
  // refuse (CpuFeatures.h says how far that telling reaches).
  auto missing = cpu::missing_allowed_features(
      cpu::missing_features(h.cpuid, h.xcr0, cpu::read_all_cpuid_leaves(), cpu::read_xcr0()),
      h.cpu_features);
  if (!missing.empty()) {
    std::string list;
    for (auto& f : missing) list += (list.empty() ? "" : ", ") + f;
    std::string msg = "this CPU lacks features the recording CPU had (" + list +
                      "); the program may take other code paths and replay would diverge";
    if (!options_.force_cpu) return Error{msg + ". Use --force to replay anyway."};
    warn("%s", msg.c_str());
  }
  auto cpu = pin_tracer_to_one_cpu(options_.cpu >= 0 ? options_.cpu : h.record_cpu);
  if (!cpu) return cpu.error();
  cpu_ = *cpu;
  // The patched sites (TrapPatch.h) answer from the trace on any machine;
  // CPUID faulting covered code generated at run time too. (Probed once: it
  // forks.)
  static const bool can_fault = cpu::cpuid_faulting_available();
  cpuid_faulting_ = h.cpuid_faulting && can_fault;
  if (h.cpuid_faulting && !cpuid_faulting_)
    REWIND_LOG(Replay,
               "the recording made cpuid fault and this CPU cannot: a cpuid in code generated "
               "at run time (a JIT's) answers for this CPU and may make replay diverge");
  return ok_result();
}

void ReplaySession::index_trace() {
  task_events_.clear();
  mappings_.clear();
  const auto& written = reader_->header().written_files;
  written_files_ = {written.begin(), written.end()};
  for (const auto& te : reader_->task_events()) task_events_.emplace(te.event.value, &te);
  for (const auto& m : reader_->mappings()) {
    mappings_.emplace(m.event.value, &m);
    const int type = m.flags & 0xf;  // MAP_TYPE
    if ((type == MAP_SHARED || type == MAP_SHARED_VALIDATE) && (m.prot & PROT_WRITE) &&
        !m.trace_file.empty())
      shared_files_.insert(m.trace_file);
  }
}

Result<bool> ReplaySession::catch_up_with_recording() {
  const auto shared_before = shared_files_;
  const auto written_before = written_files_;
  auto grew = reader_->catch_up();
  if (!grew) return grew.error();
  if (!*grew) return false;
  index_trace();
  // A file that turns out to be written later (through a shared mapping,
  // or by a syscall while mapped) is mapped from a per-replay copy by a
  // replay of the whole trace, from its first mapping on. One already
  // mapped here from the trace's unchanging copy makes this replay's
  // state differ from such a replay's.
  for (const trace::MappingRecord& m : reader_->mappings()) {
    if (m.event.value > current_.value || m.trace_file.empty()) continue;
    const bool was_live =
        shared_before.count(m.trace_file) || written_before.count({m.dev, m.inode});
    const bool live = shared_files_.count(m.trace_file) || written_files_.count({m.dev, m.inode});
    if (live && !was_live)
      return Error{"the program writes " + m.orig_path +
                   " after mapping it, which a replay following the recording cannot know "
                   "in advance"};
  }
  return true;
}

ReplaySession::~ReplaySession() {
  // Leave no tracee behind, whatever state replay stopped in.
  for (auto& [tid, t] : tasks_) kill(t->task->real_tid(), SIGKILL);
  for (auto& [tid, t] : tasks_) {
    while (waitpid(t->task->real_tid(), nullptr, __WALL) < 0 && errno == EINTR) {
    }
  }
}

Result<std::filesystem::path> LiveFiles::make_dir() {
  if (dir.empty()) {
    auto d = ScratchDir::create("rewind-replay");
    if (!d) return d.error();
    dir = std::move(*d);
  }
  return dir.path();
}

Result<std::string> ReplaySession::live_copy(const trace::MappingRecord& m) {
  auto key = std::make_tuple(m.dev, m.inode, m.trace_file);
  auto it = live_->copies.find(key);
  if (it != live_->copies.end()) return it->second;
  auto dir = live_->make_dir();
  if (!dir) return dir.error();
  std::filesystem::path dst = *dir / std::to_string(live_->copies.size());
  std::error_code ec;
  std::filesystem::copy_file(reader_->file_path(m.trace_file), dst, ec);
  if (ec) return Error{"copying " + m.trace_file + " for replay: " + ec.message()};
  // The trace's file may be read-only; replay writes into its copy.
  std::filesystem::permissions(
      dst, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write,
      std::filesystem::perm_options::add, ec);
  live_->copies[key] = dst.string();
  return dst.string();
}

RepTask* ReplaySession::find(Tid rec_tid) {
  auto it = tasks_.find(rec_tid.value);
  return it == tasks_.end() ? nullptr : it->second.get();
}

const trace::TaskEvent* ReplaySession::task_event(EventNum n, trace::TaskEventKind kind) const {
  auto [lo, hi] = task_events_.equal_range(n.value);
  for (auto it = lo; it != hi; ++it)
    if (it->second->kind == kind) return it->second;
  return nullptr;
}

static bool is_fork_like(int64_t nr) {
  return nr == SYS_clone || nr == SYS_clone3 || nr == SYS_fork || nr == SYS_vfork;
}

static const char* kind_name(EventKind k) {
  switch (k) {
    case EventKind::Preempt:
      return "preemption";
    case EventKind::BatonGive:
      return "baton give";
    case EventKind::SyscallEntry:
      return "syscall entry";
    case EventKind::SyscallExit:
      return "syscall exit";
    case EventKind::Signal:
      return "signal";
    case EventKind::Rdtsc:
      return "rdtsc";
    case EventKind::Cpuid:
      return "cpuid";
    case EventKind::Rdrand:
      return "rdrand";
    case EventKind::Exit:
      return "exit";
    case EventKind::PtraceStop:
      return "ptrace stop";
    case EventKind::PtraceResume:
      return "ptrace resume";
    case EventKind::PtraceWrite:
      return "ptrace write";
  }
  return "?";
}

Error ReplaySession::divergence(const Event& e, const std::string& what) const {
  std::string where = "replay diverged at event " + std::to_string(e.num.value) + " (tid " +
                      std::to_string(e.tid.value) + ", " + kind_name(e.kind);
  if (e.syscall_no >= 0) where += " " + sys::name(e.syscall_no);
  if (e.kind == EventKind::Signal) where += " " + signal_name(e.signo);
  return Error{where + "): " + what};
}

Result<void> ReplaySession::check_regs(const Event& e, const user_regs_struct& now) const {
  struct Field {
    const char* name;
    unsigned long long user_regs_struct::*p;
  };
  static const Field kFields[] = {
      {"rip", &user_regs_struct::rip},         {"rsp", &user_regs_struct::rsp},
      {"rax", &user_regs_struct::rax},         {"rbx", &user_regs_struct::rbx},
      {"rcx", &user_regs_struct::rcx},         {"rdx", &user_regs_struct::rdx},
      {"rsi", &user_regs_struct::rsi},         {"rdi", &user_regs_struct::rdi},
      {"rbp", &user_regs_struct::rbp},         {"r8", &user_regs_struct::r8},
      {"r9", &user_regs_struct::r9},           {"r10", &user_regs_struct::r10},
      {"r11", &user_regs_struct::r11},         {"r12", &user_regs_struct::r12},
      {"r13", &user_regs_struct::r13},         {"r14", &user_regs_struct::r14},
      {"r15", &user_regs_struct::r15},         {"orig_rax", &user_regs_struct::orig_rax},
      {"fs_base", &user_regs_struct::fs_base}, {"gs_base", &user_regs_struct::gs_base},
      {"cs", &user_regs_struct::cs},           {"ss", &user_regs_struct::ss},
  };
  std::string diffs;
  char buf[128];
  for (const Field& f : kFields) {
    if (e.regs.*f.p != now.*f.p) {
      snprintf(buf, sizeof buf, "%s%s recorded 0x%llx, replayed 0x%llx", diffs.empty() ? "" : "; ",
               f.name, e.regs.*f.p, now.*f.p);
      diffs += buf;
    }
  }
  // RF and TF (resume and trap flags) depend on how the task was resumed.
  const unsigned long long kFlagsMask = ~0x10100ull;
  if ((e.regs.eflags & kFlagsMask) != (now.eflags & kFlagsMask)) {
    snprintf(buf, sizeof buf, "%seflags recorded 0x%llx, replayed 0x%llx",
             diffs.empty() ? "" : "; ", e.regs.eflags, now.eflags);
    diffs += buf;
  }
  if (!diffs.empty()) return divergence(e, "registers differ: " + diffs);
  return ok_result();
}

Result<std::optional<int>> ReplaySession::run_to_end() {
  for (;;) {
    auto more = step();
    if (!more) return more.error();
    if (!*more) break;
  }
  if (root_status_) return root_status_;
  if (trace_end()) return std::optional<int>();
  return Error{"the trace ends before the initial process exited"};
}

Result<bool> ReplaySession::step() {
  if (!pending_) {
    auto next = reader_->next_event();
    if (!next) return next.error();
    if (!*next) return false;
    pending_ = std::move(**next);
  }
  auto r = process_event(*pending_);
  if (!r) return r.error();
  // Without a debugger's breakpoints, steps or watchpoints nothing stops.
  if (std::holds_alternative<DebugStop>(*r))
    return Error{"replay stopped for a debugger while replaying without one"};
  recorded_time_ns_ = pending_->time_ns;
  pending_.reset();
  ++events_completed_;
  return true;
}

Result<EventProgress> ReplaySession::process_event(const Event& e) {
  current_ = e.num;
  REWIND_LOG(Replay, "event %llu tid %d %s %lld", (unsigned long long)e.num.value, e.tid.value,
             kind_name(e.kind), (long long)e.syscall_no);
  if (tasks_.empty() && !root_status_) {
    REWIND_TRY(start(e));
    return EventProgress{EventDone{}};
  }
  REWIND_TRY(load_syscallbuf(e));
  REWIND_TRY(load_peer_syscallbufs(e));
  if (e.kind != EventKind::BatonGive) {
    // At its event it stops running with the pool, until given the baton
    // again.
    if (RepTask* t = find(e.tid)) t->in_pool = false;
  }
  auto progress = dispatch_event(e);
  if (!progress || !std::holds_alternative<EventDone>(*progress)) return progress;
  if (e.kind != EventKind::SyscallExit && e.kind != EventKind::Exit && !e.writes.empty()) {
    // What the recorder wrote at another kind of event: marks in the other
    // threads' buffer headers after a buffered close (RecordBuffer.cc,
    // on_buffered_records), which they must find before they run again.
    // (on_exit and on_task_exit place those of syscall and task exits.)
    RepTask* t = find(e.tid);
    if (!t) return divergence(e, "no such task in replay");
    for (const trace::MemWrite& w : e.writes)
      REWIND_TRY(t->task->as().write_keeping_breakpoints(RemotePtr(w.addr), w.bytes.data(),
                                                         w.bytes.size()));
  }
  return progress;
}

Result<EventProgress> ReplaySession::dispatch_event(const Event& e) {
  if (RepTask* t = find(e.tid)) note_event(t->trap_signals, e);
  switch (e.kind) {
    case EventKind::SyscallEntry:
      return on_entry(e);
    case EventKind::SyscallExit:
      return on_exit(e);
    case EventKind::Signal:
      return on_signal(e);
    case EventKind::Rdtsc:
    case EventKind::Cpuid:
    case EventKind::Rdrand:
      return on_trapped_insn(e);
    case EventKind::Exit:
      return on_task_exit(e);
    case EventKind::Preempt:
      return on_preempt(e);
    case EventKind::BatonGive:
      return on_baton_give(e);
    case EventKind::PtraceStop:
      return on_ptrace_stop(e);
    case EventKind::PtraceResume:
      return on_ptrace_resume(e);
    case EventKind::PtraceWrite:
      return on_ptrace_write(e);
  }
  return divergence(e, "an event of an unknown kind");
}

std::vector<RepTask*> ReplaySession::tasks_of(Tid rec_tgid) {
  std::vector<RepTask*> out;
  for (auto& [tid, t] : tasks_)
    if (t->rec_tgid == rec_tgid) out.push_back(t.get());
  return out;
}

// The syscall instructions replay's seccomp filter lets through untraced:
// the tracer's injection instruction (injected syscalls stop at their
// syscall-stops anyway), the one from which replay's library makes the
// buffered syscalls replay makes again (kBufReplayExecutes: they need no
// stop), and the baton's (preload/abi.h). Not the library's
// kUntracedSyscallInsn: in replay a syscall made there is one the recording
// handed to the traced path, an event replay must stop at.
static constexpr uint64_t kReplayUntracedInsns[] = {
    kStubSyscallInsn, syscallbuf::kReplayedSyscallInsn, syscallbuf::kBatonSyscallInsn};

SeccompFilter ReplaySession::replay_filter() {
  return SeccompFilter{{std::begin(kReplayUntracedInsns), std::end(kReplayUntracedInsns)}};
}

bool ReplaySession::untraced_in_replay(uint64_t insn) {
  return std::find(std::begin(kReplayUntracedInsns), std::end(kReplayUntracedInsns), insn) !=
         std::end(kReplayUntracedInsns);
}

Result<void> ReplaySession::start(const Event& e) {
  if (e.kind == EventKind::Exit) {
    // The recorded program died in its first execve (Spawned::died_in_exec):
    // nothing ran, so nothing is replayed but that death.
    root_ = e.tid;
    root_status_ = e.exit_status;
    died_in_exec_ = true;
    return ok_result();
  }
  const trace::TaskEvent* te = task_event(e.num, trace::TaskEventKind::Exec);
  if (e.kind != EventKind::SyscallExit || !te)
    return Error{reader_->dir().string() + ": the trace does not start with an execve"};
  SpawnOptions so;
  auto exe = exe_to_run(*te);
  if (!exe) return exe.error();
  so.exe_path = *exe;
  so.argv = te->argv;
  so.env = reader_->header().env;
  so.cpu = cpu_;
  if (under_filter()) so.seccomp_filter = replay_filter();
  so.ignored_signals = reader_->header().ignored_signals;
  auto spawned = spawn_traced(so);
  if (!spawned) return spawned.error();
  if (spawned->died_in_exec) {
    return divergence(e, "the program was killed by " +
                             signal_name(WTERMSIG(*spawned->died_in_exec)) +
                             " in its execve; the recording ran it (did the trace's copy change?)");
  }
  const pid_t pid = spawned->pid;
  auto as = std::make_shared<AddressSpace>();
  REWIND_TRY(as->open_for(pid));
  auto t = std::make_unique<RepTask>();
  t->task = std::make_unique<Task>(e.tid, pid, as);
  t->rec_tgid = e.tid;
  RepTask& ref = *t;
  tasks_[e.tid.value] = std::move(t);
  root_ = e.tid;
  ref.in_syscall = true;
  ref.syscall_nr = e.syscall_no;
  ref.entry_event = e.num;
  return post_exec(ref, e);
}

// The search for a preemption point gives up once the thread has used far
// more user CPU time than it had there in the recording. Replay runs the
// program's own instructions at native speed, but the stub that checks the
// registers (PreemptStub.h) adds its own to each iteration of a tight loop;
// ptrace stops and traps count as system time, not here.
constexpr auto kPreemptCheckPeriod = std::chrono::milliseconds(1000);
constexpr uint64_t kPreemptSlackMs = 5000;
constexpr uint64_t kPreemptSlackFactor = 20;
constexpr auto kPoolCheckPeriod = std::chrono::milliseconds(2);

Result<void> ReplaySession::check_not_past(const RepTask& t, const Event& e) {
  auto now = thread_user_time_ms(t.task->real_tid());
  if (!now) return ok_result();  // it is dying: its stop will tell
  if (*now <= e.user_time_ms * kPreemptSlackFactor + kPreemptSlackMs) return ok_result();
  char what[200];
  snprintf(what, sizeof what,
           "the task ran %.1f s of user CPU time without reaching the preemption point at "
           "pc 0x%llx, which it reached after %.1f s in the recording (its state never matched)",
           *now / 1000.0, static_cast<unsigned long long>(e.regs.rip), e.user_time_ms / 1000.0);
  return divergence(e, what);
}

// In a process whose threads hand the baton around, the others that run
// with it (pool_of) are resumed beside t, and stopped again once t is
// where it goes (ReplayPool.cc).
Result<ReplaySession::Advanced> ReplaySession::advance(RepTask& t, Want want, const Event& e,
                                                       bool sysemu_ok) {
  REWIND_TRY(run_pool(t));
  auto r = advance_task(t, want, e, sysemu_ok);
  auto stopped = stop_pool(t);
  if (!r) return r;
  if (!stopped) return stopped.error();
  return r;
}

Result<ReplaySession::Advanced> ReplaySession::advance_task(RepTask& t, Want want, const Event& e,
                                                            bool sysemu_ok) {
  Task& task = *t.task;
  if (t.early_stop && want != Want::ExitEvent && want != Want::Reaped) {
    // It stopped while it ran with the pool for another task's event.
    const WaitStatus st = *std::exchange(t.early_stop, std::nullopt);
    REWIND_LOG(Replay, "tid %d: its stop came early (0x%x)", task.real_tid(), st.raw());
    early_status_ = st;
  }
  if (want == Want::ExitEvent) {
    // The task is on its way out (its exit syscall, a fatal signal being
    // injected, or killed by another thread's exit_group): drive it there.
    // A dying task can vanish between a stop and our next request, so
    // ptrace errors here only mean it is gone already.
    //
    // It dies by itself (its exit syscall, a fatal signal injected now), or
    // is killed by another thread's exit_group, execve or fatal signal. Such
    // a SIGKILL wakes it from the ptrace stop we left it in, so then it must
    // not be resumed: from an emulated syscall it would run user code with a
    // bogus result, and resuming its PTRACE_EVENT_EXIT stop unseen would
    // lose that stop (a leader would become a zombie that cannot be waited
    // for while its threads live).
    bool resume = t.inject_sig ||
                  (t.in_syscall && (t.syscall_nr == SYS_exit || t.syscall_nr == SYS_exit_group));
    for (;;) {
      std::optional<WaitResult> w;
      if (t.early_stop) {
        w = WaitResult{task.real_tid(), *std::exchange(t.early_stop, std::nullopt)};
      } else {
        if (!t.running && resume) {
          (void)task.resume(ResumeRequest::Cont, std::exchange(t.inject_sig, 0));
          t.running = true;
        } else if (!t.running) {
          REWIND_TRY(start_killer(t));
        }
        auto got = task.wait();
        if (!got) return got.error();
        w = *got;
      }
      t.running = false;
      const WaitStatus st = w->status;
      if (st.is_exit()) return Advanced{st};
      if (st.kind() == WaitStatus::Kind::EventStop && st.ptrace_event() == PTRACE_EVENT_EXIT)
        return Advanced{st};
      // A new thread that never ran in the recording: its first stop, left
      // as is until the kill comes.
      if (t.initial_stop_pending && st.kind() == WaitStatus::Kind::SignalDeliveryStop &&
          st.stop_sig() == SIGSTOP) {
        t.initial_stop_pending = false;
        continue;
      }
      resume = true;  // some stop on its way out: go on
    }
  }
  // Toward a preemption point, the task could run past it unseen, forever.
  // And while it runs user code, a debugger may want it stopped (run()'s
  // interrupt and stop_after_ms): it is sent a SIGSTOP, whose delivery stop
  // becomes an Interrupted stop.
  const bool watch_preempt = want == Want::Preempt && (e.flags & trace::kFlagHasUserTime);
  const bool may_kick = control_ && (control_->interrupt || control_->stop_after_ms) &&
                        (want == Want::SyscallEntry || want == Want::Signal ||
                         want == Want::TrappedInsn || want == Want::Preempt);
  std::optional<PeriodicWakeup> wakeup;
  StuckWatch stuck;
  if (watch_preempt || may_kick || pool_running_) {
    // Often enough for stop_after_ms, when it is shorter than kWakeupMs.
    const uint64_t kick_ms = control_ && control_->stop_after_ms
                                 ? std::min<uint64_t>(control_->stop_after_ms, kWakeupMs)
                                 : kWakeupMs;
    // Threads of the pool stop for the debugger (or come early to their
    // own events) unseen by a waitpid on this task: they are looked for
    // at each wakeup, which comes often then.
    auto started = PeriodicWakeup::start(pool_running_ ? kPoolCheckPeriod
                                         : may_kick    ? std::chrono::milliseconds(kick_ms)
                                                       : kPreemptCheckPeriod);
    if (!started) return started.error();
    wakeup.emplace(std::move(*started));
  }
  // Where the task's next syscall-stop is an entry whose syscall replay
  // emulates (or none is due), PTRACE_SYSEMU has the kernel skip that
  // syscall: its exit is replayed at the entry stop, without a second stop
  // (on_exit). Not from inside a syscall: its exit stop is still to come.
  // Nor where the preload library makes syscalls on the way (those replay
  // makes again, kBufReplayExecutes): PTRACE_SYSEMU would skip them too.
  // Nor under the seccomp filter, whose stops do all that (resume_task).
  bool emulate = sysemu_ok && !under_filter() && !t.in_syscall &&
                 ((want == Want::SyscallEntry && emulated_at_entry(e)) || want == Want::Signal ||
                  want == Want::TrappedInsn || want == Want::Preempt) &&
                 !library_makes_syscalls(e);
  for (;;) {
    std::optional<WaitResult> w;
    if (early_status_) {
      w = WaitResult{task.real_tid(), *std::exchange(early_status_, std::nullopt)};
    } else if (!t.running) {
      REWIND_TRY(resume_task(t, emulate));
    }
    while (!w) {
      if (!wakeup) {
        auto got = task.wait();
        if (!got) return got.error();
        w = *got;
        break;
      }
      auto got = wait_interruptible(task.real_tid());
      if (!got) return got.error();
      if (*got) {
        w = **got;
        task.note_stop(w->status);
        break;
      }
      if (pool_running_) {
        auto stop = poll_pool(t);
        if (!stop) return stop.error();
        if (*stop) return Advanced{**stop};
      }
      if (watch_preempt) REWIND_TRY(check_not_past(t, e));
      REWIND_TRY(check_not_stuck(t, e, stuck));
      if (may_kick && !t.kicked && !t.in_syscall && !t.single_stepped && !t.initial_stop_pending &&
          interrupt_due()) {
        REWIND_TRY(task.send_signal(SIGSTOP));
        t.kicked = true;
      }
    }
    t.running = false;
    const bool ptrace_stepped = std::exchange(t.ptrace_stepped, false);
    if (!w->status.is_exit()) {
      REWIND_TRY(note_counted(t));
      REWIND_TRY(relay_patch(t));
    }
    if (t.lifted_bp && !w->status.is_exit()) {
      REWIND_TRY(task.as().relay_breakpoint(t.lifted_bp));
      t.lifted_bp = 0;
    }
    WaitStatus st = w->status;
    switch (st.kind()) {
      case WaitStatus::Kind::Exited:
      case WaitStatus::Kind::Killed:
        // A thread killed by another's exit_group may die without stopping
        // at PTRACE_EVENT_EXIT (ptrace(2)); its recorded exit is this one.
        if (want == Want::Reaped || want == Want::ExitEvent) return Advanced{st};
        return divergence(
            e, "the task ended unexpectedly (wait status 0x" + std::to_string(st.raw()) + ")");
      case WaitStatus::Kind::SignalDeliveryStop: {
        int sig = st.stop_sig();
        if (t.kicked && sig == SIGSTOP && !t.initial_stop_pending) {
          // Ours (above): stop here if the task stands in its own code;
          // else on, out of the stub, a step at a time (resume_task).
          t.kicked = false;
          auto stop = maybe_interrupt(t);
          if (!stop) return stop.error();
          if (*stop) return Advanced{**stop};
          continue;
        }
        if (t.initial_stop_pending && sig == SIGSTOP) {
          REWIND_TRY(on_initial_stop(t));
          continue;
        }
        if (sig == SIGTRAP && ptrace_stepped) {
          // A single-step its recorded tracer asked for: on through rewind's
          // code, else it is the step's stop.
          auto regs = task.get_regs();
          if (!regs) return regs.error();
          if (task.as().in_rewind_code(regs->rip)) continue;
          if (want == Want::Signal && e.signo == SIGTRAP && (e.flags & trace::kFlagPtraceStop))
            return Advanced{st};
          char at[40];
          snprintf(at, sizeof at, "0x%llx", static_cast<unsigned long long>(regs->rip));
          return divergence(e, std::string("a single-step its tracer asked for ended at ") + at +
                                   ", before the recorded event");
        }
        if (sig == SIGTRAP && want == Want::Preempt) {
          // Our int3 (on_preempt): a breakpoint at the preemption point's pc,
          // or the one in its PreemptStub; either way the task is put at
          // the program's pc.
          auto si = task.get_siginfo();
          auto regs = task.get_regs();
          if (si && regs && si->si_code == SI_KERNEL && regs->rip == preempt_trap_pc_) {
            user_regs_struct r = *regs;
            r.rip = e.regs.rip;
            REWIND_TRY(task.set_regs(r));
            if (preempt_trap_pc_ == e.regs.rip + 1) t.stopped_at_bp = r.rip;
            return Advanced{st};
          }
        }
        if (sig == SIGTRAP) {
          auto trap = on_sigtrap(t);
          if (!trap) return trap.error();
          if (trap->action == TrapAction::Continue) {
            auto stop = maybe_interrupt(t);
            if (!stop) return stop.error();
            if (*stop) return Advanced{**stop};
            continue;
          }
          if (trap->action == TrapAction::Stop) return Advanced{trap->stop};
        }
        if (want == Want::Signal && sig == e.signo) return Advanced{st};
        if (want == Want::TrappedInsn && (sig == SIGILL || sig == SIGSEGV) &&
            trapped_insn(task, sig))
          return Advanced{st};  // TrapPatch.h
        auto si = task.get_siginfo();
        if (si && is_synchronous_fault(sig, *si)) {
          auto regs = task.get_regs();
          char buf[64];
          snprintf(buf, sizeof buf, " at rip 0x%llx", regs ? regs->rip : 0ull);
          return divergence(e, "the task got an unrecorded " + signal_name(sig) + buf);
        }
        // A signal the live kernel generated (SIGCHLD from a child that
        // really exited, ...): the recorded deliveries are replayed
        // explicitly, so drop it.
        continue;
      }
      case WaitStatus::Kind::SyscallStop: {
        // A sibling that runs may have killed it since (exit_group): then
        // only the kernel can tell.
        auto k = task.syscall_stop_kind(task.at_sysemu_entry() && !sibling_running(t));
        if (!k) return k.error();
        if (*k == SyscallStopKind::Entry) {
          auto regs = task.get_regs();
          if (!regs) return regs.error();
          if (under_filter() && !untraced_in_replay(regs->rip - 2)) {
            // PTRACE_SYSCALL's entry stop before a syscall the filter
            // traces (resume_task uses PTRACE_CONT there, but a task
            // resumed with PTRACE_SYSCALL on its way may get this far): the
            // seccomp stop follows at once, the entry stop replay works at.
            REWIND_TRY(task.resume(ResumeRequest::Cont));
            t.running = true;
            continue;
          }
          // The preload library making a buffered syscall for real, as the
          // recording did, between events (kReplayedSyscallInsn in
          // preload/abi.h), stopped only because the task was resumed with
          // PTRACE_SYSCALL (a step, or replay without the filter): on, past
          // its exit stop, which is passed like a new child's below (under
          // the filter resume_task continues with PTRACE_CONT: no exit stop).
          if (regs->rip == syscallbuf::kReplayedSyscallInsn + 2 ||
              regs->rip == syscallbuf::kBatonSyscallInsn + 2) {
            if (task.at_sysemu_entry()) {
              // The kernel skips a syscall it stopped with PTRACE_SYSEMU
              // (records loaded at an earlier event, which
              // library_makes_syscalls did not see): make it again, traced.
              user_regs_struct r = *regs;
              r.rip -= 2;
              r.rax = r.orig_rax;
              REWIND_TRY(task.set_regs(r));
              emulate = false;
            }
            continue;
          }
        }
        if (want == Want::SyscallEntry && *k == SyscallStopKind::Entry) return Advanced{st};
        if (want == Want::SyscallExit && *k == SyscallStopKind::Exit) return Advanced{st};
        if (*k == SyscallStopKind::Exit && !t.in_syscall) continue;  // a child's return from fork
        return unexpected_syscall_stop(t, e, *k);
      }
      case WaitStatus::Kind::EventStop: {
        int ev = st.ptrace_event();
        if (ev == PTRACE_EVENT_FORK || ev == PTRACE_EVENT_VFORK || ev == PTRACE_EVENT_CLONE) {
          REWIND_TRY(register_child(t, ev));
          if (want == Want::ForkEvent) return Advanced{st};
          continue;
        }
        if (ev == PTRACE_EVENT_EXEC) {
          t.exec_pending = true;
          continue;
        }
        if (ev == PTRACE_EVENT_EXIT) {
          if (want == Want::ExitEvent) return Advanced{st};
          return divergence(e, "the task began to exit unexpectedly");
        }
        if (ev == PTRACE_EVENT_SECCOMP) {
          // Replay's filter stopped a syscall on its way in (Spawn.h): its
          // entry stop, for replay as for the recorder.
          if (want == Want::SyscallEntry) return Advanced{st};
          return unexpected_syscall_stop(t, e, SyscallStopKind::Seccomp);
        }
        continue;
      }
      case WaitStatus::Kind::GroupStop:
        continue;
    }
  }
}

// The preload library's kFlushDiverged (preload.cc): the syscall it was
// given is not the one its next buffered record holds, or it is one that
// replay makes again (brk, mmap, ...) and that returned something else.
static std::optional<std::string> buffer_divergence(const user_regs_struct& regs) {
  if (static_cast<int64_t>(regs.orig_rax) != syscallbuf::kSysFlush ||
      regs.rdi != static_cast<uint64_t>(syscallbuf::kFlushDiverged))
    return std::nullopt;
  const std::string name = sys::name(static_cast<int64_t>(regs.rsi));
  return "the program made " + name + " where the recording's next buffered syscall was " +
         "another, or replay made that " + name + " again and it returned otherwise";
}

Error ReplaySession::unexpected_syscall_stop(RepTask& t, const Event& e, SyscallStopKind k) {
  auto regs = t.task->get_regs();
  if (regs && k != SyscallStopKind::Exit)
    if (auto why = buffer_divergence(*regs)) return divergence(e, *why);
  const bool exit = k == SyscallStopKind::Exit;
  return divergence(e, std::string("the task reached a syscall ") + (exit ? "exit" : "entry") +
                           " of " + sys::name(regs ? static_cast<int64_t>(regs->orig_rax) : -1) +
                           " instead");
}

// A new task's first stop, its SIGSTOP.
Result<void> ReplaySession::on_initial_stop(RepTask& t) {
  Task& task = *t.task;
  t.initial_stop_pending = false;
  if (t.fix_child_tid_addr) {
    // The kernel stored the live tid (CLONE_CHILD_SETTID); the program
    // must see the recorded one.
    pid_t rec = task.rec_tid().value;
    REWIND_TRY(task.write_mem(RemotePtr(t.fix_child_tid_addr), &rec, sizeof rec));
    t.fix_child_tid_addr = 0;
  }
  // Debug registers are per thread and not inherited by clone().
  auto dr = debug_regs_.find(t.rec_tgid.value);
  if (dr != debug_regs_.end()) REWIND_TRY(rwd::set_debug_registers(task.real_tid(), dr->second));
  return ok_result();
}

Result<void> ReplaySession::register_child(RepTask& parent, int event) {
  auto msg = parent.task->get_event_msg();
  if (!msg) return msg.error();
  pid_t real_child = static_cast<pid_t>(*msg);
  const trace::TaskEvent* te = task_event(parent.entry_event, trace::TaskEventKind::Clone);
  if (!te) {
    kill(real_child, SIGKILL);
    return Error{"replay diverged: tid " + std::to_string(parent.task->rec_tid().value) +
                 " created a task the recording did not have"};
  }
  std::shared_ptr<AddressSpace> as;
  if (te->clone_flags & CLONE_VM) {
    as = parent.task->shared_as();
  } else {
    as = std::make_shared<AddressSpace>();
    REWIND_TRY(as->open_for(real_child));
    as->inherit_from_fork(parent.task->as());
  }
  if (!(te->clone_flags & CLONE_VM))
    REWIND_TRY(as->remove_inherited_breakpoints(parent.task->as()));
  auto c = std::make_unique<RepTask>();
  c->task = std::make_unique<Task>(te->tid, real_child, as);
  if (!(te->clone_flags & CLONE_VM)) REWIND_TRY(clear_fork_child_baton(*c));
  c->rec_tgid = (te->clone_flags & CLONE_THREAD) ? parent.rec_tgid : te->tid;
  c->initial_rsp = parent.initial_rsp;
  c->initial_stop_pending = true;
  // A fork or vfork keeps the caller's alternate signal stack; a new
  // thread has none (copy_process).
  c->sigaltstack = (te->clone_flags & (CLONE_VM | CLONE_VFORK)) != CLONE_VM && parent.sigaltstack;
  // The parent's syscall buffer, as the recorder has it (on_event_stop).
  if (!(te->clone_flags & CLONE_SETTLS)) c->syscallbuf = parent.syscallbuf;
  // Until the child reports its first stop, ptrace requests on it fail with
  // ESRCH: wait for that stop before resuming it.
  c->running = true;
  if (te->clone_flags & CLONE_PARENT_SETTID) {
    // The kernel wrote the live tid at clone time, and the new thread may
    // read it before the parent's syscall exit puts back what was recorded.
    const user_regs_struct& r = parent.entry_regs;
    uint64_t ptid = r.rdx;  // clone(flags, stack, ptid, ctid, tls)
    if (parent.syscall_nr == SYS_clone3) {
      auto p = parent.task->read_val<uint64_t>(RemotePtr(r.rdi + 24));
      ptid = p ? *p : 0;
    }
    pid_t rec = te->tid.value;
    if (ptid) REWIND_TRY(parent.task->write_mem(RemotePtr(ptid), &rec, sizeof rec));
  }
  if (te->clone_flags & (CLONE_CHILD_SETTID | CLONE_CHILD_CLEARTID)) {
    const user_regs_struct& r = parent.entry_regs;
    uint64_t ctid = r.r10;  // clone(flags, stack, ptid, ctid, tls)
    if (parent.syscall_nr == SYS_clone3) {
      auto a = parent.task->read_val<uint64_t>(RemotePtr(r.rdi + 16));
      ctid = a ? *a : 0;
    }
    if (te->clone_flags & CLONE_CHILD_SETTID) c->fix_child_tid_addr = ctid;
    if (te->clone_flags & CLONE_CHILD_CLEARTID) c->clear_child_tid = ctid;
  }
  tasks_[te->tid.value] = std::move(c);
  return ok_result();
}

// Has the kernel skip the syscall at the task's entry stop, which replay
// emulates. After PTRACE_SYSEMU it does so whatever orig_rax says (a
// checkpoint's image of the task says -1 all the same: ReplayCheckpoint.cc);
// at a seccomp stop, Task::skip_syscall; at a syscall-entry stop, orig_rax
// -1 (the kernel returns -ENOSYS).
static Result<void> skip_emulated_syscall(Task& task, const user_regs_struct& regs) {
  if (task.at_sysemu_entry()) return ok_result();
  if (task.at_seccomp_stop()) return task.skip_syscall();
  user_regs_struct r = regs;
  r.orig_rax = static_cast<uint64_t>(-1);
  return task.set_regs(r);
}

Result<EventProgress> ReplaySession::on_entry(const Event& e) {
  RepTask* t = find(e.tid);
  if (!t) return divergence(e, "no such task in replay");
  Task& task = *t->task;
  auto st = advance(*t, Want::SyscallEntry, e);
  if (!st) return st.error();
  if (auto* stop = std::get_if<DebugStop>(&*st)) return EventProgress{*stop};
  auto regs = task.get_regs();
  if (!regs) return regs.error();
  // The preload library found that the syscall it was given is not the
  // one its next buffered record holds (preload.cc, kFlushDiverged).
  if (auto why = buffer_divergence(*regs)) return divergence(e, *why);
  // It ran out of records where the recording had more: the library makes
  // the syscall itself, where the recording made another one traced.
  if (regs->rip == syscallbuf::kUntracedSyscallInsn + 2 && e.regs.rip != regs->rip)
    return divergence(e, "the program made " + sys::name(static_cast<int64_t>(regs->orig_rax)) +
                             " from its syscall buffer, which holds no record of it, where the "
                             "recording made " +
                             sys::name(e.syscall_no));
  REWIND_TRY(check_regs(e, *regs));
  const int64_t nr = e.syscall_no;
  t->in_syscall = true;
  t->syscall_nr = nr;
  t->entry_regs = *regs;
  t->entry_event = e.num;
  t->exec_pending = false;
  t->inflight_writes.clear();
  if (!(e.flags & trace::kFlagSyscallSkipped)) {
    const bool restart = nr == SYS_restart_syscall && t->restart_nr >= 0;
    t->inflight_writes =
        inflight_writes(task, restart ? t->restart_nr : nr, restart ? t->restart_regs : *regs);
  }

  const bool native = runs_natively(e);
  const bool fork_like = native && is_fork_like(nr);
  if (native && (nr == SYS_execve || nr == SYS_execveat)) {
    const trace::TaskEvent* te = task_event(e.num, trace::TaskEventKind::Exec);
    // A successful execve walks the robust list too (exec_mm_release).
    REWIND_TRY(
        retarget_robust_futexes(task.as(), t->robust_list_head, e.tid.value, task.real_tid()));
    REWIND_TRY(prepare_exec(*t, *te));
    if (te->former_tid.value) {
      // It takes over the leader's tid. Its execve kills the other threads
      // (start_killer() lets it into the kernel when their exits come).
      auto tgid = proc_status_field(task.real_tid(), "Tgid");
      if (!tgid) return tgid.error();
      t->exec_takes_tid = te->tid;
      t->exec_leader_real_tid = static_cast<pid_t>(*tgid);
    }
  }
  // The kernel takes the head for any address; only a wrong length fails.
  if (nr == SYS_set_robust_list && native && regs->rsi == sizeof(uint64_t) * 3)
    t->robust_list_head = regs->rdi;
  if (nr == SYS_set_tid_address && native) t->clear_child_tid = regs->rdi;
  if (nr == SYS_sigaltstack && native && regs->rdi) {
    // stack_t { ss_sp; int ss_flags; ss_size }: SS_DISABLE removes it. (A
    // failing call changes nothing; counting it as set only refuses
    // checkpoints.)
    auto flags = task.read_val<int>(RemotePtr(regs->rdi + 8));
    t->sigaltstack = !flags || !(*flags & SS_DISABLE);
  }
  t->native = native;
  if (!native) REWIND_TRY(skip_emulated_syscall(task, *regs));
  if (fork_like) {
    // Run the fork now, so the child exists when its first event comes; the
    // parent is left running toward its exit stop (or asleep, for vfork).
    auto fe = advance(*t, Want::ForkEvent, e);
    if (!fe) return fe.error();
    if (auto* stop = std::get_if<DebugStop>(&*fe)) return EventProgress{*stop};
    REWIND_TRY(task.resume(ResumeRequest::Syscall));
    t->running = true;
  }
  return EventProgress{EventDone{}};
}

// Whether the thread's buffered syscalls on its way to `e` include one that
// replay's library makes itself (kBufReplayExecutes, preload/abi.h).
bool ReplaySession::library_makes_syscalls(const Event& e) const {
  bool makes = false;
  syscallbuf::for_each_record(e.syscallbuf.data(), e.syscallbuf.size(),
                              [&](const syscallbuf::BufRecord& rec) {
                                const sys::SyscallDesc* d = sys::find(rec.nr);
                                makes |= d && (d->flags & sys::kBufReplayExecutes);
                              });
  return makes;
}

// Whether the kernel runs the syscall of entry event `e` (on_entry), rather
// than replay emulating it.
bool ReplaySession::runs_natively(const Event& e) const {
  const int64_t nr = e.syscall_no;
  if (e.flags & trace::kFlagSyscallSkipped) return false;
  if (is_fork_like(nr)) return task_event(e.num, trace::TaskEventKind::Clone) != nullptr;
  if (nr == SYS_execve || nr == SYS_execveat)
    return task_event(e.num, trace::TaskEventKind::Exec) != nullptr;
  // mmap and mremap: done by injection at the exit stop, at the recorded
  // address; shmat and shmdt too, on the segment's copy (ReplayShm.cc).
  if (nr == SYS_mmap || nr == SYS_mremap || nr == SYS_shmat || nr == SYS_shmdt) return false;
  const sys::SyscallDesc* d = sys::find(nr);
  return d && d->replay == sys::ReplayMode::Execute;
}

// Whether replay emulates the syscall of entry event `e` whole at its entry
// stop: its exit needs no exit stop (as mmap, mremap and the preload
// library's initialisation do, which inject syscalls there).
bool ReplaySession::emulated_at_entry(const Event& e) const {
  return !runs_natively(e) && !injects_at_exit(e.syscall_no);
}

bool ReplaySession::injects_at_exit(int64_t nr) {
  return nr == SYS_mmap || nr == SYS_mremap || nr == SYS_shmat || nr == SYS_shmdt ||
         nr == syscallbuf::kSysInitPreload;
}

bool ReplaySession::sibling_running(const RepTask& t) const {
  for (const auto& [tid, s] : tasks_)
    if (s.get() != &t && s->running && s->rec_tgid == t.rec_tgid) return true;
  return false;
}

// A thread killed by a sibling's execve (de_thread): in recording, the
// execve was entered earlier, and other threads ran on while the kernel
// prepared the new image. Replay lets it into the kernel only now, when the
// first victim's exit is due, so they have run just as far.
Result<void> ReplaySession::start_killer(RepTask& victim) {
  for (RepTask* s : tasks_of(victim.rec_tgid)) {
    if (s == &victim || s->running || !s->in_syscall || !s->native) continue;
    if (s->syscall_nr != SYS_execve && s->syscall_nr != SYS_execveat) continue;
    REWIND_TRY(s->task->resume(ResumeRequest::Syscall));
    s->running = true;
  }
  return ok_result();
}

// The exit of an execve from a thread that is not the leader: the task now
// has the leader's tid, recorded and live (the leader's exit came before).
RepTask* ReplaySession::take_over_leader_tid(Tid leader) {
  for (auto it = tasks_.begin(); it != tasks_.end(); ++it) {
    RepTask& t = *it->second;
    if (t.exec_takes_tid != leader || !t.in_syscall) continue;
    auto node = tasks_.extract(it);
    tasks_.erase(leader.value);
    // The kernel released the old leader in de_thread: nothing to reap.
    dying_leaders_.erase(t.rec_tgid.value);
    node.key() = leader.value;
    t.task->take_tids(leader, std::exchange(t.exec_leader_real_tid, 0));
    t.exec_takes_tid = Tid();
    tasks_.insert(std::move(node));
    return &t;
  }
  return nullptr;
}

Result<EventProgress> ReplaySession::on_exit(const Event& e) {
  // Only the exit of an execve from a secondary thread finds no task: the
  // leader whose tid it takes exited before it.
  RepTask* t = find(e.tid);
  if (!t) t = take_over_leader_tid(e.tid);
  if (!t) return divergence(e, "no such task in replay");
  Task& task = *t->task;
  // Entered with PTRACE_SYSEMU (advance), or stopped by the seccomp filter
  // and skipped there (on_entry): the kernel skips the syscall, and reports
  // no exit stop once resumed with PTRACE_CONT, so its results go in at the
  // entry stop. (Not those that inject syscalls at their exit stop.)
  const bool at_entry = t->in_syscall && !t->native && !t->running && task.at_skipped_entry() &&
                        !injects_at_exit(e.syscall_no);
  if (at_entry) {
    task.finish_at_entry();
  } else {
    auto st = advance(*t, Want::SyscallExit, e);
    if (!st) return st.error();
    if (auto* stop = std::get_if<DebugStop>(&*st)) return EventProgress{*stop};
  }
  if (t->exec_pending) {
    REWIND_TRY(post_exec(*t, e));
    return EventProgress{EventDone{}};
  }
  const int64_t rec_ret = static_cast<int64_t>(e.regs.rax);
  const bool failed = sys::is_error(rec_ret);
  if (!(e.flags & trace::kFlagSyscallSkipped) && !failed) {
    if (e.syscall_no == SYS_mmap) REWIND_TRY(replay_mmap(*t, e));
    if (e.syscall_no >= syscallbuf::kSysInitPreload) REWIND_TRY(on_preload_call(*t, e));
    if (e.syscall_no == SYS_mremap) REWIND_TRY(replay_mremap(*t, e));
    if (e.syscall_no == SYS_shmat) REWIND_TRY(replay_shmat(*t, e));
    if (e.syscall_no == SYS_shmdt) REWIND_TRY(replay_shmdt(*t, e));
    if (e.syscall_no == SYS_brk && t->native) {
      auto now = task.get_regs();
      if (now && now->rax != e.regs.rax)
        return divergence(e, "brk returned a different break than recorded");
    }
  }
  if (e.flags & (trace::kFlagStdout | trace::kFlagStderr)) REWIND_TRY(emit_output(*t, e));
  if (e.flags & (trace::kFlagFileWrite | trace::kFlagFileTruncate))
    REWIND_TRY(apply_file_write(*t, e));
  REWIND_TRY(task.set_regs(e.regs));
  for (const trace::MemWrite& w : e.writes)
    REWIND_TRY(
        task.as().write_keeping_breakpoints(RemotePtr(w.addr), w.bytes.data(), w.bytes.size()));
  if (!e.writes.empty()) REWIND_TRY(drop_overwritten_patches(*t));
  t->in_syscall = false;
  t->inflight_writes.clear();
  if (rec_ret == sys::kErestartRestartBlock && e.syscall_no != SYS_restart_syscall) {
    t->restart_nr = e.syscall_no;
    t->restart_regs = t->entry_regs;
  }
  t->last_result = rec_ret;
  t->restart_pending = sys::is_restart(rec_ret);
  return EventProgress{EventDone{}};
}

Result<EventProgress> ReplaySession::on_signal(const Event& e) {
  RepTask* t = find(e.tid);
  if (!t) return divergence(e, "no such task in replay");
  Task& task = *t->task;
  if (e.flags & trace::kFlagAsyncSignal) {
    // Recorded at the exit of the task's last syscall, where the task still
    // sits (tasks are resumed lazily): raise it there again.
    if (t->running) return divergence(e, "asynchronous signal expected at a syscall exit");
    t->restart_pending = false;  // the live kernel restarts it, or not, as it delivers
    // Counted breakpoints first: placing them may inject an mmap, whose
    // resume would take the signal's delivery with it once it is pending.
    REWIND_TRY(sync_counted(*t));
    REWIND_TRY(task.send_signal(e.signo));
    REWIND_TRY(restore_temporary_sigmask(*t, e.signo));
  }
  auto st = advance(*t, Want::Signal, e);
  if (!st) return st.error();
  if (auto* stop = std::get_if<DebugStop>(&*st)) return EventProgress{*stop};
  auto regs = task.get_regs();
  if (!regs) return regs.error();
  REWIND_TRY(check_regs(e, *regs));
  if (e.siginfo.size() == sizeof(siginfo_t)) {
    siginfo_t si;
    memcpy(&si, e.siginfo.data(), sizeof si);
    REWIND_TRY(task.set_siginfo(si));
  }
  // (A stop for its recorded tracer delivers nothing now: the tracer's
  // PtraceResume says what it delivers.)
  t->inject_sig = (e.flags & trace::kFlagPtraceStop) ? 0 : e.signo;
  if (e.flags & trace::kFlagPtraceStop) t->ptrace_step = false;
  t->last_result = 0;  // any temporary signal mask is used up by this delivery
  return EventProgress{EventDone{}};
}

// PreemptStub::install, for a task that may still have a signal to take
// first: an asynchronous one the recorder delivered at the task's last
// preemption point, which on_signal raised there (inject_sig). The
// syscalls injected to map the stub resume the task from that
// signal-delivery-stop without the signal, and resuming it with the
// signal from any other stop would not deliver it. So it is raised again
// and the task brought back to its signal-delivery-stop, with the same
// siginfo, before it runs any instruction of its own. (Without a stub, a
// breakpoint at the pc stops the task at every iteration of the loop it
// computes in: minutes for a loop of millions.)
Result<std::unique_ptr<PreemptStub>> ReplaySession::install_preempt_stub(RepTask& t,
                                                                         const Event& e) {
  Task& task = *t.task;
  const uint64_t pc = e.regs.rip;
  // A pc whose instruction is too short for the jmp: the instructions
  // after it too, if no jump lands among them and no thread of the process
  // stands there (one running now could be anywhere: then none).
  std::vector<RepTask*> group = tasks_of(t.rec_tgid);
  const bool all_stopped =
      std::none_of(group.begin(), group.end(), [](RepTask* o) { return o->running; });
  size_t span = 0;
  if (all_stopped) {
    auto s = CountedSites::movable_span(task, pc, {});
    if (!s) return s.error();
    span = *s;
  }
  // This task may stand among those bytes itself, at the point of an
  // earlier event in the same loop: it is stepped past them first (a few
  // instructions, none of them the point, since no jump lands among
  // them), its waiting signal delivered with the first step.
  for (int steps = 0; span && steps < 8; ++steps) {
    auto regs = task.get_regs();
    if (!regs) return regs.error();
    if (regs->rip <= pc || regs->rip >= pc + span) break;
    const int sig = std::exchange(t.inject_sig, 0);
    if (sig && reader_->header().clears_signal_frames) REWIND_TRY(clear_signal_frame_area(task));
    REWIND_TRY(task.resume(ResumeRequest::SingleStep, sig));
    auto w = task.wait();
    if (!w) return w.error();
    if (w->status.kind() != WaitStatus::Kind::SignalDeliveryStop || w->status.stop_sig() != SIGTRAP)
      return divergence(e, "stepping to the preemption point's loop stopped the task otherwise");
  }
  std::vector<uint64_t> pcs;
  for (RepTask* o : group) {
    if (o->running) continue;
    auto r = o->task->get_regs();
    if (r) pcs.push_back(r->rip);
  }
  if (span) {
    auto s = CountedSites::movable_span(task, pc, pcs);
    if (!s) return s.error();
    span = *s;
  }

  const int sig = t.inject_sig;
  std::optional<siginfo_t> si;
  if (sig) {
    if (task.signal_stop() != sig) return divergence(e, "a signal to deliver, but no stop for it");
    auto got = task.get_siginfo();
    if (!got) return got.error();
    si = *got;
  }
  auto stub = PreemptStub::install(task, e.regs, e.loop_words, e.loop_regs, span, stub_reserved());
  if (!stub) return stub.error();
  if (sig && task.signal_stop() != sig) {
    REWIND_TRY(task.send_signal(sig));
    REWIND_TRY(task.resume(ResumeRequest::Cont));
    auto w = task.wait();
    if (!w) return w.error();
    if (task.signal_stop() != sig)
      return divergence(e, "raising signal " + std::to_string(sig) +
                               " again after placing the preemption stub stopped the task "
                               "otherwise");
    REWIND_TRY(task.set_siginfo(*si));
  }
  return stub;
}

// The recorder interrupted the task at an arbitrary instruction. Without
// ticks, find that point by state: the first execution of its pc with the
// same registers and state hash (no-pmu.md, "State matching").
Result<EventProgress> ReplaySession::on_preempt(const Event& e) {
  RepTask* t = find(e.tid);
  if (!t) return divergence(e, "no such task in replay");
  Task& task = *t->task;
  auto at_point = [&]() -> Result<bool> {
    auto regs = task.get_regs();
    if (!regs) return regs.error();
    if (!same_user_registers(*regs, e.regs)) {
      if (log_enabled(LogCategory::Replay)) {
        static const char* const kNames[] = {
            "r15",    "r14", "r13", "r12",     "rbp",     "rbx", "r11",      "r10", "r9",
            "r8",     "rax", "rcx", "rdx",     "rsi",     "rdi", "orig_rax", "rip", "cs",
            "eflags", "rsp", "ss",  "fs_base", "gs_base", "ds",  "es",       "fs",  "gs"};
        const auto* a = reinterpret_cast<const uint64_t*>(&*regs);
        const auto* b = reinterpret_cast<const uint64_t*>(&e.regs);
        std::string diff;
        for (size_t i = 0; i < sizeof(user_regs_struct) / 8; ++i)
          if (a[i] != b[i] && i != 15)
            diff += std::string(" ") + kNames[i] + " " + std::to_string(a[i]) + "/" +
                    std::to_string(b[i]);
        REWIND_LOG(Replay, "preemption point 0x%llx: registers differ (now/recorded):%s",
                   static_cast<unsigned long long>(e.regs.rip), diff.c_str());
      }
      return false;
    }
    std::vector<sys::OutRange> skip = siblings_inflight_writes(tasks_, *t);
    merge_ranges(skip, syscall_buffers(tasks_, *t));
    auto hash = hash_task_state(task, skip);
    if (!hash) return hash.error();
    const bool same =
        std::equal(hash->begin(), hash->end(), e.state_hash.begin(), e.state_hash.end());
    if (!same)
      REWIND_LOG(Replay, "preemption point 0x%llx: registers match, memory differs",
                 static_cast<unsigned long long>(e.regs.rip));
    return same;
  };
  const bool stopped = !t->running && !t->initial_stop_pending;
  if (stopped) REWIND_TRY(unpatch_covering(*t, e.regs.rip));
  if (stopped) {
    auto already = at_point();
    if (!already) return already.error();
    if (*already) return EventProgress{EventDone{}};
  }
  // A stub that traps only when the registers match, where possible; a
  // breakpoint at the pc otherwise. A debugger stepping through the loop
  // must see the program's own instructions, so no stub then.
  std::unique_ptr<PreemptStub> stub;
  if (stopped && !stepping_) {
    auto s = install_preempt_stub(*t, e);
    if (!s) return s.error();
    stub = std::move(*s);
  }
  if (stub) {
    preempt_trap_pc_ = stub->trap_pc();
  } else {
    preempt_trap_pc_ = e.regs.rip + 1;
    REWIND_TRY(task.as().add_breakpoint(e.regs.rip));
  }
  Result<EventProgress> result = EventProgress{EventDone{}};
  for (;;) {
    auto st = advance(*t, Want::Preempt, e);
    if (!st || std::holds_alternative<DebugStop>(*st)) {
      if (!st)
        result = st.error();
      else
        result = EventProgress{std::get<DebugStop>(*st)};
      break;
    }
    auto here = at_point();
    if (!here) {
      result = here.error();
      break;
    }
    if (*here) break;
    if (stub) {
      // Registers matched but not the rest: go on through the stub.
      auto regs = task.get_regs();
      if (!regs) return regs.error();
      user_regs_struct r = *regs;
      r.rip = stub->resume_pc();
      REWIND_TRY(task.set_regs(r));
    }
  }
  preempt_trap_pc_ = 0;
  if (stub) {
    // Also on a debugger stop (a watchpoint hit by the displaced
    // instruction): the task is then stopped, and put at the program pc.
    auto removed = t->running ? Result<void>(ok_result()) : stub->remove(task);
    if (!removed && result) result = removed.error();
  } else {
    (void)task.as().remove_breakpoint(e.regs.rip);
  }
  t->last_result = 0;
  return result;
}

// The instruction a task that stopped with `sig` stands at, if replay
// answers it (TrapPatch.h).
std::optional<TrapInsnInfo> ReplaySession::trapped_insn(const Task& task, int sig) {
  auto regs = task.get_regs();
  auto si = task.get_siginfo();
  if (!regs || !si) return std::nullopt;
  return trapped_insn_at(task, sig, *si, regs->rip);
}

namespace {

bool event_is_answer_of(const Event& e, TrapInsn kind) {
  switch (kind) {
    case TrapInsn::Rdtsc:
      return e.kind == EventKind::Rdtsc && !e.rdtscp;
    case TrapInsn::Rdtscp:
      return e.kind == EventKind::Rdtsc && e.rdtscp;
    case TrapInsn::Cpuid:
      return e.kind == EventKind::Cpuid;
    case TrapInsn::Rdrand:
    case TrapInsn::Rdseed:
      return e.kind == EventKind::Rdrand;
  }
  return false;
}

}  // namespace

// An rdtsc, cpuid or rdrand: the task stops at it (TrapPatch.h), and gets
// the recorded answer instead of this machine's.
Result<EventProgress> ReplaySession::on_trapped_insn(const Event& e) {
  RepTask* t = find(e.tid);
  if (!t) return divergence(e, "no such task in replay");
  auto st = advance(*t, Want::TrappedInsn, e);
  if (!st) return st.error();
  if (auto* stop = std::get_if<DebugStop>(&*st)) return EventProgress{*stop};
  auto regs = t->task->get_regs();
  if (!regs) return regs.error();
  REWIND_TRY(check_regs(e, *regs));
  std::optional<TrapInsnInfo> insn = patched_trap_at(*t->task, regs->rip);
  if (!insn) {
    // Not a patched site: one that faulted (PR_SET_TSC, CPUID faulting).
    uint8_t code[kMaxTrapInsnLength] = {};
    const size_t n = t->task->as().read_partial(RemotePtr(regs->rip), code, sizeof code);
    t->task->as().hide_breakpoints(regs->rip, code, n);
    insn = decode_trap_insn(code, n);
  }
  if (!insn || !event_is_answer_of(e, insn->kind))
    return divergence(e, std::string("the task stopped at ") +
                             (insn ? trap_insn_name(insn->kind) : "another instruction") +
                             ", not at the recorded one");
  TrapAnswer a;
  a.tsc = e.tsc;
  a.tsc_aux = e.tsc_aux;
  a.cpuid = e.cpuid_out;
  a.random = e.random;
  a.random_ok = e.random_ok;
  REWIND_TRY(t->task->set_regs(apply_answer(*insn, a, *regs)));
  if (t->trap_signals)
    REWIND_TRY(
        restore_trap_signal(*t->task, std::get<WaitStatus>(*st).stop_sig(), *t->trap_signals));
  t->inject_sig = 0;
  return EventProgress{EventDone{}};
}

Result<EventProgress> ReplaySession::on_task_exit(const Event& e) {
  RepTask* t = find(e.tid);
  if (!t) return divergence(e, "no such task in replay");
  if (WIFSIGNALED(e.exit_status) && WTERMSIG(e.exit_status) == SIGKILL) {
    // SIGKILL (from kill() in another process, which replay emulates) never
    // shows as a signal-delivery-stop: kill the task here as it was then.
    REWIND_TRY(t->task->send_signal(SIGKILL));
    t->running = true;
  }
  const Tid group = t->rec_tgid;
  auto st = advance(*t, Want::ExitEvent, e);
  if (!st) return st.error();
  if (auto* stop = std::get_if<DebugStop>(&*st)) return EventProgress{*stop};
  if (std::get<WaitStatus>(*st).is_exit()) {
    if (e.tid == root_) root_status_ = e.exit_status;
    tasks_.erase(e.tid.value);
    REWIND_TRY(reap_dying_leader(group));
    return EventProgress{EventDone{}};
  }
  auto msg = t->task->get_event_msg();
  if (msg && static_cast<int>(*msg) != e.exit_status)
    return divergence(e, "exit status 0x" + std::to_string(*msg) + " differs from recorded 0x" +
                             std::to_string(e.exit_status));
  // The kernel is about to walk the task's robust list (exit_mm ->
  // futex_exit_release), comparing owner tids with the live one.
  REWIND_TRY(retarget_robust_futexes(t->task->as(), t->robust_list_head, e.tid.value,
                                     t->task->real_tid()));
  REWIND_TRY(t->task->resume(ResumeRequest::Cont));
  t->running = true;
  if (e.tid == root_) root_status_ = e.exit_status;
  // As in recording: a thread dies completely here (its clear_child_tid
  // write happens now); a leader whose threads live on is reaped after
  // them, so it is left to die in the background.
  const bool leader_with_threads = t->rec_tgid == e.tid && tasks_of(e.tid).size() > 1;
  if (leader_with_threads) {
    dying_leaders_[group.value] = std::move(tasks_[e.tid.value]);
  } else {
    auto reaped = advance(*t, Want::Reaped, e);
    if (!reaped) return reaped.error();
    if (auto* stop = std::get_if<DebugStop>(&*reaped)) return EventProgress{*stop};
  }
  tasks_.erase(e.tid.value);
  // Traces from before replay rewrote robust futex owners at exit hold what
  // the kernel's cleanup wrote there; newer ones have no writes here.
  std::vector<RepTask*> survivors = tasks_of(group);
  if (!e.writes.empty() && !survivors.empty())
    for (const trace::MemWrite& w : e.writes)
      REWIND_TRY(
          survivors.front()->task->write_mem(RemotePtr(w.addr), w.bytes.data(), w.bytes.size()));
  REWIND_TRY(reap_dying_leader(group));
  return EventProgress{EventDone{}};
}

// Reaps a thread-group leader that died before its threads, once the last
// of them is gone: it may still sit in its PTRACE_EVENT_EXIT stop.
Result<void> ReplaySession::reap_dying_leader(Tid group) {
  auto it = dying_leaders_.find(group.value);
  if (it == dying_leaders_.end() || !tasks_of(group).empty()) return ok_result();
  std::unique_ptr<RepTask> leader = std::move(it->second);
  dying_leaders_.erase(it);
  for (;;) {
    auto w = leader->task->wait();
    if (!w) return w.error();
    if (w->status.is_exit()) return ok_result();
    (void)leader->task->resume(ResumeRequest::Cont);
  }
}

}  // namespace rwd
