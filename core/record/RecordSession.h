// Recording: runs a program tree under ptrace and writes every
// non-deterministic input into a trace. Events happen only at points where a
// thread stops for us by itself (syscalls, trapped rdtsc, synchronous
// faults), so replay needs no performance counter to find them
// (docs/no-pmu.md).
//
// Scheduling: at most one task runs user code at a time, all on one CPU. A
// task that enters a syscall that may block is let into the kernel and
// another task is scheduled; when its syscall finishes the kernel stops it at
// the syscall-exit stop, and its stop is *processed* (recorded) only when the
// scheduler picks it. So the global event order is also the order in which
// user-space code ran, which is what makes threads replayable later.
#pragma once

#include <sys/user.h>

#include <cerrno>

#include <array>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/base/Error.h"
#include "core/base/Fd.h"
#include "core/record/PerfWarmup.h"
#include "core/record/PtraceLink.h"
#include "core/record/SyscallPatch.h"
#include "core/syscalls/SyscallTable.h"
#include "core/task/ProcMaps.h"
#include "core/task/Task.h"
#include "core/task/TrapPatch.h"
#include "core/task/TrapSignals.h"
#include "core/trace/TraceWriter.h"
#include "preload/abi.h"

namespace rwd {

struct RecordOptions {
  std::string exe_path;  // resolved path of the program
  std::vector<std::string> argv;
  std::vector<std::string> env;
  int cpu = 0;
  // What --cpu-features allowed (empty: everything); CPUID answers hide the
  // rest (cpu::hide_cpuid_features).
  std::vector<std::string> cpu_features;
  // Whether to make cpuid fault in every process (make_cpuid_fault), for
  // what the patched sites miss: code generated at run time.
  bool cpuid_faulting = false;
  // Buffer syscalls in the tracee (preload/); false: every syscall is a
  // ptrace stop (`record -n`).
  bool syscall_buffer = true;
  // Record until every process has exited (record -w); false: the
  // recording ends when the initial process exits, and the processes it
  // left are killed then (their deaths recorded), as rr record does.
  bool wait_for_all = false;
};

// What stat() of one of a task's fds (/proc/TID/fd/N) says that stays
// true while the fd number is bound to the same open file.
struct FdIdentity {
  dev_t dev = 0;
  ino_t ino = 0;
  mode_t mode = 0;
  dev_t rdev = 0;
};

// The recorder's mapping of one address space's baton page (preload/abi.h,
// Baton; core/record/Baton.cc). It keeps the address space alive so that
// its key stays unique; orphaned() says no task uses it any more.
class BatonShare {
 public:
  BatonShare(std::shared_ptr<AddressSpace> as, ScopedFd fd, void* map)
      : as_(std::move(as)), fd_(std::move(fd)), map_(map) {}
  ~BatonShare();
  BatonShare(const BatonShare&) = delete;
  BatonShare& operator=(const BatonShare&) = delete;
  syscallbuf::Baton* get() const { return static_cast<syscallbuf::Baton*>(map_); }
  bool orphaned() const { return as_.use_count() == 1; }

 private:
  std::shared_ptr<AddressSpace> as_;
  ScopedFd fd_;
  void* map_;
};

// The recorder's own handle on a tracee's fd (pidfd_getfd, Linux 5.6).
ScopedFd steal_tracee_fd(pid_t tgid, int fd);

// Per-task recorder state.
struct RecTask {
  std::unique_ptr<Task> task;
  // Its SIGILL and SIGSEGV as its image started, while nothing may have
  // changed them since (core/task/TrapSignals.h).
  std::optional<TrapSignals> trap_signals;
  Tid parent;
  pid_t tgid = 0;        // its thread group (process)
  bool running = false;  // resumed; its next stop has not been seen
  // Resumed to run the program's code (not into a traced syscall): in a
  // process with a baton, it may be asleep in a hand-off, or hold the baton.
  bool resumed_to_user = false;
  // A fork's child that shares its parent's baton page until it runs.
  bool baton_reset_pending = false;
  // Its last stop found it in a hand-off (preload.cc, record_baton_wait),
  // without the baton: it is resumed to go on waiting for its turn.
  bool stopped_in_handoff = false;
  // A BatonGive event was written since its last event of another kind.
  bool given_since_event = false;
  std::optional<WaitStatus> pending;  // seen by waitpid, not yet processed
  bool parked = false;                // processed, waiting to be resumed
  int resume_sig = 0;                 // signal to inject when resumed
  bool initial_stop_pending = false;  // new child: its first SIGSTOP is ours
  // Resumed into a syscall judged not to block: the scheduler waits for its
  // exit stop, but checks that it is not asleep after all.
  bool in_fast_syscall = false;
  // No other task of its thread group existed when the session last resumed
  // it: no exit_group, execve or fatal signal of a sibling can have taken it
  // out of the stop it reports next (see Task::syscall_stop_kind).
  bool alone_at_resume = false;
  // rewind sent SIGSTOP to interrupt it in user space (a timeslice ran
  // out while others waited, or it owes a deferred signal).
  bool preempt_requested = false;
  // State sampled at the last timeslice check while it ran in user space:
  // unchanged state means it spins on another task's progress.
  user_regs_struct sample_regs{};
  std::array<uint8_t, 32> sample_hash{};
  bool have_sample = false;
  int slices_used = 0;
  bool exit_recorded = false;

