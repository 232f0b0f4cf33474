#include "core/timeline/Position.h"

#include <cstdio>

#include "core/base/Log.h"

namespace rwd {

std::string Position::describe() const {
  char buf[128];
  snprintf(buf, sizeof buf, "event %llu, thread %d, pc 0x%llx%s", (unsigned long long)events,
           tid.value, regs.rip, before_syscall ? " (before its syscall)" : "");
  return buf;
}

Result<Position> position_of(ReplaySession& s, Tid tid) {
  RepTask* t = s.find(tid);
  if (!t) return Error{"no such thread " + std::to_string(tid.value)};
  auto regs = t->task->get_regs();
  if (!regs) return regs.error();
  Position p;
  p.events = s.events_completed();
  p.tid = tid;
  p.regs = *regs;
  auto hash = s.position_hash(*t);
  if (!hash) return hash.error();
  p.mem_hash = *hash;
  p.has_hash = true;
  return p;
}

Result<bool> at_position(ReplaySession& s, const Position& p) {
  if (s.events_completed() != p.events) return false;
  RepTask* t = s.find(p.tid);
  if (!t) return false;
  auto regs = t->task->get_regs();
  if (!regs) return regs.error();
  return at_position(s, p, *regs);
}

Result<bool> at_position(ReplaySession& s, const Position& p, const user_regs_struct& regs) {
  if (s.events_completed() != p.events) return false;
  RepTask* t = s.find(p.tid);
  if (!t) return false;
  user_regs_struct want = p.regs;
  if (p.before_syscall) {
    want.rcx = regs.rcx;
    want.r11 = regs.r11;
  }
  if (!same_user_registers(regs, want)) return false;
  if (!p.has_hash) return true;
  auto hash = s.position_hash(*t);
  if (!hash) return hash.error();
  return *hash == p.mem_hash;
}

}  // namespace rwd

namespace rwd {

RunControl::StateTarget state_target(const Position& p) {
  RunControl::StateTarget t;
  t.tid = p.tid;
  t.regs = p.regs;
  // A point found by single-stepping (a reverse-stepi walk) may hold TF in
  // r11, from a syscall made while stepping; at full speed, where the
  // tracee's stubs compare registers, r11 never has it (same_user_registers).
  if (p.has_hash) t.mem_hash = p.mem_hash;
  t.ignore_rcx_r11 = p.before_syscall;
  // A point found by single-stepping (a reverse-stepi walk) may hold TF in
  // r11, saved there by a syscall made while stepping; at full speed, where
  // the tracee's stubs compare registers exactly, r11 never has it. Such an
  // r11 (rflags: bit 1 set, nothing above bit 21) is left to the tracer's
  // comparison, which ignores TF (same_user_registers). Any other r11 is
  // compared as it is: r11 is a general register too.
  const uint64_t r11 = p.regs.r11;
  if ((r11 & 0x100) && (r11 & 0x2) && r11 < (1ull << 22)) t.ignore_rcx_r11 = true;
  return t;
}

}  // namespace rwd
