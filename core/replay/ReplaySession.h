// Replay: re-executes a trace deterministically. User-space code runs for
// real; syscalls are emulated from the trace (result registers and the
// memory the kernel wrote are put back), except those that build process
// state (mmap family, clone/fork, execve, exit, signal dispositions), which
// are executed so every mapping and task exists as recorded.
//
// Tasks are resumed lazily, in event order: a task runs only when its next
// event is the next one in the trace, so user-space code runs in the order
// recorded. Registers are compared with the recording at every event; a
// difference stops replay with an error naming the event, the task and the
// registers.
#pragma once

#include <sys/user.h>

#include <array>
#include <atomic>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <variant>
#include <vector>

#include "core/api/Target.h"
#include "core/base/Error.h"
#include "core/base/Fd.h"
#include "core/base/ScratchDir.h"
#include "core/replay/CountedSites.h"
#include "core/replay/ElfInterp.h"
#include "core/replay/SharedMemory.h"
#include "core/syscalls/SyscallTable.h"
#include "core/task/DebugRegs.h"
#include "core/task/ProcMaps.h"
#include "core/task/SignalFrame.h"
#include "core/task/Spawn.h"
#include "core/task/Task.h"
#include "core/task/ThreadCopy.h"
#include "core/task/TrapPatch.h"
#include "core/task/TrapSignals.h"
#include "core/trace/CheckpointStore.h"
#include "core/trace/TraceReader.h"

namespace rwd {

class PreemptStub;  // core/replay/PreemptStub.h

struct ReplayOptions {
  bool force_cpu = false;   // replay even if this CPU lacks recorded features
  bool emit_output = true;  // re-emit the program's stdout/stderr writes
  int cpu = -1;             // the CPU to pin to; -1: the recording's, if it can
};

// What replay knows about a task besides the live Task: plain data, so a
// checkpoint can keep a copy of it.
struct RepTaskState {
  Tid rec_tgid;                 // the recorded process (thread group) it belongs to
  uint64_t initial_rsp = 0;     // stack pointer after its last execve (argv, envp, auxv)
  uint64_t lifted_bp = 0;       // breakpoint lifted to step over it, to re-insert
  uint64_t stopped_at_bp = 0;   // the breakpoint that last stopped the task
  bool internal_step = false;   // single-stepping over a breakpoint for ourselves
  bool single_stepped = false;  // the last resume was PTRACE_SINGLESTEP
  // Stepping to watch (debug registers that do not trap, ReplayDebug.cc):
  // the slot the stepped instruction writes or reads, or -1.
  bool watch_step = false;
  int watch_hit = -1;
  uint64_t watch_step_pc = 0;         // the instruction that step runs
  int rep_watch_slot = -1;            // a watched access by a rep string insn still running
  bool running = false;               // resumed, next stop not yet seen
  int inject_sig = 0;                 // signal to deliver on the next resume
  bool initial_stop_pending = false;  // a new child's SIGSTOP
  uint64_t fix_child_tid_addr = 0;    // CLONE_CHILD_SETTID: where to put the recorded tid
  uint64_t robust_list_head = 0;      // set_robust_list(2); none after clone and execve
  // Counted breakpoints (ReplayCount.cc): the task stands at a patched
  // site whose arrival is counted already (a stop at a hit) or not yet (a
  // stop at a state), or steps the site's original bytes (lifted).
  uint64_t count_arrived = 0;
  uint64_t state_arrived = 0;
  uint64_t lifted_patch = 0;
  bool kicked = false;  // sent a SIGSTOP to stop it mid-stretch (run()'s interrupts)
  // Where the kernel writes 0 and wakes a futex when the task exits
  // (set_tid_address(2), CLONE_CHILD_CLEARTID); none after execve. A
  // checkpoint's copy of the task gets it back (ReplayCheckpoint.cc).
  uint64_t clear_child_tid = 0;
  // It has an alternate signal stack (sigaltstack(2)). A thread recreated
  // in a checkpoint's copy would not (ReplayCheckpoint.cc).
  bool sigaltstack = false;
  // The trap the kernel last took for it (Task::last_trap), which a copy
  // of it takes again (ReplayCheckpoint.cc).
  int last_trap = 0;
  // Its syscall buffer (preload/abi.h), 0 if none, and the event whose
  // buffered syscalls were last written into it (load_syscallbuf).
  uint64_t syscallbuf = 0;
  uint64_t syscallbuf_loaded = 0;
  // The event that last took this thread's records along for it
  // (Event::peer_syscallbufs) and wrote them into its buffer: an event that
  // a debugger stop or a mark interrupted is processed again, and must not
  // append them twice (load_peer_syscallbufs).
  uint64_t peer_records_loaded = 0;
  // It runs the program's code with the other threads of its process that
  // hand the baton around, since a BatonGive event, until its next event
  // (ReplayPool.cc). Between events it is stopped where it is.
  bool in_pool = false;
  // A stop it came to while it ran for another task's event: the stop of
  // its own next event, or a debugger's; taken up by its next advance.
  std::optional<WaitStatus> early_stop;
  // A PTRACE_INTERRUPT of ours is still to be reported (it stopped by
  // itself first).
  bool interrupt_pending = false;
  // Its SIGILL and SIGSEGV as its image started, kept as the recorder
  // kept them (core/task/TrapSignals.h).
  std::optional<TrapSignals> trap_signals;

