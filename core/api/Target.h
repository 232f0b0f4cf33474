// The one seam between front ends (gdbstub/, lldb-plugin/) and the engine,
// as LLDB's NativeProcessProtocol is for its gdb-remote server: a front end
// sees a replayed program only through this interface, never ptrace, and
// can be tested against a fake. Everything here speaks in *recorded* ids and
// addresses; the engine maps them to the live tracees.
#pragma once

#include <sys/types.h>
#include <sys/user.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/base/Error.h"

namespace rwd::target {

// A thread as the recording saw it: its process (thread-group) id and tid.
struct ThreadId {
  pid_t pid = 0;
  pid_t tid = 0;
  bool operator==(const ThreadId&) const = default;
};

// Everything gdb's amd64 target description covers.
struct RegisterFile {
  user_regs_struct gp{};    // general registers, rip, eflags, segments, fs/gs base, orig_rax
  user_fpregs_struct fp{};  // x87, MXCSR and XMM0-15 (the FXSAVE image)
  std::array<uint8_t, 256>
      ymm_hi{};  // upper halves of YMM0-15 (XSAVE AVX component), 16 bytes each
  bool has_avx = false;
};

enum class BreakpointType { Software, Hardware, WriteWatch, ReadWatch, AccessWatch };

enum class Direction { Forward, Reverse };

struct ResumeRequest {
  enum class Action { Continue, Step } action = Action::Continue;
  Direction direction = Direction::Forward;
  // For Step: the thread to step. For Continue: the thread to report if
  // nothing else happens; all threads run (replay decides the interleaving).
  ThreadId thread;
  // Going backwards: the software breakpoints to stop at, in place of those
  // inserted. A debugger's own breakpoints (LLDB's on the dynamic loader)
  // must not end a reverse move: LLDB would continue from them forwards.
  // And a breakpoint at the pc, which LLDB removes while it resumes, must.
  std::optional<std::vector<uint64_t>> breakpoints;
  // Going forwards into the program's exit: stop just before it, at the
  // end of the history, instead. LLDB forgets a process that exits, and
  // could not go back from there.
  bool end_before_exit = false;
};

enum class StopKind {
  Signal,        // the thread got `signo` (as recorded)
  Breakpoint,    // a software breakpoint at the thread's pc (pc already rewound past the int3)
  HwBreakpoint,  // a hardware execution breakpoint
  Watchpoint,    // `watch_type` at `watch_addr` triggered
  Step,          // a single step finished
  Interrupted,   // interrupt() was called
  Exited,        // the process exited with `exit_code`
  Killed,        // the process was killed by `signo`
  HistoryBegin,  // reverse execution reached the start of the recording
  HistoryEnd,    // forward execution reached the end of the recording
  // The process changed images: going forwards, it completed an execve;
  // going backwards, the move crossed one and the process stands before its
  // `syscall` instruction, in the image that made the call. `exec_path`
  // names the image it runs now. As after an exec in a live process, every
  // breakpoint and watchpoint is gone: the debugger inserts them again for
  // the image it now sees.
  Exec,
};

struct StopInfo {
  StopKind kind = StopKind::Signal;
  ThreadId thread;
  int signo = 0;
  int exit_code = 0;
  BreakpointType watch_type = BreakpointType::WriteWatch;
  uint64_t watch_addr = 0;
  std::string exec_path;  // Exec: the image the process runs now
};

// Source-level reverse stepping. gdb builds reverse-next, -step and -finish
// from many reverse-stepi and reverse-continue packets and its own line
// tables; LLDB has no reverse step at all. So a front end that knows the
// line tables (the LLDB plugin) hands them to the engine, which knows time,
// and the engine does the whole step in one resume: no round trip per
// instruction, and the debugger sees one ordinary stop.
struct LineRow {
  uint64_t start = 0, end = 0;  // [start, end): the code of one statement
  uint32_t line = 0;
};
struct FrameLines {
  std::vector<std::pair<uint64_t, uint64_t>> ranges;  // the function's code, [start, end)
  std::vector<LineRow> rows;                          // its line table
  uint64_t cfa = 0;  // the frame's canonical frame address: rsp before its call
};
enum class LineStep {
  Next,    // back to the start of the previous line of this frame, over calls
  Step,    // the same, but into a call whose code is in step_into
  Finish,  // back to the call instruction that made this frame
};
struct LineStepRequest {
  LineStep kind = LineStep::Next;
  ThreadId thread;
  FrameLines frame;                  // the frame that steps (frame 0)
  std::optional<FrameLines> caller;  // its caller, where stepping back leaves the function
  // Code with line information: a reverse-step stops in a call into it, at
  // its `ret` (the front end then steps to the start of that line).
  std::vector<std::pair<uint64_t, uint64_t>> step_into;
  std::optional<std::vector<uint64_t>> breakpoints;  // as in ResumeRequest
};

struct CheckpointInfo {
  int id = 0;
  uint64_t event = 0;
  std::string where;  // e.g. "event 1234, tid 5678, pc 0x401136"
};

class Target {
 public:
  virtual ~Target() = default;

