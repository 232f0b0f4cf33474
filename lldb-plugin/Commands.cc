#include "lldb-plugin/Commands.h"

#include <algorithm>
#include <cinttypes>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "lldb-plugin/LineTable.h"
#include "lldb-plugin/ServerLink.h"

namespace rwd::lldb_plugin {

namespace {

std::vector<std::string> words(char** command) {
  std::vector<std::string> out;
  for (; command && *command; ++command) out.push_back(*command);
  return out;
}

// Runs an LLDB command; its output and errors go to `out`.
bool run(lldb::SBDebugger& dbg, const std::string& cmd, std::string& out) {
  lldb::SBCommandReturnObject r;
  dbg.GetCommandInterpreter().HandleCommand(cmd.c_str(), r);
  if (r.GetOutput()) out += r.GetOutput();
  if (r.GetError()) out += r.GetError();
  return r.Succeeded();
}

// Sends one packet over the process's gdb-remote connection; the reply
// body in `reply`.
bool send_packet(lldb::SBDebugger& dbg, const std::string& packet, std::string& reply) {
  std::string out;
  if (!run(dbg, "process plugin packet send " + packet, out)) {
    reply = out;
    return false;
  }
  const size_t at = out.find("response: ");
  if (at == std::string::npos) {
    reply = out;
    return false;
  }
  reply = out.substr(at + 10);
  while (!reply.empty() && (reply.back() == '\n' || reply.back() == '\r')) reply.pop_back();
  return true;
}

// The server's error reply, "E01;<hex text>" after QEnableErrorStrings, as text.
std::string error_text(const std::string& reply) {
  const size_t semi = reply.find(';');
  if (reply.empty() || reply[0] != 'E' || semi == std::string::npos) return reply;
  std::string text;
  for (size_t i = semi + 1; i + 1 < reply.size(); i += 2)
    text += static_cast<char>(strtol(reply.substr(i, 2).c_str(), nullptr, 16));
  return text;
}

// Resumes and waits for the stop (LLDB's synchronous mode, whatever mode
// the session runs in), so that a command can chain moves; the last one's
// output is LLDB's usual stop display.
class Synchronous {
 public:
  explicit Synchronous(lldb::SBDebugger& dbg) : dbg_(dbg), was_async_(dbg.GetAsync()) {
    dbg_.SetAsync(false);
  }
  ~Synchronous() { dbg_.SetAsync(was_async_); }

 private:
  lldb::SBDebugger& dbg_;
  bool was_async_;
};

// LLDB steps a thread that stands on a breakpoint over it before it
// continues: a step, then the continue. So the breakpoints at the threads'
// pcs are disabled while a move runs, and LLDB sends just the continue.
class BreakpointsAtPcsOff {
 public:
  explicit BreakpointsAtPcsOff(lldb::SBTarget target) {
    lldb::SBProcess process = target.GetProcess();
    std::vector<uint64_t> pcs;
    for (uint32_t i = 0; i < process.GetNumThreads(); ++i)
      pcs.push_back(process.GetThreadAtIndex(i).GetFrameAtIndex(0).GetPC());
    for (uint32_t b = 0; b < target.GetNumBreakpoints(); ++b) {
      lldb::SBBreakpoint bp = target.GetBreakpointAtIndex(b);
      for (size_t l = 0; l < bp.GetNumLocations(); ++l) {
        lldb::SBBreakpointLocation loc = bp.GetLocationAtIndex(l);
        const uint64_t at = loc.GetLoadAddress();
        if (!loc.IsEnabled() || std::find(pcs.begin(), pcs.end(), at) == pcs.end()) continue;
        loc.SetEnabled(false);
        off_.push_back(loc);
      }
    }
  }
  ~BreakpointsAtPcsOff() {
    for (auto& loc : off_) loc.SetEnabled(true);
  }

