// Tests for the syscall table: lookups, the table's own invariants, outputs()
// for hand-built arguments, and real syscalls made in this process whose
// every changed byte must lie inside the ranges outputs() reports.
#define BOOST_TEST_MODULE syscalls
#include <boost/test/unit_test.hpp>

#include <asm/unistd_64.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <set>
#include <string>

#include "core/syscalls/SyscallTable.h"

using namespace rwd;
using namespace rwd::sys;

namespace {

// Reads this process's own memory, failing (like a tracee read) on unmapped
// addresses instead of crashing.
class SelfMemory : public TraceeMemoryReader {
 public:
  Result<void> read(uint64_t addr, void* buf, size_t len) override {
    iovec local{buf, len};
    iovec remote{reinterpret_cast<void*>(addr), len};
    if (process_vm_readv(getpid(), &local, 1, &remote, 1, 0) != ssize_t(len))
      return Error::from_errno("process_vm_readv");
    return ok_result();
  }
};

uint64_t addr_of(const void* p) {
  return reinterpret_cast<uint64_t>(p);
}

SyscallArgs make_args(int64_t nr, std::initializer_list<uint64_t> a, int64_t ret) {
  SyscallArgs args;
  args.nr = nr;
  int i = 0;
  for (uint64_t v : a) args.a[i++] = v;
  args.ret = ret;
  return args;
}

std::vector<OutRange> outputs_of(int64_t nr, std::initializer_list<uint64_t> a, int64_t ret) {
  SelfMemory mem;
  const SyscallDesc* d = find(nr);
  BOOST_REQUIRE(d != nullptr);
  return outputs(*d, make_args(nr, a, ret), mem);
}

using Ranges = std::vector<OutRange>;

}  // namespace

// For Boost.Test's messages; found by argument-dependent lookup.
namespace rwd::sys {
std::ostream& operator<<(std::ostream& os, const OutRange& r) {
  return os << "{0x" << std::hex << r.addr << ", " << std::dec << r.len << "}";
}
std::ostream& operator<<(std::ostream& os, const std::vector<OutRange>& rs) {
  os << "[";
  for (const OutRange& r : rs) os << r << " ";
  return os << "]";
}
}  // namespace rwd::sys

// --- Lookup and table invariants ---------------------------------------------

BOOST_AUTO_TEST_CASE(find_and_name) {
  BOOST_TEST(find(__NR_read)->name == std::string("read"));
  BOOST_TEST(find(__NR_openat)->nr == __NR_openat);
  BOOST_TEST(find(__NR_clone3)->name == std::string("clone3"));
  BOOST_TEST(find(-1) == nullptr);
  BOOST_TEST(find(100000) == nullptr);
  BOOST_TEST(find(__NR_bpf) == nullptr);  // deliberately absent
  BOOST_TEST(name(__NR_write) == "write");
  BOOST_TEST(name(__NR_bpf) == "bpf");  // absent, but named (unistd_64.h)
  BOOST_TEST(name(600) == "syscall_600");
}

BOOST_AUTO_TEST_CASE(every_entry_is_well_formed) {
  std::set<int> numbers;
  for (const SyscallDesc& d : all()) {
    BOOST_TEST_CONTEXT(d.nr) {
      BOOST_REQUIRE(d.name != nullptr);
      BOOST_TEST(std::strlen(d.name) > 0);
      BOOST_TEST(numbers.insert(d.nr).second);
      BOOST_TEST(find(d.nr) == &d);
      for (const OutParam& p : d.outs) {
        if (p.arg < 0) {
          BOOST_TEST((p.rule == SizeRule::None));
          continue;
        }
        BOOST_TEST(p.arg < 6);
        BOOST_TEST((p.rule != SizeRule::None));
        const bool needs_size_arg = p.rule == SizeRule::Arg || p.rule == SizeRule::ArgTimes ||
                                    p.rule == SizeRule::DerefArg || p.rule == SizeRule::FdSetBits;
        if (needs_size_arg) BOOST_TEST((p.size_arg >= 0 && p.size_arg < 6));
        if (p.rule == SizeRule::Fixed || p.rule == SizeRule::RetTimes ||
            p.rule == SizeRule::ArgTimes)
          BOOST_TEST(p.n > 0u);
      }
    }
  }
  BOOST_TEST(numbers.size() > 250u);
}

