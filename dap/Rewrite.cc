#include "dap/Rewrite.h"

#include <charconv>
#include <filesystem>

namespace rwd::dap {
namespace {

namespace fs = std::filesystem;

Result<json> string_list(const json& args, const char* key) {
  if (!args.contains(key)) return json::array();
  const json& v = args[key];
  bool ok = v.is_array();
  for (const auto& e : v)
    if (!e.is_string()) ok = false;
  if (!ok) return Error{std::string("\"") + key + "\" must be a list of strings"};
  return v;
}

// "goto": the event number to start at, as `rewind replay -g` takes it.
Result<std::optional<uint64_t>> goto_event(const json& args) {
  auto it = args.find(kGotoKey);
  if (it == args.end() || it->is_null()) return std::optional<uint64_t>();
  if (it->is_number_unsigned() || (it->is_number_integer() && it->get<int64_t>() > 0)) {
    if (uint64_t n = it->get<uint64_t>(); n > 0) return std::optional<uint64_t>(n);
  }
  if (it->is_string()) {
    const std::string& s = it->get_ref<const std::string&>();
    uint64_t n = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
    if (ec == std::errc() && p == s.data() + s.size() && n > 0) return std::optional<uint64_t>(n);
  }
  return Error{"\"goto\" must be an event number (1 or more), as `rewind replay -g` takes"};
}

}  // namespace

bool is_trace_launch(const json& launch_arguments) {
  return launch_arguments.is_object() && launch_arguments.contains(kTraceKey);
}

Result<std::string> lldb_quote(std::string_view arg) {
  if (arg.find_first_of("`\n\r") != std::string_view::npos)
    return Error{"'" + std::string(arg) + "' contains a backquote or a line break, " +
                 "which an LLDB command cannot carry"};
  // Inside double quotes LLDB takes \" and \\ as escapes (Args.cpp).
  std::string out = "\"";
  for (char c : arg) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

Result<std::string> resolve_trace(const json& launch_arguments) {
  if (!is_trace_launch(launch_arguments)) return Error{"no \"trace\" in the launch arguments"};
  const json& trace = *launch_arguments.find(kTraceKey);
  if (!trace.is_string() || trace.get_ref<const std::string&>().empty())
    return Error{"\"trace\" must be the path of a trace directory (rewind record -o TRACE)"};
  // A relative trace is relative to "cwd" when the configuration has one,
  // as lldb-dap treats "program".
  fs::path path = trace.get<std::string>();
  auto cwd = launch_arguments.find("cwd");
  if (path.is_relative() && cwd != launch_arguments.end() && cwd->is_string())
    path = fs::path(cwd->get<std::string>()) / path;
  std::error_code ec;
  if (!fs::exists(path, ec))
    return Error{"trace " + path.string() + " does not exist (record one with `rewind record -o " +
                 path.string() + " PROGRAM`)"};
  return fs::absolute(path, ec).lexically_normal().string();
}

Result<AttachPlan> plan_trace_attach(const json& launch_arguments, const std::string& plugin) {
  auto trace_path = resolve_trace(launch_arguments);
  if (!trace_path) return trace_path.error();
  auto event = goto_event(launch_arguments);
  if (!event) return event.error();
  auto init = string_list(launch_arguments, "initCommands");
  if (!init) return init.error();
  auto attach = string_list(launch_arguments, "attachCommands");
  if (!attach) return attach.error();
  std::error_code ec;
  auto quoted_plugin = lldb_quote(fs::absolute(plugin, ec).lexically_normal().string());
  if (!quoted_plugin) return quoted_plugin.error().context("rewindPlugin");
  auto quoted_trace = lldb_quote(*trace_path);
  if (!quoted_trace) return quoted_trace.error().context("trace");

  AttachPlan plan;
  plan.arguments = launch_arguments;
  for (auto key : {kTraceKey, kGotoKey, kLldbDapPathKey, kPluginKey})
    plan.arguments.erase(std::string(key));

  json init_commands = json::array({"plugin load " + *quoted_plugin});
  for (const auto& c : *init) init_commands.push_back(c);
  plan.arguments["initCommands"] = std::move(init_commands);

  std::string replay = "rewind replay ";
  if (*event) replay += "-g " + std::to_string(**event) + " ";
  json attach_commands = json::array({replay + *quoted_trace});
  for (const auto& c : *attach) attach_commands.push_back(c);
  plan.arguments["attachCommands"] = std::move(attach_commands);

  auto prefix = plan.arguments.find("commandEscapePrefix");
  if (prefix == plan.arguments.end() || !prefix->is_string())
    plan.arguments["commandEscapePrefix"] = std::string(kDefaultEscapePrefix);
  plan.escape_prefix = plan.arguments["commandEscapePrefix"].get<std::string>();
  return plan;
}

json with_step_back(json initialize_response) {
  if (initialize_response.value("success", false)) {
    if (!initialize_response["body"].is_object()) initialize_response["body"] = json::object();
    initialize_response["body"]["supportsStepBack"] = true;
  }
  return initialize_response;
}

Granularity granularity_of(const json& step_arguments) {
  return step_arguments.is_object() && step_arguments.value("granularity", "") == "instruction"
             ? Granularity::Instruction
             : Granularity::Line;
}

std::string reverse_command(ReverseKind kind, Granularity granularity, int64_t thread_id) {
  if (kind == ReverseKind::ReverseContinue) return "rewind reverse-continue";
  std::string cmd =
      granularity == Granularity::Instruction ? "rewind reverse-stepi" : "rewind reverse-next";
  return cmd + " -t " + std::to_string(thread_id);
}

bool is_moving_command(std::string_view expression, std::string_view escape_prefix) {
  if (expression.starts_with(escape_prefix)) expression.remove_prefix(escape_prefix.size());
  auto word = [&expression]() {
    size_t start = expression.find_first_not_of(" \t");
    if (start == std::string_view::npos) return std::string_view();
    expression.remove_prefix(start);
    size_t end = expression.find_first_of(" \t");
    std::string_view w = expression.substr(0, end);
    expression.remove_prefix(w.size());
    return w;
  };
  // lldb-plugin/Commands.cc: the moves and their short forms, which are also
  // top-level aliases.
  static constexpr std::string_view kAliases[] = {"rn", "rs", "rf", "rsi", "rc"};
  static constexpr std::string_view kMoves[] = {
      "reverse-next",     "reverse-step", "reverse-finish", "reverse-stepi",
      "reverse-continue", "seek",         "restart"};
  auto in = [](std::string_view w, const auto& list) {
    for (auto e : list)
      if (w == e) return true;
    return false;
  };
  std::string_view first = word();
  if (in(first, kAliases)) return true;
  if (first != "rewind") return false;
  std::string_view second = word();
  return in(second, kAliases) || in(second, kMoves);
}

std::optional<SelectedThread> parse_selected_thread(std::string_view thread_list) {
  size_t pos = 0;
  while (pos < thread_list.size()) {
    size_t eol = thread_list.find('\n', pos);
    std::string_view line =
        thread_list.substr(pos, eol == std::string_view::npos ? eol : eol - pos);
    pos = eol == std::string_view::npos ? thread_list.size() : eol + 1;
    size_t star = line.find_first_not_of(' ');
    if (star == std::string_view::npos || line.substr(star, 9) != "* thread ") continue;
    size_t tid_at = line.find("tid = ");
    if (tid_at == std::string_view::npos) return std::nullopt;
    std::string_view digits = line.substr(tid_at + 6);
    SelectedThread t;
    auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), t.tid);
    if (ec != std::errc()) return std::nullopt;
    size_t reason_at = line.find("stop reason = ");
    if (reason_at != std::string_view::npos) {
      t.stop_reason = std::string(line.substr(reason_at + 14));
      while (!t.stop_reason.empty() &&
             (t.stop_reason.back() == '\r' || t.stop_reason.back() == ' '))
        t.stop_reason.pop_back();
    }
    return t;
  }
  return std::nullopt;
}

