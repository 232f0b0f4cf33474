// rewind's own packets, for a front end that moves the replay through time
// in ways gdb's packets cannot express (the LLDB plugin): a reverse line
// step, a seek to an event, a return to a checkpoint.
//
// Each packet only arms the move and answers OK; the client's next resume
// packet (the plugin sends a forward continue) runs it and answers with an
// ordinary stop reply. So LLDB handles the stop as it handles any other:
// it drops its caches, reads the new registers and shows the frame. (A
// move run straight from the Q packet would leave LLDB with the registers
// of before.) The plugin resumes forwards, not with `bc`, because LLDB 22
// keeps the direction of its last resume: after a `process continue
// --reverse`, its `next` and `continue` would run backwards too.
//
//   QRewindLineStep:kind=next|step|finish;thread=TID;cfa=HEX;fn=S-E,...;
//       rows=S-E:LINE,...[;caller_cfa=..;caller_fn=..;caller_rows=..][;into=S-E,...]
//   qRewindFiles               exe=HEX;HEX=HEX;...: the debugged process's
//                              executable as recorded, then each recorded
//                              path the trace holds a copy of, and the copy
//   QRewindStepi:THREAD[;bps=ADDR,...]     reverse-stepi of that thread
//   QRewindContinue:THREAD[;bps=ADDR,...]  reverse-continue
// bps= (also a QRewindLineStep field): the breakpoints that count going
// back, in place of those inserted (target::ResumeRequest::breakpoints).
//   QRewindSeek:EVENT          (decimal)
//   QRewindRestart:CHECKPOINT  (decimal)
#include <signal.h>

#include <charconv>

#include "gdbstub/Session.h"

namespace rwd::gdbstub {

namespace {

// Splits "a;b;c" (or "a,b,c") into its parts; empty parts are dropped.
std::vector<std::string_view> fields_of(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  while (!s.empty()) {
    size_t at = s.find(sep);
    std::string_view part = s.substr(0, at);
    if (!part.empty()) out.push_back(part);
    if (at == std::string_view::npos) break;
    s.remove_prefix(at + 1);
  }
  return out;
}

Result<std::pair<uint64_t, uint64_t>> parse_range(std::string_view s) {
  size_t dash = s.find('-');
  if (dash == std::string_view::npos) return Error{"bad address range '" + std::string(s) + "'"};
  auto start = parse_hex_number(s.substr(0, dash));
  auto end = parse_hex_number(s.substr(dash + 1));
  if (!start || !end || *end <= *start) return Error{"bad address range '" + std::string(s) + "'"};
  return std::pair{*start, *end};
}

Result<std::vector<std::pair<uint64_t, uint64_t>>> parse_ranges(std::string_view s) {
  std::vector<std::pair<uint64_t, uint64_t>> out;
  for (std::string_view part : fields_of(s, ',')) {
    auto r = parse_range(part);
    if (!r) return r.error();
    out.push_back(*r);
  }
  return out;
}

Result<std::vector<target::LineRow>> parse_rows(std::string_view s) {
  std::vector<target::LineRow> out;
  for (std::string_view part : fields_of(s, ',')) {
    size_t colon = part.find(':');
    if (colon == std::string_view::npos) return Error{"bad line row '" + std::string(part) + "'"};
    auto r = parse_range(part.substr(0, colon));
    if (!r) return r.error();
    auto line = parse_hex_number(part.substr(colon + 1));
    if (!line || *line > UINT32_MAX) return Error{"bad line row '" + std::string(part) + "'"};
    out.push_back({r->first, r->second, static_cast<uint32_t>(*line)});
  }
  return out;
}

Result<std::vector<uint64_t>> parse_addresses(std::string_view s) {
  std::vector<uint64_t> out;
  for (std::string_view part : fields_of(s, ',')) {
    auto a = parse_hex_number(part);
    if (!a) return a.error();
    out.push_back(*a);
  }
  return out;
}

// THREAD[;bps=ADDR,...]: a reverse-stepi's or reverse-continue's arguments.
Result<std::pair<ThreadSelector, std::optional<std::vector<uint64_t>>>> thread_and_breakpoints(
    std::string_view args) {
  size_t semi = args.find(';');
  auto sel = parse_thread_id(args.substr(0, semi));
  if (!sel) return sel.error();
  std::optional<std::vector<uint64_t>> bps;
  if (semi != std::string_view::npos) {
    std::string_view rest = args.substr(semi + 1);
    if (!rest.starts_with("bps=")) return Error{"unknown field " + std::string(rest)};
    auto v = parse_addresses(rest.substr(4));
    if (!v) return v.error();
    bps = std::move(*v);
  }
  return std::pair{*sel, std::move(bps)};
}

template <class T>
Result<T> parse_decimal_arg(std::string_view s, const char* what) {
  T v{};
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || s.empty())
    return Error{std::string("bad ") + what + " '" + std::string(s) + "'"};
  return v;
}

// A seek or restart stops the program as gdb's "run" does, with SIGTRAP;
// as the end of a move it is a step (StopReplyStyle::move_description).
Result<target::StopInfo> as_move(Result<target::StopInfo> r) {
  if (r && r->kind == target::StopKind::Signal && r->signo == SIGTRAP)
    r->kind = target::StopKind::Step;
  return r;
}

}  // namespace