BOOST_AUTO_TEST_CASE(execute_set_is_exactly_the_state_building_calls) {
  const std::set<std::string> expected = {
      "mmap",         "munmap",         "mprotect",        "mremap",
      "brk",          "madvise",        "msync",           "mlock",
      "munlock",      "mlockall",       "munlockall",      "shmat",
      "shmdt",        "execve",         "execveat",        "clone",
      "clone3",       "fork",           "vfork",           "exit",
      "exit_group",   "arch_prctl",     "set_tid_address", "set_robust_list",
      "rt_sigaction", "rt_sigprocmask", "sigaltstack",     "rt_sigreturn",
      "membarrier",   "pkey_mprotect",  "pkey_alloc",      "pkey_free",
      "mlock2",       "iopl",           "ioperm",
  };
  std::set<std::string> actual;
  for (const SyscallDesc& d : all())
    if (d.replay == ReplayMode::Execute) actual.insert(d.name);
  BOOST_TEST(actual == expected, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(required_coverage) {
  // A sample of what coreutils, shells, compilers and python call.
  for (int nr : {__NR_read,
                 __NR_newfstatat,
                 __NR_statx,
                 __NR_getdents64,
                 __NR_openat,
                 __NR_pselect6,
                 __NR_ppoll,
                 __NR_prlimit64,
                 __NR_getrandom,
                 __NR_rseq,
                 __NR_close_range,
                 __NR_openat2,
                 __NR_faccessat2,
                 __NR_epoll_pwait2,
                 __NR_copy_file_range,
                 __NR_name_to_handle_at,
                 __NR_process_vm_readv,
                 __NR_getxattr,
                 __NR_flistxattr,
                 __NR_pkey_alloc,
                 __NR_wait4,
                 452})
    BOOST_TEST(find(nr) != nullptr, name(nr));
}

BOOST_AUTO_TEST_CASE(flags) {
  for (int nr : {__NR_read,
                 __NR_readv,
                 __NR_recvmsg,
                 __NR_accept4,
                 __NR_connect,
                 __NR_wait4,
                 __NR_waitid,
                 __NR_poll,
                 __NR_ppoll,
                 __NR_select,
                 __NR_pselect6,
                 __NR_epoll_wait,
                 __NR_epoll_pwait,
                 __NR_epoll_pwait2,
                 __NR_futex,
                 __NR_nanosleep,
                 __NR_clock_nanosleep,
                 __NR_pause,
                 __NR_rt_sigsuspend,
                 __NR_rt_sigtimedwait,
                 __NR_msgrcv,
                 __NR_flock,
                 __NR_fcntl,
                 __NR_write,
                 __NR_writev,
                 __NR_sendmsg,
                 __NR_sendfile,
                 __NR_splice,
                 __NR_openat})
    BOOST_TEST((find(nr)->flags & kMayBlock) != 0u, name(nr));
  for (int nr : {__NR_write, __NR_writev, __NR_pwrite64, __NR_pwritev, __NR_pwritev2})
    BOOST_TEST((find(nr)->flags & kWritesOutput) != 0u, name(nr));
  for (const SyscallDesc& d : all())
    if (d.flags & kWritesOnFailure) BOOST_TEST(d.handler != nullptr, d.name);
}

// --- outputs() for hand-built arguments -------------------------------------

BOOST_AUTO_TEST_CASE(read_reports_the_bytes_returned) {
  char buf[64];
  BOOST_TEST(outputs_of(__NR_read, {3, addr_of(buf), 64}, 10) == (Ranges{{addr_of(buf), 10}}));
  BOOST_TEST(outputs_of(__NR_read, {3, addr_of(buf), 64}, 0).empty());
  BOOST_TEST(outputs_of(__NR_read, {3, addr_of(buf), 64}, -EAGAIN).empty());
  BOOST_TEST(outputs_of(__NR_read, {3, addr_of(buf), 64}, -4095).empty());
  // recvfrom(MSG_TRUNC) returns the datagram's full size: capped at the buffer.
  BOOST_TEST(outputs_of(__NR_recvfrom, {3, addr_of(buf), 64, MSG_TRUNC, 0, 0}, 1000) ==
             (Ranges{{addr_of(buf), 64}}));
}

BOOST_AUTO_TEST_CASE(stat_family_uses_kernel_struct_sizes) {
  char buf[256];
  BOOST_TEST(outputs_of(__NR_fstat, {3, addr_of(buf)}, 0) == (Ranges{{addr_of(buf), 144}}));
  BOOST_TEST(outputs_of(__NR_newfstatat, {3, 0x1000, addr_of(buf), 0}, 0) ==
             (Ranges{{addr_of(buf), 144}}));
  BOOST_TEST(outputs_of(__NR_statx, {3, 0x1000, 0, 0xfff, addr_of(buf)}, 0) ==
             (Ranges{{addr_of(buf), 256}}));
  BOOST_TEST(outputs_of(__NR_fstat, {3, addr_of(buf)}, -EBADF).empty());
  BOOST_TEST(outputs_of(__NR_fstat, {3, 0}, 0).empty());  // null pointer: nothing
}

BOOST_AUTO_TEST_CASE(readv_scatters_over_iovecs_in_order) {
  char a[4], b[1], c[8], d[16];
  iovec iov[] = {{a, sizeof a}, {b, 0}, {c, sizeof c}, {d, sizeof d}};
  BOOST_TEST(outputs_of(__NR_readv, {3, addr_of(iov), 4}, 10) ==
             (Ranges{{addr_of(a), 4}, {addr_of(c), 6}}));
  BOOST_TEST(outputs_of(__NR_preadv2, {3, addr_of(iov), 4, 0, 0, 0}, 12) ==
             (Ranges{{addr_of(a), 4}, {addr_of(c), 8}}));
  BOOST_TEST(outputs_of(__NR_readv, {3, addr_of(iov), 4}, 0).empty());
  BOOST_TEST(outputs_of(__NR_readv, {3, 8, 4}, 10).empty());  // unreadable iovec array
}

BOOST_AUTO_TEST_CASE(recvmsg_reports_name_data_control_and_header_fields) {
  char name[128], control[64], d1[4], d2[16];
  iovec iov[] = {{d1, sizeof d1}, {d2, sizeof d2}};
  msghdr m{};
  m.msg_name = name;
  m.msg_namelen = 16;  // as the kernel left them
  m.msg_iov = iov;
  m.msg_iovlen = 2;
  m.msg_control = control;
  m.msg_controllen = 24;
  const uint64_t h = addr_of(&m);
  const Ranges expected = {
      {h + offsetof(msghdr, msg_namelen), 4},
      {h + offsetof(msghdr, msg_controllen), 8},
      {h + offsetof(msghdr, msg_flags), 4},
      {addr_of(name), 16},
      {addr_of(control), 24},
      {addr_of(d1), 4},
      {addr_of(d2), 3},
  };
  BOOST_TEST(outputs_of(__NR_recvmsg, {3, h, 0}, 7) == expected);
  BOOST_TEST(outputs_of(__NR_recvmsg, {3, h, 0}, -EAGAIN).empty());
}

BOOST_AUTO_TEST_CASE(socket_addresses_follow_the_updated_length) {
  char addr[128], optval[16];
  socklen_t len = 6;
  BOOST_TEST(outputs_of(__NR_accept4, {3, addr_of(addr), addr_of(&len), 0}, 5) ==
             (Ranges{{addr_of(addr), 6}, {addr_of(&len), 4}}));
  // A truncated address: *len holds its full length, the copy stops at 128.
  len = 500;
  BOOST_TEST(outputs_of(__NR_getpeername, {3, addr_of(addr), addr_of(&len)}, 0) ==
             (Ranges{{addr_of(addr), 128}, {addr_of(&len), 4}}));
  socklen_t optlen = 4;
  BOOST_TEST(outputs_of(__NR_getsockopt,
                        {3, SOL_SOCKET, SO_TYPE, addr_of(optval), addr_of(&optlen)},
                        0) == (Ranges{{addr_of(optval), 4}, {addr_of(&optlen), 4}}));
}

BOOST_AUTO_TEST_CASE(select_fd_sets_and_timeout) {
  fd_set r, w;
  timeval tv;
  // nfds 65 needs two longs of each set; the null exceptfds is skipped.
  BOOST_TEST(outputs_of(__NR_select, {65, addr_of(&r), addr_of(&w), 0, addr_of(&tv)}, 1) ==
             (Ranges{{addr_of(&r), 16}, {addr_of(&w), 16}, {addr_of(&tv), 16}}));
  BOOST_TEST(outputs_of(__NR_select, {1, addr_of(&r), 0, 0, 0}, 0) == (Ranges{{addr_of(&r), 8}}));
  // Interrupted: only the remaining timeout is stored.
  BOOST_TEST(outputs_of(__NR_select, {65, addr_of(&r), addr_of(&w), 0, addr_of(&tv)}, -514) ==
             (Ranges{{addr_of(&tv), 16}}));
  BOOST_TEST(outputs_of(__NR_pselect6, {65, addr_of(&r), 0, 0, addr_of(&tv), 0}, -EFAULT).empty());
}

BOOST_AUTO_TEST_CASE(poll_and_ppoll) {
  pollfd fds[3];
  timespec ts;
  BOOST_TEST(outputs_of(__NR_poll, {addr_of(fds), 3, 100}, 1) == (Ranges{{addr_of(fds), 24}}));
  BOOST_TEST(outputs_of(__NR_poll, {addr_of(fds), 3, 100}, -516) == (Ranges{{addr_of(fds), 24}}));
  BOOST_TEST(outputs_of(__NR_poll, {addr_of(fds), 3, 100}, -EINVAL).empty());
  BOOST_TEST(outputs_of(__NR_ppoll, {addr_of(fds), 3, addr_of(&ts), 0, 8}, -EINTR) ==
             (Ranges{{addr_of(fds), 24}, {addr_of(&ts), 16}}));
}

// At the entry stop the result is unknown: every outcome's outputs count.
BOOST_AUTO_TEST_CASE(possible_outputs_cover_every_outcome) {
  SelfMemory mem;
  auto possible = [&](int64_t nr, std::initializer_list<uint64_t> a) {
    Ranges out = possible_outputs(*find(nr), make_args(nr, a, 0), mem);
    // Sorted, overlaps merged: what the bytes covered are is what counts.
    std::sort(out.begin(), out.end(), [](auto& x, auto& y) { return x.addr < y.addr; });
    Ranges merged;
    for (const OutRange& r : out) {
      if (!merged.empty() && r.addr <= merged.back().addr + merged.back().len)
        merged.back().len = std::max(merged.back().len, r.addr + r.len - merged.back().addr);
      else
        merged.push_back(r);
    }
    return merged;
  };
  char buf[64];
  BOOST_TEST(possible(__NR_read, {3, addr_of(buf), sizeof buf}) == (Ranges{{addr_of(buf), 64}}));
  BOOST_TEST(possible(__NR_write, {1, addr_of(buf), sizeof buf}).empty());
  epoll_event ev[8];
  BOOST_TEST(possible(__NR_epoll_wait, {3, addr_of(ev), 8, 0}) == (Ranges{{addr_of(ev), 96}}));
  timespec req, rem;  // rem only on interruption
  BOOST_TEST(possible(__NR_nanosleep, {addr_of(&req), addr_of(&rem)}) ==
             (Ranges{{addr_of(&rem), 16}}));
  // recvmmsg: msg_len is written by the call, so each message may fill all
  // of its iovecs.
  char d1[4], d2[16];
  iovec iov[] = {{d1, sizeof d1}, {d2, sizeof d2}};
  mmsghdr mm[1]{};
  mm[0].msg_hdr.msg_iov = iov;
  mm[0].msg_hdr.msg_iovlen = 2;
  const Ranges got = possible(__NR_recvmmsg, {3, addr_of(mm), 1, 0, 0});
  auto has = [&](const OutRange& r) { return std::find(got.begin(), got.end(), r) != got.end(); };
  BOOST_TEST(has(OutRange{addr_of(d1), 4}));
  BOOST_TEST(has(OutRange{addr_of(d2), 16}));
  // msgrcv never writes past msgsz.
  char msg[sizeof(long) + 32];
  BOOST_TEST(possible(__NR_msgrcv, {3, addr_of(msg), 32, 0, 0}) ==
             (Ranges{{addr_of(msg), sizeof msg}}));
}

BOOST_AUTO_TEST_CASE(epoll_wait_reports_ret_events) {
  epoll_event ev[8];
  BOOST_TEST(outputs_of(__NR_epoll_wait, {3, addr_of(ev), 8, 0}, 3) == (Ranges{{addr_of(ev), 36}}));
  BOOST_TEST(outputs_of(__NR_epoll_pwait2, {3, addr_of(ev), 8, 0, 0, 8}, 0).empty());
}

BOOST_AUTO_TEST_CASE(wait4_with_null_rusage) {
  int status;
  BOOST_TEST(outputs_of(__NR_wait4, {123, addr_of(&status), 0, 0}, 123) ==
             (Ranges{{addr_of(&status), 4}}));
}

// ptrace as the recorder answers it (core/record/RecordPtraceRequests.cc):
// the raw syscall stores what a request reads through `data`.
BOOST_AUTO_TEST_CASE(ptrace_requests_store_through_data) {
  long word;
  user_regs_struct regs;
  siginfo_t si;
  char info[88];
  BOOST_TEST(outputs_of(__NR_ptrace, {PTRACE_PEEKDATA, 42, 0x1000, addr_of(&word)}, 0) ==
             (Ranges{{addr_of(&word), 8}}));
  BOOST_TEST(outputs_of(__NR_ptrace, {PTRACE_GETREGS, 42, 0, addr_of(&regs)}, 0) ==
             (Ranges{{addr_of(&regs), 216}}));
  BOOST_TEST(outputs_of(__NR_ptrace, {PTRACE_GETSIGINFO, 42, 0, addr_of(&si)}, 0) ==
             (Ranges{{addr_of(&si), 128}}));
  // PTRACE_GET_SYSCALL_INFO: as much of the structure as both sizes allow.
  BOOST_TEST(outputs_of(__NR_ptrace, {PTRACE_GET_SYSCALL_INFO, 42, 88, addr_of(info)}, 80) ==
             (Ranges{{addr_of(info), 80}}));
  BOOST_TEST(outputs_of(__NR_ptrace, {PTRACE_GET_SYSCALL_INFO, 42, 16, addr_of(info)}, 80) ==
             (Ranges{{addr_of(info), 16}}));
  // GETREGSET: the bytes the iovec now counts, and the iovec.
  iovec iov{&regs, 100};
  BOOST_TEST(outputs_of(__NR_ptrace, {PTRACE_GETREGSET, 42, 1, addr_of(&iov)}, 0) ==
             (Ranges{{addr_of(&regs), 100}, {addr_of(&iov), sizeof iov}}));
  // Requests that only change the tracee, and failures, write nothing.
  BOOST_TEST(outputs_of(__NR_ptrace, {PTRACE_POKEDATA, 42, 0x1000, 7}, 0).empty());
  BOOST_TEST(outputs_of(__NR_ptrace, {PTRACE_CONT, 42, 0, 0}, 0).empty());
  BOOST_TEST(outputs_of(__NR_ptrace, {PTRACE_GETREGS, 42, 0, addr_of(&regs)}, -ESRCH).empty());
}

BOOST_AUTO_TEST_CASE(sleeps_store_rem_only_when_interrupted) {
  timespec req, rem;
  BOOST_TEST(outputs_of(__NR_nanosleep, {addr_of(&req), addr_of(&rem)}, 0).empty());
  BOOST_TEST(outputs_of(__NR_nanosleep, {addr_of(&req), addr_of(&rem)}, -EINTR) ==
             (Ranges{{addr_of(&rem), 16}}));
  BOOST_TEST(outputs_of(__NR_nanosleep, {addr_of(&req), addr_of(&rem)}, -516) ==
             (Ranges{{addr_of(&rem), 16}}));
  BOOST_TEST(outputs_of(__NR_nanosleep, {addr_of(&req), 0}, -EINTR).empty());
  BOOST_TEST(outputs_of(__NR_clock_nanosleep,
                        {CLOCK_MONOTONIC, TIMER_ABSTIME, addr_of(&req), addr_of(&rem)}, -EINTR)
                 .empty());
}

BOOST_AUTO_TEST_CASE(size_zero_queries_write_nothing) {
  char buf[16];
  gid_t groups[4];
  BOOST_TEST(outputs_of(__NR_getxattr, {0x1000, 0x2000, addr_of(buf), 0}, 12).empty());
  BOOST_TEST(outputs_of(__NR_getgroups, {0, addr_of(groups)}, 3).empty());
  BOOST_TEST(outputs_of(__NR_getgroups, {4, addr_of(groups)}, 3) ==
             (Ranges{{addr_of(groups), 12}}));
}

BOOST_AUTO_TEST_CASE(ioctl_requests) {
  char buf[64];
  BOOST_TEST(outputs_of(__NR_ioctl, {0, 0x5401, addr_of(buf)}, 0) ==
             (Ranges{{addr_of(buf), 36}}));  // TCGETS: the kernel's termios
  BOOST_TEST(outputs_of(__NR_ioctl, {0, 0x5413, addr_of(buf)}, 0) ==
             (Ranges{{addr_of(buf), 8}}));                        // TIOCGWINSZ
  BOOST_TEST(outputs_of(__NR_ioctl, {0, 0x5451, 0}, 0).empty());  // FIOCLEX
  BOOST_TEST(outputs_of(__NR_ioctl, {0, 0xdeadbeef, addr_of(buf)}, 0).empty());
  BOOST_TEST(outputs_of(__NR_ioctl, {0, 0x5401, addr_of(buf)}, -ENOTTY).empty());
  BOOST_TEST(ioctl_is_known(0x5451));
  BOOST_TEST(ioctl_is_known(0xffffffff00005401ull));  // cmd is an unsigned int
  BOOST_TEST(!ioctl_is_known(0xdeadbeef));
}

BOOST_AUTO_TEST_CASE(capget_follows_the_header_version) {
  uint32_t hdr[2] = {0x20080522, 0};
  char data[24];
  BOOST_TEST(outputs_of(__NR_capget, {addr_of(hdr), addr_of(data)}, 0) ==
             (Ranges{{addr_of(hdr), 4}, {addr_of(data), 24}}));
  hdr[0] = 0x19980330;
  BOOST_TEST(outputs_of(__NR_capget, {addr_of(hdr), addr_of(data)}, 0) ==
             (Ranges{{addr_of(hdr), 4}, {addr_of(data), 12}}));
  BOOST_TEST(outputs_of(__NR_capget, {addr_of(hdr), addr_of(data)}, -EINVAL) ==
             (Ranges{{addr_of(hdr), 4}}));
}

BOOST_AUTO_TEST_CASE(clone_parent_settid) {
  int ptid;
  BOOST_TEST(outputs_of(__NR_clone, {0x00100000 | 0x100, 0, addr_of(&ptid), 0, 0}, 77) ==
             (Ranges{{addr_of(&ptid), 4}}));
  BOOST_TEST(outputs_of(__NR_clone, {0x00100000, 0, addr_of(&ptid), 0, 0}, 0).empty());
  BOOST_TEST(outputs_of(__NR_clone, {0x100, 0, addr_of(&ptid), 0, 0}, 77).empty());
}

// --- Real syscalls: every byte the kernel changed must be reported ----------

namespace {

// A buffer the real syscalls write into. Output buffers are carved from it
// pre-filled with 0xAA; inputs (iovecs, msghdrs) live in it too. After a
// call, every byte that differs from the snapshot taken just before must lie
// inside a range outputs() reported: a too-small struct size shows up here.
class Arena {
 public:
  Arena() : bytes_(kSize, 0xAA) {}

  template <class T = uint8_t>
  T* alloc(size_t count = 1) {
    used_ = (used_ + 63) & ~size_t(63);
    BOOST_REQUIRE(used_ + count * sizeof(T) <= kSize);
    T* p = reinterpret_cast<T*>(bytes_.data() + used_);
    used_ += count * sizeof(T);
    return p;
  }

  // Makes syscall `nr`, then checks its outputs. Returns the raw result.
  int64_t call(int64_t nr, std::initializer_list<uint64_t> args) {
    SyscallArgs a = make_args(nr, args, 0);
    const std::vector<uint8_t> before = bytes_;
    SelfMemory mem;
    const SyscallDesc* d = find(nr);
    BOOST_REQUIRE(d != nullptr);
    const std::vector<OutRange> possible = possible_outputs(*d, a, mem);
    long r = syscall(nr, a.a[0], a.a[1], a.a[2], a.a[3], a.a[4], a.a[5]);
    a.ret = r == -1 ? -errno : r;
    check(a, before);
    check_within(a, possible);
    return a.ret;
  }

 private:
  // What outputs() reports at the exit must lie in what possible_outputs()
  // foresaw at the entry (a state hash leaves those bytes out, InflightWrites.h).
  void check_within(const SyscallArgs& a, const std::vector<OutRange>& possible) {
    SelfMemory mem;
    for (const OutRange& r : outputs(*find(a.nr), a, mem)) {
      for (uint64_t at = r.addr; at < r.addr + r.len; ++at) {
        bool covered = false;
        for (const OutRange& p : possible) covered |= at >= p.addr && at < p.addr + p.len;
        BOOST_TEST(covered, find(a.nr)->name << " (ret " << a.ret << ") wrote " << r
                                             << " outside possible_outputs " << possible);
        if (!covered) return;
      }
    }
  }

  void check(const SyscallArgs& a, const std::vector<uint8_t>& before) {
    SelfMemory mem;
    const SyscallDesc* d = find(a.nr);
    BOOST_REQUIRE(d != nullptr);
    const std::vector<OutRange> ranges = outputs(*d, a, mem);
    const uint64_t base = addr_of(bytes_.data());
    for (const OutRange& r : ranges)
      BOOST_TEST((r.addr >= base && r.addr + r.len <= base + kSize),
                 d->name << ": range outside the arena " << r);
    for (size_t i = 0; i < kSize; ++i) {
      if (bytes_[i] == before[i]) continue;
      bool covered = false;
      for (const OutRange& r : ranges) covered |= base + i >= r.addr && base + i < r.addr + r.len;
      BOOST_TEST(covered, d->name << " (ret " << a.ret << ") changed unreported byte at arena+" << i
                                  << "; reported " << ranges);
      if (!covered) return;  // one message per call is enough
    }
  }

  static constexpr size_t kSize = 256 * 1024;
  std::vector<uint8_t> bytes_;
  size_t used_ = 0;
};

uint64_t u(const void* p) {
  return addr_of(p);
}

}  // namespace

BOOST_AUTO_TEST_CASE(real_file_and_time_syscalls) {
  Arena arena;
  auto* fds = arena.alloc<int>(2);
  BOOST_TEST(arena.call(__NR_pipe2, {u(fds), O_CLOEXEC}) == 0);
  BOOST_TEST(arena.call(__NR_fstat, {uint64_t(fds[0]), u(arena.alloc(256))}) == 0);
  BOOST_TEST(arena.call(__NR_newfstatat, {uint64_t(AT_FDCWD), u("/"), u(arena.alloc(256)), 0}) ==
             0);
  BOOST_TEST(arena.call(__NR_statx, {uint64_t(AT_FDCWD), u("/"), 0, 0xfff, u(arena.alloc(512))}) ==
             0);
  BOOST_TEST(arena.call(__NR_statfs, {u("/"), u(arena.alloc(256))}) == 0);
  BOOST_TEST(arena.call(__NR_uname, {u(arena.alloc(512))}) == 0);
  BOOST_TEST(arena.call(__NR_clock_gettime, {CLOCK_MONOTONIC, u(arena.alloc(32))}) == 0);
  BOOST_TEST(arena.call(__NR_clock_getres, {CLOCK_MONOTONIC, u(arena.alloc(32))}) == 0);
  BOOST_TEST(arena.call(__NR_gettimeofday, {u(arena.alloc(32)), u(arena.alloc(32))}) == 0);
  BOOST_TEST(arena.call(__NR_time, {u(arena.alloc(16))}) > 0);
  BOOST_TEST(arena.call(__NR_times, {u(arena.alloc(64))}) >= 0);
  BOOST_TEST(arena.call(__NR_getrusage, {RUSAGE_SELF, u(arena.alloc(256))}) == 0);
  BOOST_TEST(arena.call(__NR_sysinfo, {u(arena.alloc(256))}) == 0);
  BOOST_TEST(arena.call(__NR_prlimit64, {0, RLIMIT_NOFILE, 0, u(arena.alloc(32))}) == 0);
  BOOST_TEST(arena.call(__NR_getrlimit, {RLIMIT_STACK, u(arena.alloc(32))}) == 0);
  BOOST_TEST(
      arena.call(__NR_getresuid, {u(arena.alloc(8)), u(arena.alloc(8)), u(arena.alloc(8))}) == 0);
  BOOST_TEST(arena.call(__NR_getcpu, {u(arena.alloc(8)), u(arena.alloc(8)), 0}) == 0);
  BOOST_TEST(arena.call(__NR_sched_getaffinity, {0, 128, u(arena.alloc(128))}) > 0);
  BOOST_TEST(arena.call(__NR_sched_getparam, {0, u(arena.alloc(8))}) == 0);
  BOOST_TEST(arena.call(__NR_sched_rr_get_interval, {0, u(arena.alloc(32))}) == 0);
  BOOST_TEST(arena.call(__NR_getrandom, {u(arena.alloc(64)), 64, 0}) == 64);
  BOOST_TEST(arena.call(__NR_getcwd, {u(arena.alloc(4096)), 4096}) > 0);
  BOOST_TEST(arena.call(__NR_readlink, {u("/proc/self/exe"), u(arena.alloc(4096)), 4096}) > 0);
  BOOST_TEST(arena.call(__NR_getitimer, {ITIMER_REAL, u(arena.alloc(64))}) == 0);
  BOOST_TEST(arena.call(__NR_get_robust_list, {0, u(arena.alloc(8)), u(arena.alloc(8))}) == 0);
  BOOST_TEST(arena.call(__NR_mincore,
                        {u(arena.alloc(4096 * 3)) & ~4095ull, 8192, u(arena.alloc(8))}) == 0);

  const int dir = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  BOOST_REQUIRE(dir >= 0);
  BOOST_TEST(arena.call(__NR_getdents64, {uint64_t(dir), u(arena.alloc(4096)), 4096}) > 0);
  auto* lock = arena.alloc<struct flock>();
  std::memset(lock, 0, sizeof *lock);
  lock->l_type = F_RDLCK;
  BOOST_TEST(arena.call(__NR_fcntl, {uint64_t(dir), F_GETLK, u(lock)}) == 0);
  // Probing the handle size: EOVERFLOW, with handle_bytes and mount id written.
  auto* handle = arena.alloc<uint32_t>(32);
  handle[0] = 0;
  const int64_t r = arena.call(__NR_name_to_handle_at,
                               {uint64_t(AT_FDCWD), u("/"), u(handle), u(arena.alloc(8)), 0});
  if (r == -EOVERFLOW) {
    BOOST_TEST(arena.call(__NR_name_to_handle_at,
                          {uint64_t(AT_FDCWD), u("/"), u(handle), u(arena.alloc(8)), 0}) == 0);
  }
  close(dir);

  // readv scatters a pipe's bytes over several iovecs, one of them empty.
  BOOST_REQUIRE(write(fds[1], std::string(100, 'x').data(), 100) == 100);
  BOOST_TEST(arena.call(__NR_ioctl, {uint64_t(fds[0]), FIONREAD, u(arena.alloc(8))}) == 0);
  auto* iov = arena.alloc<iovec>(4);
  iov[0] = {arena.alloc(30), 30};
  iov[1] = {arena.alloc(1), 0};
  iov[2] = {arena.alloc(50), 50};
  iov[3] = {arena.alloc(40), 40};
  BOOST_TEST(arena.call(__NR_readv, {uint64_t(fds[0]), u(iov), 4}) == 100);

  // poll, select and epoll on a readable pipe.
  BOOST_REQUIRE(write(fds[1], "y", 1) == 1);
  auto* pfd = arena.alloc<pollfd>(2);
  pfd[0] = {fds[0], POLLIN, 0};
  pfd[1] = {fds[1], POLLOUT, 0};
  BOOST_TEST(arena.call(__NR_poll, {u(pfd), 2, 0}) == 2);
  auto* ts = arena.alloc<timespec>();
  *ts = {1, 0};
  BOOST_TEST(arena.call(__NR_ppoll, {u(pfd), 2, u(ts), 0, 8}) == 2);
  auto* rset = arena.alloc<fd_set>();
  FD_ZERO(rset);
  FD_SET(fds[0], rset);
  auto* tv = arena.alloc<timeval>();
  *tv = {1, 0};
  BOOST_TEST(arena.call(__NR_select, {uint64_t(fds[0] + 1), u(rset), 0, 0, u(tv)}) == 1);
  const int ep = epoll_create1(EPOLL_CLOEXEC);
  epoll_event ev{EPOLLIN, {.u64 = 7}};
  BOOST_REQUIRE(epoll_ctl(ep, EPOLL_CTL_ADD, fds[0], &ev) == 0);
  BOOST_TEST(arena.call(__NR_epoll_wait, {uint64_t(ep), u(arena.alloc<epoll_event>(4)), 4, 0}) ==
             1);
  close(ep);
  close(fds[0]);
  close(fds[1]);
}

BOOST_AUTO_TEST_CASE(real_signal_and_process_syscalls) {
  Arena arena;
  BOOST_TEST(arena.call(__NR_rt_sigaction, {SIGUSR1, 0, u(arena.alloc(64)), 8}) == 0);
  BOOST_TEST(arena.call(__NR_rt_sigprocmask, {SIG_BLOCK, 0, u(arena.alloc(16)), 8}) == 0);
  BOOST_TEST(arena.call(__NR_rt_sigpending, {u(arena.alloc(16)), 8}) == 0);
  BOOST_TEST(arena.call(__NR_sigaltstack, {0, u(arena.alloc(64))}) == 0);

  // capget: probe with version 0 (EINVAL, version written back), then v3.
  auto* hdr = arena.alloc<uint32_t>(2);
  hdr[0] = 0;
  hdr[1] = 0;
  BOOST_TEST(arena.call(__NR_capget, {u(hdr), u(arena.alloc(32))}) == -EINVAL);
  BOOST_TEST(arena.call(__NR_capget, {u(hdr), u(arena.alloc(32))}) == 0);

  auto* timer = arena.alloc<int>();
  BOOST_TEST(arena.call(__NR_timer_create, {CLOCK_MONOTONIC, 0, u(timer)}) == 0);
  BOOST_TEST(arena.call(__NR_timer_gettime, {uint64_t(*timer), u(arena.alloc(64))}) == 0);
  timer_delete(timer_t(intptr_t(*timer)));

  auto* req = arena.alloc<timespec>();
  *req = {0, 1000};
  BOOST_TEST(arena.call(__NR_nanosleep, {u(req), u(arena.alloc(32))}) == 0);

  // wait4 and waitid on exited children.
  pid_t child = fork();
  if (child == 0) _exit(3);
  BOOST_TEST(arena.call(__NR_wait4, {uint64_t(child), u(arena.alloc(8)), 0, u(arena.alloc(256))}) ==
             child);
  child = fork();
  if (child == 0) _exit(4);
  BOOST_TEST(arena.call(__NR_waitid, {P_PID, uint64_t(child), u(arena.alloc(256)), WEXITED,
                                      u(arena.alloc(256))}) == 0);
}

BOOST_AUTO_TEST_CASE(real_socket_syscalls) {
  Arena arena;
  auto* sv = arena.alloc<int>(2);
  BOOST_TEST(arena.call(__NR_socketpair, {AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, u(sv)}) == 0);
  auto* len = arena.alloc<socklen_t>();
  *len = 128;
  BOOST_TEST(arena.call(__NR_getsockname, {uint64_t(sv[0]), u(arena.alloc(128)), u(len)}) == 0);
  auto* optlen = arena.alloc<socklen_t>();
  *optlen = 16;
  BOOST_TEST(arena.call(__NR_getsockopt, {uint64_t(sv[0]), SOL_SOCKET, SO_TYPE, u(arena.alloc(16)),
                                          u(optlen)}) == 0);

  // recvmsg of a datagram carrying an fd: data, control, header fields.
  int passed = sv[1];
  char cbuf[CMSG_SPACE(sizeof(int))] = {};
  iovec siov{const_cast<char*>("hello, world"), 12};
  msghdr sm{};
  sm.msg_iov = &siov;
  sm.msg_iovlen = 1;
  sm.msg_control = cbuf;
  sm.msg_controllen = sizeof cbuf;
  cmsghdr* c = CMSG_FIRSTHDR(&sm);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  std::memcpy(CMSG_DATA(c), &passed, sizeof passed);
  BOOST_REQUIRE(sendmsg(sv[1], &sm, 0) == 12);
  auto* iov = arena.alloc<iovec>(2);
  iov[0] = {arena.alloc(5), 5};
  iov[1] = {arena.alloc(64), 64};
  auto* m = arena.alloc<msghdr>();
  std::memset(m, 0, sizeof *m);
  m->msg_name = arena.alloc(128);
  m->msg_namelen = 128;
  m->msg_iov = iov;
  m->msg_iovlen = 2;
  m->msg_control = arena.alloc(64);
  m->msg_controllen = 64;
  BOOST_TEST(arena.call(__NR_recvmsg, {uint64_t(sv[0]), u(m), MSG_CMSG_CLOEXEC}) == 12);
  if (m->msg_controllen >= CMSG_LEN(sizeof(int))) {
    int got;
    std::memcpy(&got, CMSG_DATA(CMSG_FIRSTHDR(m)), sizeof got);
    close(got);
  }

  // recvfrom and recvmmsg.
  BOOST_REQUIRE(send(sv[1], "abc", 3, 0) == 3);
  auto* alen = arena.alloc<socklen_t>();
  *alen = 128;
  BOOST_TEST(arena.call(__NR_recvfrom, {uint64_t(sv[0]), u(arena.alloc(64)), 64, 0,
                                        u(arena.alloc(128)), u(alen)}) == 3);
  BOOST_REQUIRE(send(sv[1], "one", 3, 0) == 3);
  BOOST_REQUIRE(send(sv[1], "three", 5, 0) == 5);
  auto* vec = arena.alloc<mmsghdr>(2);
  std::memset(vec, 0, 2 * sizeof(mmsghdr));
  for (int i = 0; i < 2; ++i) {
    auto* v = arena.alloc<iovec>();
    *v = {arena.alloc(16), 16};
    vec[i].msg_hdr.msg_iov = v;
    vec[i].msg_hdr.msg_iovlen = 1;
  }
  BOOST_TEST(arena.call(__NR_recvmmsg, {uint64_t(sv[0]), u(vec), 2, MSG_DONTWAIT, 0}) == 2);
  close(sv[0]);
  close(sv[1]);
}

BOOST_AUTO_TEST_CASE(real_terminal_ioctls) {
  const int master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (master < 0) {
    BOOST_TEST_MESSAGE("no pseudo-terminals here; skipping");
    return;
  }
  Arena arena;
  BOOST_TEST(arena.call(__NR_ioctl, {uint64_t(master), 0x5401, u(arena.alloc(64))}) == 0);
  BOOST_TEST(arena.call(__NR_ioctl, {uint64_t(master), 0x5413, u(arena.alloc(16))}) == 0);
  BOOST_TEST(arena.call(__NR_ioctl, {uint64_t(master), 0x80045430, u(arena.alloc(8))}) == 0);
  const int64_t r = arena.call(__NR_ioctl, {uint64_t(master), 0x802C542A, u(arena.alloc(64))});
  BOOST_TEST((r == 0 || r == -ENOTTY || r == -EINVAL));
  close(master);
}

BOOST_AUTO_TEST_CASE(readme_lists_the_unsupported_syscalls) {
  std::ifstream f(REWIND_README);
  BOOST_REQUIRE(f);
  std::string line, listed;
  bool in = false;
  while (std::getline(f, line)) {
    if (line.find("<!-- unsupported syscalls: end -->") != std::string::npos) break;
    if (in) listed += line + " ";
    if (line.find("<!-- unsupported syscalls: begin -->") != std::string::npos) in = true;
  }
  std::vector<std::string> names;
  for (size_t at = listed.find('`'); at != std::string::npos; at = listed.find('`', at + 1)) {
    const size_t end = listed.find('`', at + 1);
    BOOST_REQUIRE(end != std::string::npos);
    names.push_back(listed.substr(at + 1, end - at - 1));
    at = end;
  }
  const std::vector<std::string> want = unsupported_syscalls();
  BOOST_TEST(want.size() > 50u);
  BOOST_TEST(names == want, boost::test_tools::per_element());
  // Every one of them has the kernel's name, not a number.
  for (const std::string& n : want) BOOST_TEST(n.rfind("syscall_", 0) != 0);
  BOOST_TEST(name(272) == "unshare");
  BOOST_TEST(name(1000) == "syscall_1000");
}
