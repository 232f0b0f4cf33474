// The rewind subcommands, one file each; main() only dispatches.
#pragma once

#include <cstdint>
#include <string>

#include "core/base/Error.h"

namespace rwd::cli {

constexpr int kExitUsage = 2;
constexpr int kExitError = 1;

extern const char kUsage[];

// Prints "rewind: <message>" and returns kExitError.
int fail(const Error& e);
// The exit code rewind reports for a program's wait status: its exit code,
// or 128+signal as a shell does.
int exit_code_for(int wait_status);

// For a command's bad arguments: prints "rewind COMMAND: <message>" and
// the command's usage (from cli/Help.cc) to stderr; returns kExitUsage.
int usage_error(const char* command, const std::string& message);

// Each takes the arguments after its name.
int cmd_record(int argc, char** argv);
int cmd_ls(int argc, char** argv);        // cli/TraceCommands.cc
int cmd_rm(int argc, char** argv);        // cli/TraceCommands.cc
int cmd_mv(int argc, char** argv);        // cli/TraceCommands.cc
int cmd_gdbinit(int argc, char** argv);   // cli/ReplayCommand.cc
int cmd_lldbinit(int argc, char** argv);  // cli/ReplayCommand.cc
int cmd_bundle(int argc, char** argv);    // cli/BundleCommand.cc
int cmd_sources(int argc, char** argv);   // cli/SourcesCommand.cc
int cmd_buildid(int argc, char** argv);   // cli/SourcesCommand.cc
int cmd_replay(int argc, char** argv);
int cmd_pack(int argc, char** argv);
int cmd_checkpoint(int argc, char** argv);
// What the persistent checkpoint at `event` holds (checkpoint show, dump
// --checkpoint); with `pages`, each saved page's address and hash.
int show_checkpoint(const std::string& trace_arg, uint64_t event, bool pages);

}  // namespace rwd::cli
