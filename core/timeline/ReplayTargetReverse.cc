// ReplayTarget's reverse execution, timeline and recorded files.
//
// Without ticks, a position is found by state: replay to the position's
// event count, then to the first execution of its pc whose registers (and,
// when those match, a hash of writable memory) equal the recorded ones.
// Equal state means an equal future, so the match is the position even if
// an earlier loop iteration matched (../shared/design/no-pmu.md).
#include <blake2.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cstring>

#include "core/base/Log.h"
#include "core/timeline/RecordedFiles.h"
#include "core/timeline/ReplayTarget.h"
#include "core/task/ProcMaps.h"
#include "core/task/RemoteSyscall.h"
#include "core/task/StateHash.h"

namespace rwd {

using target::StopInfo;
using target::StopKind;

namespace {

// Single-stepping from the last execution of the pc (or the last event) to
// the position: bounded, so a pathological case fails instead of hanging.
constexpr uint64_t kMaxReverseSteps = 2'000'000;

}  // namespace

Result<ReplayTarget::Position> ReplayTarget::position_of(ReplaySession& s, Tid tid) {
  RepTask* t = s.find(tid);
  if (!t) return Error{"no such thread " + std::to_string(tid.value)};
  auto regs = t->task->get_regs();
  if (!regs) return regs.error();
  Position p;
  p.events = s.events_completed();
  p.tid = tid;
  p.regs = *regs;
  auto hash = hash_task_state(*t->task);
  if (!hash) return hash.error();
  p.mem_hash = *hash;
  p.has_hash = true;
  return p;
}

Result<bool> ReplayTarget::matches(ReplaySession& s, const Position& p) {
  if (s.events_completed() != p.events) return false;
  RepTask* t = s.find(p.tid);
  if (!t) return false;
  auto regs = t->task->get_regs();
  if (!regs) return regs.error();
  user_regs_struct want = p.regs;
  if (p.before_syscall) {
    want.rcx = regs->rcx;
    want.r11 = regs->r11;
  }
  if (!same_user_registers(*regs, want)) {
    if (log_enabled(LogCategory::Replay)) {
      const auto* a = reinterpret_cast<const unsigned long long*>(&*regs);
      const auto* b = reinterpret_cast<const unsigned long long*>(&want);
      for (size_t i = 0; i < sizeof want / sizeof *a; ++i)
        if (a[i] != b[i])
          REWIND_LOG(Replay,
                     "position (pc 0x%llx%s) mismatch: register slot %zu is 0x%llx, want 0x%llx",
                     p.regs.rip, p.before_syscall ? ", before syscall" : "", i, a[i], b[i]);
    }
    return false;
  }
  if (!p.has_hash) return true;
  auto hash = hash_task_state(*t->task);
  if (!hash) return hash.error();
  return *hash == p.mem_hash;
}

// Runs `s` until `events` events are complete.
static Result<void> run_to_events(ReplaySession& s, RunControl c, uint64_t events) {
  c.stop_at_events = events;
  while (s.events_completed() < events) {
    auto d = s.run(c);
    if (!d) return d.error();
    if (d->kind == StopKind::Interrupted) break;
    if (d->kind == StopKind::HistoryEnd) return Error{"the position lies beyond the trace"};
  }
  return ok_result();
}

// Runs `s` on to the `nth` execution (from 1) of `pc` by `tid` after the
// current point, or to the one matching `until` if given. Returns the
// number of executions before the stop.
static Result<uint64_t> run_to_pc(ReplaySession& s, RunControl c, Tid tid, uint64_t pc,
                                  uint64_t nth, const std::function<Result<bool>()>& until) {
  RepTask* t = s.find(tid);
  if (!t) return Error{"no such thread"};
  REWIND_TRY(t->task->as().add_breakpoint(pc));
  uint64_t seen = 0;
  Result<uint64_t> result = Error{"not reached"};
  for (;;) {
    auto d = s.run(c);
    if (!d) {
      result = d.error();
      break;
    }
    if (d->kind == StopKind::Breakpoint && d->tid == tid) {
      auto regs = t->task->get_regs();
      if (regs && regs->rip == pc) {
        if (until) {
          auto m = until();
          if (!m) {
            result = m.error();
            break;
          }
          if (*m) {
            result = seen;
            break;
          }
        } else if (seen + 1 == nth) {
          result = seen;
          break;
        }
        ++seen;
        continue;
      }
    }
    if (d->kind == StopKind::Exited || d->kind == StopKind::Killed ||
        d->kind == StopKind::HistoryEnd) {
      result = Error{"replay ended before reaching the position"};
      break;
    }
  }
  if (RepTask* again = s.find(tid)) (void)again->task->as().remove_breakpoint(pc);
  return result;
}

Result<void> ReplayTarget::reach(ReplaySession& s, const Position& p) {
  REWIND_TRY(run_to_events(s, control(), p.events));
  auto here = matches(s, p);
  if (!here) return here.error();
  if (*here) return ok_result();
  auto r = run_to_pc(s, control(), p.tid, p.regs.rip, 0, [&] { return matches(s, p); });
  if (!r) return r.error().context("finding a position in the replay");
  return ok_result();
}

Result<StopInfo> ReplayTarget::go_to(const Position& p, StopInfo report) {
  end_diversion();
  auto s = session_near(p.events);
  if (!s) return s.error();
  REWIND_TRY(reach(**s, p));
  REWIND_TRY(install_user_breakpoints(**s));
  session_ = std::move(*s);
  return report;
}

Result<StopInfo> ReplayTarget::at_history_begin() {
  auto s = session_near(0);
  if (!s) return s.error();
  REWIND_TRY(install_user_breakpoints(**s));
  session_ = std::move(*s);
  return trap_stop(StopKind::HistoryBegin, debuggee_);
}

Result<void> ReplayTarget::collect_hits(ReplaySession& s, const Position* until,
                                        uint64_t until_events, std::vector<Hit>& hits) {
  const uint64_t window_start = s.events_completed();
  std::map<std::pair<pid_t, uint64_t>, uint64_t> executions;  // (tid, pc) -> count
  auto record_hit = [&](const DebugStop& d) -> Result<void> {
    Hit h;
    h.stop = d;
    h.window_start = window_start;
    if (d.kind == StopKind::Breakpoint) {
      RepTask* t = s.find(d.tid);
      auto regs = t ? t->task->get_regs() : Result<user_regs_struct>(Error{"no thread"});
      if (!regs) return regs.error();
      h.pc = regs->rip;
      h.nth = ++executions[{d.tid.value, h.pc}];
    } else {
      auto pos = position_of(s, d.tid);
      if (!pos) return pos.error();
      h.pos = *pos;
    }
    hits.push_back(std::move(h));
    return ok_result();
  };
  auto is_hit = [](const DebugStop& d) {
    return d.kind == StopKind::Breakpoint || d.kind == StopKind::HwBreakpoint ||
           d.kind == StopKind::Watchpoint;
  };
  RunControl c = control();
  c.stop_at_events = until ? until->events : until_events;
  for (;;) {
    auto d = s.run(c);
    if (!d) return d.error();
    if (d->kind == StopKind::Interrupted) break;
    if (is_hit(*d)) {
      REWIND_TRY(record_hit(*d));
      continue;
    }
    if (d->kind != StopKind::Step) return Error{"reverse execution: the replay ended early"};
  }
  if (!until) return ok_result();
  auto at = matches(s, *until);
  if (!at) return at.error();
  if (*at) return ok_result();
  // Within the position's event: on to the position itself, which a
  // temporary breakpoint at its pc finds.
  const Position& p = *until;
  RepTask* t = s.find(p.tid);
  if (!t) return Error{"reverse execution: the thread is gone"};
  REWIND_TRY(t->task->as().add_breakpoint(p.regs.rip));
  c.stop_at_events = UINT64_MAX;
  for (;;) {
    auto d = s.run(c);
    if (!d) return d.error();
    if (d->kind == StopKind::Breakpoint && d->tid == p.tid) {
      auto regs = t->task->get_regs();
      if (!regs) return regs.error();
      if (regs->rip == p.regs.rip) {
        auto m = matches(s, p);
        if (!m) return m.error();
        if (*m) break;
        // An earlier execution of the position's pc: a hit only if the user
        // has a breakpoint there too.
        if (!sw_breakpoints_.count(p.regs.rip)) continue;
      }
    }
    if (is_hit(*d)) {
      REWIND_TRY(record_hit(*d));
      continue;
    }
    if (d->kind != StopKind::Step) return Error{"reverse execution: lost the current position"};
  }
  (void)t->task->as().remove_breakpoint(p.regs.rip);
  return ok_result();
}

Result<StopInfo> ReplayTarget::reverse_continue(Tid thread) {
  auto here = position_of(*session_, thread);
  if (!here) return here.error();
  const Position p = *here;
  // Search backwards one checkpoint interval at a time: from the nearest
  // checkpoint up to here, then from the one before up to that one, ...
  // The last hit in the latest interval that has any is the answer.
  std::vector<Hit> hits;
  uint64_t window_end = p.events;
  bool first_window = true;
  // Single-stepping a whole window for a watchpoint (no debug registers
  // here) would take minutes in a loop; a run that compares the watched
  // bytes at each event says which intervals need it.
  const bool scan_watches = session_->steps_to_watch() && !watches_.empty() &&
                            std::none_of(watches_.begin(), watches_.end(), [](const Watch& w) {
                              return w.type == target::BreakpointType::Hardware;
                            });
  struct ClearIntervals {
    std::optional<std::set<uint64_t>>& v;
    ~ClearIntervals() { v.reset(); }
  } clear{watch_intervals_};
  for (;;) {
    if (scan_watches) {
      watch_intervals_.reset();
      auto changed = intervals_changing_watches(first_window ? p.events : window_end,
                                                first_window ? &p : nullptr);
      if (!changed) return changed.error();
      watch_intervals_ = std::move(*changed);
    }
    auto s = session_near(first_window ? p.events : window_end - 1);
    if (!s) return s.error();
    const uint64_t window_start = (*s)->events_completed();
    REWIND_TRY(install_user_breakpoints(**s));
    REWIND_TRY(collect_hits(**s, first_window ? &p : nullptr, window_end, hits));
    if (!hits.empty()) break;
    if (window_start <= auto_checkpoints_.front()->events_completed()) return at_history_begin();
    if (below_image_floor(window_start)) return at_image_floor();  // ReplayTargetExec.cc
    window_end = window_start;
    first_window = false;
  }
  return go_to_hit(hits.back());
}

std::vector<uint8_t> ReplayTarget::watched_bytes(ReplaySession& s) {
  std::vector<uint8_t> out;
  std::vector<RepTask*> tasks = s.tasks_of(debuggee_);
  for (const Watch& w : watches_) {
    std::vector<uint8_t> b(w.len, 0);
    if (!tasks.empty()) tasks.front()->task->as().read_partial(RemotePtr(w.addr), b.data(), w.len);
    out.insert(out.end(), b.begin(), b.end());
  }
  return out;
}

Result<std::set<uint64_t>> ReplayTarget::intervals_changing_watches(uint64_t window_end,
                                                                    const Position* until) {
  auto s = session_near(until ? window_end : window_end - 1);
  if (!s) return s.error();
  std::set<uint64_t> changed;
  std::vector<uint8_t> before = watched_bytes(**s);
  RunControl c = control();
  c.stop_at_events = window_end;
  c.on_boundary = [&](ReplaySession& rs) {
    maybe_checkpoint(rs);
    std::vector<uint8_t> now = watched_bytes(rs);
    if (now != before) changed.insert(rs.events_completed() - 1);
    before = std::move(now);
  };
  for (;;) {
    auto d = (*s)->run(c);
    if (!d) return d.error();
    if (d->kind == StopKind::Interrupted || d->kind == StopKind::HistoryEnd ||
        d->kind == StopKind::Exited || d->kind == StopKind::Killed)
      break;
  }
  // The partial interval from the last event to the position itself.
  if (until && watched_bytes(*session_) != before) changed.insert(until->events);
  return changed;
}

Result<StopInfo> ReplayTarget::go_to_hit(const Hit& h) {
  StopInfo report = to_stop_info(h.stop);
  if (h.nth > 0) {
    // Replay the window again, counting executions of the pc.
    end_diversion();
    auto s = session_near(h.window_start);
    if (!s) return s.error();
    if ((*s)->events_completed() != h.window_start)
      return Error{"reverse-continue: the search window's checkpoint is gone"};
    auto r = run_to_pc(**s, control(), h.stop.tid, h.pc, h.nth, {});
    if (!r) return r.error();
    REWIND_TRY(install_user_breakpoints(**s));
    session_ = std::move(*s);
    return report;
  }
  if (h.stop.kind == StopKind::Watchpoint) {
    // Going backwards, a watchpoint stops before the write, so the debugger
    // sees the value as it was.
    auto before = session_before(h.pos);
    if (!before) return before.error();
    if (!*before) return at_history_begin();
    REWIND_TRY(install_user_breakpoints(**before));
    session_ = std::move(*before);
    return report;
  }
  return go_to(h.pos, report);
}

Result<StopInfo> ReplayTarget::reverse_step(Tid thread) {
  auto here = position_of(*session_, thread);
  if (!here) return here.error();
  auto before = session_before(*here);
  if (!before) return before.error();
  if (!*before) return at_history_begin();
  REWIND_TRY(install_user_breakpoints(**before));
  session_ = std::move(*before);
  return trap_stop(StopKind::Step, thread);
}

// A fresh session standing one instruction of p.tid before p; nullptr at
// the start of the recording.
Result<std::unique_ptr<ReplaySession>> ReplayTarget::session_before(const Position& p) {
  auto first = session_near(p.events);
  if (!first) return first.error();
  ReplaySession& s1 = **first;
  REWIND_TRY(run_to_events(s1, control(), p.events));
  auto at_boundary = matches(s1, p);
  if (!at_boundary) return at_boundary.error();
  if (*at_boundary) {
    // The instruction before is the task's last event: its syscall
    // instruction or its rdtsc. Stand before it.
    auto le = s1.last_instruction_event(p.tid);
    if (!le) return std::unique_ptr<ReplaySession>();
    Position q;
    q.events = le->events_before;
    q.tid = p.tid;
    q.regs = le->regs;
    if (le->kind == trace::EventKind::SyscallEntry) {
      q.regs.rip -= 2;               // back onto the `syscall` instruction
      q.regs.rax = q.regs.orig_rax;  // the number the program loaded
      q.before_syscall = true;
    }
    q.has_hash = false;  // not known, and registers there are specific enough
    auto s = session_near(q.events);
    if (!s) return s.error();
    REWIND_TRY(reach(**s, q));
    return std::move(*s);
  }
  // How often did the task execute p's pc after the event, before p?
  auto earlier = run_to_pc(s1, control(), p.tid, p.regs.rip, 0, [&] { return matches(s1, p); });
  if (!earlier) return earlier.error();
  // Count the single-steps from the last of those (or from the event) to p,
  // then stand one step short of it in a third replay.
  auto count_steps = [&](ReplaySession& s, uint64_t limit) -> Result<uint64_t> {
    REWIND_TRY(run_to_events(s, control(), p.events));
    if (*earlier > 0) {
      auto r = run_to_pc(s, control(), p.tid, p.regs.rip, *earlier, {});
      if (!r) return r.error();
    }
    RunControl c = control();
    c.step = p.tid;
    for (uint64_t k = 0; k < limit; ++k) {
      if (limit != UINT64_MAX && k + 1 == limit) return k;
      auto m = matches(s, p);
      if (!m) return m.error();
      if (*m) return k;
      auto d = s.run(c);
      if (!d) return d.error();
      if (d->kind != StopKind::Step && d->kind != StopKind::Breakpoint)
        return Error{"reverse-step: the replay ended early"};
    }
    return Error{"reverse-step: the previous instruction is too far back"};
  };
  REWIND_LOG(Replay, "reverse-step: %llu earlier executions of 0x%llx since event %llu",
             (unsigned long long)*earlier, p.regs.rip, (unsigned long long)p.events);
  auto s2 = session_near(p.events);
  if (!s2) return s2.error();
  auto steps = count_steps(**s2, kMaxReverseSteps);
  if (!steps) return steps.error();
  if (*steps == 0) return Error{"reverse-step: could not find the previous instruction"};
  REWIND_LOG(Replay, "reverse-step: %llu single-steps to the position", (unsigned long long)*steps);
  auto s3 = session_near(p.events);
  if (!s3) return s3.error();
  auto again = count_steps(**s3, *steps);
  if (!again) return again.error();
  return std::move(*s3);
}

namespace {
// Events between automatic checkpoints: a fork costs ~0.5 ms, replaying an
// event ~5-10 us, so checkpoints cost a few percent of replay time and no
// reverse operation replays more than this many events to find its start.
constexpr uint64_t kCheckpointInterval = 2000;
constexpr size_t kMaxCheckpoints = 128;
}  // namespace

RunControl ReplayTarget::control() {
  RunControl c;
  c.debuggee = debuggee_;
  c.on_boundary = [this](ReplaySession& s) { maybe_checkpoint(s); };
  if (watch_intervals_)
    c.step_to_watch_in = [this](uint64_t events) { return watch_intervals_->count(events) > 0; };
  return c;
}

void ReplayTarget::maybe_checkpoint(ReplaySession& s) {
  const uint64_t at = s.events_completed();
  auto later =
      std::upper_bound(auto_checkpoints_.begin(), auto_checkpoints_.end(), at,
                       [](uint64_t v, const auto& cp) { return v < cp->events_completed(); });
  if (later != auto_checkpoints_.begin() &&
      at < (*std::prev(later))->events_completed() + kCheckpointInterval &&
      !auto_checkpoints_.empty())
    return;
  if (later != auto_checkpoints_.end() && (*later)->events_completed() < at + kCheckpointInterval)
    return;
  if (!s.can_checkpoint()) return;
  auto cp = s.checkpoint();
  if (!cp) {
    REWIND_LOG(Replay, "no checkpoint: %s", cp.error().message.c_str());
    return;
  }
  auto_checkpoints_.insert(later, *cp);
  if (auto_checkpoints_.size() > kMaxCheckpoints) {
    // Thin out: keep the start and every other one after it.
    std::vector<std::shared_ptr<const SessionCheckpoint>> kept;
    for (size_t i = 0; i < auto_checkpoints_.size(); ++i)
      if (i == 0 || i % 2 == 0) kept.push_back(auto_checkpoints_[i]);
    auto_checkpoints_ = std::move(kept);
  }
}

Result<std::unique_ptr<ReplaySession>> ReplayTarget::session_near(uint64_t events) {
  auto later =
      std::upper_bound(auto_checkpoints_.begin(), auto_checkpoints_.end(), events,
                       [](uint64_t v, const auto& cp) { return v < cp->events_completed(); });
  if (later == auto_checkpoints_.begin()) return fresh_session();
  auto s = ReplaySession::restore(**std::prev(later));
  if (!s) return s.error();
  debuggee_ = select_pid_ ? Tid(select_pid_) : (*s)->root();
  return s;
}

uint64_t ReplayTarget::current_event() {
  return session_ ? session_->events_completed() : 0;
}

Result<StopInfo> ReplayTarget::seek(uint64_t event) {
  return start(event);
}

Result<int> ReplayTarget::checkpoint() {
  auto pos = position_of(*session_, current_thread_);
  if (!pos) return pos.error();
  target::CheckpointInfo info;
  info.id = next_checkpoint_++;
  info.event = pos->events;
  char where[96];
  snprintf(where, sizeof where, "event %llu, tid %d, pc 0x%llx", (unsigned long long)pos->events,
           pos->tid.value, pos->regs.rip);
  info.where = where;
  checkpoints_.push_back({info, *pos});
  return info.id;
}

Result<StopInfo> ReplayTarget::restart_checkpoint(int id) {
  for (auto& [info, pos] : checkpoints_) {
    if (info.id != id) continue;
    auto stop = go_to(pos, trap_stop(StopKind::Signal, pos.tid));
    if (stop) current_thread_ = pos.tid;  // not before: a failed go_to stays put
    return stop;
  }
  return Error{"no checkpoint " + std::to_string(id)};
}

std::vector<target::CheckpointInfo> ReplayTarget::checkpoints() {
  std::vector<target::CheckpointInfo> out;
  for (auto& [info, pos] : checkpoints_) out.push_back(info);
  return out;
}

// The trace's copy of a file the recording mapped or executed, looked up by
// the path the debugger asks for (which may go through symlinks, such as
// /lib64 or /lib on merged-/usr systems).
std::optional<std::string> ReplayTarget::trace_copy_of(const std::string& path) {
  std::error_code ec;
  const std::string canon = std::filesystem::weakly_canonical(path, ec).string();
  auto same = [&](const std::string& recorded) {
    if (recorded == path || recorded == canon) return true;
    std::error_code ec2;
    return std::filesystem::weakly_canonical(recorded, ec2).string() == canon;
  };
  const trace::TraceReader& r = session_->reader();
  for (const auto& te : r.task_events()) {
    if (te.kind != trace::TaskEventKind::Exec) continue;
    if (same(te.exe_path)) return r.file_path(te.exe_trace_file).string();
    if (!te.interp_trace_file.empty() && same(te.interp_path))
      return r.file_path(te.interp_trace_file).string();
  }
  for (const auto& m : r.mappings())
    if (!m.trace_file.empty() && same(m.orig_path)) return r.file_path(m.trace_file).string();
  return std::nullopt;
}

// Only what the trace holds, and separate debug info by build-id, which
// the program never mapped (RecordedFiles.h): never any other file of this
// machine, such as /etc/shadow or /proc/self/mem of rewind itself.
Result<ScopedFd> ReplayTarget::open_recorded_file(const std::string& path) {
  if (std::optional<std::string> copy = trace_copy_of(path)) {
    ScopedFd fd(::open(copy->c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.is_open())
      return Error::from_errno("open " + *copy + " (the trace's copy of " + path + ")");
    return fd;
  }
  return open_file_beneath(kBuildIdDebugDir, path);
}

Result<std::vector<uint8_t>> ReplayTarget::read_recorded_file(const std::string& path,
                                                              uint64_t offset, size_t len) {
  Result<ScopedFd> fd = open_recorded_file(path);
  if (!fd) return fd.error();
  std::vector<uint8_t> out(len);
  size_t done = 0;
  // Past the largest off_t nothing can be read.
  while (done < len && offset + done <= static_cast<uint64_t>(INT64_MAX)) {
    ssize_t n =
        ::pread(fd->get(), out.data() + done, len - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Error::from_errno("read " + path);
    if (n == 0) break;
    done += static_cast<size_t>(n);
  }
  out.resize(done);
  return out;
}

Result<uint64_t> ReplayTarget::recorded_file_size(const std::string& path) {
  Result<ScopedFd> fd = open_recorded_file(path);
  if (!fd) return fd.error();
  struct stat st;
  if (::fstat(fd->get(), &st) < 0) return Error::from_errno("fstat " + path);
  return static_cast<uint64_t>(st.st_size);
}

}  // namespace rwd
