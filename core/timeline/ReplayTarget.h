// target::Target over a replayed trace: what the gdb server (and the LLDB
// plugin) drive. This is the timeline layer, above core/replay/.
//
// Forward execution is ReplaySession::run(). Reverse execution re-runs the
// replay from the start (fork checkpoints will shorten that) and finds
// positions by state matching (../shared/design/no-pmu.md): a position is
// (events completed, thread, registers, hash of writable memory), reached
// by running to that event count and then to the first hit of the
// position's pc with equal state.
#pragma once

#include <array>
#include <atomic>
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
  Result<std::vector<uint8_t>> read_recorded_file(const std::string& path, uint64_t offset,
                                                  size_t len) override;
  Result<uint64_t> recorded_file_size(const std::string& path) override;
  uint64_t current_event() override;
  Result<target::StopInfo> seek(uint64_t event) override;
  Result<int> checkpoint() override;
  Result<target::StopInfo> restart_checkpoint(int id) override;
  std::vector<target::CheckpointInfo> checkpoints() override;

 private:
  struct Position {
    uint64_t events = 0;
    Tid tid;
    user_regs_struct regs{};
    std::array<uint8_t, 32> mem_hash{};
    bool has_hash = false;
    // Made from a syscall-entry stop: rcx and r11 are what the `syscall`
    // instruction put there, not what they hold before it; ignore them.
    bool before_syscall = false;
  };
  // A breakpoint or watchpoint hit found while searching backwards. A
  // software breakpoint hit is cheap to note: the n-th execution of its pc
  // by its thread after the search window's start (window_start events,
  // always a checkpoint). Other hits carry a full position.
  struct Hit {
    DebugStop stop;
    uint64_t window_start = 0;
    uint64_t pc = 0;
    uint64_t nth = 0;  // > 0: a software breakpoint hit, found by counting
    Position pos;      // otherwise
  };
  Result<target::StopInfo> go_to_hit(const Hit& h);

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
  Result<std::unique_ptr<ReplaySession>> fresh_session();
  // A session at the latest automatic checkpoint taken at or before
  // `events` completed events (a fresh one if there is none).
  Result<std::unique_ptr<ReplaySession>> session_near(uint64_t events);
  // The RunControl every run uses: it takes automatic checkpoints.
  RunControl control();
  void maybe_checkpoint(ReplaySession& s);
  // Runs `s` to `until` (or to `until_events` when `until` is null),
  // collecting the user's breakpoint and watchpoint hits on the way.
  Result<void> collect_hits(ReplaySession& s, const Position* until, uint64_t until_events,
                            std::vector<Hit>& hits);
  RepTask* task(target::ThreadId t);
  Result<Position> position_of(ReplaySession& s, Tid tid);
  Result<bool> matches(ReplaySession& s, const Position& p);
  // Runs `s` (fresh) to `p`. Only internal breakpoints are inserted.
  Result<void> reach(ReplaySession& s, const Position& p);
  Result<void> install_user_breakpoints(ReplaySession& s);
  Result<void> clear_user_breakpoints(ReplaySession& s);
  Result<target::StopInfo> forward(const target::ResumeRequest& req);
  Result<target::StopInfo> reverse_continue(Tid thread);
  // Where watchpoints single-step: the event intervals of the window
  // [session's start, window_end) (and of the partial one up to `until`)
  // in which the watched bytes changed, found by a run at full speed.
  Result<std::set<uint64_t>> intervals_changing_watches(uint64_t window_end, const Position* until);
  std::vector<uint8_t> watched_bytes(ReplaySession& s);
  Result<target::StopInfo> reverse_step(Tid thread);
  // A fresh session one instruction of `p.tid` before `p`; nullptr at the
  // start of the recording.
  Result<std::unique_ptr<ReplaySession>> session_before(const Position& p);
  Result<target::StopInfo> go_to(const Position& p, target::StopInfo report);
  // Exec across both directions (ReplayTargetExec.cc). The debugged
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
  // The events completed at `image`'s first instruction, where a checkpoint
  // is kept so that reverse-continue's search windows start there.
  Result<uint64_t> image_start(const trace::TaskEvent& image, uint64_t from_events);
  // reverse_continue searches no further back than the current image's
  // start (image_floor_); there it stops before the exec instead.
  Result<void> set_image_floor(const std::optional<trace::TaskEvent>& image, uint64_t from_events);
  bool below_image_floor(uint64_t window_start) const {
    return image_floor_ && window_start <= image_floor_->events;
  }
  Result<target::StopInfo> at_image_floor();
  Result<target::StopInfo> at_history_begin();
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
  std::optional<std::string> trace_copy_of(const std::string& recorded_path);
  Result<ScopedFd> open_recorded_file(const std::string& path);

  // Opened once, at the first event; every fresh session replays a clone.
  std::unique_ptr<trace::TraceReader> reader_;
  ReplayOptions options_;
  std::unique_ptr<ReplaySession> session_;
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
  // During reverse_continue, where watchpoints single-step: the intervals
  // to step through (intervals_changing_watches); control() passes it on.
  std::optional<std::set<uint64_t>> watch_intervals_;
  std::atomic<bool> interrupt_{false};
  std::vector<std::pair<target::CheckpointInfo, Position>> checkpoints_;
  int next_checkpoint_ = 1;
  std::unique_ptr<Diversion> diversion_;
  // Automatic checkpoints, by events completed; the first is the start.
  std::vector<std::shared_ptr<const SessionCheckpoint>> auto_checkpoints_;
  // Checkpoints at the first instruction of images the debugged process
  // exec'd, by the exec's event; and the image the history starts in.
  std::map<uint64_t, std::shared_ptr<const SessionCheckpoint>> image_starts_;
  uint64_t history_image_event_ = 0;
  struct ImageFloor {
    trace::TaskEvent image;
    uint64_t events = 0;       // events completed at its first instruction
    uint64_t from_events = 0;  // where the reverse move started
  };
  std::optional<ImageFloor> image_floor_;  // during a reverse move only
  pid_t select_pid_ = 0;
  bool select_from_fork_ = false;
};

}  // namespace rwd