 private:
  std::vector<lldb::SBBreakpointLocation> off_;
};

std::string hex(uint64_t v);

// "bps=A,B,...": the user's enabled breakpoint locations, the ones a
// reverse move stops at (target::ResumeRequest::breakpoints). LLDB's own
// (the dynamic loader's) are left out: LLDB continues from them, forwards.
std::string user_breakpoints(lldb::SBTarget target) {
  std::string out = "bps=";
  bool first = true;
  for (uint32_t b = 0; b < target.GetNumBreakpoints(); ++b) {
    lldb::SBBreakpoint bp = target.GetBreakpointAtIndex(b);
    if (!bp.IsEnabled()) continue;
    for (size_t l = 0; l < bp.GetNumLocations(); ++l) {
      lldb::SBBreakpointLocation loc = bp.GetLocationAtIndex(l);
      const uint64_t at = loc.GetLoadAddress();
      if (!loc.IsEnabled() || at == LLDB_INVALID_ADDRESS) continue;
      out += (first ? "" : ",") + hex(at);
      first = false;
    }
  }
  return out;
}

// An armed move (a QRewind packet, to which the user's breakpoints are
// added), then the forward continue that runs it (gdbstub/SessionRewind.cc):
// LLDB's direction stays forward.
bool move(lldb::SBDebugger& dbg, const std::string& armed, std::string& out,
          bool with_breakpoints = true) {
  const std::string packet = with_breakpoints ? armed + (armed.back() == ';' ? "" : ";") +
                                                    user_breakpoints(dbg.GetSelectedTarget())
                                              : armed;
  BreakpointsAtPcsOff off(dbg.GetSelectedTarget());
  std::string reply;
  if (!send_packet(dbg, packet, reply) || reply != "OK") {
    out += "rewind: " + (reply.empty() ? std::string("no reply") : error_text(reply)) + "\n";
    return false;
  }
  return run(dbg, "process continue -F", out);
}

std::string hex(uint64_t v) {
  char buf[32];
  snprintf(buf, sizeof buf, "%" PRIx64, v);
  return buf;
}

// The stopped process of the selected target, or an error in `result`.
bool stopped_process(lldb::SBDebugger& dbg, lldb::SBProcess& process,
                     lldb::SBCommandReturnObject& result) {
  process = dbg.GetSelectedTarget().GetProcess();
  if (!process.IsValid()) {
    result.SetError("rewind: no replay: start one with 'rewind replay TRACE'");
    return false;
  }
  if (process.GetState() != lldb::eStateStopped) {
    result.SetError("rewind: the process is not stopped");
    return false;
  }
  return true;
}

// [-t TID]: the thread to step, by its thread id; the selected one if none.
bool pick_thread(lldb::SBProcess& process, const std::vector<std::string>& args,
                 lldb::SBThread& thread, lldb::SBCommandReturnObject& result) {
  thread = process.GetSelectedThread();
  for (size_t i = 0; i < args.size(); ++i) {
    if ((args[i] == "-t" || args[i] == "--thread") && i + 1 < args.size()) {
      char* end = nullptr;
      const uint64_t tid = strtoull(args[i + 1].c_str(), &end, 0);
      thread = process.GetThreadByID(tid);
      if (*end || !thread.IsValid()) {
        result.SetError(("rewind: no thread " + args[i + 1]).c_str());
        return false;
      }
      process.SetSelectedThread(thread);
      ++i;
    } else {
      result.SetError(("rewind: unexpected argument '" + args[i] + "'").c_str());
      return false;
    }
  }
  if (!thread.IsValid()) {
    result.SetError("rewind: no thread selected");
    return false;
  }
  return true;
}

// rewind reverse-next / reverse-step / reverse-finish.
class LineStepCommand : public lldb::SBCommandPluginInterface {
 public:
  explicit LineStepCommand(std::string kind) : kind_(std::move(kind)) {}

  bool DoExecute(lldb::SBDebugger dbg, char** command,
                 lldb::SBCommandReturnObject& result) override {
    lldb::SBProcess process;
    lldb::SBThread thread;
    if (!stopped_process(dbg, process, result) ||
        !pick_thread(process, words(command), thread, result))
      return false;
    lldb::SBTarget target = dbg.GetSelectedTarget();
    Synchronous sync(dbg);
    std::string out;
    const bool ok = step(dbg, target, process, thread, out);
    result.Printf("%s", out.c_str());
    if (!ok) result.SetStatus(lldb::eReturnStatusFailed);
    return ok;
  }

 private:
  std::string head(lldb::SBProcess& process, lldb::SBThread& thread, const std::string& kind) {
    return "QRewindLineStep:kind=" + kind + ";thread=p" + hex(process.GetProcessID()) + "." +
           hex(thread.GetThreadID()) + ";";
  }

