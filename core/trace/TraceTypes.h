// The records a trace holds, as plain C++ values. Only the trace library
// (core/trace/) knows that they are stored as Cap'n Proto messages in
// LZ4-compressed blocks; everything else sees these structs.
#pragma once

#include <sys/user.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/base/Types.h"

namespace rwd::trace {

// Bumped whenever a reader of the old format could misread the new one.
// 2: preemption state hashes leave out the dead stack below the red zone;
//    exec task events may carry formerTid; preempt events loopWords.
// 3: the header lists the written mapped files (replay copies only those)
//    and the --cpu-features the recording allowed.
// 4: rdtsc instructions in mapped code are replaced with ud2 in record and
//    replay (core/task/TrapPatch.h), which changes what the preemption
//    state hashes cover; a killed recorder's trace is readable up to its
//    last complete event.
// 5: cpuid, rdrand and rdseed instructions are replaced with ud2 as well,
//    and their answers recorded as cpuid and rdrand events.
constexpr uint32_t kFormatVersion = 5;

struct CpuidLeaf {
  uint32_t leaf = 0, subleaf = 0;
  uint32_t eax = 0, ebx = 0, ecx = 0, edx = 0;
  bool operator==(const CpuidLeaf&) const = default;
};

struct TraceHeader {
  std::array<uint8_t, 16> uuid{};
  uint32_t format_version = kFormatVersion;
  std::string arch = "x86_64";
  std::string kernel;             // uname -r and -v of the recording machine
  std::vector<CpuidLeaf> cpuid;   // every leaf/subleaf, read at record start
  uint64_t xcr0 = 0;              // XSAVE feature mask (xgetbv 0)
  std::vector<std::string> argv;  // the command rewind recorded
  std::vector<std::string> env;
  std::string cwd;
  std::string tick_source = "none";  // how async points are located ("none": state matching)
  int64_t start_time_ns = 0;         // CLOCK_REALTIME at start
  bool cpuid_faulting = false;       // whether CPUID faulting was on while recording
  // The CPU the recording was pinned to (-1: unknown). CPUID answers differ
  // by CPU (leaf 1's EBX holds the APIC id) and ld.so keeps them in memory
  // the state hash covers, so replay pins itself to the same one if it can.
  int32_t record_cpu = -1;
  // (st_dev, st_ino) of every mapped file a syscall wrote into or resized
  // (events flagged kFlagFileWrite/kFlagFileTruncate). Replay maps these
  // from per-replay writable copies; every other file straight from the trace.
  std::vector<std::pair<uint64_t, uint64_t>> written_files;
  // `record --cpu-features`: the /proc/cpuinfo names of the features the
  // program was allowed to use; empty when it could use all the CPU had.
  std::vector<std::string> cpu_features;
  // The recording ran its tracees under rewind's seccomp filter (syscall
  // buffering on, core/task/Spawn.h), so replay runs them under a filter
  // too. Older traces lack it and replay as before, with no filter.
  bool syscall_filter = false;
  // The recorder zeroed the dead stack where each signal frame went
  // (core/task/SignalFrame.h), so replay does too. Older traces lack it.
  bool clears_signal_frames = false;
  // The signals the program started with ignored (bit sig-1): replay starts
  // it so, whatever its own caller ignores (Spawn.h).
  uint64_t ignored_signals = 0;
  bool operator==(const TraceHeader&) const = default;
};

// Where a BlockReader stands: at byte `in_block` of the block that starts
// at `block_offset` (TraceReader::position(), a persisted checkpoint).
struct StreamPos {
  uint64_t block_offset = 0;
  uint64_t in_block = 0;
  bool operator==(const StreamPos&) const = default;
};
struct ReaderPos {
  StreamPos events, data;
  uint64_t events_read = 0;
  uint64_t last_event_num = 0;
  bool operator==(const ReaderPos&) const = default;
};

enum class EventKind : uint8_t {
  SyscallEntry = 0,  // ptrace syscall-entry stop
  SyscallExit = 1,   // ptrace syscall-exit stop; carries the memory the kernel wrote
  Signal = 2,        // a signal was delivered (signal-delivery-stop, then injected)
  Rdtsc = 3,         // rdtsc/rdtscp trapped (TrapPatch.h); carries the value
  Cpuid = 4,         // cpuid trapped (TrapPatch.h); carries its answer
  Exit = 5,          // PTRACE_EVENT_EXIT: the task is about to die
  // The recorder interrupted the task at an arbitrary instruction (a
  // timeslice ran out while it computed, or a signal was owed to it).
  // Replay finds the point by state: regs and state_hash (no-pmu.md).
  Preempt = 6,
  // The recorder resumed the task (in a process with a baton, preload/
  // abi.h) to run the program's code from where it stood, holding the baton:
  // in replay it runs from here, with the threads that hand the baton
  // around, until its next event. Not a stop.
  BatonGive = 7,
  Rdrand = 8,  // rdrand or rdseed trapped (TrapPatch.h); carries the number
  // Emulated ptrace between recorded tasks (core/record/RecordPtrace.cc).
  // The task (a tracee) stops for its tracer where it stands: at a syscall
  // exit (an event stop, a PTRACE_SYSCALL stop, the end of a single-step),
  // at a syscall entry (kFlagPtraceEntry), or at its first instruction.
  // exit_status holds the stop's code as wait(2) reports it in bits 8-23.
  PtraceStop = 9,
  // The tracer resumed the stopped tracee: signo is the signal it
  // delivers (0: none), kFlagPtraceStep a single-step. No stop.
  PtraceResume = 10,
  // The tracer changed the stopped tracee: its memory (writes), its
  // registers (regs, with kFlagPtraceRegs) or its siginfo (when not empty).
  PtraceWrite = 11,
};

// Bytes the kernel (or an emulated instruction) wrote into tracee memory.
struct MemWrite {
  uint64_t addr = 0;
  std::vector<uint8_t> bytes;
  bool operator==(const MemWrite&) const = default;
};

struct LoopWord {
  uint64_t addr = 0;
  uint64_t value = 0;
  bool operator==(const LoopWord&) const = default;
};

struct Event {
  EventNum num;
  Tid tid;
  EventKind kind = EventKind::SyscallEntry;
  // Registers at the stop. For SyscallExit they are the registers *after* the
  // syscall (rax holds the result), so replay can set them wholesale.
  user_regs_struct regs{};
  int64_t syscall_no = -1;       // SyscallEntry/SyscallExit
  int32_t signo = 0;             // Signal
  std::vector<uint8_t> siginfo;  // Signal: raw siginfo_t (128 bytes)
  uint64_t tsc = 0;              // Rdtsc: value returned in edx:eax
  uint32_t tsc_aux = 0;          // Rdtsc: ecx for rdtscp
  bool rdtscp = false;
  std::array<uint32_t, 4> cpuid_out{};  // Cpuid: eax, ebx, ecx, edx
  uint64_t random = 0;                  // Rdrand: the number returned
  bool random_ok = true;                // Rdrand: the carry flag it set
  int32_t exit_status = 0;              // Exit: wait status (as from waitpid)
  uint32_t flags = 0;                   // EventFlag bits
  std::vector<MemWrite> writes;
  // SyscallExit of a write-family syscall into a file some task had mapped
  // (kFlagFileWrite): which file, and where. The bytes are the syscall's
  // input, still in the tracee's memory at replay.
  uint64_t file_write_dev = 0, file_write_inode = 0, file_write_offset = 0;
  std::vector<uint8_t> state_hash;  // Preempt: see hash_task_state()
  // Preempt: 8-byte words the loop at the point wrote in the iteration
  // before it, with their values there. They tell iterations apart when
  // the registers do not (a counter kept in memory).
  std::vector<LoopWord> loop_words;
  // Preempt: the general registers that iteration changed, bit n for x86
  // register number n (rax 0, rcx 1, ..., r15 15).
  uint16_t loop_regs = 0;
  // Preempt with kFlagHasUserTime: the thread's user CPU time then, in ms.
  // Replay gives up on a point the thread ran far past (WaitWakeup.h).
  uint64_t user_time_ms = 0;
  // When the recorder wrote the event: ns since the recording started
  // (TraceWriter sets it; 0 in traces from before it did). What
  // `checkpoint create --interval` and `checkpoint list` count in.
  uint64_t time_ns = 0;
  // The syscalls the thread made through its syscall buffer since its last
  // event, as preload/abi.h's BufRecords (replay writes them back into the
  // buffer before the thread runs toward this event).
  std::vector<uint8_t> syscallbuf;
  // The buffered syscalls that other threads of its process made since
  // their last flush, while they handed the baton around (preload/abi.h,
  // Baton): replay loads them before this event too, as those threads run
  // toward it alongside.
  struct PeerRecords {
    Tid tid;
    std::vector<uint8_t> records;
  };
  std::vector<PeerRecords> peer_syscallbufs;
  // BatonGive: the baton's release count then (preload/abi.h, Baton).
  // Replay gives it when the other threads have released it as often.
  uint32_t baton_releases = 0;
};

enum EventFlag : uint32_t {
  // The syscall was executed in recording but its result was replaced
  // (e.g. rseq forced to fail): replay must not execute it either.
  kFlagSyscallSkipped = 1u << 0,
  // The syscall is re-executed in replay (mmap family, clone, execve, ...).
  kFlagExecutedInReplay = 1u << 1,
  // A signal delivered at this point was generated asynchronously.
  kFlagAsyncSignal = 1u << 2,
  // A write-family syscall whose fd was the recorder's own stdout/stderr:
  // `replay -a` writes the same bytes to its stdout/stderr.
  kFlagStdout = 1u << 3,
  kFlagStderr = 1u << 4,
  // The syscall wrote into a mapped file: see Event::file_write_*.
  kFlagFileWrite = 1u << 5,
  // The syscall (ftruncate/truncate) resized a mapped file to
  // file_write_offset bytes.
  kFlagFileTruncate = 1u << 6,
  // A preempt event carries user_time_ms (traces before it do not).
  kFlagHasUserTime = 1u << 7,
  // Signal: the task stops for its emulated tracer at the signal's
  // delivery (a signal-delivery-stop, or the trap that ends a
  // single-step); nothing is delivered now (PtraceResume says what is).
  kFlagPtraceStop = 1u << 8,
  // PtraceResume: PTRACE_SINGLESTEP.
  kFlagPtraceStep = 1u << 9,
  // PtraceWrite: regs holds the registers the tracer set.
  kFlagPtraceRegs = 1u << 10,
  // PtraceStop: at the entry of the syscall the task's next event enters.
  kFlagPtraceEntry = 1u << 11,
  // PtraceStop: at its PTRACE_EVENT_EXIT stop, before its Exit event.
  kFlagPtraceExitEvent = 1u << 12,
  // PtraceStop: in a fork, vfork or clone (a PTRACE_EVENT_FORK stop):
  // replay has the task run the syscall on (ReplaySession::on_entry).
  kFlagPtraceFork = 1u << 13,
};

// How a mapped file's content was captured into the trace.
enum class FileStorage : uint8_t {
  None = 0,    // anonymous mapping, or a special file (device, /proc)
  Copied = 1,  // an independent copy inside the trace
  Linked = 2,  // a hard link: still shared with the original inode; `pack` must copy it
};

struct MappingRecord {
  EventNum event;  // the event at which the mapping appeared
  Tid tid;
  uint64_t start = 0, end = 0;
  int32_t prot = 0, flags = 0;
  uint64_t file_offset = 0;
  std::string orig_path;   // path in the recording's filesystem (bytes, may be non-UTF-8)
  std::string trace_file;  // path relative to the trace directory; empty if none
  FileStorage storage = FileStorage::None;
  uint64_t dev = 0, inode = 0, size = 0;
  int64_t mtime_ns = 0;
  bool operator==(const MappingRecord&) const = default;
};

enum class TaskEventKind : uint8_t { Clone = 0, Exec = 1, Exit = 2 };

struct TaskEvent {
  EventNum event;
  TaskEventKind kind = TaskEventKind::Clone;
  Tid tid;                        // Clone: the new task; Exec/Exit: the task
  Tid parent_tid;                 // Clone: the task that called clone/fork/vfork
  uint64_t clone_flags = 0;       // Clone: flags (SIGCHLD alone for fork)
  std::vector<std::string> argv;  // Exec
  std::string exe_path;           // Exec: the path execve resolved
  std::string exe_trace_file;     // Exec: trace copy of the executable
  std::string interp_trace_file;  // Exec: trace copy of the ELF interpreter, if any
  std::string interp_path;
  int32_t exit_status = 0;  // Exit: wait status
  Tid former_tid;           // Exec: its tid before, if execve changed it (else 0)
  bool operator==(const TaskEvent&) const = default;
};

}  // namespace rwd::trace
