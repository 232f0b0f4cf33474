// The recorder's half of the baton (preload/abi.h, docs/syscallbuf.md
// "Hand-offs without the recorder"): threads of one process hand the CPU to
// each other through the library, and the recorder only takes the baton
// when it must run something else.
//
// The recorder shares each such process's baton page (a memfd mapped over
// kBatonPage in the tracee and here), so that it can take a free baton with
// a compare-and-swap while the threads run, and wake the threads asleep on
// it with FUTEX_WAKE on its own mapping (a shared futex: the key is the
// memfd's page, whoever maps it).
#include <linux/futex.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <climits>
#include <cstddef>

#include "core/base/Log.h"
#include "core/record/RecordSession.h"
#include "core/syscalls/SyscallTable.h"
#include "core/task/RemoteSyscall.h"
#include "preload/abi.h"

namespace rwd {

using namespace syscallbuf;

BatonShare::~BatonShare() {
  if (map_) munmap(map_, 4096);
}

namespace {

long futex_wake_all(int32_t* word) {
  return syscall(SYS_futex, word, FUTEX_WAKE, INT_MAX, nullptr, nullptr, 0);
}

}  // namespace

// Whether `holder`, the baton's owner, is a thread other than t that took
// it and runs (or stopped, its stop not yet looked at).
static bool runs_with_baton(const RecTask* holder, const RecTask& t) {
  return holder && holder != &t && holder->resumed_to_user && (holder->running || holder->pending);
}

Baton* RecordSession::baton_of(RecTask& t) {
  auto it = batons_.find(&t.task->as());
  return it == batons_.end() ? nullptr : it->second->get();
}

// The baton page of t's process, shared with us: a memfd made and mapped
// over it by syscalls injected into t, which stands at a syscall-exit stop.
// The fd is ours alone afterwards, so the program's fd numbers stay as they
// were.
Result<std::unique_ptr<BatonShare>> RecordSession::share_baton_page(RecTask& t) {
  Task& task = *t.task;
  AutoRemoteSyscalls remote(task);
  auto name = remote.push_string("rewind-baton");
  if (!name) return name.error();
  auto r = remote.syscall(SYS_memfd_create, *name, MFD_CLOEXEC);
  if (!r) return r.error();
  if (*r < 0) return Error::from_errno("memfd_create in the tracee", int(-*r));
  const int64_t fd = *r;
  auto sized = remote.syscall(SYS_ftruncate, fd, 4096);
  auto mapped = sized && *sized == 0
                    ? remote.syscall(SYS_mmap, kBatonPage, 4096, PROT_READ | PROT_WRITE,
                                     MAP_SHARED | MAP_FIXED, static_cast<uint64_t>(fd), 0)
                    : sized;
  ScopedFd own = steal_tracee_fd(t.tgid, static_cast<int>(fd));
  (void)remote.syscall(SYS_close, fd);
  if (!mapped) return mapped.error();
  if (static_cast<uint64_t>(*mapped) != kBatonPage || !own.is_open())
    return Error{"cannot share the baton page with tid " + std::to_string(task.real_tid())};
  void* map = mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, own.get(), 0);
  if (map == MAP_FAILED) return Error::from_errno("mmap of a tracee's baton page");
  return std::make_unique<BatonShare>(task.shared_as(), std::move(own), map);
}

// At the exit of a clone that made a process's second thread: from now on
// its futex waits hand the baton over, through a page shared with us.
// `enabled` and `releases` are memory writes of the event, for replay's
// library (its page stays private).
Result<void> RecordSession::maybe_enable_baton(RecTask& t, int64_t ret, trace::Event& e) {
  if (!buffering_ || batons_refused_ || !t.syscallbuf || ret <= 0 || batons_.count(&t.task->as()))
    return ok_result();
  if (!(clone_flags(t, 0) & CLONE_THREAD)) return ok_result();
  Task& task = *t.task;
  auto share = share_baton_page(t);
  if (!share) {
    // (A sandbox without memfd_create, say.) Hand-offs then go through the
    // recorder, as with `record -n`: slower, as correct.
    warn("threads hand the CPU to each other through the recorder: %s",
         share.error().message.c_str());
    batons_refused_ = true;
    return ok_result();
  }
  batons_[&task.as()] = std::move(*share);
  Baton* b = baton_of(t);
  b->owner = task.real_tid();  // it runs on from this exit
  b->releases = 0;
  __atomic_store_n(&b->enabled, 1u, __ATOMIC_RELEASE);
  const uint64_t at = kBatonPage + offsetof(Baton, releases);
  const uint32_t words[2] = {0, 1};  // releases, enabled
  static_assert(offsetof(Baton, enabled) == offsetof(Baton, releases) + 4);
  e.writes.push_back(trace::MemWrite{
      at, std::vector<uint8_t>(reinterpret_cast<const uint8_t*>(words),
                               reinterpret_cast<const uint8_t*>(words) + sizeof words)});
  REWIND_LOG(Record, "tid %d has threads: hand-offs go through the baton", task.real_tid());
  return ok_result();
}