  // The packet for a line step of `kind` from the thread's frame 0.
  std::string line_packet(lldb::SBTarget& target, lldb::SBProcess& process, lldb::SBThread& thread,
                          const std::string& kind) {
    lldb::SBFrame frame = thread.GetFrameAtIndex(0);
    std::string packet = head(process, thread, kind) + frame_lines(target, frame, "");
    lldb::SBFrame caller = thread.GetFrameAtIndex(1);
    if (caller.IsValid() && has_line(caller)) packet += frame_lines(target, caller, "caller_");
    if (kind == "step") packet += step_into_ranges(target);
    return packet;
  }

  bool step(lldb::SBDebugger& dbg, lldb::SBTarget& target, lldb::SBProcess& process,
            lldb::SBThread& thread, std::string& out) {
    lldb::SBFrame frame = kind_ == "finish" ? thread.GetSelectedFrame() : thread.GetFrameAtIndex(0);
    // Without line information gdb steps back out to the caller.
    if (kind_ == "finish" || !has_line(frame)) {
      if (kind_ == "finish" && frame.GetFrameID() + 1 >= thread.GetNumFrames()) {
        out += "rewind: reverse-finish is meaningless in the outermost frame\n";
        return false;
      }
      // With its function's code when known: from its first instruction
      // the engine steps back once (ReverseLineStep.cc).
      std::string lines = frame_lines(target, frame, "");
      if (lines.empty()) lines = "cfa=" + hex(frame.GetCFA()) + ";";
      return move(dbg, head(process, thread, "finish") + lines, out);
    }
    const uint64_t cfa = frame.GetCFA();
    std::string first;
    if (!move(dbg, line_packet(target, process, thread, kind_), first)) {
      out += first;
      return false;
    }
    if (kind_ != "step") {
      out += first;
      return true;
    }
    // A reverse-step stops at the `ret` of a call it entered in a module
    // with line information (step_into_ranges). Code there without any
    // (assembly) is stepped over as gdb does: back to the call, and the
    // step goes on from there. Each round ends further back in time.
    constexpr int kMaxCallsWithoutLines = 1000;
    for (int round = 0;; ++round) {
      lldb::SBFrame now = thread.GetFrameAtIndex(0);
      if (thread.GetStopReason() == lldb::eStopReasonBreakpoint || !now.IsValid() ||
          now.GetCFA() >= cfa) {
        out += first;
        return true;
      }
      if (has_line(now)) break;
      if (round == kMaxCallsWithoutLines) {
        out += first + "rewind: stepped back over " + std::to_string(round) +
               " calls without line information; stopping in one\n";
        return true;
      }
      std::string over;
      if (!move(dbg, head(process, thread, "finish") + "cfa=" + hex(now.GetCFA()) + ";", over) ||
          thread.GetStopReason() == lldb::eStopReasonBreakpoint) {
        out += over;
        return thread.GetStopReason() == lldb::eStopReasonBreakpoint;
      }
      // The call was the first instruction of its line: that line's start,
      // where the step ends (a step from here would leave the line).
      lldb::SBFrame at_call = thread.GetFrameAtIndex(0);
      if (at_row_start(target, at_call)) {
        out += over;
        return true;
      }
      first.clear();
      if (!move(dbg, line_packet(target, process, thread, "step"), first)) {
        out += first;
        return false;
      }
    }
    // In a call with line information, at its `ret`. gdb stops there if a
    // row of the line table starts at it, even a row of the same line
    // (handle_step_into_function_backward); if not, it goes on to the
    // start of that line, as a reverse-next there.
    lldb::SBFrame now = thread.GetFrameAtIndex(0);
    if (now.GetLineEntry().GetStartAddress().GetLoadAddress(target) == now.GetPC()) {
      out += first;
      return true;
    }
    return move(dbg, line_packet(target, process, thread, "next"), out);
  }

  std::string kind_;
};

// rewind reverse-stepi / reverse-continue / seek / restart: one armed move
// (or none: a plain reverse-continue).
class MoveCommand : public lldb::SBCommandPluginInterface {
 public:
  enum class Kind { Stepi, Continue, Seek, Restart };
  explicit MoveCommand(Kind k) : kind_(k) {}

