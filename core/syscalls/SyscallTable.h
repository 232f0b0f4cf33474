// One home per syscall (docs/style.md, "One home per syscall"): a table entry
// gives its number, its name, which memory it writes, and whether replay
// executes it or emulates it from the trace. A syscall the table can't
// describe with the generic output rules names a handler in the file for its
// family (fs, mm, net, signals, ioctl, process).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/base/Error.h"

namespace rwd::sys {

// How replay treats the syscall.
enum class ReplayMode : uint8_t {
  // Not executed in replay: result and written memory come from the trace.
  Emulate,
  // Executed for real in replay, because it builds process state that the
  // trace can't hold (address space, threads, signal dispositions, ...).
  // The recorder and replayer have a dedicated hook for each of these.
  Execute,
};

// How big an output buffer is, evaluated at syscall exit.
enum class SizeRule : uint8_t {
  None,       // unused slot
  Fixed,      // `n` bytes
  Ret,        // the return value, when > 0 (read, getdents64, readlink)
  RetTimes,   // return value * n (epoll_wait: ret * sizeof(epoll_event))
  Arg,        // the value of argument `size_arg`
  ArgTimes,   // argument `size_arg` * n (poll: nfds * sizeof(pollfd))
  DerefArg,   // the u32 stored at argument `size_arg` *after* the call (socklen_t*)
  FdSetBits,  // fd_set for `size_arg` = nfds: ceil(nfds/64) * 8 bytes (select)
};
// Caps, because a return value or an updated length can exceed what was written:
//  - Ret / RetTimes with `size_arg` >= 0 take min(ret, argument `size_arg`) as
//    the byte (Ret) or element (RetTimes) count. recv(MSG_TRUNC) returns the
//    datagram's full length; getxattr(size = 0) and getgroups(0) return the
//    size they would need and write nothing.
//  - DerefArg with `n` > 0 is capped at `n`: move_addr_to_user() stores the
//    address's full length in *addrlen but copies at most the buffer's size,
//    and an address is at most sizeof(sockaddr_storage) = 128 bytes.
// Over-reporting is harmless (the recorder saves bytes that are already
// there); under-reporting makes replay diverge.

// One pointer argument the kernel may write through.
struct OutParam {
  int8_t arg = -1;  // which argument (0..5) holds the pointer; -1 = unused slot
  SizeRule rule = SizeRule::None;
  int8_t size_arg = -1;
  uint32_t n = 0;
};

// Argument registers and result of one syscall, as seen at its exit stop
// (args captured at entry).
struct SyscallArgs {
  int64_t nr = -1;
  uint64_t a[6] = {};
  int64_t ret = 0;
  // Set by possible_outputs(): this is the entry stop, so counts the kernel
  // stores next to its outputs (recvmmsg's msg_len) are not there yet.
  bool at_entry = false;
};

struct OutRange {
  uint64_t addr = 0;
  uint64_t len = 0;
  bool operator==(const OutRange&) const = default;
};

// Reads tracee memory for handlers that must follow pointers (iovecs, msghdr).
class TraceeMemoryReader {
 public:
  virtual ~TraceeMemoryReader() = default;
  virtual Result<void> read(uint64_t addr, void* buf, size_t len) = 0;
};

// Computes the extra output ranges of a syscall the generic rules can't.
// Appends to `out`. Must not fail on garbage pointers: a failed read means
// the kernel wrote nothing there either (the syscall then returned EFAULT).
using OutputsHandler = void (*)(const SyscallArgs&, TraceeMemoryReader&,
                                std::vector<OutRange>& out);

enum SyscallFlag : uint32_t {
  kMayBlock = 1u << 0,      // may sleep in the kernel indefinitely (read, wait4, poll)
  kWritesOutput = 1u << 1,  // write-family to an fd: replay re-emits fd 1/2 output
  // The kernel writes some memory even when the call fails (nanosleep's rem
  // on a signal, select's timeout). The entry's handler then also runs on
  // failure and reports exactly those; handlers of other entries run only on
  // success.
  kWritesOnFailure = 1u << 2,
  // The preload library may make it without a ptrace stop and keep its
  // result and outputs in the thread's buffer (preload/abi.h). Its outputs
  // must follow from the generic rules, or from one of the few handlers
  // the library knows (readv, recvmsg); kMayBlock ones are made with the
  // desched event armed, so that blocking hands them to the traced path.
  // Not for those that always sleep (nanosleep): the interrupted first try
  // would write memory (the remaining time) that no record holds.
  kBuffered = 1u << 3,
  // Only for some arguments, which the library checks (args_allow in
  // preload/preload.cc): write-family calls not to fds 1 and 2 (replay
  // re-emits those), fcntl without locks, ioctl FIONREAD/TCGETS, futex
  // WAKE (and WAIT once the process hands the baton around, preload/abi.h),
  // madvise advice that changes no memory, rt_sigaction and
  // rt_sigprocmask with the kernel's sigset size, and mmap of fresh private
  // memory where the kernel likes, not executable.
  kBufferArgsChecked = 1u << 4,
  // Buffered, and replay's library makes it too, where the recording did,
  // and checks that it returns what the record says (kReplayedSyscallInsn
  // in preload/abi.h): calls whose effect replay needs but whose result
  // depends only on replayed state (mmap's fresh memory, brk, signal
  // dispositions and masks). Questions (brk(0), no new action or mask) it
  // answers from the record.
  kBufReplayExecutes = 1u << 5,
  // Its first argument is an fd: the preload library refuses, with EBADF,
  // one that names its own desched event (own_fd in preload/preload.cc).
  kFdArg0 = 1u << 6,
  // It may change the thread's signal mask or a signal's action, or (the
  // library's start) lets later such calls go unseen: what the tracer
  // knows of the trap signals is lost (core/task/TrapSignals.h).
  kSignalState = 1u << 7,
  // It sends a signal (kill, tgkill, ...): sent_signal() says which, to whom.
  kSendsSignal = 1u << 8,
};

struct SyscallDesc {
  int nr = -1;
  const char* name = nullptr;
  ReplayMode replay = ReplayMode::Emulate;
  OutParam outs[4] = {};
  OutputsHandler handler = nullptr;  // extra outputs, run after the generic rules
  uint32_t flags = 0;
};

// The raw syscall ABI's results, named once (docs/style.md):
// failure is -errno in [-4095, -1].
inline bool is_error(int64_t ret) {
  return ret >= -4095 && ret <= -1;
}
// The kernel-internal restart codes (include/linux/errno.h), which only a
// tracer sees, at the exit stop of a syscall a signal interrupted: the kernel
// restarts the syscall unless a handler runs (ERESTARTSYS: unless one
// without SA_RESTART runs; RESTART_RESTARTBLOCK: as restart_syscall).
constexpr int64_t kErestartSys = -512;
constexpr int64_t kErestartNoIntr = -513;
constexpr int64_t kErestartNoHand = -514;
constexpr int64_t kErestartRestartBlock = -516;
inline bool is_restart(int64_t ret) {
  return ret == kErestartSys || ret == kErestartNoIntr || ret == kErestartNoHand ||
         ret == kErestartRestartBlock;
}

// nullptr for a syscall outside the table.
const SyscallDesc* find(int64_t nr);

// "read"; for a syscall the table lacks, the kernel's name ("unshare", from
// <asm/unistd_64.h> at build time), or "syscall_1000" for a number the
// kernel headers do not name either.
std::string name(int64_t nr);

// The kernel's x86-64 syscalls that the table lacks, by name, in number
// order: the recorder fails them with ENOSYS (the README lists them).
std::vector<std::string> unsupported_syscalls();

// Every memory range the syscall wrote, per its table entry. Empty when the
// syscall failed (ret in [-4095, -1]), except where a handler knows better.
std::vector<OutRange> outputs(const SyscallDesc& d, const SyscallArgs& args,
                              TraceeMemoryReader& mem);

// Every memory range the syscall may write before its exit stop, judged
// from its arguments and memory at its entry stop, when the result is not
// known yet: the union of outputs() over the outcomes that write (success
// with the largest count, success with none, interruption by a signal, and
// the failures some handlers still write on). A superset of what outputs()
// will report at the exit.
std::vector<OutRange> possible_outputs(const SyscallDesc& d, const SyscallArgs& entry,
                                       TraceeMemoryReader& mem);

// What a kSendsSignal syscall sent, from its arguments: the signal and its
// target, as kill(2) names one (pid > 0 a process, 0 the caller's process
// group, -1 every process it may signal, < -1 the group -pid), or a thread
// (tkill, tgkill, rt_tgsigqueueinfo). A pidfd's target is not known here:
// `every` is set. nullopt for another syscall.
struct SentSignal {
  int sig = 0;
  pid_t pid = 0;       // kill's
  pid_t tid = 0;       // a thread's (pid unused)
  bool every = false;  // pidfd_send_signal: whoever it is
};
std::optional<SentSignal> sent_signal(const SyscallArgs& a);

// All entries, in number order (for tests and `rewind dump`).
const std::vector<SyscallDesc>& all();

// Whether ioctl's output handler knows what `request` writes. For an unknown
// request outputs() reports nothing, so the recorder must warn: replay will
// diverge if that ioctl wrote memory the program later reads.
bool ioctl_is_known(uint64_t request);

}  // namespace rwd::sys