  bool in_syscall = false;
  bool native = false;        // the kernel executes this syscall
  bool exec_pending = false;  // PTRACE_EVENT_EXEC seen
  // In an execve from a thread that is not the leader: the recorded tid it
  // takes over and the leader's live tid, which the kernel gives it.
  Tid exec_takes_tid;
  pid_t exec_leader_real_tid = 0;
  int64_t syscall_nr = -1;
  user_regs_struct entry_regs{};
  EventNum entry_event;
  // What the syscall in progress may write before its exit (InflightWrites.h),
  // as the recorder computed it at the same entry.
  std::vector<sys::OutRange> inflight_writes;
  // The last syscall that ended with -ERESTART_RESTARTBLOCK, which
  // restart_syscall resumes.
  int64_t restart_nr = -1;
  user_regs_struct restart_regs{};
  int64_t last_result = 0;  // recorded result of the last syscall
  // The last syscall ended with -ERESTART*: unless a signal is delivered
  // now, the kernel restarts it on the way out (see resume_task).
  bool restart_pending = false;
  // Emulated ptrace (core/record/RecordPtrace.cc): its recorded tracer
  // resumed it with PTRACE_SINGLESTEP (a PtraceResume event), and its
  // ptrace stop has not come yet; it runs a step at a time, through
  // rewind's own code, to the program's next instruction.
  bool ptrace_step = false;
  // Its last resume was such a step (a SIGTRAP now is that step's).
  bool ptrace_stepped = false;
};

struct RepTask : RepTaskState {
  std::unique_ptr<Task> task;
};

class SessionCheckpoint;
class ReplaySession;

// A stop the debugger must see, found while replaying.
struct DebugStop {
  // Why run() stopped, where the kind alone does not say.
  enum class Why {
    Other,
    AtHit,      // RunControl::stop_at_hit (kind Breakpoint)
    AtState,    // RunControl::stop_at_state (kind Interrupted, signo 0)
    Elapsed,    // RunControl::stop_after_ms (kind Interrupted, signo 0)
    Interrupt,  // RunControl::interrupt (kind Interrupted, SIGINT)
  };
  target::StopKind kind = target::StopKind::Step;
  Why why = Why::Other;
  Tid tid;
  int signo = SIGTRAP;
  int exit_status = 0;  // Exited/Killed: the wait status
  uint64_t watch_addr = 0;
  target::BreakpointType watch_type = target::BreakpointType::WriteWatch;
  // Watchpoint stops found by stepping: the instruction that made the
  // access (the task stands after it).
  uint64_t access_pc = 0;
};

// What replaying an event, or part of one, came to: the event is done, or a
// stop the debugger must see came first (the event stays pending).
struct EventDone {};
using EventProgress = std::variant<EventDone, DebugStop>;

// What a debugger asks of ReplaySession::run().
struct RunControl {
  std::optional<Tid> step;  // single-step this task (one instruction)
  Tid debuggee;             // the process whose exit ends a run
  // Checked between events, and every kWakeupMs while a task runs: the
  // task is then stopped where it is (in the program's code), its event
  // left pending.
  const std::atomic<bool>* interrupt = nullptr;
  // Stop (Interrupted, signo 0, Why::Elapsed) once a task has run this
  // long since run() began or the last event completed, whichever is
  // later; 0: never.
  uint64_t stop_after_ms = 0;
  // Stop at a counted breakpoint hit (set_counted_breakpoints): the n-th of
  // the process `debuggee` (thread unset), or the n-th of `thread` alone
  // (hits as counted_hits() / counted_hits_of() count them, so n is
  // compared with those totals, not with hits since this run began). The
  // thread stands at the address, not yet executed: a Breakpoint stop,
  // Why::AtHit. A total already past n never stops.
  struct HitTarget {
    std::optional<Tid> thread;
    uint64_t n = 0;
  };
  std::optional<HitTarget> stop_at_hit;
  // Stop when `tid` stands at this state (Interrupted, signo 0,
  // Why::AtState): its general registers (rcx and r11 ignored when
  // `ignore_rcx_r11`, for a position taken at a syscall entry), and when
  // set, hash_task_state() of it. If the task stands there when run()
  // begins, run() returns at once. The arrival at that pc is not counted
  // yet if it is a counted breakpoint; resuming counts it.
  struct StateTarget {
    Tid tid;
    user_regs_struct regs{};
    std::optional<std::array<uint8_t, 32>> mem_hash;
    bool ignore_rcx_r11 = false;
  };
  std::optional<StateTarget> stop_at_state;
  // Stop (as Interrupted with signo 0) once this many events are complete.
  uint64_t stop_at_events = UINT64_MAX;
  // Called after every fully replayed event (not at debugger stops): where
  // the debugger front end takes automatic checkpoints.
  std::function<void(ReplaySession&)> on_boundary;
  // Stop (as Exec) once this task has completed a successful execve: it
  // stands at the new image's first instruction.
  std::optional<Tid> stop_after_exec_of;
  // Stop (as Interrupted with signo 0) before this task's first event: it
  // is then at its first stop.
  std::optional<Tid> stop_before_first_event_of;
  // Where the debug registers do not trap (steps_to_watch()): whether to
  // single-step for the watchpoints while this many events are complete.
  // Unset: always. Reverse execution finds the intervals where watched
  // bytes changed first, and steps only through those.
  std::function<bool(uint64_t events)> step_to_watch_in;
  // Find watchpoints by stepping even where the debug registers work: the
  // stop then names the instruction that made the access (access_pc), as
  // reverse watchpoints need (core/timeline/ReverseWatch.cc). At most
  // `max_watch_steps` steps (0: no limit), then run() fails.
  bool watch_by_stepping = false;
  uint64_t max_watch_steps = 0;
};

// What a replay keeps outside the trace, shared with its checkpoints and
// removed with the last of them: writable copies of mapped files (see
// shared_files_) and executables redirected to the trace's ELF interpreter
// (ElfInterp.h).
struct LiveFiles {
  ScratchDir dir;  // /tmp/rewind-replay-<pid>-XXXXXX (mode 0700), made on first use
  std::map<std::tuple<uint64_t, uint64_t, std::string>, std::string> copies;
  struct Exe {
    std::string path;                // what execve runs
    std::optional<PtInterp> interp;  // set when `path` is a redirected copy
  };
  std::map<std::string, Exe> exes;          // by the exec's exe_trace_file
  std::map<std::string, ScopedFd> interps;  // open trace interpreters, by trace file
  // Whether this machine's file at a PT_INTERP path is the trace's
  // interpreter, by "PATH\nTRACE-FILE".
  std::map<std::string, bool> interp_matches;
  Result<std::filesystem::path> make_dir();  // `dir`, created if need be
};

class ReplaySession {
 public:
  static Result<std::unique_ptr<ReplaySession>> open(const std::filesystem::path& trace,
                                                     const ReplayOptions& options);
  // The same with a reader standing at the trace's first event (a clone of
  // one opened earlier saves reading, and for an incomplete trace scanning,
  // the trace again).
  static Result<std::unique_ptr<ReplaySession>> open(std::unique_ptr<trace::TraceReader> reader,
                                                     const ReplayOptions& options);
  ~ReplaySession();