  bool DoExecute(lldb::SBDebugger dbg, char** command,
                 lldb::SBCommandReturnObject& result) override {
    lldb::SBProcess process;
    if (!stopped_process(dbg, process, result)) return false;
    std::vector<std::string> args = words(command);
    std::string packet;
    if (kind_ == Kind::Seek || kind_ == Kind::Restart) {
      char* end = nullptr;
      if (args.size() != 1 || (strtoull(args[0].c_str(), &end, 10), *end) || args[0].empty()) {
        result.SetError(kind_ == Kind::Seek ? "usage: rewind seek EVENT"
                                            : "usage: rewind restart N");
        return false;
      }
      packet = (kind_ == Kind::Seek ? "QRewindSeek:" : "QRewindRestart:") + args[0];
    } else if (kind_ == Kind::Stepi) {
      lldb::SBThread thread;
      if (!pick_thread(process, args, thread, result)) return false;
      packet = "QRewindStepi:p" + hex(process.GetProcessID()) + "." + hex(thread.GetThreadID());
    } else {
      lldb::SBThread thread;
      if (!pick_thread(process, args, thread, result)) return false;
      packet = "QRewindContinue:p" + hex(process.GetProcessID()) + "." + hex(thread.GetThreadID());
    }
    Synchronous sync(dbg);
    std::string out;
    const bool ok = move(dbg, packet, out, kind_ == Kind::Stepi || kind_ == Kind::Continue);
    result.Printf("%s", out.c_str());
    if (!ok) result.SetStatus(lldb::eReturnStatusFailed);
    return ok;
  }

 private:
  Kind kind_;
};

// rewind when / checkpoint / checkpoints: the server's monitor commands.
class MonitorCommand : public lldb::SBCommandPluginInterface {
 public:
  explicit MonitorCommand(std::string monitor) : monitor_(std::move(monitor)) {}
  bool DoExecute(lldb::SBDebugger dbg, char** command,
                 lldb::SBCommandReturnObject& result) override {
    lldb::SBProcess process;
    if (!stopped_process(dbg, process, result)) return false;
    if (!words(command).empty()) {
      result.SetError("this command takes no arguments");
      return false;
    }
    std::string out;
    const bool ok = run(dbg, "process plugin packet monitor " + monitor_, out);
    // LLDB echoes the packet and its reply around the server's output.
    std::string shown;
    size_t at = 0;
    while (at < out.size()) {
      size_t nl = out.find('\n', at);
      std::string line = out.substr(at, nl == std::string::npos ? std::string::npos : nl - at + 1);
      at = nl == std::string::npos ? out.size() : nl + 1;
      if (line.rfind("  packet: ", 0) == 0 || line.rfind("response: ", 0) == 0) continue;
      shown += line;
    }
    result.Printf("%s", shown.c_str());
    if (!ok) result.SetStatus(lldb::eReturnStatusFailed);
    return ok;
  }