std::string dap_stop_reason(std::string_view lldb_reason, std::string_view fallback) {
  if (lldb_reason.starts_with("breakpoint")) return "breakpoint";
  if (lldb_reason.starts_with("watchpoint")) return "data breakpoint";
  if (lldb_reason.starts_with("signal") || lldb_reason.starts_with("exception")) return "exception";
  // LLDB's words for "reverse execution reached the start of the recording".
  if (lldb_reason.starts_with("history boundary")) return "entry";
  return std::string(fallback);
}

json make_event(std::string_view event, json body) {
  return json{{"type", "event"}, {"event", event}, {"body", std::move(body)}};
}

json make_output(std::string_view category, std::string_view text) {
  std::string line(text);
  if (!line.empty() && line.back() != '\n') line += '\n';
  return make_event("output", json{{"category", category}, {"output", line}});
}

json make_response(const json& request, bool success, std::string_view message, json body) {
  json r{{"type", "response"},
         {"request_seq", request.value("seq", int64_t{0})},
         {"command", request.value("command", "")},
         {"success", success}};
  if (!success) {
    r["message"] = message;
    if (body.is_null())
      body = json{{"error", {{"id", 1}, {"format", message}, {"showUser", true}}}};
  }
  if (!body.is_null()) r["body"] = std::move(body);
  return r;
}

}  // namespace rwd::dap
