// Source-level reverse steps (target::LineStepRequest): gdb's
// reverse-next, -step and -finish, done by the engine in one resume for a
// front end that hands it the line tables.
//
// The step follows gdb's rules (infrun.c, process_event_stop_test, going
// backwards): step back one instruction at a time while in the line's
// code; a step that lands on a `ret` came back out of a call, which is
// stepped over by going back to its call instruction in one
// reverse-continue; stepping into another line's code goes on to that
// line's first instruction; stepping back over the function's entry lands
// on the call in the caller, and goes on to the start of the caller's line.
//
// Going back over a call is a reverse-continue to the last execution of
// the call instruction by this thread with this frame's stack pointer, so
// a call that ran for minutes costs two native-speed runs (reverse-continue
// counts breakpoint hits in the tracee), not a step per instruction.
#include <algorithm>

#include "core/base/Log.h"
#include "core/cpu/Insn.h"
#include "core/timeline/ReplayTarget.h"

namespace rwd {

using target::FrameLines;
using target::LineRow;
using target::LineStep;
using target::LineStepRequest;
using target::StopInfo;
using target::StopKind;

namespace {

bool in_ranges(const std::vector<std::pair<uint64_t, uint64_t>>& ranges, uint64_t pc) {
  for (const auto& [start, end] : ranges)
    if (pc >= start && pc < end) return true;
  return false;
}

// The row whose code holds pc, if any (rows of line 0 are compiler-made
// code of no line: stepping never stops at their start).
const LineRow* row_of(const FrameLines& f, uint64_t pc) {
  for (const LineRow& r : f.rows)
    if (pc >= r.start && pc < r.end && r.line != 0) return &r;
  return nullptr;
}

uint64_t entry_of(const FrameLines& f) {
  return f.ranges.empty() ? 0 : f.ranges.front().first;
}

// A reverse line step gives up past this many instructions of one line: a
// loop on a single line is stepped back one iteration at a time by gdb's
// rules, and a million of them is a pathological case, not a step.
constexpr uint64_t kMaxInsnsPerLine = 100'000;
// How many times back_to_call passes a hit of the call site in another
// frame (recursion) before it gives up.
constexpr int kMaxOtherFrames = 10'000;

}  // namespace

Result<user_regs_struct> ReplayTarget::regs_of(Tid tid) {
  auto rf = registers({debuggee_.value, tid.value});
  if (!rf) return rf.error();
  return rf->gp;
}

Result<StopInfo> ReplayTarget::with_breakpoints(const std::optional<std::vector<uint64_t>>& only,
                                                const std::function<Result<StopInfo>()>& move) {
  if (!only) return move();
  std::set<uint64_t> inserted(only->begin(), only->end());
  std::swap(inserted, sw_breakpoints_);
  Result<StopInfo> r = move();
  sw_breakpoints_ = std::move(inserted);
  if (session_) {
    auto back = install_user_breakpoints(*session_);
    if (!back && r) return back.error();
  }
  return r;
}

Result<StopInfo> ReplayTarget::reverse_line_step(const LineStepRequest& req) {
  // As resume() does for a reverse move: the interrupt flag, a diversion
  // left, and the image floor (ReplayTargetExec.cc).
  struct ClearInterrupt {
    std::atomic<bool>& flag;
    ~ClearInterrupt() { flag = false; }
  } clear{interrupt_};
  if (!session_) return Error{"no replay in progress"};
  end_diversion();
  Tid tid(req.thread.tid > 0 ? req.thread.tid : current_thread_.value);
  if (!session_->find(tid)) return Error{"no thread " + std::to_string(tid.value) + " here"};
  const std::optional<trace::TaskEvent> image = latest_exec(*session_);
  const uint64_t from_events = session_->events_completed();
  REWIND_TRY(set_image_floor(image, from_events));
  struct ClearFloor {
    std::optional<ImageFloor>& f;
    ~ClearFloor() { f.reset(); }
  } clear_floor{image_floor_};
  Result<StopInfo> r = with_breakpoints(req.breakpoints, [&] { return line_step(req, tid); });
  if (!r) return r.error().context("reverse line step");
  r = back_across_exec(image, from_events, *r);
  if (!r) return r.error();
  if (r->thread.tid > 0) current_thread_ = Tid(r->thread.tid);
  last_stop_ = *r;
  return r;
}

// At a call instruction of this frame rsp is the body's (x86-64 passes
// arguments in registers and in space the prologue reserved), so a line
// step from there can go back by line starts at once (back_to_line_start)
// instead of an instruction at a time, which in a hot loop means a
// breakpoint hit per iteration. A reverse-step must still enter a call
// made earlier on the line: only if [from, to) holds no call.
bool ReplayTarget::line_start_search_fits(LineStep kind, uint64_t pc, uint64_t range_start) {
  uint8_t code[16];
  auto n = read_memory(debuggee_.value, pc, code, sizeof code);
  if (!n || !call_length(code, *n)) return false;
  if (kind != LineStep::Step) return true;
  if (pc <= range_start || pc - range_start > 4096) return pc == range_start;
  std::vector<uint8_t> line(pc - range_start);
  auto got = read_memory(debuggee_.value, range_start, line.data(), line.size());
  if (!got || *got != line.size()) return false;
  for (size_t at = 0; at < line.size();) {
    auto insn = decode_insn(line.data() + at, line.size() - at);
    if (!insn || !insn->length) return false;
    if (call_length(line.data() + at, line.size() - at)) return false;
    at += insn->length;
  }
  return true;
}

// The search by line starts runs the stretch twice and counts every line
// start of the frame's function, in every thread that runs it; where the
// line began an instruction or three before (`mov %rbx,%rdi` before the
// call), gdb's reverse-stepi gets there in one counted run, and so do we.
bool ReplayTarget::near_line_start(uint64_t pc, uint64_t range_start) {
  constexpr uint64_t kNearBytes = 16;
  constexpr int kNearInsns = 3;
  if (pc <= range_start || pc - range_start > kNearBytes) return false;
  uint8_t code[kNearBytes];
  const size_t len = pc - range_start;
  auto got = read_memory(debuggee_.value, range_start, code, len);
  if (!got || *got != len) return false;
  int insns = 0;
  for (size_t at = 0; at < len; ++insns) {
    auto insn = decode_insn(code + at, len - at);
    if (!insn || !insn->length || call_length(code + at, len - at)) return false;
    at += insn->length;
  }
  return insns <= kNearInsns;
}

Result<StopInfo> ReplayTarget::line_step(const LineStepRequest& req, Tid tid) {
  auto regs = regs_of(tid);
  if (!regs) return regs.error();
  if (req.kind == LineStep::Finish) {
    // At the function's first instruction (a reverse-continue to a
    // breakpoint on it stops there) the call is the instruction before:
    // one step back, as gdb's reverse-finish takes from there. It leaves
    // the walk's marks near, for the step back that usually follows (a
    // reverse-continue to the call leaves none in a process of threads).
    if (!req.frame.ranges.empty() && regs->rip == entry_of(req.frame) &&
        regs->rsp == req.frame.cfa - 8)
      return reverse_step(tid);
    // The return address sits just below the CFA; the call ran with rsp
    // at the CFA.
    uint64_t ret = 0;
    auto n = read_memory(debuggee_.value, req.frame.cfa - 8, &ret, sizeof ret);
    if (!n) return n.error();
    if (*n != sizeof ret) return Error{"the frame's return address is not readable"};
    return back_to_call(tid, ret, req.frame.cfa);
  }
  const std::set<uint64_t> user_breakpoints = sw_breakpoints_;
  const FrameLines* frame = &req.frame;
  const LineRow* row = row_of(*frame, regs->rip);
  // Without a row the step range is empty: the first step leaves it.
  uint64_t range_start = row ? row->start : 0, range_end = row ? row->end : 0;
  uint32_t line = row ? row->line : 0;
  const uint64_t from_pc = regs->rip;
  StopInfo last = trap_stop(StopKind::Step, tid);
  uint64_t min_sp = regs->rsp;      // the frame's lowest rsp seen: its body's
  std::set<uint64_t> in_range_pcs;  // visited in the current step range
  if (row && regs->rip != range_start && line_start_search_fits(req.kind, regs->rip, range_start) &&
      !near_line_start(regs->rip, range_start))
    return back_to_line_start(tid, *frame, range_start, range_end, regs->rsp);
  for (uint64_t steps = 0;; ++steps) {
    if (steps == kMaxInsnsPerLine)
      return Error{"more than " + std::to_string(kMaxInsnsPerLine) +
                   " instructions back without reaching the start of a line"};
    const uint64_t prev_pc = regs->rip, prev_sp = regs->rsp;
    auto stop = reverse_step(tid);
    if (!stop) return stop.error();
    if (stop->kind != StopKind::Step) return stop;  // the start of history, an interrupt
    last = *stop;
    regs = regs_of(tid);
    if (!regs) return regs.error();
    uint64_t pc = regs->rip;

    // Back out of a call: at its `ret`, one word below, with our pc as the
    // return address.
    if (regs->rsp == prev_sp - 8) {
      uint64_t ret = 0;
      auto n = read_memory(debuggee_.value, regs->rsp, &ret, sizeof ret);
      if (n && *n == sizeof ret && ret == prev_pc) {
        if (req.kind == LineStep::Step && in_ranges(req.step_into, pc)) return last;
        auto back = back_to_call(tid, prev_pc, prev_sp);
        if (!back) return back.error();
        if (back->kind != StopKind::Step) return back;
        last = *back;
        regs = regs_of(tid);
        if (!regs) return regs.error();
        pc = regs->rip;
        // At the call in this frame's line: on by line starts.
        if (frame == &req.frame && pc >= range_start && pc < range_end && pc != range_start &&
            line_start_search_fits(req.kind, pc, range_start) && !near_line_start(pc, range_start))
          return back_to_line_start(tid, *frame, range_start, range_end, regs->rsp);
      }
    }
    if (!in_ranges(frame->ranges, pc)) {
      // Back over the function's entry, onto the call in the caller: on to
      // the start of the caller's line, if we know its lines.
      if (regs->rsp > prev_sp && frame == &req.frame && req.caller &&
          in_ranges(req.caller->ranges, pc)) {
        frame = &*req.caller;
        min_sp = regs->rsp;
        in_range_pcs.clear();
        row = row_of(*frame, pc);
        if (!row) return last;
        range_start = row->start;
        range_end = row->end;
        line = row->line;
        if (pc == range_start) return last;
        continue;
      }
      return last;  // somewhere else: a signal handler, a longjmp
    }
    if (user_breakpoints.count(pc) && pc != from_pc) {
      last.kind = StopKind::Breakpoint;
      return last;
    }
    const bool at_entry = pc == entry_of(*frame);
    min_sp = std::min<uint64_t>(min_sp, regs->rsp);
    if (pc >= range_start && pc < range_end) {
      // gdb stops at the start of the step range, unless that is the
      // function's entry: then it goes on back to the call.
      if (pc == range_start && !at_entry) return last;
      // Round a loop inside the line (`for (...) f(i);` on one line): gdb
      // steps back through every iteration. The same place is the last
      // time this frame stood at the line's start, or at the start of
      // another line (then that line ran last): one reverse-continue.
      if (!in_range_pcs.insert(pc).second)
        return back_to_line_start(tid, *frame, range_start, range_end, min_sp);
      continue;
    }
    in_range_pcs.clear();
    const LineRow* now = row_of(*frame, pc);
    if (!now) continue;  // code of no line: keep going
    // Into another row: its start is where the step ends (for a row of
    // the same line, gdb's refresh of the step range, the same).
    row = now;
    range_start = row->start;
    range_end = row->end;
    if (row->line != line) REWIND_LOG(Replay, "reverse line step: line %u -> %u", line, row->line);
    line = row->line;
    if (pc == range_start && !at_entry) return last;
  }
}

Result<StopInfo> ReplayTarget::back_to_line_start(Tid tid, const FrameLines& frame,
                                                  uint64_t range_start, uint64_t range_end,
                                                  uint64_t body_sp) {
  // The line's start, and every other line's: whichever this frame passed
  // last is where gdb's stepping would end. This frame: the thread's rsp
  // no lower than its body's (a call's frames lie below) and below the CFA.
  std::set<uint64_t> sites{range_start};
  for (const LineRow& r : frame.rows)
    if (r.line != 0 && (r.start < range_start || r.start >= range_end)) sites.insert(r.start);
  REWIND_LOG(Replay, "reverse line step: a loop inside the line; back to one of %zu line starts",
             sites.size());
  return reverse_to_sites(
      tid, sites, [&](const user_regs_struct& r) { return r.rsp >= body_sp && r.rsp < frame.cfa; });
}

Result<StopInfo> ReplayTarget::back_to_call(Tid tid, uint64_t return_to, uint64_t sp_at_call) {
  // The call instructions that end at return_to: x86 calls are 2 to 7
  // bytes long (with prefixes, up to 15); decode each candidate start.
  std::set<uint64_t> sites;
  uint8_t code[16];
  auto n = read_memory(debuggee_.value, return_to - sizeof code, code, sizeof code);
  if (n && *n == sizeof code) {
    for (size_t len = 2; len <= 15; ++len) {
      auto l = call_length(code + sizeof code - len, len);
      if (l && *l == len) sites.insert(return_to - len);
    }
  }
  // None: no call made this frame (the outermost one, a signal handler's
  // return to the kernel's trampoline). Back one instruction, then.
  if (sites.empty()) return reverse_step(tid);
  return reverse_to_sites(tid, sites,
                          [&](const user_regs_struct& r) { return r.rsp == sp_at_call; });
}

Result<StopInfo> ReplayTarget::reverse_to_sites(
    Tid tid, const std::set<uint64_t>& sites,
    const std::function<bool(const user_regs_struct&)>& in_frame) {
  std::set<uint64_t> added;
  for (uint64_t a : sites)
    if (sw_breakpoints_.insert(a).second) added.insert(a);
  // The sites go again, from the set and from the replay the debugger sees.
  auto done = [&](Result<StopInfo> r) -> Result<StopInfo> {
    for (uint64_t a : added) sw_breakpoints_.erase(a);
    if (session_) {
      auto removed = install_user_breakpoints(*session_);
      if (!removed && r) return removed.error();
    }
    return r;
  };
  for (int other = 0; other < kMaxOtherFrames; ++other) {
    auto stop = reverse_continue(tid);
    if (!stop) return done(stop.error());
    if (stop->kind != StopKind::Breakpoint) return done(stop);  // a watchpoint, history's start
    auto regs = regs_of(Tid(stop->thread.tid));
    if (!regs) return done(regs.error());
    const bool ours = sites.count(regs->rip) > 0;
    if (ours && stop->thread.tid == tid.value && in_frame(*regs)) {
      StopInfo s = *stop;
      s.kind = StopKind::Step;
      return done(s);
    }
    // A hit of the user's own breakpoint ends the move, as in gdb; a hit
    // of one of the sites in another frame or thread does not.
    if (!ours || !added.count(regs->rip)) return done(stop);
  }
  return done(Error{"the sites were hit in " + std::to_string(kMaxOtherFrames) +
                    " other frames or threads first"});
}

}  // namespace rwd