  // --- threads and processes
  virtual std::vector<ThreadId> threads() = 0;
  // The thread the last stop is about.
  virtual ThreadId current_thread() = 0;
  // The executable a process runs at the current position (its latest
  // exec, or its parent's for a forked child), for thread names and qXfer.
  virtual Result<std::string> exec_file(pid_t pid) = 0;
  virtual Result<std::vector<uint8_t>> auxv(pid_t pid) = 0;

  // --- state
  virtual Result<RegisterFile> registers(ThreadId t) = 0;
  // Writing registers or memory makes the engine run that process in a
  // throw-away copy from then on (for gdb's inferior calls); the replay
  // itself is unaffected and resumes where it was once the copy is dropped.
  virtual Result<void> set_registers(ThreadId t, const RegisterFile& regs) = 0;
  // Reads what is mapped, up to len; returns the number of bytes read
  // (0 if the first byte is unmapped). Software breakpoints are not visible.
  virtual Result<size_t> read_memory(pid_t pid, uint64_t addr, void* out, size_t len) = 0;
  virtual Result<void> write_memory(pid_t pid, uint64_t addr, const void* in, size_t len) = 0;

  // --- breakpoints and watchpoints (len: 1 for execution, 1/2/4/8 for watchpoints)
  virtual Result<void> add_breakpoint(BreakpointType type, uint64_t addr, size_t len) = 0;
  virtual Result<void> remove_breakpoint(BreakpointType type, uint64_t addr, size_t len) = 0;

  // --- execution: blocks until the next stop
  virtual Result<StopInfo> resume(const ResumeRequest& req) = 0;
  // Safe to call from another thread while resume() runs; resume() then
  // returns StopKind::Interrupted at the next point it can stop.
  virtual void interrupt() = 0;
  // Back to the start of the recording (gdb's "run" on an extended-remote).
  virtual Result<StopInfo> restart() = 0;

  // --- files of the recording (vFile): `path` is a path as the recording
  // saw it; the engine serves the trace's own copy.
  virtual Result<std::vector<uint8_t>> read_recorded_file(const std::string& path, uint64_t offset,
                                                          size_t len) = 0;
  virtual Result<uint64_t> recorded_file_size(const std::string& path) = 0;
  // Every file the trace holds a copy of, as (the path the recording saw,
  // the copy's path on this machine): for a debugger that reads symbols
  // from local files only (LLDB), so it finds the recorded binaries even
  // where the originals were rebuilt or removed.
  virtual std::vector<std::pair<std::string, std::string>> recorded_file_copies() = 0;

  // A reverse line step of `req.thread` (see LineStepRequest). Stops early,
  // as gdb's would, at a breakpoint or watchpoint hit in a call it steps
  // back over, and at the start of the history.
  virtual Result<StopInfo> reverse_line_step(const LineStepRequest& req) = 0;

  // --- the timeline
  virtual uint64_t current_event() = 0;
  virtual Result<StopInfo> seek(uint64_t event) = 0;
  virtual Result<int> checkpoint() = 0;
  virtual Result<StopInfo> restart_checkpoint(int id) = 0;
  virtual std::vector<CheckpointInfo> checkpoints() = 0;
};

}  // namespace rwd::target
