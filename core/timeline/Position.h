// A point in the history of a replay, for the debugger: where a thread
// stood, named without a PMU tick count (docs/no-pmu.md, "Positions").
//
// A position is the number of events completed, the thread, its registers
// and a hash of its process's writable memory and FP state
// (ReplaySession::position_hash: without the syscall buffers, with how far
// the thread has read its own). Two points with
// equal registers and equal hashes have equal futures, so reaching "the
// first point after event N where the thread's state equals this" reaches
// the position, even if an earlier loop iteration matched first.
#pragma once

#include <sys/user.h>

#include <array>
#include <cstdint>
#include <string>

#include "core/base/Error.h"
#include "core/base/Types.h"
#include "core/replay/ReplaySession.h"

namespace rwd {

struct Position {
  uint64_t events = 0;
  Tid tid;
  user_regs_struct regs{};
  std::array<uint8_t, 32> mem_hash{};
  bool has_hash = false;
  // Made from a syscall-entry stop: rcx and r11 are what the `syscall`
  // instruction put there, not what they hold before it; ignore them.
  bool before_syscall = false;

  std::string describe() const;
};

// Where thread `tid` of `s` stands now.
Result<Position> position_of(ReplaySession& s, Tid tid);

// Whether `s` stands at `p` (events, registers, then memory).
Result<bool> at_position(ReplaySession& s, const Position& p);
// The same with p.tid's registers already read.
Result<bool> at_position(ReplaySession& s, const Position& p, const user_regs_struct& regs);

// What RunControl::stop_at_state needs to find `p` in the tracee.
RunControl::StateTarget state_target(const Position& p);

}  // namespace rwd
