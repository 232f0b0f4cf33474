// A Task is one kernel thread under ptrace. Threads that share an address
// space (CLONE_VM) share one AddressSpace, as the kernel shares the mm.
#pragma once

#include <signal.h>
#include <sys/user.h>

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/base/Error.h"
#include "core/base/Fd.h"
#include "core/base/Types.h"
#include "core/cpu/Insn.h"
#include "core/task/Ptrace.h"

namespace rwd {

// An instruction replaced with ud2 and nops (TrapPatch.h): what it was.
struct PatchedTrap {
  TrapInsnInfo insn;
  std::array<uint8_t, kMaxTrapInsnLength> orig{};  // its bytes, insn.length of them
};

// The memory of one mm, accessed through /proc/PID/mem so that reads and
// writes work on read-only and PROT_NONE pages too (FOLL_FORCE), as a
// debugger needs. Reopened after execve, which replaces the mm.
class AddressSpace {
 public:
  Result<void> open_for(pid_t tid);
  Result<void> read(RemotePtr addr, void* buf, size_t len) const;
  // Reads what is readable; returns the number of bytes read (stops at the
  // first unmapped page).
  size_t read_partial(RemotePtr addr, void* buf, size_t len) const;
  Result<void> write(RemotePtr addr, const void* buf, size_t len) const;
  Result<std::string> read_c_string(RemotePtr addr, size_t max = 4096) const;

  // The rewind stub page (see RemoteSyscall.h) once it is mapped.
  bool has_stub_page = false;
  // A page replay maps while it looks for a preemption point
  // (core/replay/PreemptStub.h): not program state. 0 if none.
  uint64_t preempt_stub_page = 0;
  // Pages replay maps for counted breakpoints (core/replay/CountedSites.h):
  // not program state either. A fork's copy keeps them, unused.
  std::set<uint64_t> count_pages;
  // Program code replaced by a jmp to such a page: the original bytes, by
  // address. Hidden from the debugger like breakpoints.
  std::map<uint64_t, std::vector<uint8_t>> code_patches;

  // Instructions replaced with ud2 (TrapPatch.h), by address.
  std::map<uint64_t, PatchedTrap> trap_sites;
  // Record: the preload library's code (preload/abi.h), where a thread is
  // never preempted.
  std::pair<uint64_t, uint64_t> preload_text{0, 0};
  // Record: the pages of syscall stubs that patched sites jump to
  // (core/record/SyscallPatch.h), [start, end).
  std::vector<std::pair<uint64_t, uint64_t>> syscall_stubs;
  // Whether pc is in rewind's code rather than the program's: the stub
  // page, the preload library, the syscall stubs. A single-step a recorded
  // tracer asked for goes on through it (core/record/RecordPtrace.cc).
  bool in_rewind_code(uint64_t pc) const;
  // What a fork child's address space has of its parent's: the same memory,
  // so the same stub page and patched trap sites.
  void inherit_from_fork(const AddressSpace& parent) {
    has_stub_page = parent.has_stub_page;
    preload_text = parent.preload_text;
    syscall_stubs = parent.syscall_stubs;
    trap_sites = parent.trap_sites;
    count_pages = parent.count_pages;
  }

  // Software breakpoints (int3) a debugger set in this address space. Each
  // address may be wanted several times (a user breakpoint and an internal
  // one); the original byte returns when the last one goes.
  Result<void> add_breakpoint(uint64_t addr);
  Result<void> remove_breakpoint(uint64_t addr);
  bool has_breakpoint(uint64_t addr) const { return breakpoints_.count(addr) > 0; }
  // A write of the program's own bytes (replay applying a recorded write:
  // the preload library patching libc's syscalls) that keeps the int3s in
  // its range, with the written bytes as their originals.
  Result<void> write_keeping_breakpoints(RemotePtr addr, const void* buf, size_t len);
  // Puts the original byte back while the task steps over the breakpoint,
  // and re-inserts the int3 afterwards.
  Result<void> lift_breakpoint(uint64_t addr);
  Result<void> relay_breakpoint(uint64_t addr);
  // Replaces inserted int3s and patched trap sites in a buffer read from
  // [addr, addr+len) by the original bytes, so a debugger never sees its own
  // breakpoints, nor rewind's patches.
  void hide_breakpoints(uint64_t addr, uint8_t* buf, size_t len) const;
  // A mapping that replaced memory under int3s (ld.so maps a library's
  // whole file read-only, then its text over it with MAP_FIXED) took them
  // with it, while the table still holds them: each whose byte is no
  // longer an int3 is inserted again, over the new byte. Those not mapped
  // now are left for the next mapping change. Returns how many.
  size_t reinsert_replaced_breakpoints();
  // After fork, the child's memory still holds the parent's int3s and code
  // patches.
  Result<void> remove_inherited_breakpoints(const AddressSpace& parent);