Result<Reply> Session::handle_QRewindLineStep(std::string_view args) {
  target::LineStepRequest req;
  target::FrameLines caller;
  bool has_kind = false, has_thread = false, has_caller = false;
  for (std::string_view field : fields_of(args, ';')) {
    size_t eq = field.find('=');
    if (eq == std::string_view::npos)
      return Error{"QRewindLineStep: bad field " + std::string(field)};
    std::string_view key = field.substr(0, eq), value = field.substr(eq + 1);
    auto number = [&]() { return parse_hex_number(value); };
    if (key == "kind") {
      has_kind = true;
      if (value == "next")
        req.kind = target::LineStep::Next;
      else if (value == "step")
        req.kind = target::LineStep::Step;
      else if (value == "finish")
        req.kind = target::LineStep::Finish;
      else
        return Error{"QRewindLineStep: unknown kind " + std::string(value)};
    } else if (key == "thread") {
      auto sel = parse_thread_id(value);
      if (!sel) return sel.error();
      auto t = resolve_thread(*sel);
      if (!t) return t.error();
      req.thread = *t;
      has_thread = true;
    } else if (key == "cfa" || key == "caller_cfa") {
      auto v = number();
      if (!v) return v.error();
      (key == "cfa" ? req.frame : caller).cfa = *v;
      has_caller |= key != "cfa";
    } else if (key == "fn" || key == "caller_fn" || key == "into") {
      auto v = parse_ranges(value);
      if (!v) return v.error();
      if (key == "fn")
        req.frame.ranges = std::move(*v);
      else if (key == "into")
        req.step_into = std::move(*v);
      else
        caller.ranges = std::move(*v), has_caller = true;
    } else if (key == "bps") {
      auto v = parse_addresses(value);
      if (!v) return v.error();
      req.breakpoints = std::move(*v);
    } else if (key == "rows" || key == "caller_rows") {
      auto v = parse_rows(value);
      if (!v) return v.error();
      (key == "rows" ? req.frame : caller).rows = std::move(*v);
      has_caller |= key != "rows";
    } else {
      return Error{"QRewindLineStep: unknown field " + std::string(key)};
    }
  }
  if (!has_kind || !has_thread) return Error{"QRewindLineStep needs kind= and thread="};
  if (req.kind != target::LineStep::Finish && req.frame.ranges.empty())
    return Error{"QRewindLineStep: a line step needs the function's ranges (fn=)"};
  if (req.kind == target::LineStep::Finish && req.frame.cfa < 8)
    return Error{"QRewindLineStep: finish needs the frame's cfa="};
  if (has_caller) req.caller = std::move(caller);
  const char* description = req.kind == target::LineStep::Next   ? "reverse-next"
                            : req.kind == target::LineStep::Step ? "reverse-step"
                                                                 : "reverse-finish";
  armed_ =
      Armed{"QRewindLineStep", [this, req] { return target_.reverse_line_step(req); }, description};
  return Reply{"OK"};
}

Result<Reply> Session::handle_qRewindFiles(std::string_view) {
  Result<target::ThreadId> t = general_thread();
  if (!t) return t.error();
  Result<std::string> exe = target_.exec_file(t->pid);
  if (!exe) return exe.error();
  std::string out = "exe=" + to_hex(*exe) + ";";
  for (const auto& [recorded, copy] : target_.recorded_file_copies())
    out += to_hex(recorded) + "=" + to_hex(copy) + ";";
  return Reply{out};
}

Result<Reply> Session::handle_QRewindStepi(std::string_view args) {
  auto parsed = thread_and_breakpoints(args);
  if (!parsed) return parsed.error();
  auto t = resolve_thread(parsed->first);
  if (!t) return t.error();
  target::ResumeRequest req{target::ResumeRequest::Action::Step, target::Direction::Reverse, *t,
                            std::move(parsed->second)};
  armed_ = Armed{"QRewindStepi", [this, req] { return target_.resume(req); }, "reverse-stepi"};
  return Reply{"OK"};
}

Result<Reply> Session::handle_QRewindContinue(std::string_view args) {
  auto parsed = thread_and_breakpoints(args);
  if (!parsed) return parsed.error();
  auto t = resolve_thread(parsed->first);
  if (!t) return t.error();
  target::ResumeRequest req{target::ResumeRequest::Action::Continue, target::Direction::Reverse, *t,
                            std::move(parsed->second)};
  armed_ =
      Armed{"QRewindContinue", [this, req] { return target_.resume(req); }, "reverse-continue"};
  return Reply{"OK"};
}

Result<Reply> Session::handle_QRewindSeek(std::string_view args) {
  auto event = parse_decimal_arg<uint64_t>(args, "event number");
  if (!event) return event.error();
  armed_ = Armed{"QRewindSeek", [this, e = *event] { return as_move(target_.seek(e)); },
                 "seek " + std::to_string(*event)};
  return Reply{"OK"};
}

Result<Reply> Session::handle_QRewindRestart(std::string_view args) {
  auto id = parse_decimal_arg<int>(args, "checkpoint number");
  if (!id) return id.error();
  armed_ =
      Armed{"QRewindRestart", [this, n = *id] { return as_move(target_.restart_checkpoint(n)); },
            "restart " + std::to_string(*id)};
  return Reply{"OK"};
}

}  // namespace rwd::gdbstub
