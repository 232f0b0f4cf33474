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
  if (p.has_hash) t.mem_hash = p.mem_hash;
  t.ignore_rcx_r11 = p.before_syscall;
  // (A point found by single-stepping may hold TF in r11, from a syscall
  // made while stepping, where the same point at full speed does not: the
  // tracer's comparison ignores that bit, and so do the stubs.)
  return t;
}

}  // namespace rwd