 private:
  struct Breakpoint {
    uint8_t orig = 0;
    int refs = 0;
  };
  ScopedFd mem_fd_;
  pid_t tid_ = 0;
  std::map<uint64_t, Breakpoint> breakpoints_;
};

// PTRACE_GET_SYSCALL_INFO's view of a syscall-stop.
enum class SyscallStopKind { Entry, Exit, Seccomp, None };

// The ptrace resume requests rewind uses, one-to-one (rr's ResumeRequest).
// Sysemu (PTRACE_SYSEMU) stops at the next syscall's entry like Syscall, but
// the kernel then skips that syscall, whatever the registers say, and
// reports no exit stop for it: replay emulates it whole at the entry stop.
enum class ResumeRequest { Cont, Syscall, SingleStep, Sysemu };

class Task {
 public:
  Task(Tid rec_tid, pid_t real_tid, std::shared_ptr<AddressSpace> as)
      : rec_tid_(rec_tid), real_tid_(real_tid), as_(std::move(as)) {}
  Task(const Task&) = delete;
  Task& operator=(const Task&) = delete;

  // The tid the recording saw (in record, the same as real_tid()).
  Tid rec_tid() const { return rec_tid_; }
  pid_t real_tid() const { return real_tid_; }
  // execve from a thread that is not the leader gives it the leader's tid
  // (ptrace(2), "execve(2) under ptrace").
  void take_tids(Tid rec_tid, pid_t real_tid) {
    rec_tid_ = rec_tid;
    real_tid_ = real_tid;
    forget_stop();
  }
  AddressSpace& as() { return *as_; }
  std::shared_ptr<AddressSpace> shared_as() const { return as_; }
  void set_address_space(std::shared_ptr<AddressSpace> as) { as_ = std::move(as); }

  // The registers at the current stop. Read with PTRACE_GETREGS once per
  // stop and kept until the task is resumed (set_regs() keeps what it
  // wrote where the kernel takes it verbatim): a recorded syscall reads
  // them at each of its stops, in several places. After skip_syscall(),
  // orig_rax is the program's, not the -1 the kernel holds.
  Result<user_regs_struct> get_regs() const;
  Result<void> set_regs(const user_regs_struct& r) const;
  // Whether the current syscall-stop is an entry or an exit
  // (PTRACE_GET_SYSCALL_INFO). Call it at a syscall-stop only (a WaitStatus
  // of Kind::SyscallStop). With may_infer, the registers and what this Task
  // saw since its last syscall-stop decide where they can, without asking
  // the kernel; the caller must know that nothing (a sibling's exit_group)
  // can have killed the task since it reported the stop: see Task.cc.
  Result<SyscallStopKind> syscall_stop_kind(bool may_infer = false) const;
  Result<siginfo_t> get_siginfo() const;
  Result<void> set_siginfo(const siginfo_t& si) const;
  Result<unsigned long> get_event_msg() const;

  // From an entry stop whose syscall was emulated there (finish_at_entry()),
  // Syscall and SingleStep first take the task to that syscall's exit stop
  // (one more stop), where the task then stands as after any syscall:
  // otherwise the kernel would report that exit (Syscall) or a step that ran
  // no instruction (SingleStep). Cont goes on with no exit stop.
  Result<void> resume(ResumeRequest req, int sig = 0) const;
  Result<WaitResult> wait() const;
  // What wait() learns from a stop, for callers that wait by other means.
  void note_stop(const WaitStatus& st) const;
  // Whether the task stands at the entry stop it reached after a Sysemu
  // resume: the kernel skips that syscall whatever the registers say, so
  // the tracer may set the syscall's results right there, and the task
  // goes on from its next instruction (see resume()).
  bool at_sysemu_entry() const { return sysemu_entry_; }
  // Whether the task stands at a PTRACE_EVENT_SECCOMP stop: rewind's
  // filter (Spawn.h) stopped it on its way into a syscall. Under
  // PTRACE_SYSCALL that comes after the syscall-entry stop: since Linux 4.8
  // ("x86/ptrace: run seccomp after ptrace"; syscall_trace_enter) the
  // kernel runs seccomp after ptrace's entry report, so that the filter
  // sees what the tracer changed there, and runs the filter again after a
  // seccomp stop ("seccomp: recheck the syscall after RET_TRACE"), where
  // a second RET_TRACE lets the syscall through. PTRACE_SYSEMU skips
  // seccomp altogether.
  bool at_seccomp_stop() const { return seccomp_stop_; }
  // The signal of the signal-delivery-stop the task stands at, 0 at any
  // other stop. Only there does resuming with a signal deliver it
  // (ptrace(2)); injected syscalls move the task off such a stop.
  int signal_stop() const { return signal_stop_; }
  // At a seccomp stop: has the kernel skip the syscall. seccomp(2), on
  // SECCOMP_RET_TRACE: "The tracer can skip the system call by changing the
  // system call number to -1", and the syscall then returns what the tracer
  // leaves in rax. The kernel reads orig_rax as the task leaves the stop,
  // so it holds -1 until then, whatever set_regs() is given; get_regs()
  // shows the program's (the syscall number, as after any syscall).
  Result<void> skip_syscall() const;
  // Whether the task stands at an entry stop whose syscall the kernel
  // skips: PTRACE_SYSEMU's, or a seccomp stop after skip_syscall().
  bool at_skipped_entry() const { return sysemu_entry_ || skip_orig_rax_.has_value(); }
  // The tracer has put the results of the syscall at this skipped entry
  // stop in place: the task stands as after the syscall, but not at its
  // exit stop (see resume()).
  void finish_at_entry() const { exit_emulated_ = at_skipped_entry(); }
  // tgkill from the tracer. A signal sent to a task whose syscall was
  // skipped at a seccomp stop and finished there is delivered on that
  // syscall's way out, where the kernel decides from orig_rax whether it
  // restarts (arch_do_signal_or_restart): the task is first taken to the
  // exit stop and given the program's orig_rax (see resume()).
  Result<void> send_signal(int sig) const;