  // Syscall in progress (between entry and exit stops).
  bool in_syscall = false;
  bool syscall_skipped = false;
  int skip_errno = ENOSYS;    // what a skipped syscall returns
  bool exec_pending = false;  // PTRACE_EVENT_EXEC seen
  Tid exec_former_tid;        // set when that execve gave it the leader's tid
  int64_t syscall_nr = -1;
  user_regs_struct entry_regs{};
  EventNum entry_event;
  // What it may write before its exit stop (InflightWrites.h).
  std::vector<sys::OutRange> inflight_writes;
  // The last syscall that ended with -ERESTART_RESTARTBLOCK: restart_syscall
  // resumes it and writes its outputs.
  int64_t restart_nr = -1;
  user_regs_struct restart_regs{};

  // For delivering asynchronous signals at deterministic points: true while
  // the task may still be at the syscall-exit stop whose registers are
  // exit_regs (the scheduler resumed it; a signal's delivery stop with
  // exactly these registers came before any user instruction).
  bool at_exit_point = false;
  user_regs_struct exit_regs{};
  std::deque<siginfo_t> deferred_signals;  // async signals held for the next exit point
  // Its syscall buffer (preload/abi.h), 0 if none: records before
  // buf_flushed are in the trace already.
  uint64_t syscallbuf = 0;
  uint32_t buf_flushed = 0;
  ScopedFd desched;     // the recorder's duplicate of its desched event
  int desched_fd = -1;  // which fd of the tracee that is
  // A buffered syscall that blocked was handed to the traced path: the
  // syscall-entry stop of its restart comes next (RecordBuffer.cc).
  bool buffered_restart = false;
  int redelivering_sig = 0;  // sent with tkill, awaiting its delivery stop
  siginfo_t redelivering_info{};

  // Emulated ptrace (PtraceLink.h): its tracer, if a recorded task traces
  // it; and, for a tracer, a blocking wait4/waitid held at its entry stop
  // until a tracee stops or a task dies (then processed again).
  std::optional<PtraceLink> traced;
  std::optional<WaitStatus> held_wait;
  // The stop being processed (a held syscall entry is taken up again).
  WaitStatus last_stop;
  // The syscall in progress is answered by rewind: the kernel skips it,
  // and this is its result (its outputs are recorded as the table says).
  std::optional<int64_t> answer;
  // The last resume was a single-step for its tracer.
  bool step_resumed = false;
  // In a group-stop (job control: SIGSTOP, SIGTSTP ...): held, as the
  // kernel holds it natively, until a SIGCONT rewind sees (release_job_stops).
  bool job_stopped = false;

  // Its fds' identities, by fd number, for the checks on every read and
  // write (RecordSession::fd_identity). An fd number names another file
  // only after a syscall that rebinds it (close, dup2, execve...), and those
  // clear every task's cache, as fd tables can be shared (CLONE_FILES).
  std::map<uint64_t, FdIdentity> fd_cache;
  // It entered such a syscall and has not stopped since: its change may be
  // under way, so no cache is used or filled meanwhile.
  bool rebinding_fds = false;
};

class RecordSession {
 public:
  // Async-signal-safe: asks a recording whose initial process has exited to
  // end, killing the processes that remain (a Ctrl-C, a SIGINT to rewind).
  // While the initial process lives, the program's own Ctrl-C is its own.
  static void request_end();
  // Async-signal-safe: rewind got a SIGCONT, as job control sends one to the
  // whole process group (a shell's `fg`): the program's stopped processes
  // go on too.
  static void request_continue();

  RecordSession(const RecordOptions& options, trace::TraceWriter& writer)
      : options_(options), writer_(writer) {}

  // Records until every task has exited. Returns the wait status of the
  // initial process.
  Result<int> run();

 private:
  // How often a task computing in user space while others are runnable (or
  // while it owes a signal) is sampled, and its minimum timeslice then
  // (RecordPreempt.cc).
  static constexpr int kTimesliceMs = 2;

