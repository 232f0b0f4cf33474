#include "gdbstub/StopReply.h"

#include <signal.h>

#include "gdbstub/PacketParser.h"

namespace rwd::gdbstub {

namespace {

constexpr int kGdbSignalInt = 2;
constexpr int kGdbSignalTrap = 5;
constexpr int kGdbSignalUnknown = 143;
// GDB_SIGNAL_REALTIME_33 is 45; 34..63 follow it. 32 and 64 were added
// later and live elsewhere (signals.def keeps numbers stable).
constexpr int kGdbSignalRealtime33 = 45;
constexpr int kGdbSignalRealtime32 = 77;
constexpr int kGdbSignalRealtime64 = 78;

struct SignalMapping {
  int linux_signo;
  int gdb_signo;
};
// Only the entries where the numbers differ, or where Linux has a signal gdb
// lacks; everything below 32 that is not listed keeps its number.
constexpr SignalMapping kDifferent[] = {
    {SIGBUS, 10},  {SIGUSR1, 30}, {SIGUSR2, 31}, {SIGSTKFLT, kGdbSignalUnknown},
    {SIGCHLD, 20}, {SIGCONT, 19}, {SIGSTOP, 17}, {SIGTSTP, 18},
    {SIGURG, 16},  {SIGIO, 23},   {SIGPWR, 32},  {SIGSYS, 12},
};
static_assert(SIGBUS == 7 && SIGSYS == 31, "the table assumes x86-64 Linux numbering");

void append_thread(std::string& out, target::ThreadId t, const StopReplyStyle& style) {
  out += "thread:" + format_thread_id(t, style.multiprocess) + ";";
}

std::string exit_reply(char kind, int code, target::ThreadId t, const StopReplyStyle& style) {
  std::string out(1, kind);
  append_hex_byte(out, static_cast<uint8_t>(code));
  if (style.multiprocess) out += ";process:" + hex_number(static_cast<uint32_t>(t.pid));
  return out;
}

const char* watch_key(target::BreakpointType type) {
  switch (type) {
    case target::BreakpointType::WriteWatch:
      return "watch";
    case target::BreakpointType::ReadWatch:
      return "rwatch";
    default:
      return "awatch";
  }
}

}  // namespace

int gdb_signal_from_linux(int linux_signo) {
  for (const SignalMapping& m : kDifferent)
    if (m.linux_signo == linux_signo) return m.gdb_signo;
  if (linux_signo > 0 && linux_signo < 32) return linux_signo;
  if (linux_signo == 32) return kGdbSignalRealtime32;
  if (linux_signo >= 33 && linux_signo <= 63) return kGdbSignalRealtime33 + (linux_signo - 33);
  if (linux_signo == 64) return kGdbSignalRealtime64;
  return kGdbSignalUnknown;
}

std::string format_stop_reply(const target::StopInfo& stop, const StopReplyStyle& style) {
  using target::StopKind;
  if (stop.kind == StopKind::Exited) return exit_reply('W', stop.exit_code, stop.thread, style);
  if (stop.kind == StopKind::Killed)
    return exit_reply('X', gdb_signal_from_linux(stop.signo), stop.thread, style);

  int signo = kGdbSignalTrap;
  if (stop.kind == StopKind::Signal) signo = gdb_signal_from_linux(stop.signo);
  // gdb expects a Ctrl-C to come back as SIGINT, as from a live process.
  if (stop.kind == StopKind::Interrupted) signo = kGdbSignalInt;

  std::string out = "T";
  append_hex_byte(out, static_cast<uint8_t>(signo));
  append_thread(out, stop.thread, style);
  switch (stop.kind) {
    case StopKind::Breakpoint:
      if (style.swbreak) out += "swbreak:;";
      break;
    case StopKind::HwBreakpoint:
      if (style.hwbreak) out += "hwbreak:;";
      break;
    case StopKind::Watchpoint:
      out += std::string(watch_key(stop.watch_type)) + ":" + hex_number(stop.watch_addr) + ";";
      break;
    // gdb's record targets stop with these at either end of the history;
    // gdb then says "No more reverse-execution history."
    case StopKind::HistoryBegin:
      out += "replaylog:begin;";
      break;
    case StopKind::HistoryEnd:
      out += "replaylog:end;";
      break;
    // gdb reloads the symbols and the library list of the image named here,
    // drops its breakpoints' locations and inserts them anew, then goes on
    // in the direction it was going (infrun.c, TARGET_WAITKIND_EXECD); it
    // stops only for "catch exec". LLDB knows "reason:exec" instead.
    case StopKind::Exec:
      if (style.exec_events) out += "exec:" + to_hex(stop.exec_path) + ";";
      if (style.all_threads) out += "reason:exec;";
      break;
    case StopKind::Step:
      if (!style.move_description.empty())
        out += "reason:trace;description:" + to_hex(style.move_description) + ";";
      break;
    default:
      break;
  }
  if (style.all_threads) {
    out += "threads:";
    for (size_t i = 0; i < style.all_threads->size(); ++i) {
      if (i) out += ",";
      out += hex_number(static_cast<uint32_t>((*style.all_threads)[i].tid));
    }
    out += ";";
  }
  return out;
}

}  // namespace rwd::gdbstub