  Result<void> read_mem(RemotePtr addr, void* buf, size_t len) const {
    return as_->read(addr, buf, len);
  }
  Result<void> write_mem(RemotePtr addr, const void* buf, size_t len) const {
    return as_->write(addr, buf, len);
  }
  // The trap the kernel last took for the task, as its stops showed it (the
  // x86 vector: 6 #UD for a ud2, 3 for an int3, 1 for a single-step, 13
  // for an rdtsc that PR_SET_TSC faults), 0 if none. The kernel writes it
  // into every later signal frame (trapno), so a copy of the thread takes
  // the same trap before it runs (ThreadCopy.h, reproduce_trap).
  int last_trap() const { return last_trap_; }

  // Signals that arrived while rewind was injecting syscalls into the task:
  // they were held back and are redelivered by the session.
  std::vector<siginfo_t> stashed_signals;
  // The child of the last fork/clone injected into this task.
  pid_t injected_child = 0;

  template <class T>
  Result<T> read_val(RemotePtr addr) const {
    T v{};
    auto r = as_->read(addr, &v, sizeof v);
    if (!r) return r.error();
    return v;
  }

 private:
  // Where the task stands between syscall-stops, as far as the stops that
  // syscall_stop_kind() classified and the resume requests since tell.
  enum class SyscallState {
    Unknown,
    Outside,  // its last syscall-stop was an exit: the next one is an entry
    Inside,   // its last syscall-stop was an entry (or a seccomp stop)
  };
  // Drops what was known about the current stop (the task left it).
  void forget_stop() const {
    regs_.reset();
    sysemu_entry_ = exit_emulated_ = seccomp_stop_ = skip_unwritten_ = false;
    skip_orig_rax_.reset();
  }
  Result<void> leave_skipped_entry() const;
  Result<void> write_skip() const;

  Tid rec_tid_;
  pid_t real_tid_;
  std::shared_ptr<AddressSpace> as_;
  // Per-stop cache of get_regs(); empty once the task was resumed.
  mutable std::optional<user_regs_struct> regs_;
  mutable SyscallState syscall_state_ = SyscallState::Unknown;
  // The last resume was Sysemu: its next syscall-stop is an entry.
  mutable bool sysemu_resumed_ = false;
  mutable bool sysemu_entry_ = false;   // see at_sysemu_entry()
  mutable bool stepped_ = false;        // the last resume was SingleStep
  mutable int last_trap_ = 0;           // see last_trap()
  mutable bool exit_emulated_ = false;  // see finish_at_entry()
  mutable bool seccomp_stop_ = false;   // see at_seccomp_stop()
  mutable int signal_stop_ = 0;         // see signal_stop()
  // After skip_syscall(): the program's orig_rax, while the kernel's is -1
  // (or is to be, before the task leaves the stop: skip_unwritten_).
  mutable std::optional<uint64_t> skip_orig_rax_;
  mutable bool skip_unwritten_ = false;
};

std::string signal_name(int sig);

// Whether a signal was raised by the instruction the task was executing
// (a fault, int3), as opposed to sent by kill/tgkill/sigqueue/a timer.
// Kernel-generated faults carry a positive si_code (SEGV_MAPERR,
// FPE_INTDIV, SI_KERNEL for #GP and int3); sent signals carry SI_USER (0)
// or a negative code.
bool is_synchronous_fault(int sig, const siginfo_t& si);

// Whether two register sets describe the same user-space state: orig_rax
// is kernel bookkeeping, and the resume and trap flags (RF, TF) depend on
// how the task was last resumed.
bool same_user_registers(const user_regs_struct& a, const user_regs_struct& b);

// Whether the instruction at pc is `syscall` (0f 05), breakpoints aside.
// A single-step must not run one: PTRACE_SINGLESTEP reports no syscall-stop.
bool at_syscall_insn(Task& task, uint64_t pc);

}  // namespace rwd