  enum class Next {
    Continue,     // resume the task; it stays the current task
    EnterKernel,  // resume it into a syscall that may block; schedule another
    Gone,         // the task has exited
    Yield,        // it was preempted: park it and schedule another
    // It waits for another task: in a ptrace stop for its tracer, or its
    // tracer's wait held (RecordPtrace.cc). Neither parked nor pending.
    Hold,
  };

  Result<void> start();
  void yield_to_tracees();
  // Takes one wait status from any tracee. With a timeout (ms), returns
  // false if none came in time.
  Result<bool> wait_one(int timeout_ms = -1);
  Result<void> on_wait_status(pid_t tid, WaitStatus st);
  RecTask* pick_next();
  Result<Next> process_stop(RecTask& t, WaitStatus st);
  Result<Next> on_signal_stop(RecTask& t, int sig);
  Result<void> record_trapped_insn(RecTask& t, const TrapInsnInfo& insn, trace::Event e);
  Result<void> outlived_by_others();
  Result<Next> on_event_stop(RecTask& t, int event);
  uint64_t clone_flags(RecTask& t, int event);
  Result<Next> on_preempted(RecTask& t);
  bool others_waiting(const RecTask& t) const;
  // Whether t is the only task of its thread group (and no new task of
  // unknown group exists).
  bool alone_in_group(const RecTask& t) const;
  // Whether a task other than tid may report a wait status we have not
  // collected: one running (or in the kernel), or a new child before its
  // first stop.
  bool others_may_report(pid_t tid) const;
  Result<void> resume(RecTask& t);
  Result<bool> redeliver_deferred_signal(RecTask& t);
  Result<void> on_reaped(pid_t tid, WaitStatus st);
  Result<void> on_exec_tid_change(pid_t tid);
  Result<void> record_exit(RecTask& t, int status);
  Result<void> record_death_in_exec(int status);

  // RecordSyscall.cc
  Result<Next> on_syscall_entry(RecTask& t);
  Result<Next> on_syscall_exit(RecTask& t);
  Result<void> on_exec_done(RecTask& t, bool initial);
  Result<void> record_mmap(RecTask& t, const user_regs_struct& regs);
  Result<void> record_shmat(RecTask& t, uint64_t addr);  // RecordShm.cc
  // Rewrites the vDSO's time functions to make syscalls; its whole image,
  // or nullopt where it must stay hidden (RecordVdso.cc).
  Result<std::optional<trace::MemWrite>> patch_vdso(RecTask& t,
                                                    const std::vector<KernelMapping>& maps);
  Result<void> capture_exec_mappings(RecTask& t, trace::TaskEvent& exec,
                                     const std::vector<KernelMapping>& maps);
  void note_truncate(RecTask& t, const uint64_t args[6], trace::Event& e);
  void note_output_write(RecTask& t, const uint64_t args[6], int64_t ret, trace::Event& e);
  // The file behind t's fd (std::nullopt if there is none), cached.
  std::optional<FdIdentity> fd_identity(RecTask& t, uint64_t fd);
  void forget_fd_identities();

