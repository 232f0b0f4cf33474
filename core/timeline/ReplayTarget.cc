#include "core/timeline/ReplayTarget.h"

#include <blake2.h>
#include <elf.h>
#include <sys/mman.h>
#include <sys/uio.h>

#include <climits>
#include <cstring>
#include <fstream>

#include "core/base/Log.h"
#include "core/task/ProcMaps.h"
#include "core/task/RemoteSyscall.h"

namespace rwd {

using target::BreakpointType;
using target::StopInfo;
using target::StopKind;

Result<std::unique_ptr<ReplayTarget>> ReplayTarget::open(const std::filesystem::path& trace,
                                                         const ReplayOptions& options) {
  std::unique_ptr<ReplayTarget> t(new ReplayTarget());
  auto reader = trace::TraceReader::open(trace, trace::IncompleteTraces::ReadPrefix);
  if (!reader) return reader.error();
  t->reader_ = std::move(*reader);
  t->options_ = options;
  t->options_.emit_output = false;  // the debugger shows the program, not replay -a
  // Persistent checkpoints (rewind checkpoint create): a store that cannot
  // be opened only costs speed.
  auto store = trace::CheckpointStore::open(trace, t->reader_->header().uuid);
  if (store)
    t->store_ = std::move(*store);
  else
    warn("ignoring the trace's checkpoints: %s", store.error().message.c_str());
  return t;
}

Result<StopInfo> ReplayTarget::start(uint64_t event) {
  // Built aside and swapped in at the end: a start or seek that fails
  // leaves the debugger where it last stopped.
  auto c = fresh_session();
  if (!c) return c.error();
  StopInfo stop = trap_stop(StopKind::Signal, debuggee_);
  if (event > c->s->events_completed() && !select_pid_) {
    // From the newest checkpoint at or before it, persisted or not.
    auto nearer = cursor_at(MarkKey{event, 0});
    if (!nearer) return nearer.error();
    if (nearer->s->events_completed() > c->s->events_completed()) c = std::move(nearer);
  }
  if (event > c->s->events_completed()) {
    RunControl rc = control();
    rc.interrupt = nullptr;
    rc.stop_at_events = event;
    auto d = run(*c, rc);
    if (!d) return d.error();
    if (d->kind != StopKind::Interrupted) stop = to_stop_info(*d);
  }
  end_diversion();
  REWIND_TRY(adopt(std::move(*c)));
  current_thread_ = debuggee_;
  last_stop_ = stop;
  return stop;
}

// 0 and -1 are the protocol's "any thread" and "all threads": the current one.
RepTask* ReplayTarget::task(target::ThreadId t) {
  return session_ ? session_->find(t.tid > 0 ? Tid(t.tid) : current_thread_) : nullptr;
}

std::vector<target::ThreadId> ReplayTarget::threads() {
  std::vector<target::ThreadId> out;
  if (!session_) return out;
  for (RepTask* t : session_->tasks_of(debuggee_))
    out.push_back({debuggee_.value, t->task->rec_tid().value});
  return out;
}

target::ThreadId ReplayTarget::current_thread() {
  return {debuggee_.value, current_thread_.value};
}

Result<std::string> ReplayTarget::exec_file(pid_t pid) {
  // The latest exec of the process; a forked child that has not exec'd
  // runs its parent's program.
  const auto& events = session_->reader().task_events();
  for (int depth = 0; depth < 64; ++depth) {
    std::string path;
    pid_t parent = 0;
    for (const auto& te : events) {
      if (!exec_replayed(*session_, te)) continue;
      if (te.kind == trace::TaskEventKind::Exec && te.tid.value == pid) path = te.exe_path;
      if (te.kind == trace::TaskEventKind::Clone && te.tid.value == pid)
        parent = te.parent_tid.value;
    }
    if (!path.empty()) return path;
    if (!parent) break;
    pid = parent;
  }
  return Error{"no exec recorded for process " + std::to_string(pid)};
}

Result<std::vector<uint8_t>> ReplayTarget::auxv(pid_t pid) {
  // The auxv as the program saw it (recorded, with the vDSO's address, or
  // hidden where it could not be rewritten: RecordVdso.cc), read
  // from its initial stack: argc, argv..., 0, envp..., 0, then the pairs.
  RepTask* t = session_ ? session_->find(pid > 0 ? Tid(pid) : debuggee_) : nullptr;
  if (!t || !t->initial_rsp) return Error{"no such process"};
  Task& task = *t->task;
  auto argc = task.read_val<uint64_t>(RemotePtr(t->initial_rsp));
  if (!argc) return argc.error();
  uint64_t p = t->initial_rsp + 8 * (*argc + 2);
  for (;;) {
    auto v = task.read_val<uint64_t>(RemotePtr(p));
    if (!v) return v.error();
    p += 8;
    if (*v == 0) break;
  }
  std::vector<uint8_t> out;
  for (;; p += 16) {
    uint64_t pair[2];
    REWIND_TRY(task.read_mem(RemotePtr(p), pair, sizeof pair));
    out.insert(out.end(), reinterpret_cast<uint8_t*>(pair), reinterpret_cast<uint8_t*>(pair) + 16);
    if (pair[0] == AT_NULL) break;
  }
  return out;
}

Result<target::RegisterFile> ReplayTarget::registers(target::ThreadId t) {
  RepTask* rt = task(t);
  if (!rt) return Error{"no such thread"};
  Task& live = diversion_ ? *diversion_->task : *rt->task;
  target::RegisterFile rf;
  auto gp = live.get_regs();
  if (!gp) return gp.error();
  rf.gp = *gp;
  auto fp = ptrace_request(PTRACE_GETFPREGS, live.real_tid(), nullptr, &rf.fp);
  if (!fp) return fp.error();
  // The upper halves of YMM0-15 are XSAVE state component 2, at offset 576
  // of the standard-format XSAVE area (Intel SDM vol. 1, 13.4).
  alignas(64) uint8_t xsave[4096] = {};
  struct iovec iov = {xsave, sizeof xsave};
  if (ptrace_request(PTRACE_GETREGSET, live.real_tid(), reinterpret_cast<void*>(NT_X86_XSTATE),
                     &iov) &&
      iov.iov_len >= 576 + 256) {
    memcpy(rf.ymm_hi.data(), xsave + 576, 256);
    rf.has_avx = true;
  }
  return rf;
}

Result<void> ReplayTarget::set_registers(target::ThreadId t, const target::RegisterFile& regs) {
  if (!diversion_) {
    auto now = registers(t);
    if (!now) return now.error();
    if (memcmp(&now->gp, &regs.gp, sizeof regs.gp) == 0 &&
        memcmp(&now->fp, &regs.fp, sizeof regs.fp) == 0)
      return ok_result();  // nothing changes
    auto d = divert();
    if (!d) return d.error();
  }
  return diversion_set_registers(regs);
}

Result<size_t> ReplayTarget::read_memory(pid_t pid, uint64_t addr, void* out, size_t len) {
  RepTask* t = session_ ? session_->find(pid > 0 ? Tid(pid) : current_thread_) : nullptr;
  if (!t) return Error{"no such process"};
  AddressSpace& as = diversion_ ? diversion_->task->as() : t->task->as();
  size_t got = as.read_partial(RemotePtr(addr), out, len);
  as.hide_breakpoints(addr, static_cast<uint8_t*>(out), got);
  return got;
}

Result<void> ReplayTarget::write_memory(pid_t, uint64_t addr, const void* in, size_t len) {
  auto d = divert();
  if (!d) return d.error();
  return (*d)->task->as().write(RemotePtr(addr), in, len);
}

DebugRegSlots ReplayTarget::debug_slots() const {
  DebugRegSlots slots{};
  for (size_t i = 0; i < watches_.size() && i < 4; ++i) {
    const Watch& w = watches_[i];
    slots[i].enabled = true;
    slots[i].addr = w.addr;
    slots[i].len = static_cast<uint8_t>(w.len);
    slots[i].condition = w.type == BreakpointType::Hardware ? DebugRegSlot::Condition::Execute
                         : w.type == BreakpointType::WriteWatch
                             ? DebugRegSlot::Condition::Write
                             // x86 has no read-only condition: a read watch
                             // is an access watch the debugger filters.
                             : DebugRegSlot::Condition::ReadWrite;
  }
  return slots;
}

Result<void> ReplayTarget::install_user_breakpoints(ReplaySession& s) {
  REWIND_TRY(s.set_breakpoints(debuggee_, sw_breakpoints_));
  return s.set_debug_registers(debuggee_, debug_slots());
}

Result<void> ReplayTarget::clear_user_breakpoints(ReplaySession& s) {
  REWIND_TRY(s.set_breakpoints(debuggee_, {}));
  return s.set_debug_registers(debuggee_, DebugRegSlots{});
}

Result<void> ReplayTarget::add_breakpoint(BreakpointType type, uint64_t addr, size_t len) {
  if (type == BreakpointType::Software && diversion_) {
    REWIND_TRY(diversion_->task->as().add_breakpoint(addr));
    sw_breakpoints_.insert(addr);
    return install_user_breakpoints(*session_);
  }
  if (type == BreakpointType::Software) {
    sw_breakpoints_.insert(addr);
  } else {
    if (watches_.size() >= 4) return Error{"all 4 hardware debug registers are in use"};
    if (type != BreakpointType::Hardware && len != 1 && len != 2 && len != 4 && len != 8)
      return Error{"watchpoint length must be 1, 2, 4 or 8"};
    if (type != BreakpointType::Hardware && addr % len != 0)
      return Error{"watchpoint address must be aligned to its length"};
    watches_.push_back({type, addr, type == BreakpointType::Hardware ? 1 : len});
  }
  if (session_) {
    auto r = install_user_breakpoints(*session_);
    if (!r) {
      (void)remove_breakpoint(type, addr, len);
      return r.error();
    }
    if (type == BreakpointType::Software) {
      RepTask* t = session_->find(debuggee_);
      if (t && !t->task->as().has_breakpoint(addr)) {
        sw_breakpoints_.erase(addr);
        REWIND_TRY(install_user_breakpoints(*session_));
        return Error{"cannot insert a breakpoint at an unmapped address"};
      }
    }
  }
  return ok_result();
}

Result<void> ReplayTarget::remove_breakpoint(BreakpointType type, uint64_t addr, size_t len) {
  if (type == BreakpointType::Software && diversion_)
    REWIND_TRY(diversion_->task->as().remove_breakpoint(addr));
  if (type == BreakpointType::Software) {
    sw_breakpoints_.erase(addr);
  } else {
    for (auto it = watches_.begin(); it != watches_.end(); ++it) {
      if (it->type == type && it->addr == addr) {
        watches_.erase(it);
        break;
      }
    }
  }
  if (session_) REWIND_TRY(install_user_breakpoints(*session_));
  return ok_result();
}

StopInfo ReplayTarget::to_stop_info(const DebugStop& d) {
  StopInfo s;
  s.kind = d.kind;
  s.thread = {debuggee_.value, d.tid.value};
  s.signo = d.signo;
  s.watch_addr = d.watch_addr;
  s.watch_type = d.watch_type;
  if (d.kind == StopKind::Exited) s.exit_code = WEXITSTATUS(d.exit_status);
  if (d.kind == StopKind::Killed) s.signo = WTERMSIG(d.exit_status);
  return s;
}

Result<StopInfo> ReplayTarget::resume(const target::ResumeRequest& req) {
  // An interrupt counts for the resume it arrives during, however early:
  // the flag is cleared when the resume ends, not when it starts.
  struct ClearInterrupt {
    std::atomic<bool>& flag;
    ~ClearInterrupt() { flag = false; }
  } clear{interrupt_};
  if (!session_) return Error{"no replay in progress"};
  if (diversion_) {
    if (req.direction == target::Direction::Forward) return diversion_resume(req);
    end_diversion();  // going back in time leaves the diversion
  }
  Tid thread(req.thread.tid > 0 ? req.thread.tid : current_thread_.value);
  // The image the process runs before a reverse move (ReplayTargetExec.cc).
  const std::optional<trace::TaskEvent> image = latest_exec(*session_);
  const uint64_t from_events = session_->events_completed();
  if (req.direction == target::Direction::Reverse) REWIND_TRY(set_image_floor(image, from_events));
  struct ClearFloor {
    std::optional<ImageFloor>& f;
    ~ClearFloor() { f.reset(); }
  } clear_floor{image_floor_};
  Result<StopInfo> r = req.direction == target::Direction::Forward
                           ? forward(req)
                           : with_breakpoints(req.breakpoints, [&] {
                               return req.action == target::ResumeRequest::Action::Continue
                                          ? reverse_continue(thread)
                                          : reverse_step(thread);
                             });
  // Reverse execution works on a copy of the replay, so a failure leaves
  // session_ where the debugger last saw it; forward() says where it is.
  if (!r && req.direction == target::Direction::Reverse)
    return r.error().context(req.action == target::ResumeRequest::Action::Continue
                                 ? "reverse-continue"
                                 : "reverse-step");
  if (!r) return r.error();
  if (req.direction == target::Direction::Reverse) r = back_across_exec(image, from_events, *r);
  if (!r) return r.error();
  if (req.end_before_exit && (r->kind == StopKind::Exited || r->kind == StopKind::Killed)) {
    // The exit is the last event, not yet completed: a seek to the events
    // completed stands at it, the process still there.
    const StopInfo exit = *r;
    r = seek(session_->events_completed());
    if (!r) return r.error().context("stopping before the program's exit");
    r->kind = StopKind::HistoryEnd;
    r->signo = SIGTRAP;
    r->exit_code = exit.exit_code;
  }
  if (r->thread.tid > 0) current_thread_ = Tid(r->thread.tid);
  last_stop_ = *r;
  return r;
}

Result<StopInfo> ReplayTarget::forward(const target::ResumeRequest& req) {
  if (last_stop_.kind == StopKind::Exited || last_stop_.kind == StopKind::Killed ||
      last_stop_.kind == StopKind::HistoryEnd) {
    StopInfo s = last_stop_;
    s.kind = StopKind::HistoryEnd;
    s.signo = SIGTRAP;
    return s;
  }
  RunControl rc = control();
  rc.stop_after_exec_of = debuggee_;
  if (req.action == target::ResumeRequest::Action::Step)
    rc.step = Tid(req.thread.tid > 0 ? req.thread.tid : current_thread_.value);
  const uint64_t from = session_->events_completed();
  // Going forwards, past whatever mark lay ahead.
  Cursor c{std::move(session_), passed_, since_mark_, {}, std::nullopt, {}};
  auto d = run(c, rc);
  session_ = std::move(c.s);
  passed_ = c.passed;
  ahead_.reset();
  since_mark_ = c.since_mark;
  // Forward replay cannot be undone cheaply: say where it stopped, which is
  // where the debugger, re-reading the registers, will find the program.
  if (!d)
    return d.error().context("replaying forward from event " + std::to_string(from) +
                             ", stopped at event " + std::to_string(session_->events_completed()));
  if (d->kind == StopKind::Exec) return exec_stop(d->tid);
  return to_stop_info(*d);
}

}  // namespace rwd