  // Replays the next event; false at the end of the trace.
  Result<bool> step();
  // Replays to the end. Returns the recorded wait status of the initial
  // process, or nullopt when the trace is incomplete and ends before it
  // exited (trace_end() says where).
  Result<std::optional<int>> run_to_end();
  // Whether the recorded program died in its first execve, before its first
  // instruction (RecordSession::record_death_in_exec): there is nothing to
  // debug, only its exit status.
  bool died_in_exec() const { return died_in_exec_; }
  // Where an incomplete trace ends; nullopt for a finished recording.
  const std::optional<trace::TraceEnd>& trace_end() const { return reader_->incomplete(); }
  // Whether watchpoints are found by single-stepping, the debug registers
  // not trapping on this machine.
  bool steps_to_watch() const { return step_to_watch_; }
  // For a replay that follows a recording still being written (open()ed
  // with IncompleteTraces::ReadPrefix; record --checkpoint-interval): once
  // step() has returned false, takes in the events the recorder has
  // written since (TraceReader::catch_up). Returns whether step() has more
  // to do. An Error where this replay can no longer match a replay of the
  // finished trace.
  Result<bool> catch_up_with_recording();
  void set_emit_output(bool on) { options_.emit_output = on; }

  // --- checkpoints (ReplayCheckpoint.cc)
  // Whether every task stands where a copy can be made and resumed later:
  // no task about to get a signal or to restart a syscall, none inside a
  // syscall the kernel executes (a fork, an execve), no leader gone before
  // its threads. Threads waiting inside an emulated syscall (futex, read,
  // poll, ...) are fine: they stand at its entry stop, which a copy can
  // stand at too. A stop inside an event while its task ran user code (a
  // breakpoint, an interrupt, stop_after_ms) can be checkpointed: the
  // pending event goes with the copy.
  bool can_checkpoint() const;
  // Freezes a copy of every replayed process and the session's
  // bookkeeping. The session goes on as it would have: it may wait for new
  // tasks' first stops, and move a leader that waits inside a syscall out
  // to inject the fork and back to the same entry stop.
  Result<std::shared_ptr<const SessionCheckpoint>> checkpoint();
  // A new session standing where `cp` was taken. `cp` stays usable.
  static Result<std::unique_ptr<ReplaySession>> restore(const SessionCheckpoint& cp);

