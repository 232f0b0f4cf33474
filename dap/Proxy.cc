#include "dap/Proxy.h"

#include <charconv>
#include <set>
#include <string_view>

namespace rwd::dap {
namespace {

// Requests after which the process runs again: a stop lldb-dap reports after
// one of them is news, not an echo of a reverse operation's stop. A repl
// `evaluate` may be an LLDB command that resumes (`thread step-over`).
// A member of a message, or null: operator[] on a const json must not be
// given a missing key.
const json& member(const json& message, const char* key) {
  static const json kNull;
  auto it = message.find(key);
  return it == message.end() ? kNull : *it;
}

bool resumes(const json& request) {
  static const std::set<std::string, std::less<>> kResuming = {
      "continue", "next", "stepIn", "stepOut", "goto", "restartFrame", "pause", "restart"};
  const std::string command = request.value("command", "");
  if (kResuming.count(command)) return true;
  const json& args = member(request, "arguments");
  return command == "evaluate" && args.is_object() && args.value("context", "") == "repl";
}

std::string message_of(const json& response) {
  const json& body = member(response, "body");
  if (body.is_object() && member(body, "error").is_object())
    return body["error"].value("format", "");
  return response.value("message", "");
}

std::optional<int64_t> integer(const json& object, const char* key) {
  if (!object.is_object() || !object.contains(key) || !object[key].is_number_integer())
    return std::nullopt;
  return object[key].get<int64_t>();
}

// "breakpoint 3.1" -> 3: DAP breakpoint ids are LLDB's in lldb-dap.
std::optional<int64_t> breakpoint_id(std::string_view lldb_reason) {
  constexpr std::string_view kWord = "breakpoint ";
  if (!lldb_reason.starts_with(kWord)) return std::nullopt;
  std::string_view rest = lldb_reason.substr(kWord.size());
  int64_t id = 0;
  auto [p, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), id);
  if (ec != std::errc()) return std::nullopt;
  return id;
}

}  // namespace

void Proxy::send_client(json message) {
  message["seq"] = next_client_seq_++;
  if (message.value("event", "") == "stopped" && message["body"].is_object())
    last_stopped_thread_ = message["body"].value("threadId", last_stopped_thread_);
  host_.send_client(message);
}

void Proxy::fail(const json& request, const std::string& why) {
  send_client(make_output("stderr", "rewind-dap: " + why));
  send_client(make_response(request, false, why));
}

void Proxy::forward_request(json request, std::string command_for_client) {
  int64_t seq = next_server_seq_++;
  int64_t client_seq = request.value("seq", int64_t{0});
  pending_[seq] = Forwarded{client_seq, std::move(command_for_client)};
  server_seq_of_[client_seq] = seq;
  request["seq"] = seq;
  host_.send_server(request);
}

void Proxy::inject(std::string command, json arguments, Injected kind) {
  int64_t seq = next_server_seq_++;
  pending_[seq] = kind;
  host_.send_server(json{{"seq", seq},
                         {"type", "request"},
                         {"command", std::move(command)},
                         {"arguments", std::move(arguments)}});
}

bool Proxy::ensure_server(const json& request) {
  if (server_path_) return true;
  if (!server_error_) {
    auto path = find_lldb_dap(config_, std::nullopt);
    if (path) {
      auto started = host_.start_server(*path);
      if (started) {
        server_path_ = *path;
        return true;
      }
      server_error_ = started.error().message;
    } else {
      server_error_ = path.error().message;
    }
  }
  // Without lldb-dap every request fails, with the reason; a disconnect
  // still ends the session cleanly.
  if (request.value("command", "") == "disconnect") {
    send_client(make_response(request, true));
    done_ = true;
  } else {
    fail(request, *server_error_);
  }
  return false;
}

void Proxy::from_client(json message) {
  const std::string type = message.value("type", "");
  if (type == "request") {
    if (ensure_server(message)) handle_request(std::move(message));
    return;
  }
  if (type == "response" && server_path_) {
    // An answer to one of lldb-dap's reverse requests (runInTerminal,
    // startDebugging).
    auto it = reverse_requests_.find(message.value("request_seq", int64_t{-1}));
    if (it == reverse_requests_.end()) return;
    message["request_seq"] = it->second;
    reverse_requests_.erase(it);
    message["seq"] = next_server_seq_++;
    host_.send_server(message);
  }
}

