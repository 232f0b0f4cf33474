// ptrace between recorded tasks, emulated (RecordPtrace.cc). rewind is
// every recorded task's real tracer, and a task can have only one, so a
// program that traces its own child (a crash reporter, a sandbox, a
// debugger, a test harness) gets its ptrace calls answered by rewind:
// the tracer-tracee link lives here, the tracee's ptrace stops are points
// where rewind holds it at one of its own stops, and the tracer's
// wait4/waitid report them. Every answer is a syscall result in the
// trace; what the tracer does to the tracee (memory, registers, resuming
// with a signal or a step) is an event of the tracee (TraceTypes.h,
// PtraceStop, PtraceResume, PtraceWrite), so replay repeats it.
#pragma once

#include <signal.h>
#include <sys/types.h>

#include <cstdint>

namespace rwd {

// The tracee side of an emulated ptrace link.
struct PtraceLink {
  pid_t tracer = 0;       // the tracing thread
  pid_t tracer_tgid = 0;  // its process: any of its threads may wait
  bool seized = false;    // PTRACE_SEIZE rather than PTRACE_ATTACH/TRACEME
  uint64_t options = 0;   // PTRACE_O_*

  // In a ptrace stop: rewind holds the task until the tracer resumes it.
  bool stopped = false;
  // The stop as the kernel keeps it in exit_code: the signal, or SIGTRAP
  // | event << 8, or SIGTRAP | 0x80 for a PTRACE_SYSCALL stop under
  // PTRACE_O_TRACESYSGOOD. wait4 reports (code << 8) | 0x7f.
  int code = 0;
  bool reported = false;  // a wait of the tracer returned this stop
  // A signal-delivery-stop: the signal the tracer resumes with is
  // delivered (at other stops rewind ignores it).
  bool signal_stop = false;
  siginfo_t siginfo{};     // what PTRACE_GETSIGINFO answers at this stop
  uint64_t event_msg = 0;  // what PTRACE_GETEVENTMSG answers

  // How the tracer last resumed it, until its next ptrace stop.
  bool stepping = false;       // PTRACE_SINGLESTEP
  bool syscall_stops = false;  // PTRACE_SYSCALL
  // Its PTRACE_SYSCALL entry stop for the syscall it is entering was
  // reported: the entry is recorded when it goes on.
  bool entry_stop_done = false;
  // PTRACE_ATTACH's SIGSTOP, sent by rewind, is on its way: its siginfo is
  // made the kernel's (SI_KERNEL) when it is delivered.
  bool attach_stop = false;
  // Attached by PTRACE_O_TRACEFORK/VFORK/CLONE: its first stop (rewind's
  // SIGSTOP for a new child) is its tracer's.
  bool auto_attached = false;
  // Its PTRACE_EVENT_EXIT stop was reported: its exit goes on.
  bool exit_stop_done = false;
  // The stop is a PTRACE_SYSCALL entry or exit stop (what
  // PTRACE_GET_SYSCALL_INFO describes).
  enum class SyscallStop : uint8_t { None, Entry, Exit };
  SyscallStop syscall_stop = SyscallStop::None;
  // PTRACE_INTERRUPT: it stops (PTRACE_EVENT_STOP) at its next event.
  bool interrupt_pending = false;
  // PTRACE_LISTEN: out of its ptrace stop but still in its group-stop,
  // until a SIGCONT traps it again (PTRACE_EVENT_STOP).
  bool listening = false;
};

}  // namespace rwd