  // --- persistent checkpoints (PersistSave.cc, PersistLoad.cc; the files
  // are core/trace/CheckpointStore.h's)
  // Whether persist() can save here: can_checkpoint(), at an event boundary
  // (no event half replayed), and no process sharing memory with another
  // in a way a restore could not rebuild.
  bool can_persist() const { return can_checkpoint() && current_event_done(); }
  // Saves where the replay stands into `store`: every process's mappings,
  // the pages that differ from what they map, its threads, signal
  // dispositions and heap layout, and replay's own state. The session goes
  // on as it would have.
  Result<trace::CheckpointInfo> persist(trace::CheckpointStore& store);
  // A new session standing where `data` (loaded from `store`) was saved,
  // in fresh processes: each one spawned empty, its mappings rebuilt
  // through injected syscalls from the trace's files, its pages written,
  // its threads recreated. `reader` is any reader of the same trace.
  // Compares where the replay stands with a saved checkpoint of the same
  // point: the same processes and threads, mappings, saved pages (by
  // hash), registers, signal masks and dispositions. An Error names the
  // first difference (replay -a --jobs: each stretch checks that it
  // arrives at the next checkpoint's exact state).
  Result<void> verify_against(const trace::CheckpointData& want);
  static Result<std::unique_ptr<ReplaySession>> restore_persisted(
      const trace::TraceReader& reader, const trace::CheckpointStore& store,
      const trace::CheckpointData& data, const ReplayOptions& options);

  // Replays until the debugger must see a stop: a breakpoint, watchpoint or
  // finished single-step of `control.step`, the debuggee's exit, an
  // interrupt, or the end of the trace (HistoryEnd). A stop inside an event
  // leaves that event pending; the next run() goes on from there.
  Result<DebugStop> run(const RunControl& control);

  const trace::TraceReader& reader() const { return *reader_; }
  EventNum current_event() const { return current_; }
  // Whether current_event() is fully replayed: a stop inside it (a
  // breakpoint before its syscall) leaves it pending.
  bool current_event_done() const { return !pending_ || pending_->num != current_; }
  // Events fully replayed so far (the position between events).
  uint64_t events_completed() const { return events_completed_; }
  // How far into the recording the last completed event came (Event::time_ns).
  uint64_t recorded_time_ns() const { return recorded_time_ns_; }
  RepTask* find(Tid rec_tid);
  // The memory half of a position of `t` (RunControl::StateTarget,
  // core/timeline/Position.h): hash_task_state() without the syscall
  // buffers of t's process, plus how far t has read its own buffer.
  Result<std::array<uint8_t, 32>> position_hash(RepTask& t);
  std::vector<RepTask*> tasks_of(Tid rec_tgid);
  // Waits for a new task's first stop, so it can be inspected.
  Result<void> wait_until_stopped(RepTask& t);
  Tid root() const { return root_; }
  // The initial process's recorded wait status, once replay has reached it.
  std::optional<int> root_status() const { return root_status_; }

  // Hardware breakpoints and watchpoints, applied to every thread of
  // `rec_tgid` (and to threads it creates later).
  Result<void> set_debug_registers(Tid rec_tgid, const DebugRegSlots& slots);
  // Software breakpoints wanted in `rec_tgid`: inserted now where mapped,
  // and again after every mmap and execve of the process.
  Result<void> set_breakpoints(Tid rec_tgid, const std::set<uint64_t>& addrs);