  // RecordPtrace.cc: ptrace between recorded tasks, emulated.
  bool traces_any(const RecTask& tracer) const;
  // At a wait4/waitid entry of a tracer: nullopt to run it as the kernel
  // would, Next::Hold to hold it, or Next::Continue with t.answer set.
  Result<std::optional<Next>> ptrace_wait(RecTask& t, const user_regs_struct& regs);
  Result<int64_t> emulate_ptrace(RecTask& t, const user_regs_struct& regs);
  Result<int64_t> ptrace_attach(RecTask& t, int req, pid_t pid, uint64_t data);
  Result<int64_t> ptrace_resume_tracee(RecTask& tracee, int req, int sig);
  Result<int64_t> ptrace_interrupt(RecTask& tracee);
  Result<int64_t> ptrace_syscall_info(RecTask& t, RecTask& tracee, uint64_t size, uint64_t addr);
  Result<int64_t> ptrace_user_area(RecTask& t, RecTask& tracee, int req, uint64_t off,
                                   uint64_t data);
  Result<int64_t> ptrace_regset(RecTask& t, RecTask& tracee, int req, uint64_t type,
                                uint64_t iov_addr);
  Result<void> record_ptrace_write(RecTask& tracee, std::vector<trace::MemWrite> writes,
                                   const user_regs_struct* regs, const siginfo_t* si);
  // The tracee stops for its tracer where it stands (a PtraceStop event).
  Result<Next> ptrace_stop_here(RecTask& t, int code, uint64_t msg, uint32_t flags = 0,
                                const siginfo_t* si = nullptr);
  // A tracee's fork-family event (RecordSession::on_event_stop): the child
  // is attached to the same tracer, and the parent stops for it, if its
  // options say so. nullopt: they do not.
  Result<std::optional<Next>> ptrace_fork_event(RecTask& t, RecTask& child, int event);
  // A tracee's PTRACE_EVENT_EXIT, or a new child's first stop: its
  // tracer's stop, if it has one there. nullopt: it has none.
  Result<std::optional<Next>> ptrace_exit_event(RecTask& t, uint64_t status);
  Result<std::optional<Next>> ptrace_first_stop(RecTask& t);
  // Memory a recorded task wrote into a recorded process by
  // process_vm_writev or a write to /proc/PID/mem (a debugger's way): the
  // writer's syscall is emulated in replay, so the bytes become an event of
  // the target (PtraceWrite), written after the writer's exit event.
  Result<void> note_remote_write(RecTask& t, const sys::SyscallArgs& a);
  Result<void> flush_remote_writes();
  // The recorded task whose memory fd `fd` of t is (/proc/PID/mem), if any.
  RecTask* proc_mem_target(RecTask& t, int fd);
  // A tracee that is not its tracer's child died: the tracer's wait
  // reports it (the kernel tells the real parent by itself).
  void note_tracee_death(RecTask& t, int status);
  // Marks it stopped, and wakes its tracer's held waits.
  Result<void> enter_ptrace_stop(RecTask& t, int code, const siginfo_t& si, bool signal_stop);
  void wake_held_waits(pid_t tracer_tgid);
  // A SIGCONT reached these tasks: those held in a group-stop go on.
  // (nullopt: every one, for a SIGCONT to rewind itself.)
  Result<void> release_job_stops(const std::optional<sys::SentSignal>& sent, const RecTask* sender);
  // The tracer thread is exiting: its tracees are let go (or killed,
  // under PTRACE_O_EXITKILL), as the kernel's exit_ptrace does.
  Result<void> release_tracees(RecTask& tracer);
  // A step for the tracer is over at this stop (a syscall's exit, a
  // trapped instruction): its SIGTRAP stop, unless the task is still in
  // rewind's code. nullopt: not stepping, or not done.
  Result<std::optional<Next>> end_step_here(RecTask& t);
  // The SIGTRAP of a single-step the tracer asked for.
  Result<Next> on_step_trap(RecTask& t);
  // After a tracee's execve: PTRACE_EVENT_EXEC, or the SIGTRAP the kernel
  // sends a tracee that is not seized.
  Result<Next> ptrace_exec_stop(RecTask& t);
  static int ptrace_syscall_stop_code(const PtraceLink& l) {
    return SIGTRAP | ((l.options & PTRACE_O_TRACESYSGOOD) ? 0x80 : 0);
  }

  // RecordBuffer.cc: the syscall buffer.
  Result<void> flush_syscallbuf(RecTask& t, trace::Event& e, std::vector<uint8_t>& bytes, bool own);
  Result<void> flush_peers(RecTask& t, trace::Event& e);
  Result<void> on_buffered_records(RecTask& t, const std::vector<uint8_t>& records,
                                   trace::Event& e);
  Result<void> on_preload_call(RecTask& t, user_regs_struct& regs, trace::Event& e);
  bool in_buffered_syscall(const RecTask& t, const user_regs_struct& regs) const;
  Result<void> hand_to_traced(RecTask& t, const user_regs_struct& regs);
  Result<void> update_traced_fds(RecTask& t, const sys::SyscallArgs& a, trace::Event& e);
  Result<void> fds_replaced(RecTask& t, int lo, int hi, trace::Event& e);
  Result<void> set_traced_fd_bits(RecTask& t, int lo, int hi, bool traced, trace::Event& e);
  Result<void> redirect_restart(RecTask& t, user_regs_struct& regs, trace::Event& e);
  Result<bool> defer_preemption(RecTask& t, uint64_t pc);
  void disarm_desched(RecTask& t, int tracee_fd);
  bool is_desched_signal(const RecTask& t, int sig, const siginfo_t& si) const;

  // RecordDesched.cc: the desched events' fds, which are not the program's.
  int own_desched_fd(RecTask& o);
  bool names_desched_fd(RecTask& t, int64_t nr, uint64_t arg);
  Result<void> desched_fds_closed(RecTask& t, uint64_t lo, uint64_t hi);
  Result<void> desched_after_syscall(RecTask& t, const sys::SyscallArgs& a);