// A fork's child inherited the parent's shared baton page: it gets a
// private page of zeros (baton disabled: it has one thread) before it runs.
// Replay's replayer does the same to its copy (a fork child's baton is
// disabled).
Result<void> RecordSession::reset_fork_baton(RecTask& t) {
  t.baton_reset_pending = false;
  AutoRemoteSyscalls remote(*t.task);
  auto r = remote.syscall(SYS_mmap, kBatonPage, 4096, PROT_READ | PROT_WRITE,
                          MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, static_cast<uint64_t>(-1), 0);
  if (!r) return r.error();
  if (static_cast<uint64_t>(*r) != kBatonPage)
    return Error{"cannot give fork child " + std::to_string(t.task->real_tid()) +
                 " a baton page of its own"};
  return ok_result();
}

// Before a task runs the program's code: it holds the baton. The baton was
// the tracer's, or this task's, or a stopped task's: a thread that runs
// holds it until it stops for us or releases it.
//
// Not to a thread resumed in the middle of a hand-off (a signal found it
// asleep there) while the baton is free or another thread runs with it: it
// goes on waiting for its turn.
//
// Replay must know from where the task runs the program's code with the
// others: a BatonGive event says so, unless the task runs on unseen since
// its last one (it stopped for us without an event, a signal held back).
Result<void> RecordSession::give_baton(RecTask& t) {
  Baton* b = baton_of(t);
  // (Nor to one on its way out: past its exit event it runs no more code.)
  if (!b || t.stopped_in_handoff || t.exit_recorded) return ok_result();
  const int32_t me = t.task->real_tid();
  int32_t owner = __atomic_load_n(&b->owner, __ATOMIC_SEQ_CST);
  for (;;) {
    if (owner == me) break;
    if (owner == 0 || (owner != kBatonTracer && runs_with_baton(find(owner), t))) {
      // Only a thread resumed in a hand-off may meet the baton in use.
      REWIND_LOG(Sched, "tid %d resumed while tid %d has the baton", me, owner);
      return ok_result();
    }
    if (__atomic_compare_exchange_n(&b->owner, &owner, me, false, __ATOMIC_SEQ_CST,
                                    __ATOMIC_SEQ_CST))
      break;
  }
  // (Nor while a held-back signal is on its way, nor at the exit of a
  // syscall the kernel restarts or interrupts for a signal: a stop, an
  // event, comes before any instruction; the give follows that.)
  if (t.given_since_event || t.redelivering_sig) return ok_result();
  trace::Event e;
  e.num = next_event();
  e.tid = t.task->rec_tid();
  e.kind = trace::EventKind::BatonGive;
  e.baton_releases = __atomic_load_n(&b->releases, __ATOMIC_SEQ_CST);
  auto regs = t.task->get_regs();
  if (!regs && regs.error().errnum == ESRCH) return ok_result();  // killed: it will not run
  if (!regs) return regs.error();
  if (t.at_exit_point && sys::is_restart(static_cast<int64_t>(regs->rax))) return ok_result();
  e.regs = *regs;
  REWIND_TRY(write_event(e));
  t.given_since_event = true;
  return ok_result();
}

// The task that ran stops running for now (it sleeps in a traced syscall,
// is preempted, exits): the tracer takes the baton, and the threads asleep
// waiting for it come to us (kSysBatonWait), to be scheduled like any task.
void RecordSession::close_baton(RecTask& t) {
  Baton* b = baton_of(t);
  if (!b) return;
  int32_t owner = __atomic_load_n(&b->owner, __ATOMIC_SEQ_CST);
  for (;;) {
    if (owner == kBatonTracer) break;
    // A thread that took it since and runs: nothing to close.
    if (owner != 0 && runs_with_baton(find(owner), t)) return;
    if (__atomic_compare_exchange_n(&b->owner, &owner, kBatonTracer, false, __ATOMIC_SEQ_CST,
                                    __ATOMIC_SEQ_CST))
      break;
  }
  if (__atomic_load_n(&b->waiters, __ATOMIC_SEQ_CST)) futex_wake_all(&b->owner);
}

