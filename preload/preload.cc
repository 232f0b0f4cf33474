// librewind-preload.so: the syscall buffer inside a recorded process
// (preload/abi.h; docs/syscallbuf.md). Built without the C++ library and
// without SSE (-mgeneral-regs-only): it runs in the middle of any program's
// syscall wrappers, which expect only rax, rcx and r11 to change.
//
// The same code runs in record and in replay; only the lines that read
// kModeWord differ. Everything it does through a traced syscall must happen
// in both, in the same order, from the same memory state, because replay
// checks each traced syscall against the recording.
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <linux/futex.h>
#include <linux/perf_event.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>

#include "preload/Rules.h"
#include "preload/abi.h"
#include "preload_rules_gen.h"

namespace rwd::preload {

using namespace rwd::syscallbuf;

struct Args {
  long nr;
  long a[6];
};

extern "C" {
long rwd_untraced_syscall(const Args*);
long rwd_traced_syscall(const Args*);
long rwd_replayed_syscall(const Args*);
long rwd_baton_syscall(const Args*);
void rwd_syscall_entry();
long rwd_buffered_syscall(Args* x) __attribute__((visibility("hidden")));
}

namespace {

long traced(long nr, long a0 = 0, long a1 = 0, long a2 = 0, long a3 = 0, long a4 = 0) {
  Args x{nr, {a0, a1, a2, a3, a4, 0}};
  return rwd_traced_syscall(&x);
}

long untraced(long nr, long a0 = 0, long a1 = 0, long a2 = 0) {
  Args x{nr, {a0, a1, a2, 0, 0, 0}};
  return rwd_untraced_syscall(&x);
}

// rep movsb: no SSE, and no call the compiler could turn into memcpy.
void copy(void* dst, const void* src, uint64_t n) {
  asm volatile("rep movsb" : "+D"(dst), "+S"(src), "+c"(n) : : "memory");
}

// Number -> index into kGeneratedRules, -1 for syscalls not buffered.
constexpr int kMaxNr = 512;
struct RuleIndex {
  int16_t at[kMaxNr];
  constexpr RuleIndex() : at() {
    for (int i = 0; i < kMaxNr; ++i) at[i] = -1;
    for (unsigned i = 0; i < sizeof kGeneratedRules / sizeof kGeneratedRules[0]; ++i)
      at[kGeneratedRules[i].nr] = static_cast<int16_t>(i);
  }
};
constexpr RuleIndex kIndex;

struct ThreadState {
  BufHeader* buf;
  bool initializing;
  bool failed;  // the tracer refused a buffer: everything goes traced
};
__thread ThreadState tls __attribute__((tls_model("initial-exec")));

}  // namespace

// The top of the thread's library stack (kLibStackSize, preload/abi.h),
// which entry.S takes (leaving 0) for the length of a call and gives back;
// 0 also before the thread has a buffer. A call that finds 0 runs on the
// stack it came in on: a signal handler's syscall, or the thread's first.
extern "C" __attribute__((visibility("hidden"))) __thread uint64_t rwd_stack_top
    __attribute__((tls_model("initial-exec")));
__thread uint64_t rwd_stack_top;

namespace {

bool g_enabled;

char* records(BufHeader* h) {
  return reinterpret_cast<char*>(h + 1);
}
constexpr uint32_t kCapacity = kRecordsEnd - sizeof(BufHeader);

bool replaying() {
  return *reinterpret_cast<volatile const uint32_t*>(kModeWord) == kModeReplay;
}

// Where a thread's desched event goes in the fd table: as high as the
// program's fd limit allows (up to 1024), rather than at the lowest free
// number, where the program's next open natively goes. Programs take
// numbers from the bottom, so one that stays well below its limit gets the
// numbers it would natively (docs/syscallbuf.md). Not above 1024: the
// kernel's fd table grows to the highest open number, and fork copies it.
// Returns the new number, or `fd` where it found no free one near the top.
long move_fd_up(long fd) {
  constexpr long kTop = 1024, kTries = 64;
  rlimit lim;
  if (untraced(SYS_getrlimit, RLIMIT_NOFILE, reinterpret_cast<long>(&lim)) != 0) return fd;
  const long top =
      lim.rlim_cur < static_cast<rlim_t>(kTop) ? static_cast<long>(lim.rlim_cur) : kTop;
  for (long n = top - 1; n > fd && n >= top - kTries; --n) {
    if (untraced(SYS_fcntl, n, F_GETFD) != -EBADF) continue;  // the program's
    if (untraced(SYS_dup3, fd, n, O_CLOEXEC) != n) return fd;
    untraced(SYS_close, fd);
    return n;
  }
  return fd;
}

// The desched event: a software perf event that counts the thread's
// context switches and sends kDeschedSignal at the first while armed, so a
// buffered syscall that blocks stops the thread for the tracer. Record
// only, opened with untraced syscalls the first time a syscall that can
// really block needs it, and kept in the buffer's header (BufHeader::
// desched_fd, not program state): replay's library never arms one, and a
// thread with a perf event pays for it at every context switch (3.5x
// measured on a condvar ping-pong here), and opening one takes ~5 ms.
int desched_fd(BufHeader* h) {
  const long tid = untraced(SYS_gettid);
  if (h->desched_fd > 0 && h->desched_tid == tid) return h->desched_fd - 1;
  // None yet, or a fork child's copy, which counts the parent's switches.
  perf_event_attr attr = {};
  attr.size = sizeof attr;
  attr.type = PERF_TYPE_SOFTWARE;
  attr.config = PERF_COUNT_SW_CONTEXT_SWITCHES;
  attr.sample_period = 1;
  attr.disabled = 1;
  attr.wakeup_events = 1;
  Args open = {SYS_perf_event_open,
               {reinterpret_cast<long>(&attr), 0, -1, -1, PERF_FLAG_FD_CLOEXEC, 0}};
  long fd = rwd_untraced_syscall(&open);
  if (fd < 0) return -1;
  fd = move_fd_up(fd);
  f_owner_ex owner = {F_OWNER_TID, static_cast<pid_t>(tid)};
  if (untraced(SYS_fcntl, fd, F_SETFL, O_ASYNC) < 0 ||
      untraced(SYS_fcntl, fd, F_SETSIG, kDeschedSignal) < 0 ||
      untraced(SYS_fcntl, fd, F_SETOWN_EX, reinterpret_cast<long>(&owner)) < 0) {
    untraced(SYS_close, fd);
    return -1;
  }
  h->desched_fd = static_cast<int32_t>(fd + 1);
  h->desched_tid = static_cast<int32_t>(tid);
  return static_cast<int>(fd);
}

bool init_thread() {
  tls.initializing = true;
  long buf =
      traced(SYS_mmap, 0, kBufferSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1);
  const bool ok = (buf > 0 || buf < -4095) &&
                  traced(SYS_mprotect, buf + kRecordsEnd, kLibStackGuard, PROT_NONE) == 0 &&
                  traced(kSysInitThread, buf, kBufferSize) == 0;
  if (ok) {
    tls.buf = reinterpret_cast<BufHeader*>(buf);
    for (uint8_t& bits : tls.buf->traced_fds) bits = 0xff;
    rwd_stack_top = static_cast<uint64_t>(buf) + kBufferSize;
  } else {
    tls.failed = true;
  }
  tls.initializing = false;
  return ok;
}

Baton* baton() {
  return reinterpret_cast<Baton*>(kBatonPage);
}

// Hand-offs go through the baton once the tracer enabled it (the process
// has a second thread); the word changes only at a traced event.
bool baton_enabled() {
  return __atomic_load_n(&baton()->enabled, __ATOMIC_ACQUIRE) != 0;
}

bool is_futex_wait(const Args& x) {
  const long cmd = x.a[1] & FUTEX_CMD_MASK;
  return x.nr == SYS_futex && (cmd == FUTEX_WAIT || cmd == FUTEX_WAIT_BITSET);
}

long baton_futex(void* word, long op, long val) {
  Args x = {SYS_futex, {reinterpret_cast<long>(word), op, val, 0, 0, 0}};
  return rwd_baton_syscall(&x);
}

// kBufferArgsChecked: the arguments with which the syscall may be buffered.
bool args_allow(const Args& x, const BufHeader* h) {
  switch (x.nr) {
    case SYS_write:
    case SYS_pwrite64:
    case SYS_writev:
    case SYS_pwritev: {
      const unsigned long fd = static_cast<unsigned long>(x.a[0]);
      if (fd >= kTracedFds) return false;
      const uint8_t bit = static_cast<uint8_t>(1u << (fd % 8));
      return !(h->traced_fds[fd / 8] & bit) &&
             !(baton_enabled() &&
               (__atomic_load_n(&baton()->closed_fds[fd / 8], __ATOMIC_ACQUIRE) & bit));
    }
    case SYS_ioctl:
      return x.a[1] == TCGETS || x.a[1] == FIONREAD;
    case SYS_fcntl:
      return x.a[1] == F_GETFD || x.a[1] == F_SETFD || x.a[1] == F_GETFL || x.a[1] == F_SETFL;
    case SYS_futex: {
      // A wait nearly always sleeps (its caller checked the word just
      // before): with the desched event it would cost two ptrace stops and
      // the event's signal. Buffered, it is a hand-off of the baton, once
      // the process has threads (baton_wait).
      const long cmd = x.a[1] & FUTEX_CMD_MASK;
      return cmd == FUTEX_WAKE || cmd == FUTEX_WAKE_BITSET ||
             ((cmd == FUTEX_WAIT || cmd == FUTEX_WAIT_BITSET) && baton_enabled());
    }
    case SYS_close:  // any fd (the desched event's is not the program's: own_fd)
      return true;
    case SYS_mmap: {
      // Fresh private memory where the kernel likes (abi.h, mmap_arg0),
      // which replay maps again at the recorded address. Executable memory
      // stays traced, for the debugger's breakpoints; file mappings, to be
      // captured into the trace; fixed ones, which may replace anything.
      const uint64_t len = static_cast<uint64_t>(x.a[1]);
      const long flags = x.a[3] & ~(MAP_NORESERVE | MAP_STACK);
      return x.a[0] == 0 && len > 0 && (len + 4095) / 4096 < kMmapMaxPages &&
             (x.a[2] & ~(PROT_READ | PROT_WRITE)) == 0 && flags == (MAP_PRIVATE | MAP_ANONYMOUS);
    }
    case SYS_rt_sigaction:  // replay makes the real changes (replay_makes)
    case SYS_rt_sigprocmask:
      return x.a[3] == 8;
    case SYS_madvise:  // advice that changes no memory replay would see
      return x.a[2] == MADV_NORMAL || x.a[2] == MADV_RANDOM || x.a[2] == MADV_SEQUENTIAL ||
             x.a[2] == MADV_WILLNEED || x.a[2] == MADV_HUGEPAGE || x.a[2] == MADV_NOHUGEPAGE ||
             x.a[2] == MADV_DONTDUMP || x.a[2] == MADV_DODUMP;
  }
  return false;
}

// Record: whether the syscall names an fd that is the library's, not the
// program's: the thread's desched event. Natively the program has no such
// fd, so any use of it fails with EBADF, and the library keeps it (closed,
// or with FD_CLOEXEC or O_ASYNC cleared, it would break the recording). The
// recorder does the same for traced syscalls, with any thread's event
// (core/record/RecordDesched.cc).
bool own_fd(const BufHeader* h, const BufferRule& r, const Args& x) {
  return (r.flags & kFdArg0) && h->desched_fd > 0 && x.a[0] == h->desched_fd - 1;
}

// Record and replay alike, after a close that succeeded: the fd's number may
// name another file from now on, so writes to it go the traced way until the
// recorder has seen what it is, and the record-only fd_known cache forgets
// it. (The recorder does the same for the process's other threads, whose
// headers have their own bits, when it takes this record; the baton's bits
// cover the threads that run before that.)
void fd_closed(BufHeader* h, long fd_arg) {
  const unsigned long fd = static_cast<unsigned long>(fd_arg);
  if (fd >= kTracedFds) return;
  const uint8_t bit = static_cast<uint8_t>(1u << (fd % 8));
  h->traced_fds[fd / 8] |= bit;
  h->fd_known[fd / 8] &= static_cast<uint8_t>(~bit);
  // The other threads hand the baton around before the recorder sees this
  // close (abi.h, Baton::closed_fds).
  if (baton_enabled()) __atomic_fetch_or(&baton()->closed_fds[fd / 8], bit, __ATOMIC_RELEASE);
}

// Record: whether I/O on the fd of this read/write-family call can sleep,
// from an fstat made once per fd (see BufHeader::fd_known).
bool fd_may_block(BufHeader* h, long nr, long fd_arg) {
  switch (nr) {
    case SYS_read:
    case SYS_write:
    case SYS_pread64:
    case SYS_pwrite64:
    case SYS_readv:
    case SYS_writev:
    case SYS_preadv:
    case SYS_pwritev:
      break;
    default:
      return true;
  }
  const unsigned long fd = static_cast<unsigned long>(fd_arg);
  if (fd >= kTracedFds) return true;
  const uint8_t bit = static_cast<uint8_t>(1u << (fd % 8));
  if (!(h->fd_known[fd / 8] & bit)) {
    struct stat st;
    if (untraced(SYS_fstat, static_cast<long>(fd), reinterpret_cast<long>(&st)) != 0) return true;
    const unsigned major =
        static_cast<unsigned>(((st.st_rdev >> 8) & 0xfff) | ((st.st_rdev >> 32) & ~0xfffu));
    const bool never = S_ISREG(st.st_mode) || S_ISBLK(st.st_mode) || S_ISDIR(st.st_mode) ||
                       (S_ISCHR(st.st_mode) && major == 1);  // mem, null, zero, urandom
    if (never)
      h->fd_never_blocks[fd / 8] |= bit;
    else
      h->fd_never_blocks[fd / 8] &= static_cast<uint8_t>(~bit);
    h->fd_known[fd / 8] |= bit;
  }
  return !(h->fd_never_blocks[fd / 8] & bit);
}

// The kernel's struct sigaction (arch/x86/include/asm/signal.h).
struct KernelSigaction {
  uint64_t handler, flags, restorer, mask;
};

// Record: whether an rt_sigaction that sets a disposition changes it.
// posix_spawn's child sets dozens to SIG_DFL, nearly all of them already
// so; replay makes only the real changes (replay_makes).
bool sigaction_changes(const Args& x) {
  const KernelSigaction* act = reinterpret_cast<const KernelSigaction*>(x.a[1]);
  KernelSigaction now = {};
  Args ask = {SYS_rt_sigaction, {x.a[0], 0, reinterpret_cast<long>(&now), 8, 0, 0}};
  // (SA_RESTORER and the restorer matter only to handlers, which are never
  // "unchanged" unless equal; glibc always passes them.)
  constexpr uint64_t kSaRestorer = 0x04000000;
  return !(rwd_untraced_syscall(&ask) == 0 && now.handler == act->handler &&
           (now.flags & ~kSaRestorer) == (act->flags & ~kSaRestorer) && now.mask == act->mask &&
           (act->handler <= 1 || (now.flags == act->flags && now.restorer == act->restorer)));
}

bool may_block(const BufferRule& r, const Args& x) {
  if (!(r.flags & kMayBlock)) return false;
  if (x.nr == SYS_fcntl) return false;  // the locking commands are not buffered
  if (x.nr == SYS_futex) {
    const long cmd = x.a[1] & FUTEX_CMD_MASK;
    return cmd == FUTEX_WAIT || cmd == FUTEX_WAIT_BITSET;
  }
  return true;
}

// The outputs of one syscall, as sys::outputs() finds them; `ret` < 0 asks
// for the most it may write (before the call).
struct Outs {
  uint64_t addr[8];
  uint64_t len[8];
  int n;
  bool too_many;
  void add(uint64_t a, uint64_t l) {
    if (!a || !l) return;
    if (n == 8) {
      too_many = true;
      return;
    }
    addr[n] = a, len[n] = l, ++n;
  }
};

uint64_t rule_size(const OutRule& p, const Args& x, long ret, bool bound) {
  const uint64_t cap = p.size_arg >= 0 ? static_cast<uint64_t>(x.a[p.size_arg]) : ~0ull;
  auto arg32 = [&](int i) { return static_cast<uint64_t>(static_cast<uint32_t>(x.a[i])); };
  switch (p.rule) {
    case kFixed:
      return p.n;
    case kRet:
    case kRetTimes: {
      const uint64_t count = bound     ? cap
                             : ret > 0 ? (static_cast<uint64_t>(ret) < cap ? ret : cap)
                                       : 0;
      return p.rule == kRet ? count : count * p.n;
    }
    case kArg:
      return arg32(p.size_arg);
    case kArgTimes:
      return arg32(p.size_arg) * p.n;
    case kDerefArg: {
      const uint32_t* lenp = reinterpret_cast<const uint32_t*>(x.a[p.size_arg]);
      uint64_t len = lenp ? *lenp : 0;
      return p.n > 0 && len > p.n ? p.n : len;
    }
    case kFdSetBits: {
      const int nfds = static_cast<int>(x.a[p.size_arg]);
      return nfds > 0 ? (static_cast<uint64_t>(nfds) + 63) / 64 * 8 : 0;
    }
  }
  return 0;
}

// `bytes` spread over an iovec array, as the kernel fills them.
void scatter(Outs& o, const iovec* iov, uint64_t cnt, uint64_t bytes) {
  for (uint64_t i = 0; i < cnt && bytes > 0; ++i) {
    const uint64_t n = iov[i].iov_len < bytes ? iov[i].iov_len : bytes;
    o.add(reinterpret_cast<uint64_t>(iov[i].iov_base), n);
    bytes -= n;
  }
}

// Outputs the table's handlers describe, for the buffered syscalls that
// have one: readv/preadv and recvmsg (whole buffers when bounding: writing
// down more than the kernel wrote is harmless), ioctl's two requests.
// Those of poll, futex, fcntl, nanosleep report nothing on success.
void handler_outputs(const Args& x, long ret, bool bound, Outs& o) {
  switch (x.nr) {
    case SYS_readv:
    case SYS_preadv: {
      const iovec* iov = reinterpret_cast<const iovec*>(x.a[1]);
      const uint64_t cnt = static_cast<uint64_t>(x.a[2]);
      if (cnt > 8) {
        o.too_many = true;
        return;
      }
      scatter(o, iov, cnt, bound ? ~0ull : ret > 0 ? static_cast<uint64_t>(ret) : 0);
      return;
    }
    case SYS_recvmsg: {
      msghdr* m = reinterpret_cast<msghdr*>(x.a[1]);
      if (!m || m->msg_iovlen > 6) {
        o.too_many = true;
        return;
      }
      if (!bound && ret < 0) return;
      o.add(reinterpret_cast<uint64_t>(m), sizeof *m);  // namelen, controllen, flags
      o.add(reinterpret_cast<uint64_t>(m->msg_name), m->msg_namelen);
      o.add(reinterpret_cast<uint64_t>(m->msg_control), m->msg_controllen);
      scatter(o, m->msg_iov, m->msg_iovlen, bound ? ~0ull : static_cast<uint64_t>(ret));
      return;
    }
    case SYS_ioctl:
      if (bound || ret >= 0) o.add(static_cast<uint64_t>(x.a[2]), x.a[1] == TCGETS ? 36 : 4);
      return;
  }
}

void outputs(const BufferRule& r, const Args& x, long ret, bool bound, Outs& o) {
  o.n = 0;
  o.too_many = false;
  if (!bound && ret < 0 && ret >= -4095) return;  // nothing written on failure
  for (const OutRule& p : r.outs)
    if (p.arg >= 0) o.add(static_cast<uint64_t>(x.a[p.arg]), rule_size(p, x, ret, bound));
  if (r.has_handler) handler_outputs(x, ret, bound, o);
}

uint64_t record_size(const Outs& o) {
  uint64_t size = sizeof(BufRecord);
  for (int i = 0; i < o.n; ++i) size += sizeof(OutHead) + pad8(o.len[i]);
  return size;
}

// Record: after the syscall, its record at `at`.
uint32_t write_record(char* at, const Args& x, long ret, uint32_t arg0, const Outs& o) {
  BufRecord* rec = reinterpret_cast<BufRecord*>(at);
  char* p = reinterpret_cast<char*>(rec + 1);
  for (int i = 0; i < o.n; ++i) {
    OutHead* h = reinterpret_cast<OutHead*>(p);
    h->addr = o.addr[i];
    h->len = o.len[i];
    copy(h + 1, reinterpret_cast<const void*>(o.addr[i]), o.len[i]);
    p += sizeof(OutHead) + pad8(o.len[i]);
  }
  rec->size = static_cast<uint32_t>(p - at);
  rec->nr = static_cast<uint32_t>(x.nr);
  rec->ret = ret;
  rec->nouts = static_cast<uint32_t>(o.n);
  rec->arg0 = arg0;
  return rec->size;
}

// Record: what BufRecord::arg0 says of this syscall (preload/abi.h).
uint32_t record_arg0(const Args& x, bool sigaction_change) {
  switch (x.nr) {
    case SYS_mmap:
      return mmap_arg0(static_cast<uint64_t>(x.a[1]), x.a[2]);
    case SYS_rt_sigaction:
      return sigaction_change;
  }
  return static_cast<uint32_t>(x.a[0]);
}

// Replay: the record at `at`, or nullptr if it is not this syscall's.
const BufRecord* find_record(const char* at, uint32_t avail, long nr) {
  const BufRecord* rec = reinterpret_cast<const BufRecord*>(at);
  if (avail < sizeof *rec || rec->size > avail || rec->nr != static_cast<uint32_t>(nr))
    return nullptr;
  return rec;
}

// Replay: writes the record's outputs where the kernel wrote them.
void copy_outputs(const BufRecord* rec) {
  const char* p = reinterpret_cast<const char*>(rec + 1);
  for (uint32_t i = 0; i < rec->nouts; ++i) {
    const OutHead* h = reinterpret_cast<const OutHead*>(p);
    copy(reinterpret_cast<void*>(h->addr), h + 1, h->len);
    p += sizeof(OutHead) + pad8(h->len);
  }
}

// Replay: whether this kReplayExecutes syscall changed something in the
// recording that replay must change too (its record is `rec`).
bool replay_makes(const Args& x, const BufRecord* rec) {
  if (rec->ret < 0 && rec->ret >= -4095) return false;
  switch (x.nr) {
    case SYS_mmap:
      return true;
    case SYS_brk:
    case SYS_rt_sigprocmask:
      return x.a[x.nr == SYS_brk ? 0 : 1] != 0;  // not a question
    case SYS_rt_sigaction:
      return rec->arg0 != 0;  // record_arg0: a real change
  }
  return false;
}

// Replay: makes a kReplayExecutes syscall as the recording did, for its
// effect, before the outputs are written (a new action and the old one may
// share memory); the caller checks that it returns what the record says.
// An mmap goes exactly where the recording's went, or fails.
long replay_execute(const Args& x, long recorded) {
  Args y = x;
  if (x.nr == SYS_mmap) y.a[0] = recorded, y.a[3] |= MAP_FIXED_NOREPLACE;
  return rwd_replayed_syscall(&y);
}

// The release count after one more release; never 0, which a record's
// arg0 keeps for a baton taken from the tracer.
uint32_t next_release(uint32_t n) {
  return n + 1 == 0 ? 1 : n + 1;
}

// Record: the program's futex wait as a hand-off. The thread gives the
// baton up (another may take it and run the program meanwhile), sleeps in
// the kernel untraced, and takes the baton back before it returns to the
// program. Its record keeps the release count it took the baton at, or 0
// when the tracer had the baton: the thread then asks for it with
// kSysBatonWait, a traced call (replay's library makes it too).
long record_baton_wait(const BufferRule& rule, const Args& x, BufHeader* h) {
  Baton* b = baton();
  const int32_t me = static_cast<int32_t>(untraced(SYS_gettid));
  b->releases = next_release(b->releases);
  __atomic_store_n(&b->owner, 0, __ATOMIC_SEQ_CST);
  if (__atomic_load_n(&b->waiters, __ATOMIC_SEQ_CST)) baton_futex(&b->owner, FUTEX_WAKE, 1);
  const long ret = rwd_baton_syscall(&x);
  Outs o;
  outputs(rule, x, ret, /*bound=*/false, o);
  for (;;) {
    int32_t owner = __atomic_load_n(&b->owner, __ATOMIC_ACQUIRE);
    if (owner == 0) {
      if (!__atomic_compare_exchange_n(&b->owner, &owner, me, false, __ATOMIC_ACQUIRE,
                                       __ATOMIC_RELAXED))
        continue;
      h->pos += write_record(records(h) + h->pos, x, ret, b->releases, o);
      return ret;
    }
    // (The tracer never gives the baton to a thread in a hand-off, but
    // should it, asking again is harmless.)
    if (owner == kBatonTracer || owner == me) {
      h->pos += write_record(records(h) + h->pos, x, ret, 0, o);
      traced(kSysBatonWait, ret);  // returns once the tracer gave us the baton
      return ret;
    }
    __atomic_fetch_add(&b->waiters, 1, __ATOMIC_SEQ_CST);
    baton_futex(&b->owner, FUTEX_WAIT, owner);
    __atomic_fetch_sub(&b->waiters, 1, __ATOMIC_SEQ_CST);
  }
}

// Replay: the same hand-off, in the recorded order. The thread releases
// as the recording did, then takes the baton when the release count
// reaches its record's; a record taken from the tracer means a
// kSysBatonWait, which the replayer answers at its turn.
//
// The record may not be in the buffer yet: the recorder took it into the
// trace with the first event after the take, which replay may not have
// reached. The thread then waits for the replayer to load it (it stops the
// thread between events, and the wait on `end` restarts to find it
// changed).
long replay_baton_wait(const Args& x, BufHeader* h) {
  Baton* b = baton();
  __atomic_store_n(&b->releases, next_release(b->releases), __ATOMIC_SEQ_CST);
  if (__atomic_load_n(&b->waiters, __ATOMIC_SEQ_CST))
    baton_futex(&b->releases, FUTEX_WAKE, INT32_MAX);  // only one of them goes on
  for (;;) {
    const uint32_t end = __atomic_load_n(&h->end, __ATOMIC_ACQUIRE);
    if (h->pos < end) break;
    baton_futex(&h->end, FUTEX_WAIT, static_cast<long>(end));
  }
  const BufRecord* rec = find_record(records(h) + h->pos, h->end - h->pos, x.nr);
  if (!rec) return traced(kSysFlush, kFlushDiverged, x.nr);
  h->pos += rec->size;
  if (rec->arg0 == 0) {
    traced(kSysBatonWait, rec->ret);
    return rec->ret;
  }
  for (;;) {
    const uint32_t now = __atomic_load_n(&b->releases, __ATOMIC_ACQUIRE);
    if (now == rec->arg0) break;
    __atomic_fetch_add(&b->waiters, 1, __ATOMIC_SEQ_CST);
    baton_futex(&b->releases, FUTEX_WAIT, static_cast<long>(now));
    __atomic_fetch_sub(&b->waiters, 1, __ATOMIC_SEQ_CST);
  }
  return rec->ret;
}

}  // namespace

// From rwd_syscall_entry: one syscall of a patched site.
extern "C" long rwd_buffered_syscall(Args* x) {
  const long nr = x->nr;
  const int ri = nr >= 0 && nr < kMaxNr ? kIndex.at[nr] : -1;
  if (!g_enabled || ri < 0 || tls.initializing || tls.failed) return rwd_traced_syscall(x);
  const BufferRule& rule = kGeneratedRules[ri];
  if (!tls.buf && !init_thread()) return rwd_traced_syscall(x);
  BufHeader* h = tls.buf;
  if ((rule.flags & kArgsChecked) && !args_allow(*x, h)) return rwd_traced_syscall(x);
  if (h->locked) return rwd_traced_syscall(x);       // a signal handler inside a buffered syscall
  if (h->traced_only) return rwd_traced_syscall(x);  // its recorded tracer wants the stops

  Outs o;
  outputs(rule, *x, 0, /*bound=*/true, o);
  const uint64_t need = record_size(o);
  if (o.too_many || need > kMaxRecord) return rwd_traced_syscall(x);
  if (h->pos + need > kCapacity) {
    traced(kSysFlush, kFlushFull);  // the tracer takes the records and empties the buffer
    if (h->pos + need > kCapacity) return rwd_traced_syscall(x);
  }
  const bool blocks = may_block(rule, *x);
  const bool replay = replaying();
  const bool sigaction_change =
      !replay && nr == SYS_rt_sigaction && x->a[1] != 0 && sigaction_changes(*x);

  h->locked = 1;
  long ret = 0;
  if (is_futex_wait(*x)) {  // args_allow: a hand-off of the baton
    ret = replay ? replay_baton_wait(*x, h) : record_baton_wait(rule, *x, h);
    h->locked = 0;
    if (h->want_stop && (!replay || h->pos == h->end)) {
      h->want_stop = 0;
      traced(kSysFlush, kFlushWanted);
    }
    return ret;
  }
  const bool have_record = replay && h->pos < h->end;
  if (have_record) {
    const BufRecord* rec = find_record(records(h) + h->pos, h->end - h->pos, nr);
    if (!rec || ((rule.flags & kReplayExecutes) && replay_makes(*x, rec) &&
                 replay_execute(*x, rec->ret) != rec->ret)) {
      h->locked = 0;
      return traced(kSysFlush, kFlushDiverged, nr);
    }
    copy_outputs(rec);
    ret = rec->ret;
    h->pos += rec->size;
  } else {
    // Record; or replay with no record left, which means the recording
    // handed this syscall to the traced path: the replayer stops it here.
    const int desched = !replay && blocks && fd_may_block(h, nr, x->a[0]) ? desched_fd(h) : -1;
    const bool arm = desched >= 0;
    if (arm) untraced(SYS_ioctl, desched, PERF_EVENT_IOC_ENABLE, 0);
    ret = own_fd(h, rule, *x) ? -EBADF : rwd_untraced_syscall(x);
    if (arm) untraced(SYS_ioctl, desched, PERF_EVENT_IOC_DISABLE, 0);
    if (h->abort_commit || replay) {
      h->abort_commit = 0;  // the tracer recorded it as a traced syscall
    } else {
      outputs(rule, *x, ret, /*bound=*/false, o);
      h->pos += write_record(records(h) + h->pos, *x, ret, record_arg0(*x, sigaction_change), o);
    }
  }
  if (nr == SYS_close && ret == 0) fd_closed(h, x->a[0]);
  h->locked = 0;
  // Replay asks for the stop when the recording made it, after the
  // stretch's last record.
  if (h->want_stop && (!replay || h->pos == h->end)) {
    h->want_stop = 0;
    traced(kSysFlush, kFlushWanted);
  }
  return ret;
}

namespace {

int find_own_text(dl_phdr_info* info, size_t, void* data) {
  PreloadInit* init = static_cast<PreloadInit*>(data);
  const uint64_t me = reinterpret_cast<uint64_t>(&rwd_buffered_syscall);
  for (int i = 0; i < info->dlpi_phnum; ++i) {
    const ElfW(Phdr)& ph = info->dlpi_phdr[i];
    if (ph.p_type != PT_LOAD || !(ph.p_flags & PF_X)) continue;
    const uint64_t start = info->dlpi_addr + ph.p_vaddr;
    if (me >= start && me < start + ph.p_memsz) {
      init->text_start = start;
      init->text_end = start + ph.p_memsz;
      return 1;
    }
  }
  return 0;
}

__attribute__((constructor)) void init_preload() {
  PreloadInit init = {};
  init.entry = reinterpret_cast<uint64_t>(&rwd_syscall_entry);
  dl_iterate_phdr(find_own_text, &init);
  // Outside rewind (or under `record -n`) the kernel or the recorder
  // answers -ENOSYS, and the library stays out of the way.
  if (traced(kSysInitPreload, reinterpret_cast<long>(&init)) != 0) return;
  g_enabled = true;
  // The main thread's buffer now, before the program runs.
  init_thread();
}

}  // namespace
}  // namespace rwd::preload
