// The contract between librewind-preload.so (the syscall buffer in the
// tracee) and the recorder and replayer. Plain C layout, no C++ library:
// the preload library includes it as well as core/.
//
// How a buffered syscall works (docs/syscallbuf.md has the whole story):
//  - The recorder rewrites `syscall; cmp $imm, %rax` sites in the program's
//    libraries into a jmp to a per-site stub, which calls the library's
//    entry (kInitPreload tells the recorder where it is).
//  - A seccomp filter lets syscalls made from kUntracedSyscallInsn through
//    without a ptrace stop; every other syscall stops the task as before.
//    (Replay runs under a filter of its own, with other instructions let
//    through: see kReplayedSyscallInsn.)
//  - The library makes a bufferable syscall there and appends a BufRecord
//    (the result and the bytes the kernel wrote) to the thread's buffer.
//    The recorder copies new records into the trace with the thread's next
//    event. Replay writes them back before the thread runs toward that
//    event, and the library hands them out instead of making the syscalls.
#pragma once

#include <stdint.h>

namespace rwd::syscallbuf {

// The page rewind maps at a fixed address in every process (see
// core/task/RemoteSyscall.h): offsets of what the library uses in it.
constexpr uint64_t kStubPage = 0x70000000;
// "syscall; ret": the library's syscall instruction that record's seccomp
// filter lets through untraced (besides the tracer's own injection
// instruction at kStubPage + 0). Replay's filter traces it: there a
// syscall made from it is one the recording handed to the traced path.
constexpr uint64_t kUntracedSyscallInsn = kStubPage + 0x10;
// "syscall; ret" again, but traced: where the recorder sends the kernel's
// restart of a buffered syscall that went the traced way (RecordBuffer.cc).
constexpr uint64_t kTracedRestartInsn = kStubPage + 0x20;
// "syscall; ret" a third time, for the few buffered syscalls that replay's
// library makes itself (kBufReplayExecutes in the syscall table: mmap, brk,
// rt_sigaction, rt_sigprocmask), at the moment the recording made them.
// Replay's seccomp filter lets it through untraced, so they cost no stop;
// record never uses it.
constexpr uint64_t kReplayedSyscallInsn = kStubPage + 0x30;
// "syscall; ret" a fourth time, untraced in record and in replay alike: the
// futex calls of the baton hand-offs (below), which must cost no stop.
constexpr uint64_t kBatonSyscallInsn = kStubPage + 0x40;
// uint32_t: kModeRecord or kModeReplay, written by the tracer.
constexpr uint64_t kModeWord = kStubPage + 0x800;
constexpr uint32_t kModeRecord = 1;
constexpr uint32_t kModeReplay = 2;

// Syscall numbers the kernel doesn't have, made from the library's traced
// syscall instruction: the tracer sees them at their stop and answers them
// (replay: from the trace). They are in the syscall table.
// Far above any real number, so that a program probing unknown syscalls
// (syscall(1000)) still meets ENOSYS.
constexpr int kSysInitPreload = 0x52570000;  // (&PreloadInit): 0 = buffering on
constexpr int kSysInitThread = 0x52570001;   // (buffer, size)
constexpr int kSysFlush = 0x52570002;        // (reason), one of:
constexpr long kFlushFull = 1;               // the next record would not fit
constexpr long kFlushWanted = 2;             // the tracer asked (BufHeader::want_stop)
constexpr long kFlushDiverged = 3;           // replay: the next record is not this syscall's
// (futex result): a thread that woke from a hand-off wait found the baton
// with the tracer; it returns when the tracer gives it the baton, with the
// futex result (docs/syscallbuf.md, "Hand-offs").
constexpr int kSysBatonWait = 0x52570003;

// What the library says about itself when it starts.
struct PreloadInit {
  uint64_t entry;       // the address stubs call
  uint64_t text_start;  // the library's code, where the tracer must never
  uint64_t text_end;    //   interrupt a thread (its state differs in replay)
};

// The head of each thread's buffer. Fields the tracer writes are marked.
struct BufHeader {
  // Record: end of the committed records. Replay: the next record to
  // hand out. The tracer sets it to 0 at each event of the thread that finds
  // the buffer unlocked.
  uint32_t pos;
  // Replay only: end of the records the replayer loaded (tracer).
  uint32_t end;
  // The library is inside a buffered syscall (between taking it on and
  // committing its record); a syscall made meanwhile (a signal handler's) goes
  // the traced way.
  uint32_t locked;
  // Tracer: the syscall in progress was handed to the traced path (it
  // blocked); the library must not commit a record for it.
  uint32_t abort_commit;
  // Tracer: make a kSysFlush once the current record is committed, so the
  // tracer gets a stop outside the library (it wanted to interrupt the
  // thread there).
  uint32_t want_stop;
  // Tracer: every syscall of this thread goes the traced way. Set while a
  // recorded tracer has it stop at syscalls (PTRACE_SYSCALL,
  // core/record/RecordPtrace.cc): buffered ones would never stop.
  uint32_t traced_only;
  uint32_t reserved[2];
  // Bit n set: writes to fd n go the traced way (fds from kTracedFds up
  // always do). Replay re-emits writes to the recorder's stdout and stderr
  // and applies writes into mapped files, which needs them traced. The
  // library sets every bit when it makes the buffer; the tracer clears the
  // bit of an fd it saw written that is neither, and sets it again when the
  // fd is closed or replaced, or a file is mapped. Its changes are memory
  // writes of the event that makes them, so replay's library decides alike.
  uint8_t traced_fds[128];
  // Record only, the library's own cache: whether an fd's reads and writes
  // can sleep (a pipe, a socket, a terminal) or not (a file, /dev/null), so
  // that it arms the desched event only when they can. Bit n of fd_known:
  // looked at (fstat, untraced); of fd_never_blocks: cannot sleep. The
  // recorder clears fd_known bits when fds are closed or replaced. Replay's
  // library never arms, so the bits stay 0 there and decide nothing.
  uint8_t fd_known[128];
  uint8_t fd_never_blocks[128];
  // Record only: the thread's desched event, fd + 1 (0: none yet), and the
  // thread it counts (a fork child's copy counts its parent's). The tracer
  // sets it to 0 when the program closes that fd or puts another file at
  // its number (close_range, dup2; core/record/RecordDesched.cc): the
  // library then opens a new event when it next needs one.
  int32_t desched_fd;
  int32_t desched_tid;
};
constexpr int kTracedFds = 8 * sizeof(BufHeader::traced_fds);

// One buffered syscall: this header, then `nouts` outputs, each an OutHead
// and its bytes padded to 8.
struct BufRecord {
  uint32_t size;  // of the whole record, including outputs; a multiple of 8
  uint32_t nr;
  int64_t ret;
  uint32_t nouts;
  // For close, the fd, which the recorder marks traced in the other threads'
  // headers (BufHeader::traced_fds); for mmap, mmap_arg0(); for
  // rt_sigaction, 1 if it changed the disposition (replay's library makes
  // only those again); otherwise the low 32 bits of the first argument.
  uint32_t arg0;
};

// Buffered mmaps are anonymous, private, not executable and placed by the
// kernel (preload.cc, args_allow). Their records keep the length in pages
// and the protection, from which the recorder writes a mapping record:
// replay must know where the program's memory will be.
constexpr uint64_t kMmapMaxPages = uint64_t{1} << 29;  // 2 TiB
constexpr uint32_t mmap_arg0(uint64_t len, uint64_t prot) {
  return static_cast<uint32_t>(((len + 4095) >> 12) << 3 | (prot & 7));
}
constexpr uint64_t mmap_len(uint32_t arg0) {
  return uint64_t{arg0 >> 3} << 12;
}
constexpr int mmap_prot(uint32_t arg0) {
  return static_cast<int>(arg0 & 7);
}
static_assert(mmap_len(mmap_arg0(5000, 3)) == 8192 && mmap_prot(mmap_arg0(5000, 3)) == 3);
static_assert(mmap_len(mmap_arg0((kMmapMaxPages - 1) << 12, 1)) == (kMmapMaxPages - 1) << 12,
              "the largest buffered mmap's length fits in arg0");
struct OutHead {
  uint64_t addr;
  uint64_t len;
};

// Each thread's buffer: a header and records, then the library's own stack.
// entry.S runs the library's C code there rather than below the program's
// stack pointer, so that it leaves nothing behind in the program's memory
// that would differ between record and replay (state hashes leave the
// whole buffer out). A signal handler can run on it too (a signal delivered
// at a traced syscall the library makes), so it is as roomy as a program
// may expect of a stack; between it and the records, a guard page
// (PROT_NONE) turns an overflow into a fault rather than overwritten records.
constexpr uint32_t kLibStackSize = 256 << 10;
constexpr uint32_t kLibStackGuard = 4096;
constexpr uint32_t kBufferSize = (1 << 20) + kLibStackGuard + kLibStackSize;
constexpr uint32_t kRecordsEnd = kBufferSize - kLibStackSize - kLibStackGuard;
// A record bigger than this goes the traced way (a 16 MB read).
constexpr uint32_t kMaxRecord = 1 << 19;

// Calls fn(const BufRecord&) for each record of a run of them, as the
// tracer holds them (a flushed buffer, an event's records). Returns false,
// having stopped there, at a record whose size is impossible. (The tracer's
// helper; the library walks its buffer itself.)
template <typename Fn>
bool for_each_record(const uint8_t* data, uint64_t size, Fn&& fn) {
  for (uint64_t at = 0; at + sizeof(BufRecord) <= size;) {
    BufRecord rec;
    __builtin_memcpy(&rec, data + at, sizeof rec);
    if (rec.size < sizeof rec || rec.size > size - at) return false;
    fn(rec);
    at += rec.size;
  }
  return true;
}

constexpr uint32_t pad8(uint64_t n) {
  return static_cast<uint32_t>((n + 7) & ~uint64_t{7});
}

// Whether the record `rec`, whose bytes start at `bytes` and are all there
// (rec.size of them), holds exactly its outputs: each OutHead and its bytes,
// padded to 8, inside the record, and nothing after the last.
inline bool record_well_formed(const uint8_t* bytes, const BufRecord& rec) {
  if (rec.size % 8 != 0 || rec.size < sizeof rec) return false;
  uint64_t p = sizeof rec;  // a multiple of 8, as rec.size is: no pad8 overshoots
  for (uint32_t i = 0; i < rec.nouts; ++i) {
    OutHead h;
    if (rec.size - p < sizeof h) return false;
    __builtin_memcpy(&h, bytes + p, sizeof h);
    if (h.len > rec.size - p - sizeof h) return false;
    p += sizeof h + pad8(h.len);
  }
  return p == rec.size;
}

// Whether a run of records from a trace (an event's) is whole and well
// formed: replay's check before it loads them into a buffer, where the
// library trusts them (it walks them by size and nouts, and copies each
// output's len bytes). Where the outputs go (OutHead::addr) is the replayed
// program's memory, whatever it is. (The tracer's helper.)
inline bool records_well_formed(const uint8_t* data, uint64_t size) {
  uint64_t at = 0;
  while (at < size) {
    BufRecord rec;
    if (size - at < sizeof rec) return false;
    __builtin_memcpy(&rec, data + at, sizeof rec);
    if (rec.size > size - at || !record_well_formed(data + at, rec)) return false;
    at += rec.size;
  }
  return true;
}

// The baton (docs/syscallbuf.md, "Hand-offs without the recorder"): one per
// address space, in a page of rewind's mapping. While it is enabled (the
// process has threads), a thread runs the program's code only while it
// holds the baton. A futex wait is then buffered: the library releases the
// baton, waits untraced, and takes the baton back before it returns, so
// threads hand the CPU to each other without a ptrace stop.
//
// Record: the page is shared with the recorder (a memfd), which takes the
// baton with atomic operations and wakes waiters with FUTEX_WAKE on its own
// mapping; hence the futex calls on `owner` are not FUTEX_PRIVATE. Replay:
// a private page, where only `enabled` and `releases` mean anything.
constexpr uint64_t kBatonPage = kStubPage + 0x3000;
constexpr int32_t kBatonTracer = -1;  // owner: the tracer has the baton
struct Baton {
  // Record: the tid that holds it, 0 if free, kBatonTracer. The library
  // takes it with a compare-and-swap from 0 and releases it with a store;
  // the tracer sets it to the thread it resumes.
  int32_t owner;
  // Record: threads asleep (FUTEX_WAIT) on owner, for the releaser to wake.
  uint32_t waiters;
  // Record and replay: how many times a thread released it. A take
  // records the count it found (BufRecord::arg0 of the futex wait); every
  // take is followed by a release or a tracer's stop before the next take,
  // so the counts name the takes, and replay's library takes the baton
  // when the count reaches its record's.
  uint32_t releases;
  // Written by the tracer at the clone that gives the process its second
  // thread (an event's memory write, so replay sees it at the same point);
  // cleared in a fork's child.
  uint32_t enabled;
  // Record and replay: bit n set once a buffered close of fd n succeeded
  // while the baton was enabled. The number may name another file now, and
  // the other threads may write to it before the recorder sees the close
  // (they hand the baton around meanwhile): their writes to it go the traced
  // way too, until the recorder has looked at the fd and clears the bit (a
  // memory write of that event, like BufHeader::traced_fds).
  uint8_t closed_fds[kTracedFds / 8];
};

// The signal the desched perf event sends when a thread blocks in a
// buffered syscall: SIGSTKFLT, which no program uses.
constexpr int kDeschedSignal = 16;

}  // namespace rwd::syscallbuf