// The task we resumed gave the baton up and no thread has it: if anything
// else waits to run, take it (atomically: a thread that wakes may take it at
// the same moment). True if taken.
bool RecordSession::close_idle_pool(RecTask& t) {
  Baton* b = baton_of(t);
  if (!b) return false;
  int32_t expected = 0;
  if (!__atomic_compare_exchange_n(&b->owner, &expected, kBatonTracer, false, __ATOMIC_SEQ_CST,
                                   __ATOMIC_SEQ_CST))
    return false;
  if (__atomic_load_n(&b->waiters, __ATOMIC_SEQ_CST)) futex_wake_all(&b->owner);
  return true;
}

// The task of t's process that holds the baton and runs, if any (0: free,
// or none runs).
RecTask* RecordSession::baton_holder(RecTask& t) {
  Baton* b = baton_of(t);
  if (!b) return nullptr;
  const int32_t owner = __atomic_load_n(&b->owner, __ATOMIC_SEQ_CST);
  if (owner <= 0) return nullptr;
  return find(owner);
}

// A signal held back for a thread asleep in the program's futex wait of a
// hand-off: the wait ends now, as a spurious wakeup (futex(2) allows them,
// and the program's loop checks its condition again), so that the thread
// takes the baton and stops for us (the library's kFlushWanted) where the
// signal can be delivered; a handler the wait depends on (a sem_post) then
// runs as it would have. Its wait on the baton itself just restarts.
Result<void> RecordSession::end_handoff_wait(RecTask& t, const user_regs_struct& regs) {
  if (regs.rip != kBatonSyscallInsn + 2 || static_cast<int64_t>(regs.orig_rax) != SYS_futex ||
      regs.rdi == kBatonPage + offsetof(Baton, owner))
    return ok_result();
  const int64_t ret = static_cast<int64_t>(regs.rax);
  if (!sys::is_restart(ret) && ret != -EINTR) return ok_result();
  user_regs_struct r = regs;
  r.rax = 0;
  return t.task->set_regs(r);
}

// The threads of the current task's process hand the baton around: the
// one that holds it is the one whose stop matters, and the one the
// timeslice preempts. Stops of the others (a signal in a hand-off, an ask
// for the baton) wait until nobody runs with it, so that every event is
// written while no thread of the process runs: replay runs the others
// toward an event only as far as the records taken with it go. When the
// baton is free and something else waits to run, the recorder takes it.
RecordSession::BatonNext RecordSession::follow_baton(RecTask& t) {
  Baton* b = baton_of(t);
  const int32_t owner = __atomic_load_n(&b->owner, __ATOMIC_SEQ_CST);
  BatonNext next;
  if (owner == kBatonTracer) {
    next.leave = true;
  } else if (owner > 0) {
    RecTask* holder = find(owner);
    if (holder && holder->pending && holder->resumed_to_user)
      next.switch_to = holder;
    else
      next.runner = holder;
  } else if (others_waiting(t) && close_idle_pool(t)) {
    REWIND_LOG(Sched, "the threads of tid %d all sleep: switching", t.task->real_tid());
    next.leave = true;
  }
  return next;
}

// Whether threads of t's process are asleep waiting for the baton (a
// hand-off's take found it held): natively they would run beside it.
bool RecordSession::baton_wanted(RecTask& t) {
  Baton* b = baton_of(t);
  return b && __atomic_load_n(&b->waiters, __ATOMIC_SEQ_CST) > 0;
}

// At a signal's stop: the task ran the program's code, yet does not hold
// the baton, so the signal found it in a hand-off.
bool RecordSession::in_handoff(RecTask& t) {
  Baton* b = baton_of(t);
  return b && t.resumed_to_user &&
         __atomic_load_n(&b->owner, __ATOMIC_SEQ_CST) != t.task->real_tid();
}

// Drops the shares of address spaces no task uses any more (exits, execs).
void RecordSession::forget_dead_batons() {
  for (auto it = batons_.begin(); it != batons_.end();)
    it = it->second->orphaned() ? batons_.erase(it) : std::next(it);
}

}  // namespace rwd
