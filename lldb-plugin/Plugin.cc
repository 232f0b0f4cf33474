// librewind-lldb.so: rewind in LLDB 22. `plugin load` calls
// lldb::PluginInitialize, which adds the `rewind` commands: start a replay
// (`rewind replay TRACE`) and move through it backwards by source line.
//
// The plugin uses the SB API only (LLDB's stable interface), and no part of
// the engine: the replay runs in a `rewind replay --stdio` process it
// starts, spoken to over gdb-remote, plus rewind's QRewind packets for the
// moves LLDB has no packet for (gdbstub/SessionRewind.cc).
#include <lldb/API/LLDB.h>

#include "lldb-plugin/Commands.h"

namespace lldb {
__attribute__((visibility("default"))) bool PluginInitialize(SBDebugger debugger) {
  rwd::lldb_plugin::register_commands(debugger);
  return true;
}
}  // namespace lldb
