# On-disk schema of a rewind trace (format version 3, see kFormatVersion). Only core/trace/ sees
# these types; the rest of rewind uses the plain structs in TraceTypes.h.
#
# Rules, after rr's rr_trace.capnp:
#  - Paths and strings that came from the tracee or the filesystem are Data,
#    not Text: Linux paths are bytes and need not be UTF-8.
#  - Fields are only ever added, with new ordinals. Changing the meaning of an
#    existing field means bumping kFormatVersion.
#  - "Must" constraints written here are checked by TraceReader, which turns a
#    violation into an Error rather than trusting the file.

@0xeb4dd985c92fcc33;

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("rwd::trace::schema");

struct CpuidLeaf {
  leaf @0 :UInt32;     # input eax
  subleaf @1 :UInt32;  # input ecx
  eax @2 :UInt32;      # outputs of CPUID for (leaf, subleaf)
  ebx @3 :UInt32;
  ecx @4 :UInt32;
  edx @5 :UInt32;
}

struct TraceHeader {
  uuid @0 :Data;              # must be 16 bytes; identifies the recording
  formatVersion @1 :UInt32;   # must equal the number in the `version` file
  arch @2 :Data;              # "x86_64"
  kernel @3 :Data;            # uname -r and -v of the recording machine
  cpuid @4 :List(CpuidLeaf);  # every leaf/subleaf, read at record start
  xcr0 @5 :UInt64;            # XSAVE feature mask (xgetbv 0)
  argv @6 :List(Data);        # the command rewind recorded
  env @7 :List(Data);         # its environment, "NAME=value" each
  cwd @8 :Data;               # working directory at start
  tickSource @9 :Data;        # how async points are located ("none": state matching)
  startTimeNs @10 :Int64;     # CLOCK_REALTIME at start, in nanoseconds
  cpuidFaulting @11 :Bool;    # whether CPUID faulting was on while recording
  writtenFiles @12 :List(FileId);  # mapped files some syscall wrote into or resized
                                   # (events with fileWrite); set when the recording closes
  cpuFeatures @13 :List(Data);     # record --cpu-features: the CPU features the program
                                   # was allowed to use ("avx2", ...); empty: all it had
  recordCpu @14 :Int32 = -1;       # the CPU the recording was pinned to; -1: unknown
  syscallFilter @15 :Bool;         # the tracees ran under rewind's seccomp filter (syscall
                                   # buffering on): replay runs them under its own
  clearsSignalFrames @16 :Bool;    # the recorder zeroed the dead stack below a thread before
                                   # each signal it delivered (core/task/SignalFrame.h), and
                                   # replay does the same
  ignoredSignals @17 :UInt64;      # signals the program started with ignored (bit sig-1)
}

# A file as the recording machine's kernel identified it.
struct FileId {
  dev @0 :UInt64;
  inode @1 :UInt64;
}

# Values are stored as numbers; a reader must reject one it does not know.
enum EventKind {
  syscallEntry @0;  # ptrace syscall-entry stop
  syscallExit @1;   # ptrace syscall-exit stop; carries the memory the kernel wrote
  signal @2;        # a signal was delivered
  rdtsc @3;         # rdtsc/rdtscp trapped (a patched site or PR_SET_TSC)
  cpuid @4;         # cpuid trapped (a patched site or CPUID faulting)
  exit @5;          # PTRACE_EVENT_EXIT: the task is about to die
  preempt @6;       # the recorder interrupted the task at an arbitrary instruction
  batonGive @7;     # the recorder resumed the task, in a process whose threads hand the
                    # baton around (preload/abi.h), to run the program's code from
                    # where it stands: no stop, it runs on alongside the others
  rdrand @8;        # rdrand or rdseed trapped (a patched site); carries the number
  ptraceStop @9;    # emulated ptrace: the tracee stops for its tracer where it stands
  ptraceResume @10; # emulated ptrace: the tracer resumes it (signo: the signal delivered)
  ptraceWrite @11;  # emulated ptrace: the tracer wrote its memory, registers or siginfo
}

# Memory the kernel (or an emulated instruction) wrote. The bytes themselves
# are not here: they follow in the `data` stream, `length` bytes per write, in
# the order the writes appear in the events stream. Keeping them out of the
# messages keeps `events` small and lets LZ4 see the raw bytes.
struct MemWrite {
  addr @0 :UInt64;    # tracee address of the first byte
  length @1 :UInt64;  # number of bytes in the `data` stream
}

# A memory word at a preemption point: replay's stub compares it, with the
# registers, before it stops the task (core/replay/PreemptStub.h).
struct LoopWord {
  addr @0 :UInt64;
  value @1 :UInt64;
}