  // --- counted breakpoints (ReplayCount.cc, CountedSites.h)
  // Every execution of one of `addrs` by a thread of `rec_tgid` adds one to
  // the process's count, without a ptrace stop where the instruction can
  // be patched (an int3 the tracer counts otherwise). Replaces the set
  // wanted before; resets the counts of the process and of its threads to
  // 0. An empty set removes them. Placed lazily, before the process next
  // runs, and again after mmap and execve, like set_breakpoints.
  // Those of `addrs` also in `patch_only` are counted only where a patch
  // fits, never by an int3: they may run millions of times, and a caller
  // that wants any executed address as a landmark can do without them.
  Result<void> set_counted_breakpoints(Tid rec_tgid, const std::set<uint64_t>& addrs,
                                       const std::set<uint64_t>& patch_only = {});
  // Hits since set_counted_breakpoints, as of the last stop: of the
  // process, and of one of its threads.
  uint64_t counted_hits(Tid rec_tgid) const;
  uint64_t counted_hits_of(Tid rec_tid) const;
  // How many of the counted addresses are patched and how many counted by
  // an int3 (for tests and logs).
  std::pair<size_t, size_t> counted_placement(Tid rec_tgid) const;
  // The addresses set_counted_breakpoints was last given for `rec_tgid`
  // (addrs, patch_only).
  std::pair<std::set<uint64_t>, std::set<uint64_t>> counted_wanted(Tid rec_tgid) const;
  // CountedSites::block_starts_around in the address space of `rec_tid`.
  std::vector<uint64_t> block_starts_around(Tid rec_tid, uint64_t pc);
  // How often the tracer compared a task with stop_at_state (each one a
  // ptrace stop; a stub in the tracee compares the rest), for tests.
  uint64_t tracer_state_compares() const { return tracer_state_compares_; }
  // The period at which run() looks at interrupts while a task runs.
  static constexpr int kWakeupMs = 50;

  // For reverse-stepping over a syscall or rdtsc: the events completed
  // before the task's last event, and its registers there.
  struct LastEvent {
    uint64_t events_before = 0;
    trace::EventKind kind = trace::EventKind::SyscallEntry;
    user_regs_struct regs{};
  };
  std::optional<LastEvent> last_instruction_event(Tid tid) const;

 private:
  enum class Want {
    SyscallEntry,
    SyscallExit,
    Signal,
    TrappedInsn,  // an rdtsc, cpuid or rdrand (TrapPatch.h)
    ForkEvent,
    ExitEvent,
    Reaped,
    Preempt
  };

  ReplaySession() = default;
  Result<void> start(const trace::Event& e);
  // Runs the task to the stop `want`: its wait status there, or a stop the
  // debugger must see first.
  using Advanced = std::variant<WaitStatus, DebugStop>;
  // sysemu_ok false: never let the kernel skip the syscall the task enters
  // (a ptrace stop at an entry comes before the event that says whether
  // replay runs it: ReplayPtrace.cc).
  Result<Advanced> advance(RepTask& t, Want want, const trace::Event& e, bool sysemu_ok = true);
  Result<Advanced> advance_task(RepTask& t, Want want, const trace::Event& e, bool sysemu_ok);

