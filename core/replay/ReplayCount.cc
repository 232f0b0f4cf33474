// Counted breakpoints, stops at a hit count or at a state, and interrupts
// inside long event-free stretches: the session's half of CountedSites.h.
//
// The counts live in the tracee (a counter word per process) where an
// address can be patched, and in the tracer (`base`) for addresses counted
// by an int3. After every stop the tracer reads the counter and gives its
// growth since the last stop to the thread that ran: replay runs one
// thread of a process at a time.
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <blake2.h>

#include <cstddef>
#include <cstring>

#include "core/base/Log.h"
#include "core/replay/CountedSites.h"
#include "core/replay/ReplaySession.h"
#include "core/task/InflightWrites.h"
#include "core/task/StateHash.h"
#include "preload/abi.h"

namespace rwd {

using target::StopKind;

// Where no stub page may go: every range the recording maps at any time,
// and some way past each (a brk heap grows from the end of data the
// program mapped, with no mapping record; candidate_pages() also keeps
// clear of the live heap's gap).
std::vector<std::pair<uint64_t, uint64_t>> ReplaySession::stub_reserved() const {
  std::vector<std::pair<uint64_t, uint64_t>> reserved;
  constexpr uint64_t kGrowth = uint64_t{64} << 20;
  for (const auto& [event, m] : mappings_) reserved.emplace_back(m->start, m->end + kGrowth);
  return reserved;
}

std::unique_ptr<ReplaySession::CountedProcess> ReplaySession::new_counted_process() const {
  auto cp = std::make_unique<CountedProcess>();
  cp->sites.set_reserved(stub_reserved());
  return cp;
}

ReplaySession::CountedProcess* ReplaySession::counted_of(const RepTask& t) {
  auto it = counted_.find(t.rec_tgid.value);
  return it == counted_.end() ? nullptr : it->second.get();
}

Result<void> ReplaySession::set_counted_breakpoints(Tid rec_tgid, const std::set<uint64_t>& addrs,
                                                    const std::set<uint64_t>& patch_only) {
  std::unique_ptr<CountedProcess>& cp = counted_[rec_tgid.value];
  if (!cp) cp = new_counted_process();
  std::vector<RepTask*> tasks = tasks_of(rec_tgid);
  if (!tasks.empty() && cp->as.lock() == tasks.front()->task->shared_as()) {
    Task& task = *tasks.front()->task;
    for (uint64_t a : cp->wanted) {
      if (addrs.count(a)) continue;
      if (cp->int3s.erase(a)) REWIND_TRY(task.as().remove_breakpoint(a));
      if (cp->sites.patched(a) && a != cp->state_site) REWIND_TRY(cp->sites.unpatch(task, a));
    }
  }
  cp->wanted = addrs;
  cp->patch_only = patch_only;
  cp->skipped.clear();
  cp->base = cp->seen = 0;
  if (!tasks.empty() && cp->as.lock() == tasks.front()->task->shared_as())
    REWIND_TRY(cp->sites.set_counter(*tasks.front()->task, 0));
  cp->placed = false;
  for (RepTask* t : tasks) counted_by_thread_[t->task->rec_tid().value] = 0;
  return ok_result();
}

uint64_t ReplaySession::counted_hits(Tid rec_tgid) const {
  auto it = counted_.find(rec_tgid.value);
  if (it == counted_.end()) return 0;
  return it->second->base + it->second->seen;
}

uint64_t ReplaySession::counted_hits_of(Tid rec_tid) const {
  auto it = counted_by_thread_.find(rec_tid.value);
  return it == counted_by_thread_.end() ? 0 : it->second;
}

std::pair<size_t, size_t> ReplaySession::counted_placement(Tid rec_tgid) const {
  auto it = counted_.find(rec_tgid.value);
  if (it == counted_.end()) return {0, 0};
  size_t patched = 0;
  for (uint64_t a : it->second->wanted) patched += it->second->sites.counts(a);
  return {patched, it->second->int3s.size()};
}

std::pair<std::set<uint64_t>, std::set<uint64_t>> ReplaySession::counted_wanted(
    Tid rec_tgid) const {
  auto it = counted_.find(rec_tgid.value);
  if (it == counted_.end()) return {};
  return {it->second->wanted, it->second->patch_only};
}

std::vector<uint64_t> ReplaySession::block_starts_around(Tid rec_tid, uint64_t pc) {
  RepTask* t = find(rec_tid);
  if (!t) return {};
  return CountedSites::block_starts_around(*t->task, pc);
}

// After a stop: the counter's growth since the last one is the thread's.
Result<void> ReplaySession::note_counted(RepTask& t) {
  CountedProcess* cp = counted_of(t);
  if (!cp || cp->sites.empty()) return ok_result();
  if (cp->as.lock() != t.task->shared_as()) return ok_result();  // execve: see sync_counted
  auto c = cp->sites.counter(*t.task);
  if (!c) return ok_result();  // dying; its hits were seen at its last stop
  const uint64_t delta = *c - cp->seen;
  cp->seen = *c;
  counted_by_thread_[t.task->rec_tid().value] += delta;
  return ok_result();
}

// Before the task runs: puts the wanted patches and int3s in place and arms
// the countdown for stop_at_hit.
Result<void> ReplaySession::sync_counted(RepTask& t) {
  const bool state_here = control_ && control_->stop_at_state &&
                          find(control_->stop_at_state->tid) &&
                          find(control_->stop_at_state->tid)->rec_tgid == t.rec_tgid;
  CountedProcess* cp = counted_of(t);
  if (!cp && !state_here) return ok_result();
  if (!cp) {
    counted_[t.rec_tgid.value] = new_counted_process();
    cp = counted_of(t);
  }
  Task& task = *t.task;
  if (cp->as.lock() != task.shared_as()) {
    // A new address space (execve): nothing of the old patches is left.
    cp->base += cp->seen;
    cp->seen = 0;
    cp->int3s.clear();
    cp->state_site = cp->state_for = 0;
    cp->sites.forget();
    cp->as = task.shared_as();
    cp->placed = false;
    cp->countdown_clear = true;
  }
  // Mapping a stub page needs a stop where syscalls can be injected; from a
  // syscall-entry stop the task runs no user code before its exit stop.
  // (Nor with a signal to deliver: the injection would discard it.)
  const bool injectable = !t.in_syscall && !t.initial_stop_pending && !t.inject_sig;
  const uint64_t state_pc = state_here ? control_->stop_at_state->regs.rip : 0;
  if (!cp->placed && cp->sites.drop_overwritten(task) > 0) {
    REWIND_LOG(Replay, "counted sites overwritten by a mapping: placing them again");
    // The state's check may have gone with them: a library's first
    // mapping (ld.so maps the whole file read-only, then the text over
    // it) took the patch, and the state, if not placed again below, was
    // run past ("did not come back to event N").
    if (cp->state_for && !cp->sites.patched(cp->state_site)) {
      REWIND_LOG(Replay, "the state's check at 0x%llx went with them",
                 (unsigned long long)cp->state_for);
      cp->state_site = cp->state_for = 0;
    }
  }
  if (!cp->placed && injectable) {
    std::vector<uint64_t> pcs;
    for (RepTask* s : tasks_of(t.rec_tgid)) {
      if (s->running) continue;
      auto r = s->task->get_regs();
      if (r) pcs.push_back(r->rip);
    }
    // A patch_only site is a landmark worth having only where it costs
    // nothing: its jmp may not cover an address that must be counted or
    // the state's pc (a call after a short line start, in a loop), which
    // would then need an int3 per iteration. Those count as pcs it avoids.
    std::vector<uint64_t> must = pcs;
    for (uint64_t a : cp->wanted)
      if (!cp->patch_only.count(a)) must.push_back(a);
    if (state_pc) must.push_back(state_pc);
    bool all = true;
    // An int3 inside the bytes a patch covers would cut into its jmp: the
    // patch gives way to an int3 of its own first (a patch_only site to
    // nothing).
    auto add_int3 = [&](uint64_t a) -> Result<bool> {
      if (auto site = cp->sites.covering(a)) {
        REWIND_TRY(unpatch_covering(t, a));
        if (cp->patch_only.count(*site) && *site != state_pc)
          cp->skipped.insert(*site);
        else if (cp->wanted.count(*site) && task.as().add_breakpoint(*site))
          cp->int3s.insert(*site);
      }
      return static_cast<bool>(task.as().add_breakpoint(a));
    };
    for (uint64_t a : cp->wanted) {
      if (cp->int3s.count(a) || cp->skipped.count(a) || (cp->sites.counts(a) && a != state_pc))
        continue;
      // (Not even at the state's pc: the state alone is checked after the
      // instructions before it, in a stub, below.)
      const bool may_int3 = !cp->patch_only.count(a);
      if (cp->no_patch.count(a) && !may_int3) {
        cp->skipped.insert(a);
        continue;
      }
      if (cp->no_patch.count(a)) {
        auto added = add_int3(a);
        if (!added) return added.error();
        if (*added)
          cp->int3s.insert(a);
        else
          all = false;
        continue;
      }
      std::optional<user_regs_struct> state;
      if (a == state_pc) state = control_->stop_at_state->regs;
      auto p = cp->sites.patch(task, a, true, state, may_int3 ? pcs : must);
      if (!p) return p.error();
      if (*p) {
        if (a == state_pc) cp->state_site = cp->state_for = a;
        continue;
      }
      if (!may_int3) {
        cp->skipped.insert(a);
        continue;
      }
      auto added = add_int3(a);
      if (!added) return added.error();
      if (*added)
        cp->int3s.insert(a);
      else
        all = false;  // not mapped yet: after the next mmap
    }
    if (state_pc && cp->state_for != state_pc && !cp->int3s.count(state_pc) && !state_int3_) {
      const user_regs_struct& want = control_->stop_at_state->regs;
      // The stubs compare every register: one that must ignore rcx and
      // r11 (a position before a syscall, whose pc no jmp fits anyway)
      // is checked by the tracer.
      const bool stub_can = !control_->stop_at_state->ignore_rcx_r11;
      Result<bool> p = stub_can ? cp->sites.patch(task, state_pc, false, want, pcs) : false;
      if (!p) return p.error();
      uint64_t site = *p ? state_pc : 0;
      if (!site && stub_can && cp->sites.covering(state_pc)) {
        // Under a counting patch's jmp: that stub checks it.
        auto in = cp->sites.add_inner_state(task, state_pc, want);
        if (!in) return in.error();
        if (*in) site = **in;
      }
      if (!site && stub_can && (!cp->wanted.count(state_pc) || cp->skipped.count(state_pc))) {
        // No jmp fits at the pc: check the state after the instructions
        // before it, still in the tracee (an int3 would stop every
        // iteration of the loop it may stand in).
        auto q = cp->sites.patch_state_before(task, state_pc, want, pcs, cp->no_patch);
        if (!q) return q.error();
        if (*q) site = **q;
        if (!site) {
          // Or a jmp a little before it that covers it, checked inside.
          auto in = cp->sites.patch_state_inside(task, state_pc, want, pcs, cp->no_patch);
          if (!in) return in.error();
          if (*in) site = **in;
        }
      }
      bool added = false;
      if (!site) {
        auto a = add_int3(state_pc);
        if (!a) return a.error();
        added = *a;
      }
      if (site) {
        cp->state_site = site;
        cp->state_for = state_pc;
      } else if (added) {
        state_int3_ = state_pc;
      } else {
        all = false;
      }
    }
    cp->placed = all;
  } else if (!cp->placed && !t.in_syscall && t.inject_sig) {
    // It runs a signal handler next, and no page can be mapped now: an
    // int3 for each address not patched yet, for good.
    for (uint64_t a : cp->wanted)
      if (!cp->int3s.count(a) && !cp->sites.counts(a) && !cp->patch_only.count(a) &&
          task.as().add_breakpoint(a))
        cp->int3s.insert(a);
    // The state too: the handler may be where it lies.
    if (state_pc && cp->state_for != state_pc && !cp->int3s.count(state_pc) && !state_int3_ &&
        !cp->sites.covering(state_pc) && task.as().add_breakpoint(state_pc))
      state_int3_ = state_pc;
  }
  if (cp->sites.empty()) return ok_result();
  uint64_t countdown = CountedSites::kNoStop;
  if (control_ && control_->stop_at_hit) {
    // Threads of the pool may have counted since the last stop read the
    // counter: a countdown from a stale count would run past the hit.
    if (!control_->stop_at_hit->thread) REWIND_TRY(note_counted(t));
    const RunControl::HitTarget& h = *control_->stop_at_hit;
    uint64_t now = UINT64_MAX;
    if (h.thread && *h.thread == task.rec_tid())
      now = counted_hits_of(task.rec_tid());
    else if (!h.thread && t.rec_tgid == control_->debuggee)
      now = cp->base + cp->seen;
    if (now < h.n) countdown = h.n - now;
  }
  if (countdown != CountedSites::kNoStop || !cp->countdown_clear) {
    REWIND_TRY(cp->sites.set_countdown(task, countdown));
    cp->countdown_clear = countdown == CountedSites::kNoStop;
  }
  return ok_result();
}

bool ReplaySession::hit_target_reached(const RepTask& t) const {
  if (!control_ || !control_->stop_at_hit) return false;
  const RunControl::HitTarget& h = *control_->stop_at_hit;
  if (h.thread) return *h.thread == t.task->rec_tid() && counted_hits_of(*h.thread) == h.n;
  return t.rec_tgid == control_->debuggee && counted_hits(t.rec_tgid) == h.n;
}

// Replay fills a buffer ahead of the library, and a pool thread stopped
// between events may have read one record more or less of its own (or be
// at another spot of the library's stack) from one run to the next: none of
// that is the program's state, so two runs that reach the same point must
// hash it alike. The position's own thread is different: within a stretch,
// how many records it has read is part of where it is (a loop around a
// buffered syscall that writes nothing would otherwise look the same in
// every iteration).
Result<std::array<uint8_t, 32>> ReplaySession::position_hash(RepTask& t) {
  auto mem = hash_task_state(*t.task, syscall_buffers(tasks_, t));
  if (!mem || !t.syscallbuf) return mem;
  uint32_t pos = 0;
  REWIND_TRY(t.task->as().read(RemotePtr(t.syscallbuf + offsetof(syscallbuf::BufHeader, pos)), &pos,
                               sizeof pos));
  std::array<uint8_t, 32> out{};
  blake2b_state st;
  blake2b_init(&st, out.size());
  blake2b_update(&st, mem->data(), mem->size());
  blake2b_update(&st, reinterpret_cast<const uint8_t*>(&pos), sizeof pos);
  blake2b_final(&st, out.data(), out.size());
  return out;
}

Result<bool> ReplaySession::at_state(RepTask& t) {
  if (!control_ || !control_->stop_at_state) return false;
  const RunControl::StateTarget& s = *control_->stop_at_state;
  if (t.task->rec_tid() != s.tid) return false;
  ++tracer_state_compares_;
  auto regs = t.task->get_regs();
  if (!regs) return regs.error();
  user_regs_struct want = s.regs;
  if (s.ignore_rcx_r11) {
    want.rcx = regs->rcx;
    want.r11 = regs->r11;
  }
  if (!same_user_registers(*regs, want)) {
    if (log_enabled(LogCategory::Replay)) {
      const auto* a = reinterpret_cast<const unsigned long long*>(&*regs);
      const auto* b = reinterpret_cast<const unsigned long long*>(&want);
      for (size_t i = 0; i < sizeof want / sizeof *a; ++i)
        if (a[i] != b[i])
          REWIND_LOG(Replay, "state at 0x%llx: register slot %zu is 0x%llx, want 0x%llx", want.rip,
                     i, a[i], b[i]);
    }
    return false;
  }
  if (!s.mem_hash) return true;
  auto hash = position_hash(t);
  if (!hash) return hash.error();
  if (*hash != *s.mem_hash) REWIND_LOG(Replay, "state at 0x%llx: memory differs", want.rip);
  return *hash == *s.mem_hash;
}

// A SIGTRAP of the task: one of the stubs' int3s, or an int3 that counts or
// looks for the state. nullopt: not ours.
Result<std::optional<ReplaySession::Trap>> ReplaySession::on_count_trap(
    RepTask& t, const user_regs_struct& regs) {
  CountedProcess* cp = counted_of(t);
  if (!cp || cp->as.lock() != t.task->shared_as()) return std::optional<Trap>();
  Task& task = *t.task;
  DebugStop stop;
  stop.tid = task.rec_tid();
  auto put_at = [&](uint64_t pc) {
    user_regs_struct r = regs;
    r.rip = pc;
    return task.set_regs(r);
  };
  if (auto trap = cp->sites.trap_at(regs.rip)) {
    REWIND_TRY(put_at(trap->at));
    if (trap->kind == CountedSites::TrapKind::State) {
      auto here = at_state(t);
      if (!here) return here.error();
      const bool inner = cp->sites.covering(trap->at) == trap->site;
      if (*here) {
        // (After a state-after site the task stands past it, at a pc no
        // patch covers: nothing of a stub is left to skip. At a state
        // inside the covered bytes it stands under the jmp, which goes.)
        if (trap->at == trap->site) t.state_arrived = trap->site;
        if (inner) REWIND_TRY(unpatch_covering(t, trap->at, /*found=*/true));
        stop.kind = StopKind::Interrupted;
        stop.signo = 0;
        stop.why = DebugStop::Why::AtState;
        return std::optional<Trap>(Trap{TrapAction::Stop, stop});
      }
      if (trap->at == trap->site) REWIND_TRY(put_at(cp->sites.count_entry(trap->site)));
      if (inner) REWIND_TRY(put_at(regs.rip));  // the rest of the relocated code
      return std::optional<Trap>(Trap{TrapAction::Continue, {}});
    }
    if (hit_target_reached(t)) {
      t.count_arrived = trap->site;
      stop.kind = StopKind::Breakpoint;
      stop.why = DebugStop::Why::AtHit;
      return std::optional<Trap>(Trap{TrapAction::Stop, stop});
    }
    // A countdown left from another target: go on.
    REWIND_TRY(put_at(cp->sites.displaced(trap->site)));
    return std::optional<Trap>(Trap{TrapAction::Continue, {}});
  }
  const uint64_t a = regs.rip - 1;
  const bool state_int3 =
      state_int3_ == a || (cp->int3s.count(a) && control_ && control_->stop_at_state &&
                           control_->stop_at_state->regs.rip == a);
  if (!task.as().has_breakpoint(a) || (!state_int3 && !cp->int3s.count(a)))
    return std::optional<Trap>();
  REWIND_TRY(put_at(a));
  t.stopped_at_bp = a;
  if (state_int3) {
    auto here = at_state(t);
    if (!here) return here.error();
    if (*here) {
      t.state_arrived = a;  // counted when it goes on (resume_task)
      stop.kind = StopKind::Interrupted;
      stop.signo = 0;
      stop.why = DebugStop::Why::AtState;
      return std::optional<Trap>(Trap{TrapAction::Stop, stop});
    }
  }
  if (cp->int3s.count(a)) {
    ++cp->base;
    ++counted_by_thread_[task.rec_tid().value];
    if (hit_target_reached(t)) {
      stop.kind = StopKind::Breakpoint;
      stop.why = DebugStop::Why::AtHit;
      return std::optional<Trap>(Trap{TrapAction::Stop, stop});
    }
  }
  auto user = wanted_bps_.find(t.rec_tgid.value);
  if (user != wanted_bps_.end() && user->second.count(a)) {
    stop.kind = StopKind::Breakpoint;
    return std::optional<Trap>(Trap{TrapAction::Stop, stop});
  }
  return std::optional<Trap>(Trap{TrapAction::Continue, {}});
}

// Takes stop_at_state's check out of the stubs and int3s when run() returns.
Result<void> ReplaySession::clear_state_target() {
  if (!control_ || !control_->stop_at_state) return ok_result();
  RepTask* t = find(control_->stop_at_state->tid);
  const uint64_t pc = control_->stop_at_state->regs.rip;
  if (!t) {
    state_int3_ = 0;
    return ok_result();
  }
  Task& task = *t->task;
  if (state_int3_) {
    (void)task.as().remove_breakpoint(state_int3_);
    state_int3_ = 0;
  }
  CountedProcess* cp = counted_of(*t);
  if (!cp || cp->state_for != pc || cp->as.lock() != task.shared_as()) return ok_result();
  const uint64_t site = std::exchange(cp->state_site, 0);
  cp->state_for = 0;
  if (cp->wanted.count(site) && (site == pc || cp->sites.counts(site))) {
    // Still counted, without the check (at its start, or inside).
    auto p = cp->sites.patch(task, site, true, std::nullopt, {});
    if (!p) return p.error();
  } else {
    REWIND_TRY(cp->sites.unpatch(task, site));
  }
  return ok_result();
}

bool ReplaySession::in_any_stub(const RepTask& t, uint64_t rip) {
  const uint64_t preempt = t.task->as().preempt_stub_page;
  if (preempt && rip >= preempt && rip < preempt + 4096) return true;
  CountedProcess* cp = counted_of(t);
  return cp && cp->sites.in_stub(rip);
}

// A preemption point inside the bytes a patch covers: no thread could stand
// there with the patch in place, so that address is counted by an int3.
Result<void> ReplaySession::unpatch_covering(RepTask& t, uint64_t pc, bool found) {
  CountedProcess* cp = counted_of(t);
  if (!cp || cp->as.lock() != t.task->shared_as()) return ok_result();
  auto site = cp->sites.covering(pc);
  if (!site) return ok_result();
  REWIND_LOG(Replay,
             found ? "patched site 0x%llx gives way to the state found at 0x%llx"
                   : "counted site 0x%llx covers preemption point 0x%llx: an int3 instead",
             static_cast<unsigned long long>(*site), static_cast<unsigned long long>(pc));
  if (cp->state_site == *site) cp->state_site = cp->state_for = 0;
  REWIND_TRY(cp->sites.unpatch(*t.task, *site));
  cp->no_patch.insert(*site);
  cp->placed = false;
  return ok_result();
}

// The preload library's start writes jmps over libc's syscall sites: a
// counting patch placed on the old code (a breakpoint counted from the
// start of the trace) is gone, and the bytes it saved are stale, which
// unpatching would write back over the library's jmp. Forget it; it is
// placed again on the new code before the task runs.
Result<void> ReplaySession::drop_overwritten_patches(RepTask& t) {
  CountedProcess* cp = counted_of(t);
  if (!cp || cp->sites.empty() || cp->as.lock() != t.task->shared_as()) return ok_result();
  if (cp->sites.drop_overwritten(*t.task) > 0) {
    REWIND_LOG(Replay, "counted sites overwritten by a recorded write: placing them again");
    cp->placed = false;
  }
  return ok_result();
}

void ReplaySession::unplace_counted(const RepTask& t) {
  if (CountedProcess* cp = counted_of(t)) cp->placed = false;
}

// Before resuming a task that stands at a patched site: past the parts of
// its stub already done (the count after a stop at a hit, the state check
// after a stop at the state). A debugger's single-step instead runs the
// program's own instruction, with the patch lifted, and the arrival is
// counted here.
Result<void> ReplaySession::leave_counted_site(RepTask& t, user_regs_struct& regs, bool user_step) {
  const uint64_t count_arrived = std::exchange(t.count_arrived, 0);
  const uint64_t state_arrived = std::exchange(t.state_arrived, 0);
  CountedProcess* cp = counted_of(t);
  if (!cp || cp->as.lock() != t.task->shared_as()) return ok_result();
  Task& task = *t.task;
  const uint64_t pc = regs.rip;
  if (state_arrived == pc && cp->int3s.count(pc) && t.stopped_at_bp == pc) {
    // Stopped at the state by an int3 that also counts: stepping over it
    // skips the count.
    ++cp->base;
    ++counted_by_thread_[task.rec_tid().value];
    return ok_result();
  }
  if (!cp->sites.patched(pc)) return ok_result();
  if (user_step) {
    auto orig = task.as().code_patches.find(pc);
    if (orig == task.as().code_patches.end()) return ok_result();
    REWIND_TRY(task.write_mem(RemotePtr(pc), orig->second.data(), orig->second.size()));
    t.lifted_patch = pc;
    if (count_arrived != pc && cp->sites.counts(pc)) {
      ++cp->base;
      ++counted_by_thread_[task.rec_tid().value];
    }
    return ok_result();
  }
  if (count_arrived == pc)
    regs.rip = cp->sites.displaced(pc);
  else if (state_arrived == pc)
    regs.rip = cp->sites.count_entry(pc);
  else
    return ok_result();
  return task.set_regs(regs);
}

Result<void> ReplaySession::relay_patch(RepTask& t) {
  const uint64_t pc = std::exchange(t.lifted_patch, 0);
  CountedProcess* cp = counted_of(t);
  if (!pc || !cp || !cp->sites.patched(pc)) return ok_result();
  uint8_t jmp[5] = {0xe9};
  const uint64_t entry = cp->sites.entry(pc);
  const int32_t rel = static_cast<int32_t>(static_cast<int64_t>(entry - (pc + 5)));
  std::memcpy(jmp + 1, &rel, 4);
  return t.task->write_mem(RemotePtr(pc), jmp, sizeof jmp);
}

bool ReplaySession::interrupt_due() const {
  if (!control_) return false;
  if (control_->interrupt && control_->interrupt->load()) return true;
  if (!control_->stop_after_ms) return false;
  return std::chrono::steady_clock::now() - running_since_ >=
         std::chrono::milliseconds(control_->stop_after_ms);
}

// At a stop the task would go on from: the Interrupted stop an interrupt
// asked for, if it stands in the program's own code where it can resume.
Result<std::optional<DebugStop>> ReplaySession::maybe_interrupt(RepTask& t) {
  if (!interrupt_due() || t.in_syscall || t.internal_step || t.lifted_bp || t.lifted_patch)
    return std::optional<DebugStop>();
  auto regs = t.task->get_regs();
  if (!regs) return regs.error();
  if (in_any_stub(t, regs->rip)) return std::optional<DebugStop>();
  const bool asked = control_->interrupt && control_->interrupt->load();
  // An Elapsed stop becomes a mark, which a later run finds by its state:
  // only where a stub can check that state. Elsewhere (inside or next to a
  // preemption point's patch, before a branch target) the check would be
  // an int3, a ptrace stop per iteration of a hot loop. The next wakeup
  // will do.
  if (!asked) {
    CountedProcess* cp = counted_of(t);
    CountedSites none;
    CountedSites& sites = cp && cp->as.lock() == t.task->shared_as() ? cp->sites : none;
    auto fits = sites.fits(*t.task, regs->rip, {});
    if (!fits) return fits.error();
    if (!*fits) {
      REWIND_LOG(Replay, "no elapsed stop at 0x%llx: no state check fits there",
                 static_cast<unsigned long long>(regs->rip));
      return std::optional<DebugStop>();
    }
  }
  DebugStop stop;
  stop.kind = StopKind::Interrupted;
  stop.tid = t.task->rec_tid();
  stop.signo = asked ? SIGINT : 0;
  stop.why = asked ? DebugStop::Why::Interrupt : DebugStop::Why::Elapsed;
  return std::optional<DebugStop>(stop);
}

}  // namespace rwd
