// gdb's "monitor" commands (qRcmd): the replay's timeline, which gdb's own
// commands cannot name. Output goes back as O packets, then OK.
#include <charconv>

#include "core/base/Log.h"

#include "gdbstub/Session.h"

namespace rwd::gdbstub {

namespace {

constexpr std::string_view kHelp =
    "rewind monitor commands:\n"
    "  when               show the current event number\n"
    "  seek N             go to event N\n"
    "  checkpoint         remember this point of the replay\n"
    "  info checkpoints   list checkpoints\n"
    "  restart N          go back to checkpoint N\n"
    "  help               this list\n";

// gdb caches registers and memory across a monitor command, so after the
// replay moves it would show the old state until told.
constexpr std::string_view kRefreshHint =
    "Run 'maintenance flush register-cache' to make gdb re-read the state.\n";

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\n'))
    s.remove_suffix(1);
  return s;
}

template <class T>
std::optional<T> parse_decimal(std::string_view s) {
  T value{};
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec != std::errc() || end != s.data() + s.size() || s.empty()) return std::nullopt;
  return value;
}

}  // namespace

Result<Reply> Session::handle_qRcmd(std::string_view args) {
  Result<std::vector<uint8_t>> command = from_hex(args);
  if (!command) return command.error();
  std::string text(command->begin(), command->end());
  send_console_output(run_monitor_command(trim(text)));
  return Reply{"OK"};
}

std::string Session::run_monitor_command(std::string_view command) {
  auto [verb, rest] = [&] {
    size_t space = command.find(' ');
    if (space == std::string_view::npos) return std::pair{command, std::string_view{}};
    return std::pair{command.substr(0, space), trim(command.substr(space + 1))};
  }();

  if (verb == "help" && rest.empty()) return std::string(kHelp);
  if (verb == "when" && rest.empty())
    return "Current event: " + std::to_string(target_.current_event()) + "\n";
  if (verb == "seek") {
    std::optional<uint64_t> event = parse_decimal<uint64_t>(rest);
    if (!event) return "Usage: monitor seek EVENT-NUMBER\n";
    Result<target::StopInfo> stop = target_.seek(*event);
    if (!stop) {
      warn("monitor seek %s failed: %s", std::string(rest).c_str(), stop.error().message.c_str());
      return "Cannot seek to event " + std::string(rest) + ": " + stop.error().message + "\n";
    }
    last_stop_ = *stop;
    return "Now at event " + std::to_string(target_.current_event()) + ".\n" +
           std::string(kRefreshHint);
  }
  if (verb == "checkpoint" && rest.empty()) {
    Result<int> id = target_.checkpoint();
    if (!id) return "Cannot make a checkpoint: " + id.error().message + "\n";
    std::string where = "event " + std::to_string(target_.current_event());
    for (const target::CheckpointInfo& c : target_.checkpoints())
      if (c.id == *id) where = c.where;
    return "Checkpoint " + std::to_string(*id) + " at " + where + "\n";
  }
  if (verb == "info" && rest == "checkpoints") {
    std::vector<target::CheckpointInfo> all = target_.checkpoints();
    if (all.empty()) return "No checkpoints.\n";
    std::string out;
    for (const target::CheckpointInfo& c : all) out += std::to_string(c.id) + "\t" + c.where + "\n";
    return out;
  }
  if (verb == "restart") {
    std::optional<int> id = parse_decimal<int>(rest);
    if (!id) return "Usage: monitor restart CHECKPOINT-NUMBER (see 'monitor info checkpoints')\n";
    Result<target::StopInfo> stop = target_.restart_checkpoint(*id);
    if (!stop) {
      warn("monitor restart %d failed: %s", *id, stop.error().message.c_str());
      return "Cannot restart checkpoint " + std::string(rest) + ": " + stop.error().message + "\n";
    }
    last_stop_ = *stop;
    return "Restarted from checkpoint " + std::to_string(*id) + ", now at event " +
           std::to_string(target_.current_event()) + ".\n" + std::string(kRefreshHint);
  }
  return "Unknown monitor command '" + std::string(command) + "'. Try 'monitor help'.\n";
}

}  // namespace rwd::gdbstub
