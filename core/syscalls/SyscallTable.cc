// The syscall table: one line per syscall (docs/style.md, "One home per
// syscall"). Each line gives the number, the name, how replay treats the call, its
// flags, its handler (for what the generic rules can't say) and the pointer
// arguments the kernel writes through. The SYS macro checks every number
// against <asm/unistd_64.h> at compile time.
//
// Deliberately absent, so that the recorder's policy for unknown syscalls
// applies (it should fail them with ENOSYS, as rr does, and say so):
//  - io_uring_*, io_setup/io_submit/io_getevents: the kernel writes the
//    results asynchronously, outside any syscall exit we could record.
//  - bpf, userfaultfd, seccomp,
//    modify_ldt, map_shadow_stack, mseal: they change state that replay must
//    reproduce, and none has a replay hook yet.
// (ptrace is here, emulated between recorded tasks by the recorder
// itself: core/record/RecordPtrace.cc.)
// (unshare and setns are here, emulated: replay makes no namespace, and
// needs none, since every answer that depends on one (getpid in a pid
// namespace, uname after sethostname, files under a mount) comes from the
// trace. A clone with CLONE_NEW* flags runs in replay as recorded.)
//  - syslog, ustat, sysfs, keyctl, module and reboot calls: rare,
//    and their outputs depend on sub-commands nobody has needed yet.
#include "core/syscalls/SyscallTable.h"

#include <asm/unistd_64.h>
#include <poll.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysinfo.h>
#include <sys/time.h>
#include <sys/times.h>
#include <sys/timex.h>
#include <sys/utsname.h>

#include <algorithm>
#include <array>
#include <iterator>

#include "core/syscalls/Handlers.h"
#include "preload/abi.h"

// Syscalls newer than the oldest headers we build with (Debian 12 ships
// linux-libc-dev 6.1). With newer headers the SYS macro still checks them.
#ifndef __NR_fchmodat2
#define __NR_fchmodat2 452  // Linux 6.6
#endif