  // ReplayPool.cc: the threads that hand the baton around (preload/abi.h).
  Result<EventProgress> on_baton_give(const trace::Event& e);
  Result<std::optional<DebugStop>> run_pool_to(RepTask& t, const trace::Event& e);
  uint64_t pool_cpu_ms(const RepTask& t);
  // Where t and the threads of its pool are, for a message about a replay
  // stuck in a hand-off: each one's state, pc or syscall, and baton count.
  std::string describe_pool(RepTask& t);
  Result<bool> drop_live_signal_stop(RepTask& o);
  Result<void> load_peer_syscallbufs(const trace::Event& e);
  std::vector<RepTask*> pool_of(const RepTask& t);
  Result<void> run_pool(RepTask& t);
  Result<void> resume_member(RepTask& o);
  Result<std::optional<DebugStop>> poll_pool(RepTask& t);
  Result<void> stop_pool(RepTask& t);
  Result<void> take_back_breakpoint_hit(RepTask& o);
  Result<void> note_pool_stop(RepTask& o, WaitStatus st);
  Result<void> clear_fork_child_baton(RepTask& child);
  // What check_not_stuck saw last: each thread's activity, and since when
  // nothing has changed.
  struct StuckWatch {
    std::vector<uint64_t> last;
    std::chrono::steady_clock::time_point since{};
    std::chrono::steady_clock::time_point next{};
  };
  Result<void> check_not_stuck(RepTask& t, const trace::Event& e, StuckWatch& w);
  // The event's own handling, by kind (process_event does what all share).
  Result<EventProgress> dispatch_event(const trace::Event& e);
  Result<EventProgress> on_entry(const trace::Event& e);
  Result<EventProgress> on_exit(const trace::Event& e);
  Result<EventProgress> on_signal(const trace::Event& e);
  // ReplayPtrace.cc: what a recorded tracer did to its tracee.
  Result<EventProgress> on_ptrace_stop(const trace::Event& e);
  Result<EventProgress> on_ptrace_resume(const trace::Event& e);
  Result<EventProgress> on_ptrace_write(const trace::Event& e);
  Result<EventProgress> on_trapped_insn(const trace::Event& e);
  static std::optional<TrapInsnInfo> trapped_insn(const Task& task, int sig);
  Result<std::unique_ptr<PreemptStub>> install_preempt_stub(RepTask& t, const trace::Event& e);
  Result<EventProgress> on_task_exit(const trace::Event& e);
  Result<EventProgress> on_preempt(const trace::Event& e);
  Result<void> check_not_past(const RepTask& t, const trace::Event& e);
  bool library_makes_syscalls(const trace::Event& e) const;
  bool runs_natively(const trace::Event& e) const;
  bool emulated_at_entry(const trace::Event& e) const;
  static bool injects_at_exit(int64_t nr);
  // The recording ran its tracees under rewind's seccomp filter, so replay
  // runs them under its own (Spawn.h), resumed with PTRACE_CONT outside
  // syscalls: a syscall replay must see stops the task at its
  // PTRACE_EVENT_SECCOMP stop, one it need not see stops it not at all.
  bool under_filter() const { return reader_->header().syscall_filter; }
  // Whether replay's filter lets a syscall made from `insn` through untraced.
  static bool untraced_in_replay(uint64_t insn);
  static SeccompFilter replay_filter();
  // Where a task waits inside a syscall replay emulates (ReplayCheckpoint.cc).
  EntryStop entry_stop() const { return under_filter() ? EntryStop::Seccomp : EntryStop::Syscall; }
  Error unexpected_syscall_stop(RepTask& t, const trace::Event& e, SyscallStopKind k);
  bool sibling_running(const RepTask& t) const;
  Result<void> on_initial_stop(RepTask& t);
  Result<WaitResult> wait_watched(const RepTask& t, const trace::Event& e);

  // ReplaySyscall.cc
  Result<void> post_exec(RepTask& t, const trace::Event& e);
  Result<void> replay_mmap(RepTask& t, const trace::Event& e);
  Result<void> replay_mremap(RepTask& t, const trace::Event& e);
  Result<void> place_vdso(RepTask& t, const trace::Event& e,
                          const std::vector<KernelMapping>& maps);
  Result<void> replay_shmat(RepTask& t, const trace::Event& e);  // ReplayShm.cc
  Result<void> replay_shmdt(RepTask& t, const trace::Event& e);
  Result<void> emit_output(RepTask& t, const trace::Event& e);
  Result<void> prepare_exec(RepTask& t, const trace::TaskEvent& te);
  Result<std::string> exe_to_run(const trace::TaskEvent& te);
  Result<void> restore_pt_interp(RepTask& t, const trace::TaskEvent& te);
  Result<void> register_child(RepTask& parent, int event);
  // ReplayBuffer.cc
  Result<void> load_syscallbuf(const trace::Event& e);
  Result<void> on_preload_call(RepTask& t, const trace::Event& e);
  Result<EventProgress> process_event(const trace::Event& e);
  // ReplayDebug.cc: resuming a task under a debugger, and its SIGTRAPs.
  // emulate: the task's next syscall-stop, if any, is the entry of one that
  // replay emulates (PTRACE_SYSEMU; see advance).
  Result<void> resume_task(RepTask& t, bool emulate = false);
  enum class TrapAction { Continue, Stop, NotOurs };
  struct Trap {
    TrapAction action = TrapAction::NotOurs;
    DebugStop stop;  // for TrapAction::Stop
  };
  Result<Trap> on_sigtrap(RepTask& t);
  std::optional<DebugStop> kernel_write_watch_hit(const trace::Event& e);
  Result<void> restore_temporary_sigmask(RepTask& t, int sig);
  Result<std::string> live_copy(const trace::MappingRecord& m);
  std::vector<uint8_t> written_bytes(RepTask& t, const trace::Event& e);
  Result<void> apply_file_write(RepTask& t, const trace::Event& e);
  // Shared memory in fork checkpoints (SharedMemory.cc).
  Result<std::vector<SharedObject>> snapshot_shared_memory();
  Result<std::vector<std::string>> make_shared_copies(const std::vector<SharedObject>& objects);
  static Result<void> map_shared_copies(Task& leader, pid_t rec_tgid,
                                        const std::vector<SharedObject>& objects,
                                        const std::vector<std::string>& paths);