 private:
  std::string monitor_;
};

// rewind replay [-g EVENT] [-p PID | -f PID] [--force] [TRACE]
class ReplayCommand : public lldb::SBCommandPluginInterface {
 public:
  bool DoExecute(lldb::SBDebugger dbg, char** command,
                 lldb::SBCommandReturnObject& result) override {
    lldb::SBTarget current = dbg.GetSelectedTarget();
    if (current.IsValid() && current.GetProcess().IsValid() &&
        current.GetProcess().GetState() != lldb::eStateExited &&
        current.GetProcess().GetState() != lldb::eStateDetached) {
      result.SetError("rewind: a process is already being debugged; kill or detach it first");
      return false;
    }
    std::vector<std::string> args = words(command);
    for (size_t i = 0; i < args.size(); ++i) {
      const std::string& a = args[i];
      const bool takes_value = a == "-g" || a == "-p" || a == "-f";
      if (takes_value && i + 1 >= args.size()) {
        result.SetError(("rewind replay: " + a + " needs a value").c_str());
        return false;
      }
      if (takes_value) {
        ++i;
      } else if (a != "--force" && a[0] == '-') {
        result.SetError(("rewind replay: unknown option " + a +
                         "\nusage: rewind replay [-g EVENT] [-p PID | -f PID] [--force] [TRACE]")
                            .c_str());
        return false;
      }
    }
    ServerLink link;
    std::string error, sysroot;
    if (!start_server(find_rewind(), args, link, error) || !make_sysroot(link, sysroot, error)) {
      result.SetError(("rewind replay: " + error).c_str());
      return false;
    }
    // The trace's copy of the executable, under the recorded path (so
    // LLDB names it as the program knew it); the libraries LLDB loads
    // later are found there too, through the search path.
    std::string exe = sysroot + link.exe;
    if (access(exe.c_str(), R_OK) != 0) exe = link.exe;
    lldb::SBError err;
    lldb::SBTarget target = dbg.CreateTarget(exe.c_str(), nullptr, nullptr, false, err);
    if (!target.IsValid()) {
      close(link.fd);
      result.SetError(("rewind replay: cannot make a target of " + exe + ": " +
                       (err.GetCString() ? err.GetCString() : "?"))
                          .c_str());
      return false;
    }
    std::string out = "rewind: replaying with the trace's copies of the recorded files\n";
    run(dbg, "target modules search-paths add / " + sysroot + "/", out);
    Synchronous sync(dbg);
    if (!run(dbg, "process connect --plugin gdb-remote fd://" + std::to_string(link.fd), out)) {
      result.Printf("%s", out.c_str());
      result.SetStatus(lldb::eReturnStatusFailed);
      return false;
    }
    result.Printf("%s", out.c_str());
    return true;
  }
};

}  // namespace

void register_commands(lldb::SBDebugger debugger) {
  lldb::SBCommandInterpreter ci = debugger.GetCommandInterpreter();
  lldb::SBCommand rewind =
      ci.AddMultiwordCommand("rewind", "rewind: replay a recording and run it backwards.");
  if (!rewind.IsValid()) return;  // loaded twice
  struct Entry {
    const char* name;
    const char* alias;
    lldb::SBCommandPluginInterface* impl;
    const char* help;
    const char* syntax;
  };
  // The implementations live as long as LLDB: commands keep raw pointers.
  const Entry entries[] = {
      {"replay", nullptr, new ReplayCommand,
       "Start replaying a trace (the latest if none) and connect to it.",
       "rewind replay [-g EVENT] [-p PID | -f PID] [--force] [TRACE]"},
      {"reverse-next", "rn", new LineStepCommand("next"),
       "Step back to the previous source line of this function, over calls.",
       "rewind reverse-next [-t TID]"},
      {"reverse-step", "rs", new LineStepCommand("step"),
       "Step back to the previous source line, into the last line of a call.",
       "rewind reverse-step [-t TID]"},
      {"reverse-finish", "rf", new LineStepCommand("finish"),
       "Go back to the call of the selected frame's function.", "rewind reverse-finish [-t TID]"},
      {"reverse-stepi", "rsi", new MoveCommand(MoveCommand::Kind::Stepi),
       "Step back one instruction.", "rewind reverse-stepi [-t TID]"},
      {"reverse-continue", "rc", new MoveCommand(MoveCommand::Kind::Continue),
       "Run backwards to the previous breakpoint or watchpoint hit, or the start.",
       "rewind reverse-continue [-t TID]"},
      {"seek", nullptr, new MoveCommand(MoveCommand::Kind::Seek), "Go to event EVENT.",
       "rewind seek EVENT"},
      {"restart", nullptr, new MoveCommand(MoveCommand::Kind::Restart), "Go back to checkpoint N.",
       "rewind restart N"},
      {"when", nullptr, new MonitorCommand("when"), "Show the current event number.",
       "rewind when"},
      {"checkpoint", nullptr, new MonitorCommand("checkpoint"),
       "Remember this point of the replay.", "rewind checkpoint"},
      {"checkpoints", nullptr, new MonitorCommand("info checkpoints"), "List the checkpoints.",
       "rewind checkpoints"},
  };
  for (const Entry& e : entries) {
    rewind.AddCommand(e.name, e.impl, e.help, e.syntax);
    if (!e.alias) continue;
    rewind.AddCommand(e.alias, e.impl, e.help, e.syntax);
    // And at the top level, as gdb's short forms are.
    lldb::SBCommandReturnObject ignored;
    ci.HandleCommand((std::string("command alias ") + e.alias + " rewind " + e.name).c_str(),
                     ignored);
  }
}

}  // namespace rwd::lldb_plugin
