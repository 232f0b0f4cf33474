// Thread selection, resuming (forwards and backwards) and ending the session.
#include <signal.h>

#include "gdbstub/Session.h"

namespace rwd::gdbstub {

namespace {

using Action = target::ResumeRequest::Action;
using target::Direction;

bool names_one_thread(const ThreadSelector& sel) {
  return sel.tid != kAnyThread && sel.tid != kAllThreads;
}

bool has_exited(const std::optional<target::StopInfo>& stop) {
  return stop && (stop->kind == target::StopKind::Exited || stop->kind == target::StopKind::Killed);
}

// "c", "s": an optional resume address we cannot honour.
Result<void> no_resume_address(std::string_view args) {
  if (!args.empty()) return Error{"resuming at another address is impossible in a replay"};
  return ok_result();
}

// "C sig[;addr]", "S sig[;addr]": the signal is parsed for validity and
// dropped, because the recording decides which signals the program gets.
Result<void> signal_then_no_address(std::string_view args) {
  std::vector<std::string_view> parts = split(args, ';');
  Result<uint64_t> sig = parse_hex_number(parts[0]);
  if (!sig) return sig.error();
  if (parts.size() > 1) return no_resume_address(parts[1]);
  return ok_result();
}

}  // namespace

Result<target::ThreadId> Session::resolve_thread(const ThreadSelector& sel) {
  const bool any_process = !sel.pid || *sel.pid == kAnyThread || *sel.pid == kAllThreads;
  if (!names_one_thread(sel)) {
    target::ThreadId current = target_.current_thread();
    if (any_process || *sel.pid == current.pid) return current;
    for (const target::ThreadId& t : target_.threads())
      if (t.pid == *sel.pid) return t;
    return Error{"no process " + hex_number(static_cast<uint64_t>(*sel.pid))};
  }
  for (const target::ThreadId& t : target_.threads())
    if (t.tid == sel.tid && (any_process || t.pid == *sel.pid)) return t;
  return Error{"no thread " + hex_number(static_cast<uint64_t>(sel.tid))};
}

bool Session::tdesc_has_avx() {
  // Decided once, from the registers the recording has, because gdb reads
  // target.xml once and sizes every later g packet from it.
  // Without registers to look at, describe no AVX rather than guess.
  if (!tdesc_has_avx_) {
    Result<target::RegisterFile> regs = target_.registers(target_.current_thread());
    tdesc_has_avx_ = regs.ok() && regs->has_avx;
  }
  return *tdesc_has_avx_;
}

Result<Reply> Session::handle_question_mark(std::string_view) {
  if (last_stop_) return Reply{stop_reply(*last_stop_)};
  // Nothing has run yet: the replay sits at its start as if just stopped.
  target::StopInfo initial;
  initial.kind = target::StopKind::Signal;
  initial.signo = SIGTRAP;
  initial.thread = target_.current_thread();
  return Reply{stop_reply(initial)};
}

Result<Reply> Session::handle_H(std::string_view args) {
  if (args.empty() || (args[0] != 'g' && args[0] != 'c'))
    return Error{"expected Hg<thread> or Hc<thread>"};
  Result<ThreadSelector> sel = parse_thread_id(args.substr(1));
  if (!sel) return sel.error();
  // Check now so that gdb hears about a dead thread from this packet.
  if (names_one_thread(*sel)) {
    Result<target::ThreadId> t = resolve_thread(*sel);
    if (!t) return t.error();
  }
  (args[0] == 'g' ? general_thread_ : continue_thread_) = *sel;
  return Reply{"OK"};
}

Result<Reply> Session::handle_T(std::string_view args) {
  Result<ThreadSelector> sel = parse_thread_id(args);
  if (!sel) return sel.error();
  if (!names_one_thread(*sel)) return Error{"T needs one thread"};
  Result<target::ThreadId> t = resolve_thread(*sel);
  if (!t) return t.error();
  return Reply{"OK"};
}

Result<Reply> Session::handle_vCont_query(std::string_view) {
  // No 't' (that is for non-stop) and no 'r' (range stepping would only
  // save round trips; gdb steps instead).
  return Reply{"vCont;c;C;s;S"};
}

Result<Reply> Session::handle_vCont(std::string_view args) {
  Result<std::vector<VContAction>> actions = parse_vcont(args);
  if (!actions) return actions.error();
  // All-stop: one request resumes every thread. A step names the thread
  // that steps ("vCont;s:p1.2;c" steps 1.2 while the rest may run); a
  // continue may name the thread to report if nothing else happens.
  std::optional<target::ThreadId> thread;
  Action action = Action::Continue;
  for (const VContAction& a : *actions) {
    const bool step = a.action == 's' || a.action == 'S';
    if (a.thread && names_one_thread(*a.thread)) {
      Result<target::ThreadId> t = resolve_thread(*a.thread);
      if (!t) return t.error();
      if (step || !thread) thread = *t;
    }
    if (step) {
      action = Action::Step;
      break;
    }
  }
  return resume("vCont", action, Direction::Forward, thread);
}

Result<Reply> Session::handle_c(std::string_view args) {
  REWIND_TRY(no_resume_address(args));
  return resume("c", Action::Continue, Direction::Forward, std::nullopt);
}

Result<Reply> Session::handle_C(std::string_view args) {
  REWIND_TRY(signal_then_no_address(args));
  return resume("C", Action::Continue, Direction::Forward, std::nullopt);
}

Result<Reply> Session::handle_s(std::string_view args) {
  REWIND_TRY(no_resume_address(args));
  return resume("s", Action::Step, Direction::Forward, std::nullopt);
}

Result<Reply> Session::handle_S(std::string_view args) {
  REWIND_TRY(signal_then_no_address(args));
  return resume("S", Action::Step, Direction::Forward, std::nullopt);
}

Result<Reply> Session::handle_bc(std::string_view) {
  return resume("bc", Action::Continue, Direction::Reverse, std::nullopt);
}

Result<Reply> Session::handle_bs(std::string_view) {
  return resume("bs", Action::Step, Direction::Reverse, std::nullopt);
}

Result<Reply> Session::resume(std::string_view packet, Action action, Direction direction,
                              std::optional<target::ThreadId> thread) {
  if (armed_) {
    // The resume the plugin sends right after arming a move: it runs the
    // move, whatever the packet (SessionRewind.cc).
    Armed move = std::move(*armed_);
    armed_.reset();
    move_description_ = move.description;
    start_job(move.packet, std::move(move.job));
    return Reply::nothing();
  }
  if (has_exited(last_stop_) && direction == Direction::Forward)
    return Error{"the program has exited; 'run' restarts the replay, 'reverse-continue' goes back"};
  if (!thread) {
    // Hc picks the thread for c and s; by default, the one that stopped.
    Result<target::ThreadId> t = continue_thread();
    if (!t) return t.error();
    thread = *t;
  }
  target::ResumeRequest req{action, direction, *thread};
  // LLDB (the only client that asks for threads in stop replies) drops a
  // process that exits: it stops at the end of the history instead.
  req.end_before_exit = client_.threads_in_stop_reply;
  start_job(packet, [this, req] { return target_.resume(req); });
  return Reply::nothing();
}

Result<Reply> Session::handle_vRun(std::string_view) {
  // The program and its arguments are the recording's; whatever gdb sends
  // as "run" arguments cannot change them.
  start_job("vRun", [this] { return target_.restart(); });
  return Reply::nothing();
}

Result<Reply> Session::handle_vKill(std::string_view) {
  // In extended mode gdb kills before it runs again; the replay stays, and
  // vRun takes it back to the start.
  return Reply{"OK"};
}

Result<Reply> Session::handle_D(std::string_view) {
  finished_ = true;
  return Reply{"OK"};
}

Result<Reply> Session::handle_k(std::string_view) {
  // 'k' has no reply (the manual); the connection just ends.
  finished_ = true;
  return Reply::nothing();
}

}  // namespace rwd::gdbstub