void Proxy::handle_request(json request) {
  const std::string command = request.value("command", "");
  if (resumes(request)) hold_stops_ = false;
  if (command == "initialize") {
    initialize_request_ = request;
  } else if (command == "launch" && is_trace_launch(member(request, "arguments"))) {
    handle_trace_launch(std::move(request));
    return;
  } else if (command == "stepBack") {
    handle_reverse(request, ReverseKind::StepBack);
    return;
  } else if (command == "reverseContinue") {
    handle_reverse(request, ReverseKind::ReverseContinue);
    return;
  } else if (command == "disconnect") {
    disconnecting_ = true;
    // The client launched; lldb-dap attached, and would only detach, leaving
    // the replay engine behind. Terminating is what a launch means.
    if (trace_session_) {
      if (!request["arguments"].is_object()) request["arguments"] = json::object();
      if (!request["arguments"].contains("terminateDebuggee"))
        request["arguments"]["terminateDebuggee"] = true;
    }
  } else if (command == "evaluate" && trace_session_ && !reverse_ &&
             member(request, "arguments").is_object() &&
             request["arguments"].value("context", "") == "repl" &&
             is_moving_command(request["arguments"].value("expression", ""), escape_prefix_)) {
    // `rewind reverse-step` typed in the debug console: the same report as
    // for stepBack, after the user's own evaluate.
    reverse_ = ReverseOp{Move::ReplCommand, last_stopped_thread_, false, std::nullopt};
    hold_stops_ = true;
    forward_request(std::move(request), command);
    inject("evaluate", json{{"expression", escape_prefix_ + "thread list"}, {"context", "repl"}},
           Injected::ThreadList);
    return;
  } else if (command == "cancel" && request["arguments"].is_object() &&
             request["arguments"].contains("requestId")) {
    auto it = server_seq_of_.find(request["arguments"].value("requestId", int64_t{-1}));
    if (it != server_seq_of_.end())
      request["arguments"]["requestId"] = it->second;
    else
      request["arguments"].erase("requestId");  // ours (stepBack), or already answered
  }
  forward_request(std::move(request), command);
}

Result<void> Proxy::switch_server(const std::string& path) {
  REWIND_TRY(host_.start_server(path));
  // Whatever the old lldb-dap still owed will never come.
  for (auto& [seq, pending] : pending_)
    if (auto* f = std::get_if<Forwarded>(&pending))
      send_client(make_response(json{{"seq", f->client_seq}, {"command", f->command}}, false,
                                "lldb-dap was replaced (\"lldbDapPath\")"));
  pending_.clear();
  server_seq_of_.clear();
  reverse_requests_.clear();
  server_path_ = path;
  // The client has had its initialize response; the new lldb-dap needs the
  // request too.
  inject("initialize", initialize_request_.value("arguments", json::object()),
         Injected::Initialize);
  return ok_result();
}

void Proxy::handle_trace_launch(json request) {
  const json& args = request["arguments"];
  std::optional<std::string> wanted_plugin, wanted_dap;
  if (args.contains(kPluginKey) && args[kPluginKey].is_string())
    wanted_plugin = args[kPluginKey].get<std::string>();
  if (args.contains(kLldbDapPathKey) && args[kLldbDapPathKey].is_string())
    wanted_dap = args[kLldbDapPathKey].get<std::string>();

  // The trace first: of the things that can be missing, the one the user
  // named in this configuration.
  if (auto trace = resolve_trace(args); !trace) return fail(request, trace.error().message);
  auto plugin = find_plugin(config_, wanted_plugin);
  if (!plugin) return fail(request, plugin.error().message);
  auto plan = plan_trace_attach(args, *plugin);
  if (!plan) return fail(request, plan.error().message);
  if (wanted_dap) {
    auto path = find_lldb_dap(config_, wanted_dap);
    if (!path) return fail(request, path.error().message);
    if (*path != *server_path_) {
      auto switched = switch_server(*path);
      if (!switched) return fail(request, "starting " + *path + ": " + switched.error().message);
    }
  }
  trace_session_ = true;
  escape_prefix_ = plan->escape_prefix;
  request["command"] = "attach";
  request["arguments"] = std::move(plan->arguments);
  forward_request(std::move(request), "launch");
}

void Proxy::handle_reverse(const json& request, ReverseKind kind) {
  if (!trace_session_)
    return fail(request, request.value("command", "") +
                             " needs a recording: launch with \"trace\" (docs/dap.md)");
  if (reverse_) return fail(request, "a reverse operation is already running");
  const json& args = member(request, "arguments");
  auto tid = integer(args, "threadId");
  if (!tid) return fail(request, request.value("command", "") + " without a threadId");

  // Answered at once, as lldb-dap answers `next`: the stopped event follows
  // when the plugin's command returns.
  send_client(make_response(request, true));
  reverse_ = ReverseOp{kind == ReverseKind::StepBack ? Move::StepBack : Move::ReverseContinue, *tid,
                       false, std::nullopt};
  hold_stops_ = true;
  std::string cmd = reverse_command(kind, granularity_of(args), *tid);
  inject("evaluate", json{{"expression", escape_prefix_ + cmd}, {"context", "repl"}},
         Injected::ReverseCommand);
  // lldb-dap runs requests one after the other, so this sees the stop the
  // command ended at, whether it succeeded or not.
  inject("evaluate", json{{"expression", escape_prefix_ + "thread list"}, {"context", "repl"}},
         Injected::ThreadList);
}

