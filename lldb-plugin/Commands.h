// The `rewind` command family in LLDB (Plugin.cc registers it).
#pragma once

#include <lldb/API/LLDB.h>

namespace rwd::lldb_plugin {

void register_commands(lldb::SBDebugger debugger);

}  // namespace rwd::lldb_plugin