  const trace::TaskEvent* task_event(EventNum n, trace::TaskEventKind kind) const;
  RepTask* take_over_leader_tid(Tid leader);
  Result<void> reap_dying_leader(Tid group);
  Result<void> start_killer(RepTask& victim);
  Error divergence(const trace::Event& e, const std::string& what) const;
  Result<void> check_regs(const trace::Event& e, const user_regs_struct& now) const;

  // PersistSave.cc, PersistLoad.cc
  std::vector<uint8_t> encode_session() const;
  Result<void> decode_session(const std::vector<uint8_t>& bytes);
  Result<void> capture_process(const SessionCheckpoint& cp, pid_t group, trace::CpProcess& out,
                               trace::CheckpointStore::Writer& pages);
  Result<std::optional<std::pair<std::string, bool>>> trace_file_of(const std::string& path) const;
  Result<void> restore_persisted_process(const trace::CpProcess& p,
                                         const trace::CheckpointStore& store,
                                         const std::map<uint64_t, int>& shared_objects);
  // Refuses (or with --force, warns about) a CPU that lacks features the
  // recording CPU had; pins the tracer to the recording's CPU if it can.
  Result<void> check_cpu_and_pin();
  friend class SessionCheckpoint;
  ReplayOptions options_;
  std::unique_ptr<trace::TraceReader> reader_;
  std::map<pid_t, std::unique_ptr<RepTask>> tasks_;  // by recorded tid
  // Leaders that died before their threads, reaped after the last of them.
  std::map<pid_t, std::unique_ptr<RepTask>> dying_leaders_;  // by recorded tgid
  std::multimap<uint64_t, const trace::TaskEvent*> task_events_;
  std::multimap<uint64_t, const trace::MappingRecord*> mappings_;
  // Files replay maps from a writable per-replay copy (never the trace's
  // own): any file some mapping wrote through MAP_SHARED (by trace file),
  // and any file a syscall wrote into while mapped (by recorded dev/inode).
  // Shared and private mappings of one file then see each other's stores,
  // and recorded write()s into the file, as they did. One copy per
  // (dev, inode, captured content).
  std::set<std::string> shared_files_;
  std::set<std::pair<uint64_t, uint64_t>> written_files_;
  // Shared with checkpoints: their frozen processes map the same files.
  std::shared_ptr<LiveFiles> live_ = std::make_shared<LiveFiles>();
  // Whether some process may map MAP_SHARED|MAP_ANONYMOUS memory (replay
  // mapped some): only then does a checkpoint look for it in the maps
  // (SharedMemory.cc), which a python3 start-up's hundreds of marks would
  // otherwise read for nothing.
  bool maybe_shared_anonymous_ = false;
  EventNum current_;
  void index_trace();
  std::optional<trace::Event> pending_;  // read, not yet fully replayed
  uint64_t events_completed_ = 0;
  uint64_t recorded_time_ns_ = 0;
  std::optional<Tid> stepping_;
  // Threads of the advancing task's process run beside it (run_pool).
  bool pool_running_ = false;
  // The advancing task's stop, which came while it ran for another's event.
  std::optional<WaitStatus> early_status_;
  std::function<bool(uint64_t)> step_to_watch_in_;  // RunControl's, during run()
  uint64_t preempt_trap_pc_ = 0;  // on_preempt: the pc after the int3 that finds the point
  std::map<pid_t, DebugRegSlots> debug_regs_;       // by recorded tgid
  std::map<pid_t, std::set<uint64_t>> wanted_bps_;  // by recorded tgid
  std::map<pid_t, LastEvent> last_event_;           // by recorded tid
  Result<void> sync_breakpoints(RepTask& t);
  // ReplayCount.cc
  // One process's counted breakpoints.
  struct CountedProcess {
    std::set<uint64_t> wanted;
    std::set<uint64_t> int3s;  // wanted addresses counted by an int3
    CountedSites sites;        // in the address space `as`
    std::weak_ptr<AddressSpace> as;
    uint64_t base = 0;    // hits not in sites' counter: int3s, address spaces execve replaced
    uint64_t seen = 0;    // sites' counter at the last stop
    bool placed = false;  // everything wanted is patched or has its int3
    bool countdown_clear = true;    // the countdown holds kNoStop
    uint64_t state_site = 0;        // the pc whose stub also compares the state
    uint64_t state_for = 0;         // the state's pc (state_site's, or after it)
    std::set<uint64_t> no_patch;    // counted by an int3 even where a patch fits
    std::set<uint64_t> patch_only;  // wanted, but never counted by an int3
    std::set<uint64_t> skipped;     // of those, where no patch fitted
  };
  CountedProcess* counted_of(const RepTask& t);
  std::vector<std::pair<uint64_t, uint64_t>> stub_reserved() const;
  std::unique_ptr<CountedProcess> new_counted_process() const;
  Result<void> sync_counted(RepTask& t);
  Result<void> note_counted(RepTask& t);
  Result<std::optional<Trap>> on_count_trap(RepTask& t, const user_regs_struct& regs);
  Result<bool> at_state(RepTask& t);
  bool hit_target_reached(const RepTask& t) const;
  Result<void> clear_state_target();
  bool in_any_stub(const RepTask& t, uint64_t rip);
  bool interrupt_due() const;
  Result<std::optional<DebugStop>> maybe_interrupt(RepTask& t);
  Result<void> leave_counted_site(RepTask& t, user_regs_struct& regs, bool user_step);
  Result<DebugStop> run_inner(const RunControl& control);
  Result<void> relay_patch(RepTask& t);
  void unplace_counted(const RepTask& t);
  // After recorded writes: counting patches they overwrote (the preload
  // library patching libc's syscalls) are forgotten, never restored.
  Result<void> drop_overwritten_patches(RepTask& t);
  // `found`: t stopped at a state checked inside the patch (not a
  // fallback to an int3 while the run goes on).
  Result<void> unpatch_covering(RepTask& t, uint64_t pc,
                                bool found = false);  // place again before it runs (mmap, execve)
  std::map<pid_t, std::unique_ptr<CountedProcess>> counted_;  // by recorded tgid
  std::map<pid_t, uint64_t> counted_by_thread_;               // by recorded tid
  const RunControl* control_ = nullptr;                       // during run()
  std::chrono::steady_clock::time_point running_since_;       // for stop_after_ms
  uint64_t watch_steps_ = 0;  // in this run(), for RunControl::max_watch_steps
  bool steps_for_watches() const {
    return step_to_watch_ || (control_ && control_->watch_by_stepping);
  }
  uint64_t state_int3_ = 0;  // stop_at_state's pc, when counted by an int3 of its own
  uint64_t tracer_state_compares_ = 0;
  const DebugRegSlots* watch_slots(const RepTask& t) const;
  int watch_slot_hit(RepTask& t, const user_regs_struct& regs) const;
  DebugStop slot_stop(const RepTask& t, int slot) const;
  Tid root_;
  std::optional<int> root_status_;
  bool died_in_exec_ = false;
  // The debug registers do not trap on this machine: tasks with watchpoints
  // or hardware breakpoints are single-stepped instead (ReplayDebug.cc).
  bool step_to_watch_ = !debug_registers_work();
  TrapSiteCache trap_sites_;
  // Whether cpuid faults in the replayed processes too (make_cpuid_fault).
  bool cpuid_faulting_ = false;
  int cpu_ = 0;
};

// A frozen copy of a replay at a point between events (ReplayCheckpoint.cc):
// one stopped fork of each replayed process, which never runs, and the
// session's bookkeeping as data. A fork copies only the thread that calls
// it, its leader's here; the process's other threads are kept as data
// (ThreadCopy.h) and recreated in each restored copy. Restoring forks the
// frozen copies again, so a checkpoint can be restored any number of times.
class SessionCheckpoint {
 public:
  ~SessionCheckpoint();
  uint64_t events_completed() const { return events_completed_; }