void Proxy::handle_injected(Injected kind, const json& response) {
  bool ok = response.value("success", false);
  switch (kind) {
    case Injected::Initialize:
      if (!ok)
        send_client(make_output(
            "stderr", "rewind-dap: lldb-dap refused initialize: " + message_of(response)));
      return;
    case Injected::ReverseCommand: {
      if (!reverse_) return;
      reverse_->failed = !ok;
      const json& body = member(response, "body");
      std::string text =
          ok ? (body.is_object() ? body.value("result", "") : "") : message_of(response);
      if (!text.empty()) send_client(make_output(ok ? "console" : "stderr", text));
      return;
    }
    case Injected::ThreadList:
      finish_reverse(response);
      return;
  }
}

void Proxy::finish_reverse(const json& thread_list_response) {
  if (!reverse_) return;
  ReverseOp op = std::move(*reverse_);
  reverse_.reset();
  if (op.server_stop) {
    // lldb-dap saw this stop itself (its event thread got the process event):
    // its event has the breakpoint ids and the thread; send it, once.
    json event = std::move(*op.server_stop);
    event["body"]["allThreadsStopped"] = true;
    return send_client(std::move(event));
  }
  std::optional<SelectedThread> selected;
  const json& list = member(thread_list_response, "body");
  if (thread_list_response.value("success", false) && list.is_object())
    selected = parse_selected_thread(list.value("result", ""));
  json body{{"allThreadsStopped", true}};
  if (op.move == Move::StepBack) {
    body["reason"] = "step";
    body["threadId"] = op.thread_id;
  } else {
    std::string lldb_reason = selected ? selected->stop_reason : "";
    body["reason"] = dap_stop_reason(lldb_reason, "step");
    body["threadId"] = selected ? selected->tid : op.thread_id;
    if (auto id = breakpoint_id(lldb_reason)) body["hitBreakpointIds"] = json::array({*id});
    if (!lldb_reason.empty()) body["description"] = lldb_reason;
  }
  send_client(make_event("stopped", std::move(body)));
}

void Proxy::from_server(json message) {
  const std::string type = message.value("type", "");
  if (type == "response") {
    auto it = pending_.find(message.value("request_seq", int64_t{-1}));
    if (it == pending_.end()) return;  // for an lldb-dap since replaced
    Pending pending = std::move(it->second);
    pending_.erase(it);
    if (auto* injected = std::get_if<Injected>(&pending))
      return handle_injected(*injected, message);
    auto& f = std::get<Forwarded>(pending);
    server_seq_of_.erase(f.client_seq);
    const std::string server_command = message.value("command", "");
    message["request_seq"] = f.client_seq;
    message["command"] = f.command;
    if (f.command == "initialize") message = with_step_back(std::move(message));
    send_client(std::move(message));
    if ((server_command == "launch" || server_command == "attach") && !trace_session_) {
      // Plain lldb-dap: take back the step-back promised at initialize.
      send_client(
          make_event("capabilities", json{{"capabilities", {{"supportsStepBack", false}}}}));
    }
    if (f.command == "disconnect") done_ = true;
    return;
  }
  if (type == "event") {
    const std::string event = message.value("event", "");
    if (event == "stopped" && reverse_) {
      if (!reverse_->server_stop) reverse_->server_stop = std::move(message);
      return;
    }
    if ((event == "stopped" || event == "continued") && (reverse_ || hold_stops_)) return;
    return send_client(std::move(message));
  }
  if (type == "request") {
    int64_t server_seq = message.value("seq", int64_t{0});
    int64_t seq = next_client_seq_++;
    reverse_requests_[seq] = server_seq;
    message["seq"] = seq;
    host_.send_client(message);
  }
}

void Proxy::server_gone(const std::string& why) {
  for (auto& [seq, pending] : pending_)
    if (auto* f = std::get_if<Forwarded>(&pending))
      send_client(make_response(json{{"seq", f->client_seq}, {"command", f->command}}, false,
                                "lldb-dap exited: " + why));
  pending_.clear();
  if (reverse_) {
    reverse_.reset();
  }
  if (!disconnecting_) {
    send_client(make_output("stderr", "rewind-dap: lldb-dap exited unexpectedly: " + why));
    send_client(make_event("terminated", json::object()));
  }
  server_path_.reset();
  server_error_ = "lldb-dap exited: " + why;
}

}  // namespace rwd::dap
