// What the engine needs from LLDB's debug info for a reverse line step
// (gdbstub/SessionRewind.cc, QRewindLineStep): a frame's function, its
// line table and its CFA, and the code that has line information.
#pragma once

#include <lldb/API/LLDB.h>

#include <string>

namespace rwd::lldb_plugin {

// "fn=..;rows=..;cfa=.." for `frame` (with `prefix` before each key, e.g.
// "caller_"); empty if the frame has no function with line information.
std::string frame_lines(lldb::SBTarget& target, lldb::SBFrame& frame, const std::string& prefix);

// True if the frame's pc is the first of a statement's code: where a line
// step stops.
bool at_row_start(lldb::SBTarget& target, lldb::SBFrame& frame);

// True if the frame's pc has a line, i.e. a line step can start there.
bool has_line(lldb::SBFrame& frame);

// "into=S-E,...": the code of every module with line information (where
// reverse-step enters a call).
std::string step_into_ranges(lldb::SBTarget& target);

}  // namespace rwd::lldb_plugin