  // Baton.cc: hand-offs between threads without the recorder.
  syscallbuf::Baton* baton_of(RecTask& t);
  Result<std::unique_ptr<BatonShare>> share_baton_page(RecTask& t);
  Result<void> maybe_enable_baton(RecTask& t, int64_t ret, trace::Event& e);
  Result<void> reset_fork_baton(RecTask& t);
  Result<void> give_baton(RecTask& t);
  void close_baton(RecTask& t);
  bool close_idle_pool(RecTask& t);
  RecTask* baton_holder(RecTask& t);
  // What the scheduler does while the current task (resumed to run the
  // program's code) has not stopped, in a process with a baton.
  struct BatonNext {
    RecTask* runner = nullptr;     // the thread that runs with the baton
    RecTask* switch_to = nullptr;  // the holder, stopped: look at its stop
    bool leave = false;            // the recorder took the baton: schedule anew
  };
  BatonNext follow_baton(RecTask& t);
  bool in_handoff(RecTask& t);
  bool baton_wanted(RecTask& t);
  void forget_closed_fds(RecTask& t, int lo, int hi, trace::Event& e);
  Result<void> end_handoff_wait(RecTask& t, const user_regs_struct& regs);
  void forget_dead_batons();
  // Stops being the current task (t is current_): the baton goes back to
  // the tracer first.
  void leave_current();

  EventNum next_event() { return EventNum(++last_event_); }
  // Every event goes through here: it takes the thread's buffered syscalls
  // with it.
  Result<void> write_event(trace::Event& e);
  RecTask* find(pid_t tid);
  RecTask& add_task(pid_t tid, std::shared_ptr<AddressSpace> as);

  const RecordOptions& options_;
  trace::TraceWriter& writer_;
  std::map<pid_t, std::unique_ptr<RecTask>> tasks_;
  // Address spaces whose threads hand the baton to each other.
  std::map<const AddressSpace*, std::unique_ptr<BatonShare>> batons_;
  // The page could not be shared once: no more batons in this recording.
  bool batons_refused_ = false;
  TrapSiteCache trap_sites_;
  SyscallSiteCache syscall_sites_;
  // The syscall sites of each process's rewritten vDSO (RecordVdso.cc),
  // for the library's patcher to send through the library: set at exec,
  // taken at the library's initialisation in that process.
  std::map<const AddressSpace*, std::vector<OwnSyscallSite>> vdso_sites_;
  std::vector<uint8_t> syscallbuf_scratch_;  // see write_event
  PerfWarmup perf_warmup_;
  // Syscall buffering is on (not `record -n`): tracees run under the
  // seccomp filter and are resumed with PTRACE_CONT outside syscalls.
  bool buffering_ = false;
  RecTask* current_ = nullptr;
  pid_t root_tid_ = 0;
  pid_t last_pick_ = 0;
  std::optional<int> root_status_;
  // When the initial process was reaped, and whether the processes it left
  // behind have been named (outlived_by_others).
  std::chrono::steady_clock::time_point root_reaped_at_;
  bool survivors_named_ = false;
  uint64_t last_event_ = 0;
  int slice_events_ = 0;
  // How long hashing a task's state took at recent preemptions (ms).
  double hash_ms_ = 0;
  std::set<int64_t> warned_syscalls_;
  std::set<uint64_t> warned_ioctls_;
  // False while no wait status can be queued without a SIGCHLD (sent for
  // every tracee stop, and blocked) pending: the last waitpid(WNOHANG) found
  // nothing, or the status of the only task that could report one, and no
  // SIGCHLD was taken since. wait_one() then goes straight to sigtimedwait.
  bool statuses_maybe_queued_ = true;
  // Emulated ptrace: deaths of tracees not their tracer's children, for the
  // tracer's wait to report (wait status), by the tracer's process.
  std::map<pid_t, std::vector<std::pair<pid_t, int>>> tracee_deaths_;
  // note_remote_write's, for flush_remote_writes: (target tid, bytes).
  std::vector<std::pair<pid_t, trace::MemWrite>> remote_writes_;
  // Files some task has mapped: writes to them are noted in the trace.
  std::set<std::pair<uint64_t, uint64_t>> mapped_inodes_;
  // The trace's copy of each SysV shared memory segment attached so far, by
  // the (dev, inode) of its shmem file (the inode is the segment's id, which
  // the kernel does not hand out again soon): every attach maps that copy
  // in replay (RecordShm.cc).
  std::map<std::pair<uint64_t, uint64_t>, trace::CapturedFile> shm_segments_;
  dev_t stdout_dev_ = 0, stderr_dev_ = 0;
  ino_t stdout_ino_ = 0, stderr_ino_ = 0;
};

}  // namespace rwd
