// target::Target over a replayed trace: what the gdb server (and the LLDB
// plugin) drive. This is the timeline layer, above core/replay/.
//
// Forward execution is ReplaySession::run(). Reverse execution restarts a
// replay from a mark (Marks.h: frozen checkpoints at event boundaries and
// inside long event-free stretches) and runs it forward at native speed,
// counting breakpoint hits in the tracee, then runs it again to the last
// hit (ReverseContinue.cc). Positions (Position.h) name a point by its
// thread's state; a run from an earlier mark finds one in the tracee too.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <vector>

#include "core/api/Target.h"
#include "core/base/Fd.h"
#include "core/replay/ReplaySession.h"
#include "core/timeline/Marks.h"
#include "core/timeline/Position.h"

namespace rwd {

class ReplayTarget : public target::Target {
 public:
  ~ReplayTarget() override { end_diversion(); }
  static Result<std::unique_ptr<ReplayTarget>> open(const std::filesystem::path& trace,
                                                    const ReplayOptions& options);
  // Which process the debugger sees: the initial one by default, or the one
  // with this recorded pid, from its exec (rewind replay -p) or from its
  // fork (-f). Call before start().
  void select_process(pid_t pid, bool from_fork) {
    select_pid_ = pid;
    select_from_fork_ = from_fork;
  }
  // Replays to the first instruction of the debugged process; with `event`,
  // on to that many completed events (rewind replay -g).
  Result<target::StopInfo> start(uint64_t event = 0);
  // Where an incomplete trace ends; nullopt for a finished recording.
  const std::optional<trace::TraceEnd>& trace_end() const { return reader_->incomplete(); }
  // Stops the program, as gdb expects, at the last stop reported.
  target::StopInfo last_stop() const { return last_stop_; }

  std::vector<target::ThreadId> threads() override;
  target::ThreadId current_thread() override;
  Result<std::string> exec_file(pid_t pid) override;
  Result<std::vector<uint8_t>> auxv(pid_t pid) override;
  Result<target::RegisterFile> registers(target::ThreadId t) override;
  Result<void> set_registers(target::ThreadId t, const target::RegisterFile& regs) override;
  Result<size_t> read_memory(pid_t pid, uint64_t addr, void* out, size_t len) override;
  Result<void> write_memory(pid_t pid, uint64_t addr, const void* in, size_t len) override;
  Result<void> add_breakpoint(target::BreakpointType type, uint64_t addr, size_t len) override;
  Result<void> remove_breakpoint(target::BreakpointType type, uint64_t addr, size_t len) override;
  Result<target::StopInfo> resume(const target::ResumeRequest& req) override;
  void interrupt() override { interrupt_ = true; }
  Result<target::StopInfo> restart() override { return start(); }
  Result<target::StopInfo> reverse_line_step(const target::LineStepRequest& req) override;
  Result<std::vector<uint8_t>> read_recorded_file(const std::string& path, uint64_t offset,
                                                  size_t len) override;
  Result<uint64_t> recorded_file_size(const std::string& path) override;
  std::vector<std::pair<std::string, std::string>> recorded_file_copies() override;
  uint64_t current_event() override;
  Result<target::StopInfo> seek(uint64_t event) override;
  Result<int> checkpoint() override;
  Result<target::StopInfo> restart_checkpoint(int id) override;
  std::vector<target::CheckpointInfo> checkpoints() override;

 private:
  // A replay and the last mark (or event boundary) it has passed, which
  // orders it among the marks inside a stretch.
  struct Cursor {
    std::unique_ptr<ReplaySession> s;
    MarkKey passed;
    // Replay time since it passed or took a mark (Marks::kMarkMs).
    std::chrono::steady_clock::duration since_mark{};
    // Told of each mark this cursor's runs take.
    std::function<void(const Mark&)> on_mark;
    // The mark this replay is known not to go past (bound_ when it was
    // made), and the marks it put before that mark on the strength of it:
    // forgotten if a run of it goes astray (forget_guesses).
    std::optional<MarkKey> ahead;
    std::vector<MarkKey> guessed;
  };
  // Where a backwards search window ends: the position the search started
  // from, or a mark (reached by its event count, then by its position).
  struct WindowEnd {
    uint64_t events = 0;
    std::optional<Position> pos;
    std::optional<MarkKey> mark;  // the mark it is, if any
  };

