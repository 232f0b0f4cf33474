// The message rewrites rewind-dap makes on top of lldb-dap, as pure functions
// of JSON values: no I/O, so dap/test/ checks them on exact messages.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/base/Error.h"

namespace rwd::dap {

using nlohmann::json;

// Keys of a `launch` request that belong to rewind-dap and are not passed on.
inline constexpr std::string_view kTraceKey = "trace";
inline constexpr std::string_view kGotoKey = "goto";
inline constexpr std::string_view kLldbDapPathKey = "lldbDapPath";
inline constexpr std::string_view kPluginKey = "rewindPlugin";

// lldb-dap's own default (DAP.h, `commandEscapePrefix`); set explicitly in the
// attach so the adapter's repl commands do not depend on the default.
inline constexpr std::string_view kDefaultEscapePrefix = "`";

bool is_trace_launch(const json& launch_arguments);

// The launch's "trace", made absolute; fails when it does not exist.
Result<std::string> resolve_trace(const json& launch_arguments);

// What a trace launch turns into: lldb-dap's `attach` arguments and the
// prefix that makes a repl `evaluate` an LLDB command in that session.
struct AttachPlan {
  json arguments;
  std::string escape_prefix;
};

// Keeps every field the user gave except rewind-dap's own; prepends
// `plugin load PLUGIN` to initCommands and `rewind replay [-g N] TRACE` to
// attachCommands. Fails for a trace that does not exist or a bad "goto".
Result<AttachPlan> plan_trace_attach(const json& launch_arguments, const std::string& plugin);

// An argument for an LLDB command line, quoted so that spaces survive.
// Fails for what LLDB cannot carry in an argument (newlines, backquotes,
// which LLDB expands as expressions even inside quotes).
Result<std::string> lldb_quote(std::string_view arg);

// The `initialize` response with supportsStepBack added to lldb-dap's own
// capabilities.
json with_step_back(json initialize_response);

enum class Granularity { Line, Instruction };
Granularity granularity_of(const json& step_arguments);

enum class ReverseKind { StepBack, ReverseContinue };
// `rewind reverse-next -t TID`, `rewind reverse-stepi -t TID`,
// `rewind reverse-continue`.
std::string reverse_command(ReverseKind kind, Granularity granularity, int64_t thread_id);

// Whether a repl expression is one of the plugin's commands that move the
// process (`rewind reverse-step`, `rn`, `rewind seek 40`, ...): lldb-dap
// does not see the stop they make, so rewind-dap reports it.
bool is_moving_command(std::string_view expression, std::string_view escape_prefix);

// The selected thread in LLDB's `thread list` output ("* thread #1: tid =
// 1234, ... stop reason = breakpoint 1.1").
struct SelectedThread {
  int64_t tid = 0;
  std::string stop_reason;  // LLDB's words; empty if the line has none
};
std::optional<SelectedThread> parse_selected_thread(std::string_view thread_list);

// LLDB's stop reason in DAP's words ("breakpoint", "data breakpoint", ...);
// `fallback` for one DAP has no word for.
std::string dap_stop_reason(std::string_view lldb_reason, std::string_view fallback);

// Messages rewind-dap writes itself. `seq` is filled in when sent.
json make_event(std::string_view event, json body);
json make_output(std::string_view category, std::string_view text);
json make_response(const json& request, bool success, std::string_view message = {},
                   json body = nullptr);

}  // namespace rwd::dap
