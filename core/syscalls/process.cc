// Output handlers for process, thread and System V IPC syscalls.
#include <linux/dqblk_xfs.h>
#include <linux/futex.h>
#include <linux/quota.h>
#include <signal.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/uio.h>
#include <sys/user.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdint>

#include "core/syscalls/Handlers.h"

namespace rwd::sys {
namespace {

constexpr uint64_t kCloneParentSettid = 0x00100000;  // CLONE_PARENT_SETTID
constexpr uint64_t kClonePidfd = 0x00001000;         // CLONE_PIDFD

}  // namespace

// clone(flags, stack, parent_tid, child_tid, tls) on x86-64. In the parent,
// kernel_clone() (kernel/fork.c) stores the new tid through parent_tid for
// CLONE_PARENT_SETTID, or the pidfd for CLONE_PIDFD (the two are exclusive in
// clone(); both use parent_tid). CLONE_CHILD_SETTID writes *child_tid in the
// child, when it first runs (schedule_tail()): the recorder must pick that up
// at the child's first stop, so it isn't reported here.
void clone_outputs(const SyscallArgs& a, TraceeMemoryReader&, std::vector<OutRange>& out) {
  if (a.ret <= 0) return;  // in the child, or failed
  if (a.a[0] & (kCloneParentSettid | kClonePidfd)) add(out, a.a[2], sizeof(int));
}

// clone3(struct clone_args* args, size): as clone, but pidfd and parent_tid
// are separate pointers inside clone_args (include/uapi/linux/sched.h).
void clone3_outputs(const SyscallArgs& a, TraceeMemoryReader& mem, std::vector<OutRange>& out) {
  struct CloneArgsHead {  // the first fields of struct clone_args, all u64
    uint64_t flags, pidfd, child_tid, parent_tid;
  } args{};
  if (a.ret <= 0 || !read_value(mem, a.a[0], args)) return;
  if (args.flags & kClonePidfd) add(out, args.pidfd, sizeof(int));
  if (args.flags & kCloneParentSettid) add(out, args.parent_tid, sizeof(int));
}

// capget(cap_user_header_t hdr, cap_user_data_t data). kernel/capability.c:
// an unknown hdr->version makes the kernel store the version it prefers there
// and fail with EINVAL (or return 0 when data is NULL): libcap probes this
// way. Otherwise data gets one 12-byte __user_cap_data_struct for version 1,
// two for versions 2 and 3.
void capget_outputs(const SyscallArgs& a, TraceeMemoryReader& mem, std::vector<OutRange>& out) {
  if (failed(a.ret) && a.ret != -EINVAL) return;
  add(out, a.a[0], sizeof(uint32_t));  // hdr->version
  uint32_t version = 0;
  if (failed(a.ret) || !read_value(mem, a.a[0], version)) return;
  constexpr uint32_t kVersion1 = 0x19980330;  // _LINUX_CAPABILITY_VERSION_1
  constexpr uint32_t kDataSize = 12;          // effective, permitted, inheritable
  add(out, a.a[1], version == kVersion1 ? kDataSize : 2 * kDataSize);
}

// prctl(option, arg2, arg3, ...): the PR_GET_* options that store their
// result through arg2 (most return it instead).
void prctl_outputs(const SyscallArgs& a, TraceeMemoryReader&, std::vector<OutRange>& out) {
  constexpr uint64_t kPrGetAuxv = 0x41555856;  // Linux 6.4; newer than our headers
  switch (a.a[0]) {
    case PR_GET_PDEATHSIG:
    case PR_GET_TSC:
    case PR_GET_CHILD_SUBREAPER:
    case PR_GET_UNALIGN:
    case PR_GET_FPEMU:
    case PR_GET_FPEXC:
    case PR_GET_ENDIAN:
      add(out, a.a[1], sizeof(int));
      break;
    case PR_GET_NAME:
      add(out, a.a[1], 16);  // TASK_COMM_LEN
      break;
    case PR_GET_TID_ADDRESS:
      add(out, a.a[1], sizeof(uint64_t));
      break;
    case kPrGetAuxv:  // copies min(size, auxv size), returns the auxv size
      if (a.ret > 0) add(out, a.a[1], std::min<uint64_t>(uint64_t(a.ret), a.a[2]));
      break;
    default:
      break;
  }
}

// arch_prctl(code, addr): the ARCH_GET_* codes that store a u64 at addr
// (arch/x86/include/uapi/asm/prctl.h). ARCH_GET_CPUID returns its value.
void arch_prctl_outputs(const SyscallArgs& a, TraceeMemoryReader&, std::vector<OutRange>& out) {
  switch (a.a[0]) {
    case 0x1003:  // ARCH_GET_FS
    case 0x1004:  // ARCH_GET_GS
    case 0x1021:  // ARCH_GET_XCOMP_SUPP
    case 0x1022:  // ARCH_GET_XCOMP_PERM
    case 0x1024:  // ARCH_GET_XCOMP_GUEST_PERM
    case 0x5005:  // ARCH_SHSTK_STATUS
      add(out, a.a[1], sizeof(uint64_t));
      break;
    default:
      break;
  }
}

// futex(uaddr, op, val, timeout/val2, uaddr2, val3). Plain waits and wakes
// write nothing, but (kernel/futex/):
//  - FUTEX_WAKE_OP applies an atomic operation to *uaddr2;
//  - the priority-inheritance ops store the owner's tid (and the
//    FUTEX_WAITERS bit) in the futex word. A LOCK_PI that times out or is
//    interrupted may already have set FUTEX_WAITERS, hence the entry's
//    kWritesOnFailure.
void futex_outputs(const SyscallArgs& a, TraceeMemoryReader&, std::vector<OutRange>& out) {
  const uint64_t uaddr = a.a[0], uaddr2 = a.a[4];
  const bool ok = !failed(a.ret);
  switch (a.a[1] & FUTEX_CMD_MASK) {
    case FUTEX_WAKE_OP:
      if (ok) add(out, uaddr2, sizeof(uint32_t));
      break;
    case FUTEX_LOCK_PI:
    case FUTEX_LOCK_PI2:
    case FUTEX_TRYLOCK_PI:
      if (a.ret != -EFAULT) add(out, uaddr, sizeof(uint32_t));
      break;
    case FUTEX_UNLOCK_PI:
      if (ok) add(out, uaddr, sizeof(uint32_t));
      break;
    case FUTEX_WAIT_REQUEUE_PI:  // on success the waiter owns uaddr2
    case FUTEX_CMP_REQUEUE_PI:   // may take uaddr2 for the top waiter
      if (ok) add(out, uaddr2, sizeof(uint32_t));
      break;
    default:
      break;
  }
}

// msgrcv(msqid, struct msgbuf* msgp, msgsz, msgtyp, msgflg) -> mtext bytes.
// The kernel writes the long mtype, then the text.
// ptrace(2) as the recorder answers it between recorded tasks
// (core/record/RecordPtrace.cc): what each request stores through `data`.
// The raw syscall's PEEK requests store the word there too (glibc's
// wrapper passes its own variable).
void ptrace_outputs(const SyscallArgs& a, TraceeMemoryReader& mem, std::vector<OutRange>& out) {
  const uint64_t addr = a.a[2], data = a.a[3];
  switch (static_cast<int>(a.a[0])) {
    case PTRACE_PEEKTEXT:
    case PTRACE_PEEKDATA:
    case PTRACE_PEEKUSER:
    case PTRACE_GETEVENTMSG:
      add(out, data, sizeof(uint64_t));
      break;
    case PTRACE_GETREGS:
      add(out, data, sizeof(user_regs_struct));
      break;
    case PTRACE_GETFPREGS:
      add(out, data, sizeof(user_fpregs_struct));
      break;
    case PTRACE_GETSIGINFO:
      add(out, data, sizeof(siginfo_t));
      break;
    case PTRACE_GETSIGMASK:
      add(out, data, addr);
      break;
    case PTRACE_GET_SYSCALL_INFO:
      if (a.ret > 0) add(out, data, std::min<uint64_t>(addr, static_cast<uint64_t>(a.ret)));
      break;
    case PTRACE_GETREGSET: {
      struct iovec iov;
      if (!read_value(mem, data, iov)) break;
      add(out, reinterpret_cast<uint64_t>(iov.iov_base), iov.iov_len);
      add(out, data, sizeof iov);
      break;
    }
    default:
      break;
  }
}

void msgrcv_outputs(const SyscallArgs& a, TraceeMemoryReader&, std::vector<OutRange>& out) {
  if (a.ret >= 0) add(out, a.a[1], sizeof(long) + std::min<uint64_t>(uint64_t(a.ret), a.a[2]));
}

// The *ctl calls of System V IPC: the sub-commands that fill a buffer. On
// x86-64 the kernel always uses the IPC_64 layouts, which glibc's structs
// match; a caller may still set the IPC_64 bit in cmd.
namespace {
constexpr uint64_t kIpc64 = 0x100;
}

void shmctl_outputs(const SyscallArgs& a, TraceeMemoryReader&, std::vector<OutRange>& out) {
  static_assert(sizeof(shmid_ds) == 112 && sizeof(shm_info) == 48);
  constexpr uint64_t kShminfo64 = 72;  // the kernel's struct shminfo64
  switch (a.a[1] & ~kIpc64) {
    case IPC_STAT:
    case SHM_STAT:
    case SHM_STAT_ANY:
      add(out, a.a[2], sizeof(shmid_ds));
      break;
    case IPC_INFO:
      add(out, a.a[2], kShminfo64);
      break;
    case SHM_INFO:
      add(out, a.a[2], sizeof(shm_info));
      break;
    default:
      break;
  }
}

void msgctl_outputs(const SyscallArgs& a, TraceeMemoryReader&, std::vector<OutRange>& out) {
  static_assert(sizeof(msqid_ds) == 120 && sizeof(msginfo) == 32);
  switch (a.a[1] & ~kIpc64) {
    case IPC_STAT:
    case MSG_STAT:
    case MSG_STAT_ANY:
      add(out, a.a[2], sizeof(msqid_ds));
      break;
    case IPC_INFO:
    case MSG_INFO:
      add(out, a.a[2], sizeof(msginfo));
      break;
    default:
      break;
  }
}

// semctl(semid, semnum, cmd, union semun arg): arg is passed by value, so its
// pointer member is the argument itself. GETALL (an array of sem_nsems
// unsigned shorts) isn't handled: its size needs a second query of the set.
void semctl_outputs(const SyscallArgs& a, TraceeMemoryReader&, std::vector<OutRange>& out) {
  static_assert(sizeof(semid_ds) == 104 && sizeof(seminfo) == 40);
  switch (a.a[2] & ~kIpc64) {
    case IPC_STAT:
    case SEM_STAT:
    case SEM_STAT_ANY:
      add(out, a.a[3], sizeof(semid_ds));
      break;
    case IPC_INFO:
    case SEM_INFO:
      add(out, a.a[3], sizeof(seminfo));
      break;
    default:
      break;
  }
}

// quotactl(cmd, special, id, addr): the sub-command (cmd >> SUBCMDSHIFT)
// says what the kernel copies to addr (fs/quota/quota.c).
void quotactl_outputs(const SyscallArgs& a, TraceeMemoryReader&, std::vector<OutRange>& out) {
  if (a.ret < 0) return;
  const uint64_t addr = a.a[3];
  switch (static_cast<uint32_t>(a.a[0]) >> SUBCMDSHIFT) {
    case Q_GETFMT:
      add(out, addr, sizeof(uint32_t));
      break;
    case Q_GETINFO:
      add(out, addr, sizeof(if_dqinfo));
      break;
    case Q_GETQUOTA:
      add(out, addr, sizeof(if_dqblk));
      break;
    case Q_GETNEXTQUOTA:
      add(out, addr, sizeof(if_nextdqblk));
      break;
    case Q_XGETQUOTA:
    case Q_XGETNEXTQUOTA:
      add(out, addr, sizeof(fs_disk_quota));
      break;
    case Q_XGETQSTAT:
      add(out, addr, sizeof(fs_quota_stat));
      break;
    case Q_XGETQSTATV:
      add(out, addr, sizeof(fs_quota_statv));
      break;
    default:
      break;
  }
}

}  // namespace rwd::sys