  // A throw-away copy of the process for code the recording never ran
  // (ReplayTargetDiversion.cc).
  struct Diversion {
    std::unique_ptr<Task> task;
    user_regs_struct replay_regs{};  // what the replay had when the copy was made
    uint64_t stopped_at_bp = 0;
    int pending_sig = 0;
  };
  Result<Diversion*> divert();
  void end_diversion();
  Result<void> diversion_set_registers(const target::RegisterFile& rf);
  Result<target::StopInfo> diversion_resume(const target::ResumeRequest& req);

  ReplayTarget() = default;
  RepTask* task(target::ThreadId t);
  target::StopInfo to_stop_info(const DebugStop& d);
  // A SIGTRAP stop of `kind` for thread `tid` of the debugged process.
  target::StopInfo trap_stop(target::StopKind kind, Tid tid) const {
    target::StopInfo s;
    s.kind = kind;
    s.signo = SIGTRAP;
    s.thread = {debuggee_.value, tid.value};
    return s;
  }
  DebugRegSlots debug_slots() const;
  Result<void> install_user_breakpoints(ReplaySession& s);
  Result<void> clear_user_breakpoints(ReplaySession& s);
  Result<target::StopInfo> forward(const target::ResumeRequest& req);
  // Makes `c` the replay the debugger sees, with the user's breakpoints.
  Result<void> adopt(Cursor c);

  // --- persistent checkpoints (ReplayTargetPersist.cc): the marks at or
  // before `key` (strictly before, unless `inclusive`), after loading the
  // newest persisted checkpoint there if it is nearer than any mark.
  const Mark* mark_at_or_before(MarkKey key);
  const Mark* mark_before(MarkKey key);
  void load_persisted(MarkKey key, bool inclusive);
  std::unique_ptr<trace::CheckpointStore> store_;
  std::set<uint64_t> refused_checkpoints_;  // by event: failed to load, not tried again

  // --- runs and marks (ReplayTargetMarks.cc)
  Result<Cursor> fresh_session();
  // A replay at the latest mark at or before `key` (the start if none).
  Result<Cursor> cursor_at(MarkKey key);
  Result<Cursor> cursor_from(const Mark& m);
  // The RunControl every run uses; `marks`: take marks on the way.
  RunControl control(bool marks = true);
  // ReplaySession::run, taking marks at event boundaries and, inside long
  // event-free stretches, every Marks::kMarkMs of replay.
  Result<DebugStop> run(Cursor& c, RunControl rc);
  // At an event boundary: takes a mark if the marks want one there.
  void maybe_mark_boundary(Cursor& c, std::chrono::steady_clock::duration replayed);
  // A mark where `c` stands: at the event boundary it stands at, or inside
  // the stretch (by the position of `running`, Marks::next_inside).
  void mark_boundary(Cursor& c);
  // `may_guess`: the run is sure to stop at its bound (c.ahead), so a mark
  // may go before a later one (Marks::next_inside).
  void mark_inside(Cursor& c, Tid running, bool may_guess = true);
  // A run of `c` that did not end where it meant to may have gone past
  // c.ahead: the marks it placed before that are forgotten.
  void forget_guesses(Cursor& c);
  // While set, no replay this target starts goes past this mark: a
  // backwards search stays before the position it started from, and each
  // of its windows before the mark that ends it. Cursors take it as their
  // `ahead`. Narrowed, never widened, by a Bound for the length of a scope.
  std::optional<MarkKey> bound_;
  struct Bound {
    Bound(std::optional<MarkKey>& slot, std::optional<MarkKey> key);
    ~Bound() { slot_ = saved_; }
    Bound(const Bound&) = delete;
    Bound& operator=(const Bound&) = delete;

   private:
    std::optional<MarkKey>& slot_;
    std::optional<MarkKey> saved_;
  };
  // Runs `c` until it stands at `end`: false if interrupted on the way, an
  // error if the replay ends first.
  Result<bool> run_to(Cursor& c, const WindowEnd& end, RunControl rc);
  Result<bool> run_to_events(Cursor& c, uint64_t events, RunControl rc);
  Result<bool> run_to_once(Cursor& c, const WindowEnd& end, RunControl rc);
  bool interrupted() const { return interrupt_.load(); }
  // Set when run_to could not come back to a mark's position.
  std::optional<MarkKey> lost_mark_;
  // The stop reported when an interrupt ends a reverse operation early:
  // the debugger stays where it was.
  target::StopInfo interrupted_here(Tid thread);

