#include "core/replay/PersistCodec.h"

#include "core/base/ByteCodec.h"

namespace rwd::persist {

// Every field, in declaration order, live or not: the few that only make
// sense inside a run (early_stop, running, kicked, ...) are clear wherever
// ReplaySession::persist() saves, and decode_task() checks that they are.
std::vector<uint8_t> encode_task(const RepTaskState& t) {
  ByteWriter w;
  w.put(kEngineVersion);
  w.put(t.rec_tgid.value);
  w.put(t.initial_rsp);
  w.put(t.lifted_bp);
  w.put(t.stopped_at_bp);
  w.put(t.internal_step);
  w.put(t.single_stepped);
  w.put(t.watch_step);
  w.put(t.watch_hit);
  w.put(t.watch_step_pc);
  w.put(t.rep_watch_slot);
  w.put(t.running);
  w.put(t.inject_sig);
  w.put(t.initial_stop_pending);
  w.put(t.fix_child_tid_addr);
  w.put(t.robust_list_head);
  w.put(t.count_arrived);
  w.put(t.state_arrived);
  w.put(t.lifted_patch);
  w.put(t.kicked);
  w.put(t.clear_child_tid);
  w.put(t.sigaltstack);
  w.put(t.last_trap);
  w.put(t.syscallbuf);
  w.put(t.syscallbuf_loaded);
  w.put(t.in_pool);
  w.put(t.early_stop.has_value());
  w.put(t.interrupt_pending);
  w.put(t.trap_signals.has_value());
  w.put(t.trap_signals ? t.trap_signals->blocked : 0);
  w.put(t.trap_signals ? t.trap_signals->ignored : 0);
  w.put(t.in_syscall);
  w.put(t.native);
  w.put(t.exec_pending);
  w.put(t.exec_takes_tid.value);
  w.put(t.syscall_nr);
  w.put(t.entry_regs);
  w.put(t.entry_event.value);
  w.put<uint64_t>(t.inflight_writes.size());
  for (const sys::OutRange& r : t.inflight_writes) {
    w.put(r.addr);
    w.put(r.len);
  }
  w.put(t.restart_nr);
  w.put(t.restart_regs);
  w.put(t.last_result);
  w.put(t.restart_pending);
  w.put(t.ptrace_step);
  w.put(t.ptrace_stepped);
  return w.take();
}

Result<RepTaskState> decode_task(const std::vector<uint8_t>& bytes) {
  ByteReader r(bytes);
  if (const uint32_t v = r.get<uint32_t>(); v != kEngineVersion)
    return Error{"a task's engine state has version " + std::to_string(v) + ", this rewind reads " +
                 std::to_string(kEngineVersion)};
  RepTaskState t;
  t.rec_tgid = Tid(r.get<pid_t>());
  t.initial_rsp = r.get<uint64_t>();
  t.lifted_bp = r.get<uint64_t>();
  t.stopped_at_bp = r.get<uint64_t>();
  t.internal_step = r.get<bool>();
  t.single_stepped = r.get<bool>();
  t.watch_step = r.get<bool>();
  t.watch_hit = r.get<int>();
  t.watch_step_pc = r.get<uint64_t>();
  t.rep_watch_slot = r.get<int>();
  t.running = r.get<bool>();
  t.inject_sig = r.get<int>();
  t.initial_stop_pending = r.get<bool>();
  t.fix_child_tid_addr = r.get<uint64_t>();
  t.robust_list_head = r.get<uint64_t>();
  t.count_arrived = r.get<uint64_t>();
  t.state_arrived = r.get<uint64_t>();
  t.lifted_patch = r.get<uint64_t>();
  t.kicked = r.get<bool>();
  t.clear_child_tid = r.get<uint64_t>();
  t.sigaltstack = r.get<bool>();
  t.last_trap = r.get<int>();
  t.syscallbuf = r.get<uint64_t>();
  t.syscallbuf_loaded = r.get<uint64_t>();
  t.in_pool = r.get<bool>();
  const bool early_stop = r.get<bool>();
  t.interrupt_pending = r.get<bool>();
  const bool trap_signals = r.get<bool>();
  const TrapSignals ts{r.get<uint64_t>(), r.get<uint64_t>()};
  if (trap_signals) t.trap_signals = ts;
  t.in_syscall = r.get<bool>();
  t.native = r.get<bool>();
  t.exec_pending = r.get<bool>();
  t.exec_takes_tid = Tid(r.get<pid_t>());
  t.syscall_nr = r.get<int64_t>();
  t.entry_regs = r.get<user_regs_struct>();
  t.entry_event = EventNum(r.get<uint64_t>());
  const uint64_t n = r.get_count(16);
  for (uint64_t i = 0; i < n && r.ok(); ++i) {
    sys::OutRange o;
    o.addr = r.get<uint64_t>();
    o.len = r.get<uint64_t>();
    t.inflight_writes.push_back(o);
  }
  t.restart_nr = r.get<int64_t>();
  t.restart_regs = r.get<user_regs_struct>();
  t.last_result = r.get<int64_t>();
  t.restart_pending = r.get<bool>();
  t.ptrace_step = r.get<bool>();
  t.ptrace_stepped = r.get<bool>();
  if (!r.ok() || !r.at_end()) return Error{"a task's engine state is truncated or malformed"};
  // What only a run in progress has (see ReplaySession::can_checkpoint).
  if (early_stop || t.running || t.inject_sig || t.lifted_bp || t.lifted_patch || t.exec_pending ||
      t.internal_step || t.watch_step || t.ptrace_stepped)
    return Error{"a task's engine state stands inside a run, where no checkpoint is taken"};
  return t;
}

}  // namespace rwd::persist