namespace rwd::sys {
namespace {

// Kernel structure sizes on x86-64. Where glibc's type has the kernel's
// layout, the size is checked against it.
constexpr uint32_t kInt = 4;
constexpr uint32_t kLong = 8;  // also loff_t, pointers
constexpr uint32_t kStat = sizeof(struct stat);
static_assert(kStat == 144);
constexpr uint32_t kStatx = sizeof(struct statx);
static_assert(kStatx == 256);
constexpr uint32_t kStatfs = sizeof(struct statfs);
static_assert(kStatfs == 120);
constexpr uint32_t kTimespec = sizeof(struct timespec);
static_assert(kTimespec == 16);
constexpr uint32_t kTimeval = sizeof(struct timeval);
static_assert(kTimeval == 16);
constexpr uint32_t kTimezone = sizeof(struct timezone);
static_assert(kTimezone == 8);
constexpr uint32_t kItimerval = sizeof(struct itimerval);
static_assert(kItimerval == 32);
constexpr uint32_t kItimerspec = sizeof(struct itimerspec);
static_assert(kItimerspec == 32);
constexpr uint32_t kRusage = sizeof(struct rusage);
static_assert(kRusage == 144);
constexpr uint32_t kRlimit = sizeof(struct rlimit);
static_assert(kRlimit == 16);
constexpr uint32_t kTms = sizeof(struct tms);
static_assert(kTms == 32);
constexpr uint32_t kSysinfo = sizeof(struct sysinfo);
static_assert(kSysinfo == 112);
constexpr uint32_t kUtsname = sizeof(struct utsname);  // struct new_utsname: 6 * 65
static_assert(kUtsname == 390);
constexpr uint32_t kSiginfo = sizeof(siginfo_t);
static_assert(kSiginfo == 128);
constexpr uint32_t kStackT = sizeof(stack_t);
static_assert(kStackT == 24);
constexpr uint32_t kEpollEvent = sizeof(struct epoll_event);  // packed on x86-64
static_assert(kEpollEvent == 12);
constexpr uint32_t kPollfd = sizeof(struct pollfd);
static_assert(kPollfd == 8);
constexpr uint32_t kTimex = sizeof(struct timex);
static_assert(kTimex == 208);
constexpr uint32_t kSchedParam = 4;  // struct sched_param { int sched_priority; }
// The kernel's struct sigaction (arch/x86/include/asm/signal.h): handler,
// flags, restorer, mask. glibc's is bigger (its sigset_t is 128 bytes).
constexpr uint32_t kKernelSigaction = 32;
constexpr uint32_t kMqAttr = 64;        // struct mq_attr: 4 longs + 4 reserved
constexpr uint32_t kSockaddrMax = 128;  // sizeof(struct sockaddr_storage)

// Output parameter builders, so each table line reads as what it means.
constexpr OutParam fixed(int arg, uint32_t bytes) {
  return {int8_t(arg), SizeRule::Fixed, -1, bytes};
}
constexpr OutParam ret_bytes(int arg, int cap_arg) {
  return {int8_t(arg), SizeRule::Ret, int8_t(cap_arg), 0};
}
constexpr OutParam ret_times(int arg, uint32_t elem, int cap_arg) {
  return {int8_t(arg), SizeRule::RetTimes, int8_t(cap_arg), elem};
}
constexpr OutParam arg_bytes(int arg, int size_arg) {
  return {int8_t(arg), SizeRule::Arg, int8_t(size_arg), 0};
}
constexpr OutParam arg_times(int arg, int count_arg, uint32_t elem) {
  return {int8_t(arg), SizeRule::ArgTimes, int8_t(count_arg), elem};
}
constexpr OutParam deref_len(int arg, int len_ptr_arg, uint32_t cap = 0) {
  return {int8_t(arg), SizeRule::DerefArg, int8_t(len_ptr_arg), cap};
}
// A socket address and its socklen_t* (accept, getsockname, recvfrom, ...).
#define SOCKADDR(addr_arg, len_arg) \
  deref_len(addr_arg, len_arg, kSockaddrMax), fixed(len_arg, sizeof(socklen_t))
constexpr OutParam fd_set_of(int arg, int nfds_arg) {
  return {int8_t(arg), SizeRule::FdSetBits, int8_t(nfds_arg), 0};
}

// The number as the table states it, after checking it against the header.
template <long kHeader, int kTable>
consteval int checked_nr() {
  static_assert(kHeader == kTable, "syscall number differs from <asm/unistd_64.h>");
  return kTable;
}

constexpr uint32_t kNone = 0;
constexpr uint32_t kBlocks = kMayBlock;
constexpr uint32_t kBuf = kBuffered;
constexpr uint32_t kBufChecked = kBuffered | kBufferArgsChecked;
constexpr uint32_t kBufExecuted = kBufReplayExecutes;
constexpr uint32_t kSig = kSignalState;
constexpr uint32_t kSends = kSendsSignal;

#define SYS(nr, name, mode, flags, handler, ...)                                          \
  SyscallDesc {                                                                           \
    checked_nr<__NR_##name, nr>(), #name, ReplayMode::mode, {__VA_ARGS__}, handler, flags \
  }

// Numbers the kernel lacks: rewind's own (preload/abi.h), not checked.
#define REWIND_SYS(nr, name, mode, flags)           \
  SyscallDesc {                                     \
    nr, #name, ReplayMode::mode, {}, nullptr, flags \
  }

// clang-format off
constexpr SyscallDesc kTable[] = {
  //   nr  name                    replay   flags                        handler                    outputs
  SYS(  0, read,                   Emulate, kBlocks | kBuf | kFdArg0,     nullptr,                   ret_bytes(1, 2)),
  SYS(  1, write,                  Emulate, kBlocks | kWritesOutput | kBufChecked | kFdArg0,nullptr),
  SYS(  2, open,                   Emulate, kBlocks | kBuf,               nullptr),  // a FIFO blocks
  SYS(  3, close,                  Emulate, kBufChecked | kFdArg0,       nullptr),
  SYS(  4, stat,                   Emulate, kBuf,                         nullptr,                   fixed(1, kStat)),
  SYS(  5, fstat,                  Emulate, kBuf | kFdArg0,               nullptr,                   fixed(1, kStat)),
  SYS(  6, lstat,                  Emulate, kBuf,                         nullptr,                   fixed(1, kStat)),
  SYS(  7, poll,                   Emulate, kBlocks | kWritesOnFailure | kBuf,poll_on_failure,           arg_times(0, 1, kPollfd)),
  SYS(  8, lseek,                  Emulate, kBuf | kFdArg0,               nullptr),
  SYS(  9, mmap,                   Execute, kBufChecked | kBufExecuted,  nullptr),
  SYS( 10, mprotect,               Execute, kNone,                       nullptr),
  SYS( 11, munmap,                 Execute, kNone,                       nullptr),
  SYS( 12, brk,                    Execute, kBuf | kBufExecuted,         nullptr),
  SYS( 13, rt_sigaction,           Execute, kBufChecked | kBufExecuted | kSig,nullptr,                   fixed(2, kKernelSigaction)),
  SYS( 14, rt_sigprocmask,         Execute, kBufChecked | kBufExecuted | kSig,nullptr,                   arg_bytes(2, 3)),
  SYS( 15, rt_sigreturn,           Execute, kSig,                        nullptr),
  SYS( 16, ioctl,                  Emulate, kBufChecked | kFdArg0,        ioctl_outputs),
  SYS( 17, pread64,                Emulate, kBuf | kFdArg0,               nullptr,                   ret_bytes(1, 2)),
  SYS( 18, pwrite64,               Emulate, kWritesOutput | kBufChecked | kFdArg0,  nullptr),
  SYS( 19, readv,                  Emulate, kBlocks | kBuf | kFdArg0,     readv_outputs),
  SYS( 20, writev,                 Emulate, kBlocks | kWritesOutput | kBufChecked | kFdArg0,nullptr),
  SYS( 21, access,                 Emulate, kBuf,                         nullptr),
  SYS( 22, pipe,                   Emulate, kNone,                       nullptr,                   fixed(0, 2 * kInt)),
  SYS( 23, select,                 Emulate, kBlocks | kWritesOnFailure,  select_on_failure,         fd_set_of(1, 0), fd_set_of(2, 0), fd_set_of(3, 0), fixed(4, kTimeval)),
  SYS( 24, sched_yield,            Emulate, kNone,                       nullptr),
  SYS( 25, mremap,                 Execute, kNone,                       nullptr),
  SYS( 26, msync,                  Execute, kNone,                       nullptr),
  SYS( 27, mincore,                Emulate, kNone,                       mincore_outputs),
  SYS( 28, madvise,                Execute, kBufChecked,                  nullptr),
  SYS( 29, shmget,                 Emulate, kNone,                       nullptr),
  SYS( 30, shmat,                  Execute, kNone,                       nullptr),
  SYS( 31, shmctl,                 Emulate, kNone,                       shmctl_outputs),
  SYS( 32, dup,                    Emulate, kNone,                       nullptr),
  SYS( 33, dup2,                   Emulate, kNone,                       nullptr),
  SYS( 34, pause,                  Emulate, kBlocks,                     nullptr),
  SYS( 35, nanosleep,              Emulate, kBlocks | kWritesOnFailure,  nanosleep_outputs),
  SYS( 36, getitimer,              Emulate, kNone,                       nullptr,                   fixed(1, kItimerval)),
  SYS( 37, alarm,                  Emulate, kNone,                       nullptr),
  SYS( 38, setitimer,              Emulate, kNone,                       nullptr,                   fixed(2, kItimerval)),
  SYS( 39, getpid,                 Emulate, kBuf,                         nullptr),
  SYS( 40, sendfile,               Emulate, kBlocks,                     nullptr,                   fixed(2, kLong)),
  SYS( 41, socket,                 Emulate, kBuf,                        nullptr),
  SYS( 42, connect,                Emulate, kBlocks | kBuf | kFdArg0,     nullptr),
  SYS( 43, accept,                 Emulate, kBlocks | kBuf | kFdArg0,     nullptr,                   SOCKADDR(1, 2)),
  SYS( 44, sendto,                 Emulate, kBlocks | kBuf | kFdArg0,     nullptr),
  SYS( 45, recvfrom,               Emulate, kBlocks | kBuf | kFdArg0,     nullptr,                   ret_bytes(1, 2), SOCKADDR(4, 5)),
  SYS( 46, sendmsg,                Emulate, kBlocks | kBuf | kFdArg0,     nullptr),
  SYS( 47, recvmsg,                Emulate, kBlocks | kBuf | kFdArg0,     recvmsg_outputs),
  SYS( 48, shutdown,               Emulate, kBuf | kFdArg0,              nullptr),
  SYS( 49, bind,                   Emulate, kBuf | kFdArg0,              nullptr),
  SYS( 50, listen,                 Emulate, kBuf | kFdArg0,              nullptr),
  SYS( 51, getsockname,            Emulate, kBuf | kFdArg0,              nullptr,                   SOCKADDR(1, 2)),
  SYS( 52, getpeername,            Emulate, kBuf | kFdArg0,              nullptr,                   SOCKADDR(1, 2)),
  SYS( 53, socketpair,             Emulate, kBuf,                        nullptr,                   fixed(3, 2 * kInt)),
  SYS( 54, setsockopt,             Emulate, kBuf | kFdArg0,              nullptr),
  SYS( 55, getsockopt,             Emulate, kBuf | kFdArg0,              nullptr,                   deref_len(3, 4), fixed(4, sizeof(socklen_t))),
  SYS( 56, clone,                  Execute, kNone,                       clone_outputs),
  SYS( 57, fork,                   Execute, kNone,                       nullptr),
  SYS( 58, vfork,                  Execute, kNone,                       nullptr),
  SYS( 59, execve,                 Execute, kNone,                       nullptr),
  SYS( 60, exit,                   Execute, kNone,                       nullptr),
  SYS( 61, wait4,                  Emulate, kBlocks,                     nullptr,                   fixed(1, kInt), fixed(3, kRusage)),
  SYS( 62, kill,                   Emulate, kSends,                      nullptr),
  SYS( 63, uname,                  Emulate, kNone,                       nullptr,                   fixed(0, kUtsname)),
  SYS( 64, semget,                 Emulate, kNone,                       nullptr),
  SYS( 65, semop,                  Emulate, kBlocks,                     nullptr),
  SYS( 66, semctl,                 Emulate, kNone,                       semctl_outputs),
  SYS( 67, shmdt,                  Execute, kNone,                       nullptr),
  SYS( 68, msgget,                 Emulate, kNone,                       nullptr),
  SYS( 69, msgsnd,                 Emulate, kBlocks,                     nullptr),
  SYS( 70, msgrcv,                 Emulate, kBlocks,                     msgrcv_outputs),
  SYS( 71, msgctl,                 Emulate, kNone,                       msgctl_outputs),
  SYS( 72, fcntl,                  Emulate, kBlocks | kBufChecked | kFdArg0,        fcntl_outputs),  // F_SETLKW
  SYS( 73, flock,                  Emulate, kBlocks,                     nullptr),
  SYS( 74, fsync,                  Emulate, kNone,                       nullptr),
  SYS( 75, fdatasync,              Emulate, kNone,                       nullptr),
  SYS( 76, truncate,               Emulate, kNone,                       nullptr),
  SYS( 77, ftruncate,              Emulate, kNone,                       nullptr),
  SYS( 78, getdents,               Emulate, kNone,                       nullptr,                   ret_bytes(1, 2)),
  SYS( 79, getcwd,                 Emulate, kBuf,                         nullptr,                   ret_bytes(0, 1)),
  SYS( 80, chdir,                  Emulate, kNone,                       nullptr),
  SYS( 81, fchdir,                 Emulate, kNone,                       nullptr),
  SYS( 82, rename,                 Emulate, kNone,                       nullptr),
  SYS( 83, mkdir,                  Emulate, kNone,                       nullptr),
  SYS( 84, rmdir,                  Emulate, kNone,                       nullptr),
  SYS( 85, creat,                  Emulate, kBlocks,                     nullptr),
  SYS( 86, link,                   Emulate, kNone,                       nullptr),
  SYS( 87, unlink,                 Emulate, kNone,                       nullptr),
  SYS( 88, symlink,                Emulate, kNone,                       nullptr),
  SYS( 89, readlink,               Emulate, kBuf,                         nullptr,                   ret_bytes(1, 2)),
  SYS( 90, chmod,                  Emulate, kNone,                       nullptr),
  SYS( 91, fchmod,                 Emulate, kNone,                       nullptr),
  SYS( 92, chown,                  Emulate, kNone,                       nullptr),
  SYS( 93, fchown,                 Emulate, kNone,                       nullptr),
  SYS( 94, lchown,                 Emulate, kNone,                       nullptr),
  SYS( 95, umask,                  Emulate, kNone,                       nullptr),
  SYS( 96, gettimeofday,           Emulate, kBuf,                         nullptr,                   fixed(0, kTimeval), fixed(1, kTimezone)),
  SYS( 97, getrlimit,              Emulate, kNone,                       nullptr,                   fixed(1, kRlimit)),
  SYS( 98, getrusage,              Emulate, kBuf,                        nullptr,                   fixed(1, kRusage)),
  SYS( 99, sysinfo,                Emulate, kBuf,                        nullptr,                   fixed(0, kSysinfo)),
  SYS(100, times,                  Emulate, kNone,                       nullptr,                   fixed(0, kTms)),
  SYS(101, ptrace,                 Emulate, kNone,                       ptrace_outputs),
  SYS(102, getuid,                 Emulate, kBuf,                         nullptr),
  SYS(104, getgid,                 Emulate, kBuf,                         nullptr),
  SYS(105, setuid,                 Emulate, kNone,                       nullptr),
  SYS(106, setgid,                 Emulate, kNone,                       nullptr),
  SYS(107, geteuid,                Emulate, kBuf,                         nullptr),
  SYS(108, getegid,                Emulate, kBuf,                         nullptr),
  SYS(109, setpgid,                Emulate, kNone,                       nullptr),
  SYS(110, getppid,                Emulate, kBuf,                         nullptr),
  SYS(111, getpgrp,                Emulate, kNone,                       nullptr),
  SYS(112, setsid,                 Emulate, kNone,                       nullptr),
  SYS(113, setreuid,               Emulate, kNone,                       nullptr),
  SYS(114, setregid,               Emulate, kNone,                       nullptr),
  SYS(115, getgroups,              Emulate, kNone,                       nullptr,                   ret_times(1, sizeof(gid_t), 0)),
  SYS(116, setgroups,              Emulate, kNone,                       nullptr),
  SYS(117, setresuid,              Emulate, kNone,                       nullptr),
  SYS(118, getresuid,              Emulate, kNone,                       nullptr,                   fixed(0, kInt), fixed(1, kInt), fixed(2, kInt)),
  SYS(119, setresgid,              Emulate, kNone,                       nullptr),
  SYS(120, getresgid,              Emulate, kNone,                       nullptr,                   fixed(0, kInt), fixed(1, kInt), fixed(2, kInt)),
  SYS(121, getpgid,                Emulate, kNone,                       nullptr),
  SYS(122, setfsuid,               Emulate, kNone,                       nullptr),
  SYS(123, setfsgid,               Emulate, kNone,                       nullptr),
  SYS(124, getsid,                 Emulate, kNone,                       nullptr),
  SYS(125, capget,                 Emulate, kWritesOnFailure,            capget_outputs),
  SYS(126, capset,                 Emulate, kNone,                       nullptr),
  SYS(127, rt_sigpending,          Emulate, kNone,                       nullptr,                   arg_bytes(0, 1)),
  SYS(128, rt_sigtimedwait,        Emulate, kBlocks | kSig,              nullptr,                   fixed(1, kSiginfo)),
  SYS(129, rt_sigqueueinfo,        Emulate, kSends,                      nullptr),
  SYS(130, rt_sigsuspend,          Emulate, kBlocks | kSig,              nullptr),
  SYS(131, sigaltstack,            Execute, kNone,                       nullptr,                   fixed(1, kStackT)),
  SYS(132, utime,                  Emulate, kNone,                       nullptr),
  SYS(133, mknod,                  Emulate, kNone,                       nullptr),
  SYS(135, personality,            Emulate, kNone,                       nullptr),
  SYS(137, statfs,                 Emulate, kNone,                       nullptr,                   fixed(1, kStatfs)),
  SYS(138, fstatfs,                Emulate, kNone,                       nullptr,                   fixed(1, kStatfs)),
  SYS(140, getpriority,            Emulate, kNone,                       nullptr),
  SYS(141, setpriority,            Emulate, kNone,                       nullptr),
  SYS(142, sched_setparam,         Emulate, kNone,                       nullptr),
  SYS(143, sched_getparam,         Emulate, kNone,                       nullptr,                   fixed(1, kSchedParam)),
  SYS(144, sched_setscheduler,     Emulate, kNone,                       nullptr),
  SYS(145, sched_getscheduler,     Emulate, kNone,                       nullptr),
  SYS(146, sched_get_priority_max, Emulate, kNone,                       nullptr),
  SYS(147, sched_get_priority_min, Emulate, kNone,                       nullptr),
  SYS(148, sched_rr_get_interval,  Emulate, kNone,                       nullptr,                   fixed(1, kTimespec)),
  SYS(149, mlock,                  Execute, kNone,                       nullptr),
  SYS(150, munlock,                Execute, kNone,                       nullptr),
  SYS(151, mlockall,               Execute, kNone,                       nullptr),
  SYS(152, munlockall,             Execute, kNone,                       nullptr),
  SYS(157, prctl,                  Emulate, kNone,                       prctl_outputs),
  SYS(158, arch_prctl,             Execute, kNone,                       arch_prctl_outputs),
  SYS(159, adjtimex,               Emulate, kNone,                       nullptr,                   fixed(0, kTimex)),
  SYS(160, setrlimit,              Emulate, kNone,                       nullptr),
  SYS(161, chroot,                 Emulate, kNone,                       nullptr),
  SYS(162, sync,                   Emulate, kNone,                       nullptr),
  SYS(164, settimeofday,           Emulate, kNone,                       nullptr),
  SYS(165, mount,                  Emulate, kNone,                       nullptr),
  SYS(166, umount2,                Emulate, kNone,                       nullptr),
  SYS(170, sethostname,            Emulate, kNone,                       nullptr),
  SYS(171, setdomainname,          Emulate, kNone,                       nullptr),
  // Port I/O permissions: what a root program then does with in/out replay
  // must allow too, and a replay without the privilege gets the error.
  SYS(172, iopl,                   Execute, kNone,                       nullptr),
  SYS(173, ioperm,                 Execute, kNone,                       nullptr),
  SYS(179, quotactl,               Emulate, kNone,                       quotactl_outputs),
  SYS(186, gettid,                 Emulate, kBuf,                         nullptr),
  SYS(187, readahead,              Emulate, kNone,                       nullptr),
  SYS(188, setxattr,               Emulate, kNone,                       nullptr),
  SYS(189, lsetxattr,              Emulate, kNone,                       nullptr),
  SYS(190, fsetxattr,              Emulate, kNone,                       nullptr),
  SYS(191, getxattr,               Emulate, kNone,                       nullptr,                   ret_bytes(2, 3)),
  SYS(192, lgetxattr,              Emulate, kNone,                       nullptr,                   ret_bytes(2, 3)),
  SYS(193, fgetxattr,              Emulate, kNone,                       nullptr,                   ret_bytes(2, 3)),
  SYS(194, listxattr,              Emulate, kNone,                       nullptr,                   ret_bytes(1, 2)),
  SYS(195, llistxattr,             Emulate, kNone,                       nullptr,                   ret_bytes(1, 2)),
  SYS(196, flistxattr,             Emulate, kNone,                       nullptr,                   ret_bytes(1, 2)),
  SYS(197, removexattr,            Emulate, kNone,                       nullptr),
  SYS(198, lremovexattr,           Emulate, kNone,                       nullptr),
  SYS(199, fremovexattr,           Emulate, kNone,                       nullptr),
  SYS(200, tkill,                  Emulate, kSends,                      nullptr),
  SYS(201, time,                   Emulate, kBuf,                         nullptr,                   fixed(0, kLong)),
  SYS(202, futex,                  Emulate, kBlocks | kWritesOnFailure | kBufChecked,futex_outputs),
  SYS(203, sched_setaffinity,      Emulate, kNone,                       nullptr),
  SYS(204, sched_getaffinity,      Emulate, kNone,                       nullptr,                   ret_bytes(2, 1)),
  SYS(213, epoll_create,           Emulate, kNone,                       nullptr),
  SYS(217, getdents64,             Emulate, kBuf | kFdArg0,               nullptr,                   ret_bytes(1, 2)),
  SYS(218, set_tid_address,        Execute, kNone,                       nullptr),
  // Continues a call a signal interrupted (ERESTART_RESTARTBLOCK): its outputs
  // are those of the original call, which the recorder must look up.
  SYS(219, restart_syscall,        Emulate, kBlocks,                     nullptr),
  // glibc 2.36 implements semop() and semtimedop() with it.
  SYS(220, semtimedop,             Emulate, kBlocks,                     nullptr),
  SYS(221, fadvise64,              Emulate, kNone,                       nullptr),
  SYS(222, timer_create,           Emulate, kNone,                       nullptr,                   fixed(2, kInt)),
  SYS(223, timer_settime,          Emulate, kNone,                       nullptr,                   fixed(3, kItimerspec)),
  SYS(224, timer_gettime,          Emulate, kNone,                       nullptr,                   fixed(1, kItimerspec)),
  SYS(225, timer_getoverrun,       Emulate, kNone,                       nullptr),
  SYS(226, timer_delete,           Emulate, kNone,                       nullptr),
  SYS(227, clock_settime,          Emulate, kNone,                       nullptr),
  SYS(228, clock_gettime,          Emulate, kBuf,                         nullptr,                   fixed(1, kTimespec)),
  SYS(229, clock_getres,           Emulate, kBuf,                         nullptr,                   fixed(1, kTimespec)),
  SYS(230, clock_nanosleep,        Emulate, kBlocks | kWritesOnFailure,  clock_nanosleep_outputs),
  SYS(231, exit_group,             Execute, kNone,                       nullptr),
  SYS(232, epoll_wait,             Emulate, kBlocks | kBuf | kFdArg0,     nullptr,                   ret_times(1, kEpollEvent, 2)),
  SYS(233, epoll_ctl,              Emulate, kNone,                       nullptr),
  SYS(234, tgkill,                 Emulate, kSends,                      nullptr),
  SYS(235, utimes,                 Emulate, kNone,                       nullptr),
  SYS(237, mbind,                  Emulate, kNone,                       nullptr),
  SYS(238, set_mempolicy,          Emulate, kNone,                       nullptr),
  SYS(239, get_mempolicy,          Emulate, kNone,                       get_mempolicy_outputs),
  SYS(240, mq_open,                Emulate, kNone,                       nullptr),
  SYS(241, mq_unlink,              Emulate, kNone,                       nullptr),
  SYS(242, mq_timedsend,           Emulate, kBlocks,                     nullptr),
  SYS(243, mq_timedreceive,        Emulate, kBlocks,                     nullptr,                   ret_bytes(1, 2), fixed(3, kInt)),
  SYS(244, mq_notify,              Emulate, kNone,                       nullptr),
  SYS(245, mq_getsetattr,          Emulate, kNone,                       nullptr,                   fixed(2, kMqAttr)),
  SYS(247, waitid,                 Emulate, kBlocks,                     nullptr,                   fixed(2, kSiginfo), fixed(4, kRusage)),
  SYS(251, ioprio_set,             Emulate, kNone,                       nullptr),
  SYS(252, ioprio_get,             Emulate, kNone,                       nullptr),
  SYS(253, inotify_init,           Emulate, kNone,                       nullptr),
  SYS(254, inotify_add_watch,      Emulate, kNone,                       nullptr),
  SYS(255, inotify_rm_watch,       Emulate, kNone,                       nullptr),
  SYS(257, openat,                 Emulate, kBlocks | kBuf,               nullptr),
  SYS(258, mkdirat,                Emulate, kNone,                       nullptr),
  SYS(259, mknodat,                Emulate, kNone,                       nullptr),
  SYS(260, fchownat,               Emulate, kNone,                       nullptr),
  SYS(261, futimesat,              Emulate, kNone,                       nullptr),
  SYS(262, newfstatat,             Emulate, kBuf,                         nullptr,                   fixed(2, kStat)),
  SYS(263, unlinkat,               Emulate, kNone,                       nullptr),
  SYS(264, renameat,               Emulate, kNone,                       nullptr),
  SYS(265, linkat,                 Emulate, kNone,                       nullptr),
  SYS(266, symlinkat,              Emulate, kNone,                       nullptr),
  SYS(267, readlinkat,             Emulate, kBuf,                         nullptr,                   ret_bytes(2, 3)),
  SYS(268, fchmodat,               Emulate, kNone,                       nullptr),
  SYS(269, faccessat,              Emulate, kBuf,                         nullptr),
  SYS(270, pselect6,               Emulate, kBlocks | kWritesOnFailure | kSig,select_on_failure,         fd_set_of(1, 0), fd_set_of(2, 0), fd_set_of(3, 0), fixed(4, kTimespec)),
  SYS(271, ppoll,                  Emulate, kBlocks | kWritesOnFailure | kBuf | kSig,poll_on_failure,           arg_times(0, 1, kPollfd), fixed(2, kTimespec)),
  SYS(272, unshare,                Emulate, kNone,                       nullptr),
  SYS(273, set_robust_list,        Execute, kNone,                       nullptr),
  SYS(274, get_robust_list,        Emulate, kNone,                       nullptr,                   fixed(1, kLong), fixed(2, kLong)),
  SYS(275, splice,                 Emulate, kBlocks,                     nullptr,                   fixed(1, kLong), fixed(3, kLong)),
  SYS(276, tee,                    Emulate, kBlocks,                     nullptr),
  SYS(277, sync_file_range,        Emulate, kNone,                       nullptr),
  // Into a pipe's read end vmsplice() copies like readv(); into a write end
  // it writes nothing, and reporting its (unchanged) iovecs is harmless.
  SYS(278, vmsplice,               Emulate, kBlocks,                     readv_outputs),
  SYS(280, utimensat,              Emulate, kNone,                       nullptr),
  SYS(281, epoll_pwait,            Emulate, kBlocks | kBuf | kFdArg0 | kSig,nullptr,                   ret_times(1, kEpollEvent, 2)),
  SYS(282, signalfd,               Emulate, kNone,                       nullptr),
  SYS(283, timerfd_create,         Emulate, kNone,                       nullptr),
  SYS(284, eventfd,                Emulate, kNone,                       nullptr),
  SYS(285, fallocate,              Emulate, kNone,                       nullptr),
  SYS(286, timerfd_settime,        Emulate, kNone,                       nullptr,                   fixed(3, kItimerspec)),
  SYS(287, timerfd_gettime,        Emulate, kNone,                       nullptr,                   fixed(1, kItimerspec)),
  SYS(288, accept4,                Emulate, kBlocks | kBuf | kFdArg0,     nullptr,                   SOCKADDR(1, 2)),
  SYS(289, signalfd4,              Emulate, kNone,                       nullptr),
  SYS(290, eventfd2,               Emulate, kNone,                       nullptr),
  SYS(291, epoll_create1,          Emulate, kNone,                       nullptr),
  SYS(292, dup3,                   Emulate, kNone,                       nullptr),
  SYS(293, pipe2,                  Emulate, kNone,                       nullptr,                   fixed(0, 2 * kInt)),
  SYS(294, inotify_init1,          Emulate, kNone,                       nullptr),
  SYS(295, preadv,                 Emulate, kBuf | kFdArg0,               readv_outputs),
  SYS(296, pwritev,                Emulate, kWritesOutput | kBufChecked | kFdArg0,  nullptr),
  SYS(297, rt_tgsigqueueinfo,      Emulate, kSends,                      nullptr),
  // The preload library's desched event (preload/abi.h); replay hands back the fd
  // number and opens nothing.
  SYS(298, perf_event_open,        Emulate, kNone,                       nullptr),
  SYS(299, recvmmsg,               Emulate, kBlocks,                     recvmmsg_outputs,          fixed(4, kTimespec)),
  SYS(300, fanotify_init,          Emulate, kNone,                       nullptr),
  SYS(301, fanotify_mark,          Emulate, kNone,                       nullptr),
  SYS(302, prlimit64,              Emulate, kBuf,                        nullptr,                   fixed(3, kRlimit)),
  SYS(303, name_to_handle_at,      Emulate, kWritesOnFailure,            name_to_handle_at_outputs),
  SYS(304, open_by_handle_at,      Emulate, kNone,                       nullptr),
  SYS(305, clock_adjtime,          Emulate, kNone,                       nullptr,                   fixed(1, kTimex)),
  SYS(306, syncfs,                 Emulate, kNone,                       nullptr),
  SYS(307, sendmmsg,               Emulate, kBlocks,                     sendmmsg_outputs),
  SYS(308, setns,                  Emulate, kNone,                       nullptr),
  SYS(309, getcpu,                 Emulate, kNone,                       nullptr,                   fixed(0, kInt), fixed(1, kInt)),
  SYS(310, process_vm_readv,       Emulate, kNone,                       process_vm_readv_outputs),
  // Writes another process's memory: that process's recorder must notice.
  SYS(311, process_vm_writev,      Emulate, kNone,                       nullptr),
  SYS(312, kcmp,                   Emulate, kNone,                       nullptr),
  SYS(314, sched_setattr,          Emulate, kNone,                       nullptr),
  SYS(315, sched_getattr,          Emulate, kNone,                       nullptr,                   arg_bytes(1, 2)),
  SYS(316, renameat2,              Emulate, kNone,                       nullptr),
  SYS(318, getrandom,              Emulate, kBuf,                         nullptr,                   ret_bytes(0, 1)),
  SYS(319, memfd_create,           Emulate, kNone,                       nullptr),
  SYS(322, execveat,               Execute, kNone,                       nullptr),
  SYS(324, membarrier,             Execute, kNone,                       nullptr),
  SYS(325, mlock2,                 Execute, kNone,                       nullptr),
  SYS(326, copy_file_range,        Emulate, kNone,                       nullptr,                   fixed(1, kLong), fixed(3, kLong)),
  SYS(327, preadv2,                Emulate, kNone,                       readv_outputs),
  SYS(328, pwritev2,               Emulate, kWritesOutput,               nullptr),
  SYS(329, pkey_mprotect,          Execute, kNone,                       nullptr),
  SYS(330, pkey_alloc,             Execute, kNone,                       nullptr),
  SYS(331, pkey_free,              Execute, kNone,                       nullptr),
  SYS(332, statx,                  Emulate, kBuf,                         nullptr,                   fixed(4, kStatx)),
  // Registration makes the kernel write cpu_id into the area on every return
  // to user space; the recorder should fail rseq with ENOSYS, as rr does
  // (glibc then does without).
  SYS(334, rseq,                   Emulate, kNone,                       nullptr,                   arg_bytes(0, 1)),
  SYS(424, pidfd_send_signal,      Emulate, kSends,                      nullptr),
  SYS(434, pidfd_open,             Emulate, kNone,                       nullptr),
  SYS(435, clone3,                 Execute, kNone,                       clone3_outputs),
  SYS(436, close_range,            Emulate, kNone,                       nullptr),
  SYS(437, openat2,                Emulate, kBlocks,                     nullptr),
  SYS(438, pidfd_getfd,            Emulate, kNone,                       nullptr),
  SYS(439, faccessat2,             Emulate, kBuf,                         nullptr),
  SYS(441, epoll_pwait2,           Emulate, kBlocks | kBuf | kFdArg0 | kSig,nullptr,                   ret_times(1, kEpollEvent, 2)),
  SYS(449, futex_waitv,            Emulate, kBlocks,                     nullptr),
  SYS(452, fchmodat2,              Emulate, kNone,                       nullptr),
};

// rewind's own, made by the preload library (preload/abi.h); the recorder
// answers them. Numbered from kRewindBase.
constexpr int kRewindBase = 0x52570000;
static_assert(kRewindBase == syscallbuf::kSysInitPreload &&
              kRewindBase + 1 == syscallbuf::kSysInitThread &&
              kRewindBase + 2 == syscallbuf::kSysFlush &&
              kRewindBase + 3 == syscallbuf::kSysBatonWait);
constexpr SyscallDesc kRewindTable[] = {
  REWIND_SYS(kRewindBase + 0, rewind_init_preload, Emulate, kSig),
  REWIND_SYS(kRewindBase + 1, rewind_init_thread,  Emulate, kNone),
  REWIND_SYS(kRewindBase + 2, rewind_flush,        Emulate, kNone),
  // Waits for the recorder to give the baton (preload/abi.h): the recorder
  // lets it "into the kernel" and answers its exit when it schedules it.
  REWIND_SYS(kRewindBase + 3, rewind_baton_wait,   Emulate, kBlocks),
};
// clang-format on

#undef SYS
#undef REWIND_SYS
#undef SOCKADDR

constexpr int kMaxNr = std::size(kTable) == 0 ? 0 : kTable[std::size(kTable) - 1].nr;

// Strictly increasing numbers: the table is sorted and has no duplicates.
consteval bool numbers_strictly_increase() {
  for (size_t i = 1; i < std::size(kTable); ++i)
    if (kTable[i - 1].nr >= kTable[i].nr) return false;
  return true;
}
static_assert(numbers_strictly_increase(), "kTable must be in number order, without duplicates");

// Number -> index into kTable (-1: not in the table), for O(1) find().
constexpr std::array<int16_t, kMaxNr + 1> build_index() {
  std::array<int16_t, kMaxNr + 1> index{};
  index.fill(-1);
  for (size_t i = 0; i < std::size(kTable); ++i) index[kTable[i].nr] = int16_t(i);
  return index;
}
constexpr auto kIndex = build_index();

// The size `p` describes, or 0 when nothing was written.
uint64_t out_size(const OutParam& p, const SyscallArgs& args, TraceeMemoryReader& mem) {
  // Cap for Ret/RetTimes (see SizeRule): the argument, or no cap.
  auto capped = [&](uint64_t count) {
    return p.size_arg >= 0 ? std::min<uint64_t>(count, args.a[p.size_arg]) : count;
  };
  // Count arguments of ArgTimes/Arg are C ints or unsigned ints in every use
  // (poll's nfds, sched_getattr's size); the kernel ignores the upper half of
  // the register, so do we.
  auto arg32 = [&](int i) { return uint64_t(uint32_t(args.a[i])); };
  switch (p.rule) {
    case SizeRule::None:
      return 0;
    case SizeRule::Fixed:
      return p.n;
    case SizeRule::Ret:
      return args.ret > 0 ? capped(uint64_t(args.ret)) : 0;
    case SizeRule::RetTimes:
      return args.ret > 0 ? capped(uint64_t(args.ret)) * p.n : 0;
    case SizeRule::Arg:
      return arg32(p.size_arg);
    case SizeRule::ArgTimes:
      return arg32(p.size_arg) * p.n;
    case SizeRule::DerefArg: {
      uint32_t len = 0;
      if (!read_value(mem, args.a[p.size_arg], len)) return 0;
      return p.n > 0 ? std::min<uint64_t>(len, p.n) : len;
    }
    case SizeRule::FdSetBits: {
      // include/linux/poll.h FDS_BYTES(): whole longs covering nfds bits.
      const int nfds = int(args.a[p.size_arg]);
      return nfds > 0 ? (uint64_t(nfds) + 63) / 64 * 8 : 0;
    }
  }
  return 0;
}

}  // namespace

const SyscallDesc* find(int64_t nr) {
  if (nr >= kRewindBase && nr < kRewindBase + int64_t(std::size(kRewindTable)))
    return &all()[std::size(kTable) + size_t(nr - kRewindBase)];
  if (nr < 0 || nr > kMaxNr) return nullptr;
  const int16_t i = kIndex[size_t(nr)];
  return i < 0 ? nullptr : &all()[size_t(i)];  // the same objects all() lists
}

namespace {
struct KernelName {
  int nr;
  const char* name;
};
constexpr KernelName kKernelNames[] = {
#include "kernel_syscall_names.inc"
};
}  // namespace

std::string name(int64_t nr) {
  if (const SyscallDesc* d = find(nr)) return d->name;
  for (const KernelName& k : kKernelNames)
    if (k.nr == nr) return k.name;
  return "syscall_" + std::to_string(nr);
}

std::vector<std::string> unsupported_syscalls() {
  std::vector<KernelName> missing;
  for (const KernelName& k : kKernelNames)
    if (!find(k.nr)) missing.push_back(k);
  std::sort(missing.begin(), missing.end(),
            [](const KernelName& a, const KernelName& b) { return a.nr < b.nr; });
  std::vector<std::string> out;
  for (const KernelName& k : missing) out.push_back(k.name);
  return out;
}

std::vector<OutRange> outputs(const SyscallDesc& d, const SyscallArgs& args,
                              TraceeMemoryReader& mem) {
  std::vector<OutRange> out;
  const bool ok = !failed(args.ret);
  if (ok) {
    for (const OutParam& p : d.outs) {
      if (p.arg < 0) continue;
      add(out, args.a[p.arg], out_size(p, args, mem));
    }
  }
  if (d.handler && (ok || (d.flags & kWritesOnFailure))) d.handler(args, mem, out);
  return out;
}

std::vector<OutRange> possible_outputs(const SyscallDesc& d, const SyscallArgs& entry,
                                       TraceeMemoryReader& mem) {
  // Every size rule and handler caps a count taken from the result by an
  // argument (a buffer's length, an array's count), so "as much as can be"
  // is any result above the largest such argument.
  constexpr int64_t kLargest = int64_t{1} << 62;
  // -ERESTARTSYS stands for every interruption (interrupted() treats the
  // restart codes alike); -EINVAL, -EOVERFLOW and -EFAULT are the failures
  // that some handler still writes on (capget, name_to_handle_at, select).
  constexpr int64_t kOutcomes[] = {kLargest, 0, kErestartSys, -EINVAL, -EOVERFLOW, -EFAULT};
  std::vector<OutRange> out;
  SyscallArgs a = entry;
  a.at_entry = true;
  for (int64_t ret : kOutcomes) {
    a.ret = ret;
    std::vector<OutRange> some = outputs(d, a, mem);
    out.insert(out.end(), some.begin(), some.end());
  }
  return out;
}

std::optional<SentSignal> sent_signal(const SyscallArgs& a) {
  SentSignal s;
  switch (a.nr) {
    case __NR_kill:
    case __NR_rt_sigqueueinfo:
      s.pid = static_cast<pid_t>(a.a[0]);
      s.sig = static_cast<int>(a.a[1]);
      return s;
    case __NR_tkill:
      s.tid = static_cast<pid_t>(a.a[0]);
      s.sig = static_cast<int>(a.a[1]);
      return s;
    case __NR_tgkill:
    case __NR_rt_tgsigqueueinfo:
      s.tid = static_cast<pid_t>(a.a[1]);
      s.sig = static_cast<int>(a.a[2]);
      return s;
    case __NR_pidfd_send_signal:
      s.every = true;
      s.sig = static_cast<int>(a.a[1]);
      return s;
    default:
      return std::nullopt;
  }
}

const std::vector<SyscallDesc>& all() {
  static const std::vector<SyscallDesc> entries = [] {
    std::vector<SyscallDesc> v(std::begin(kTable), std::end(kTable));
    v.insert(v.end(), std::begin(kRewindTable), std::end(kRewindTable));
    return v;
  }();
  return entries;
}

}  // namespace rwd::sys