  // --- reverse execution (ReverseContinue.cc, ReverseWatch.cc, ReverseStep.cc)
  // A replay standing at a hit found searching backwards, and the stop to
  // report there.
  struct Found {
    Cursor c;
    DebugStop stop;
  };
  Result<target::StopInfo> reverse_continue(Tid thread);
  Result<std::optional<Found>> search_window(const Mark& from, const WindowEnd& end,
                                             bool breakpoints, bool write_watches,
                                             bool access_watches);
  // The last breakpoint hit in [from, end), found by counting hits in the
  // tracee; `count` gets how many there were.
  Result<std::optional<Found>> last_breakpoint_hit(const Mark& from, const WindowEnd& end,
                                                   uint64_t* count);
  std::set<uint64_t> counted_addresses() const;
  // Write watchpoints: a replay standing just before the last write in
  // [from, end) that changed the watched bytes.
  Result<std::optional<Found>> last_watch_change(const Mark& from, const WindowEnd& end);
  std::vector<uint8_t> watched_bytes(ReplaySession& s);
  Result<std::optional<DebugStop>> next_write(Cursor& c, const WindowEnd& end);
  Result<std::optional<Found>> at_writer_hit(const Mark& from, const std::set<uint64_t>& writers,
                                             uint64_t n);
  // Read and access watchpoints: single-stepping the window.
  Result<std::optional<Found>> last_access_hit(const Mark& from, const WindowEnd& end);
  Result<target::StopInfo> reverse_step(Tid thread);
  // A replay one instruction of p.tid before p; nullopt at the start of
  // the recording.
  Result<std::optional<Cursor>> cursor_before(const Position& p, MarkKey passed);
  // The same inside p's stretch, from `base` (ReverseStepWalk.cc).
  Result<std::optional<Cursor>> previous_in_stretch(const Position& p,
                                                    const std::function<Result<Cursor>()>& base);
  // Single-stepping p's thread towards p, at most `limit` steps.
  struct Walk {
    bool reached = false;
    bool interrupted = false;
    uint64_t steps = 0;
    std::vector<std::pair<uint64_t, Mark>> marks;  // left on the way, by step
    std::vector<uint64_t> landed;  // not reached: where its branches went, latest first
  };
  Result<Walk> walk_to(Cursor& c, const Position& p, uint64_t limit, bool take_marks);
  // Runs `c` to the n-th counted hit (of the sites already set) by `tid`,
  // or by any thread, leaving a mark at hit n-1 where one may go; the stop,
  // or nullopt if interrupted.
  Result<std::optional<DebugStop>> run_to_hit(Cursor& c, std::optional<Tid> tid, uint64_t n,
                                              const std::set<uint64_t>& sites);
  // Whether a mark may be left where `tid` stopped on the way to the last
  // hit: at one of `sites`, in a process of one thread.
  bool stands_at_hit(Cursor& c, Tid tid, const std::set<uint64_t>& sites);
  // Whether tid's process has no other thread.
  bool one_thread(Cursor& c, Tid tid);
  // Runs `c` to the n-th counted hit of `sites` by `tid`; false if interrupted.
  Result<bool> stop_at_last_hit(Cursor& c, Tid tid, const std::set<uint64_t>& sites,
                                const std::set<uint64_t>& patch_only, uint64_t n);
  Result<std::optional<Cursor>> step_short(
      const Position& p, const std::function<Result<std::optional<Cursor>>()>& landmark,
      uint64_t steps, std::vector<std::pair<uint64_t, Mark>>& marks);
  // --- source-level reverse steps (ReverseLineStep.cc)
  Result<target::StopInfo> line_step(const target::LineStepRequest& req, Tid tid);
  // Back to the call instruction that returned to `return_to`, made by
  // `tid` with rsp `sp_at_call`: a reverse-continue to the last hit of the
  // call sites ending there in that frame. Reports what stops it first.
  Result<target::StopInfo> back_to_call(Tid tid, uint64_t return_to, uint64_t sp_at_call);
  // Back to the last time this frame (rsp no lower than body_sp) stood at
  // the start of a line: a loop inside one line, stepped back at once.
  Result<target::StopInfo> back_to_line_start(Tid tid, const target::FrameLines& frame,
                                              uint64_t range_start, uint64_t range_end,
                                              uint64_t body_sp);
  // A reverse-continue to the last hit of `sites` by `tid` for which
  // in_frame(registers) holds; the user's breakpoints and watchpoints stop
  // it first, as they would any reverse-continue.
  Result<target::StopInfo> reverse_to_sites(
      Tid tid, const std::set<uint64_t>& sites,
      const std::function<bool(const user_regs_struct&)>& in_frame);
  bool line_start_search_fits(target::LineStep kind, uint64_t pc, uint64_t range_start);
  // Whether the line's start is a few call-free instructions before pc:
  // stepping back there is cheaper than the search.
  bool near_line_start(uint64_t pc, uint64_t range_start);
  Result<user_regs_struct> regs_of(Tid tid);
  // Runs `move` with `only` (if given) as the software breakpoints, then
  // puts the inserted ones back, in the replay too.
  Result<target::StopInfo> with_breakpoints(const std::optional<std::vector<uint64_t>>& only,
                                            const std::function<Result<target::StopInfo>()>& move);
  Result<void> reach(Cursor& c, const Position& p);
  Result<target::StopInfo> go_to(const Position& p, MarkKey passed, target::StopInfo report);
  Result<target::StopInfo> at_history_begin();