struct Event {
  num @0 :UInt64;                 # global event number, from 1, strictly increasing
  tid @1 :Int32;                  # recorded tid of the task that stopped
  kind @2 :EventKind;             # what kind of stop this is
  regs @3 :Data;                  # must be a user_regs_struct (216 bytes) at the stop
  syscallNo @4 :Int64 = -1;       # syscallEntry/syscallExit: the syscall number
  signo @5 :Int32;                # signal: the signal number
  siginfo @6 :Data;               # signal: raw siginfo_t (128 bytes)
  tsc @7 :UInt64;                 # rdtsc: value returned in edx:eax
  tscAux @8 :UInt32;              # rdtsc: ecx for rdtscp
  rdtscp @9 :Bool;                # rdtsc: the instruction was rdtscp
  cpuidOut @10 :List(UInt32);     # cpuid: must be 4 values, eax, ebx, ecx, edx
  exitStatus @11 :Int32;          # exit: wait status (as from waitpid)
  flags @12 :UInt32;              # EventFlag bits (TraceTypes.h)
  writes @13 :List(MemWrite);     # memory written at this event, bytes in `data`
  fileWrite @14 :FileWrite;       # syscallExit with hasFileWrite: a write to a mapped file
  stateHash @15 :Data;            # preempt: BLAKE2b-256 of the task's writable memory and FP state
  loopWords @16 :List(LoopWord);  # preempt: words the loop wrote in its last iteration
  loopRegs @17 :UInt16;           # preempt: registers (bit n: x86 encoding n) the last
                                  # loop iteration changed
  userTimeMs @18 :UInt64;         # preempt with hasUserTime: the thread's user CPU time
                                  # (ms) at the point; bounds replay's search for it
  syscallbufLength @19 :UInt64;   # bytes of buffered syscalls the thread made since its
                                  # last event (preload/abi.h BufRecords), in `data` after
                                  # this event's writes
  batonReleases @21 :UInt32;      # batonGive: how many times threads of its process had
                                  # released the baton then (preload/abi.h, Baton)
  peerBuffers @20 :List(PeerBuffer); # the buffered syscalls other threads of its process
                                  # made meanwhile, handing the baton around (preload/
                                  # abi.h, Baton); bytes in `data` after its own
  timeNs @22 :UInt64;             # when the recorder wrote it: ns since the recording
                                  # started (steady clock); 0 in older traces
  random @23 :UInt64;             # rdrand: the number the instruction returned
  randomOk @24 :Bool = true;      # rdrand: its carry flag (false: the CPU had none to give)
}

# Another thread's buffered syscalls, taken with an event (Event.peerBuffers).
struct PeerBuffer {
  tid @0 :Int32;                  # recorded tid of the thread that made them
  length @1 :UInt64;              # bytes of BufRecords in `data`
}

# A write-family syscall wrote into a file that some task had mapped: replay
# applies it to its own copies of that file so the mappings see it.
struct FileWrite {
  dev @0 :UInt64;                 # st_dev of the file written
  inode @1 :UInt64;               # st_ino of the file written
  offset @2 :UInt64;              # file offset of the first byte written
}

enum FileStorage {
  none @0;    # anonymous mapping, or a special file (device, /proc)
  copied @1;  # an independent copy inside the trace
  linked @2;  # a hard link shared with the original inode; `pack` must copy it
}

struct MappingRecord {
  event @0 :UInt64;        # the event at which the mapping appeared
  tid @1 :Int32;           # the task whose address space it is in
  start @2 :UInt64;        # first address
  end @3 :UInt64;          # one past the last address
  prot @4 :Int32;          # PROT_* bits
  flags @5 :Int32;         # MAP_* bits
  fileOffset @6 :UInt64;   # offset into the file of `start`
  origPath @7 :Data;       # path in the recording's filesystem
  traceFile @8 :Data;      # relative to the trace directory, empty if none; must exist
  storage @9 :FileStorage; # how traceFile was captured
  dev @10 :UInt64;         # st_dev of the original file
  inode @11 :UInt64;       # st_ino of the original file
  size @12 :UInt64;        # st_size of the original file
  mtimeNs @13 :Int64;      # st_mtim of the original file, in nanoseconds
}

enum TaskEventKind {
  clone @0;  # a new task appeared
  exec @1;   # a task completed execve
  exit @2;   # a task died
}

struct TaskEvent {
  event @0 :UInt64;           # the event at which it happened
  kind @1 :TaskEventKind;     # what happened
  tid @2 :Int32;              # clone: the new task; exec/exit: the task
  parentTid @3 :Int32;        # clone: the task that called clone/fork/vfork
  cloneFlags @4 :UInt64;      # clone: flags (SIGCHLD alone for fork)
  argv @5 :List(Data);        # exec: the new argv
  exePath @6 :Data;           # exec: the path execve resolved
  exeTraceFile @7 :Data;      # exec: trace copy of the executable; must exist if set
  interpTraceFile @8 :Data;   # exec: trace copy of the ELF interpreter; must exist if set
  interpPath @9 :Data;        # exec: the ELF interpreter's original path
  exitStatus @10 :Int32;      # exit: wait status
  formerTid @11 :Int32;       # exec: the tid the task had before, if execve from a
                              # thread that is not the leader gave it the leader's tid
}