  struct Thread {
    Tid rec_tid;
    RepTaskState state;
    ThreadImage image;
  };
  struct Process {
    std::unique_ptr<Task> frozen;  // the leader's copy; stopped, only ever forked from
    std::vector<Thread> threads;   // the leader first
  };

 private:
  friend class ReplaySession;
  SessionCheckpoint() = default;
  std::map<pid_t, Process> processes_;  // by recorded tgid
  std::unique_ptr<trace::TraceReader> reader_;
  ReplayOptions options_;
  uint64_t events_completed_ = 0;
  uint64_t recorded_time_ns_ = 0;
  std::optional<trace::Event> pending_;  // read from the trace, to be replayed from its start
  EventNum current_;
  Tid root_;
  std::optional<int> root_status_;
  int cpu_ = 0;
  std::map<pid_t, ReplaySession::LastEvent> last_event_;
  std::set<std::string> shared_files_;
  std::shared_ptr<LiveFiles> live_;
  std::vector<SharedObject> shared_memory_;  // SharedMemory.h
  bool maybe_shared_anonymous_ = false;
};

// Recreates the threads of a process whose leader is tasks.front(): each
// other thread cloned into it, then every thread given its exit lists,
// its image and, if it waited inside a syscall, that syscall's entry stop
// (ReplayCheckpoint.cc). `threads` holds the leader first.
Result<void> restore_threads(const std::vector<SessionCheckpoint::Thread>& threads,
                             EntryStop entry_stop, std::vector<std::unique_ptr<Task>>& tasks);

}  // namespace rwd