  // --- exec across both directions (ReplayTargetExec.cc). The debugged
  // process's latest exec at the session's position: which image it runs.
  std::optional<trace::TaskEvent> latest_exec(const ReplaySession& s) const;
  static bool exec_replayed(const ReplaySession& s, const trace::TaskEvent& te);
  // Reports that the process now runs the image of the current position,
  // and drops every breakpoint and watchpoint, as a live exec does.
  Result<target::StopInfo> exec_stop(Tid tid);
  // After a reverse move that started in `image` (at `from_events`): if it
  // ended in an earlier image, it stops at the exec instead (see there).
  Result<target::StopInfo> back_across_exec(const std::optional<trace::TaskEvent>& image,
                                            uint64_t from_events, target::StopInfo stop);
  // Stands before the execve that started `image` and reports the exec.
  Result<target::StopInfo> before_image(const trace::TaskEvent& image, uint64_t from_events);
  // The mark at `image`'s first instruction (kept among the marks, so that
  // reverse-continue's search windows start there).
  Result<Mark> image_start(const trace::TaskEvent& image, uint64_t from_events);
  // reverse_continue searches no further back than the current image's
  // start (image_floor_); there it stops before the exec instead.
  Result<void> set_image_floor(const std::optional<trace::TaskEvent>& image, uint64_t from_events);
  bool below_image_floor(MarkKey window_start) const {
    return image_floor_ && window_start <= image_floor_->start;
  }
  Result<target::StopInfo> at_image_floor();

  std::optional<std::string> trace_copy_of(const std::string& recorded_path);
  Result<ScopedFd> open_recorded_file(const std::string& path);
  // /proc/PID/maps or /proc/PID/task/TID/maps of a replayed thread; nullopt
  // for any other path.
  std::optional<Result<ScopedFd>> open_proc_maps(const std::string& path);

  // Opened once, at the first event; every fresh session replays a clone.
  std::unique_ptr<trace::TraceReader> reader_;
  ReplayOptions options_;
  std::unique_ptr<ReplaySession> session_;
  MarkKey passed_;                                    // session_'s
  std::optional<MarkKey> ahead_;                      // session_'s (Cursor::ahead)
  std::chrono::steady_clock::duration since_mark_{};  // session_'s
  Tid debuggee_;
  Tid current_thread_;
  target::StopInfo last_stop_;
  std::set<uint64_t> sw_breakpoints_;
  struct Watch {
    target::BreakpointType type;
    uint64_t addr;
    size_t len;
  };
  std::vector<Watch> watches_;  // hardware slots: at most 4
  // Where watchpoints single-step (the debug registers not trapping): only
  // in these event intervals, when set; control() passes it on.
  std::optional<std::set<uint64_t>> watch_intervals_;
  std::atomic<bool> interrupt_{false};
  std::vector<std::pair<target::CheckpointInfo, std::pair<Position, MarkKey>>> checkpoints_;
  int next_checkpoint_ = 1;
  std::unique_ptr<Diversion> diversion_;
  Marks marks_;
  // Marks at the first instruction of images the debugged process exec'd,
  // by the exec's event; and the image the history starts in.
  std::map<uint64_t, Mark> image_starts_;
  uint64_t history_image_event_ = 0;
  struct ImageFloor {
    trace::TaskEvent image;
    MarkKey start;             // its first instruction
    uint64_t from_events = 0;  // where the reverse move started
  };
  std::optional<ImageFloor> image_floor_;  // during a reverse move only
  pid_t select_pid_ = 0;
  bool select_from_fork_ = false;
};

}  // namespace rwd
