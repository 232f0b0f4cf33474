// ReplayTarget across execs, in both directions.
//
// An exec replaces the program the debugger looks at: its symbols, its
// library list (the dynamic linker's r_debug lives at the image's
// addresses) and every breakpoint address. gdb learns of it from the
// "exec:" stop reason (StopKind::Exec), after which it reloads the image
// that qXfer:exec-file names and inserts its breakpoints again.
//
// Going forwards that is a live exec. Going backwards there is no such
// event in gdb, but gdb treats an exec the same in both directions: it
// follows the image named, re-resolves its breakpoints there and keeps
// moving the way it was going (infrun.c, TARGET_WAITKIND_EXECD). So a
// reverse move that would end in an earlier image stops instead at the exec
// it crossed, just before the `syscall` instruction of that execve, in the
// image that made the call, and reports an exec naming that image. gdb then
// reloads the old image and, for reverse-continue, sends "bc" again, which
// now searches the old image with breakpoints at the old image's addresses.
// With "catch exec" gdb stops there, in either direction: a reverse-stepi
// from a new image's first instruction lands on the execve's `syscall`.
// reverse-continue never searches past the current image's start (a
// checkpoint kept at its first instruction is the floor): breakpoints there
// are the new image's addresses, meaningless in the old one.
// (rr stops at an exec in either direction with a plain SIGTRAP and leaves
// gdb with the image it had.)
#include <algorithm>

#include "core/base/Log.h"
#include "core/timeline/ReplayTarget.h"

namespace rwd {

using target::StopInfo;
using target::StopKind;

bool ReplayTarget::exec_replayed(const ReplaySession& s, const trace::TaskEvent& te) {
  // An exec's task event carries its execve's entry event. Standing before
  // the `syscall` instruction, the replay is inside that event, which is
  // pending: the old image still runs.
  if (te.event.value < s.current_event().value) return true;
  return te.event == s.current_event() && s.current_event_done();
}

std::optional<trace::TaskEvent> ReplayTarget::latest_exec(const ReplaySession& s) const {
  std::optional<trace::TaskEvent> latest;
  for (const trace::TaskEvent& te : s.reader().task_events()) {
    if (te.kind != trace::TaskEventKind::Exec || te.tid != debuggee_) continue;
    if (!exec_replayed(s, te)) continue;
    if (!latest || te.event.value >= latest->event.value) latest = te;
  }
  return latest;
}

Result<StopInfo> ReplayTarget::exec_stop(Tid tid) {
  // gdb forgets where its breakpoints were inserted and inserts them anew
  // for the image it now sees; old addresses would trap in the new image.
  sw_breakpoints_.clear();
  watches_.clear();
  REWIND_TRY(install_user_breakpoints(*session_));
  StopInfo s = trap_stop(StopKind::Exec, tid);
  auto path = exec_file(debuggee_.value);
  if (!path) return path.error();
  s.exec_path = *path;
  return s;
}

Result<uint64_t> ReplayTarget::image_start(const trace::TaskEvent& image, uint64_t from_events) {
  auto known = image_starts_.find(image.event.value);
  if (known == image_starts_.end()) {
    // A session before the execve's entry: automatic checkpoints are by
    // events completed, the exec's event is a trace number, so step back
    // checkpoint by checkpoint until one lies before it.
    auto s = session_near(from_events);
    if (!s) return s.error();
    while ((*s)->current_event().value >= image.event.value) {
      if ((*s)->events_completed() == 0)
        return Error{"reverse execution: the exec is out of reach"};
      s = session_near((*s)->events_completed() - 1);
      if (!s) return s.error();
    }
    RunControl c = control();
    c.stop_after_exec_of = image.former_tid.value ? image.former_tid : image.tid;
    for (;;) {
      auto d = (*s)->run(c);
      if (!d) return d.error();
      if (d->kind == StopKind::Exec && (*s)->current_event().value >= image.event.value) break;
      if (d->kind == StopKind::HistoryEnd || d->kind == StopKind::Exited ||
          d->kind == StopKind::Killed)
        return Error{"reverse execution: the replay ended before the exec it crossed"};
    }
    auto cp = (*s)->checkpoint();
    if (!cp) return cp.error().context("checkpointing at an exec");
    known = image_starts_.emplace(image.event.value, *cp).first;
  }
  // Among the automatic checkpoints too (thinning may have dropped it), so
  // that no search window of reverse-continue straddles the exec.
  const uint64_t at = known->second->events_completed();
  auto later =
      std::upper_bound(auto_checkpoints_.begin(), auto_checkpoints_.end(), at,
                       [](uint64_t v, const auto& cp) { return v < cp->events_completed(); });
  if (later == auto_checkpoints_.begin() || (*std::prev(later))->events_completed() != at)
    auto_checkpoints_.insert(later, known->second);
  return at;
}

Result<StopInfo> ReplayTarget::back_across_exec(const std::optional<trace::TaskEvent>& image,
                                                uint64_t from_events, StopInfo stop) {
  if (!image || stop.kind == StopKind::Exec) return stop;
  const std::optional<trace::TaskEvent> now = latest_exec(*session_);
  if (now && now->event == image->event) return stop;  // still the same image
  return before_image(*image, from_events);
}

Result<StopInfo> ReplayTarget::before_image(const trace::TaskEvent& image, uint64_t from_events) {
  REWIND_LOG(Replay, "reverse move reached the exec at event %llu: stopping before it",
             (unsigned long long)image.event.value);
  auto at = image_start(image, from_events);
  if (!at) return at.error();
  auto s = session_near(*at);
  if (!s) return s.error();
  // From the new image's first instruction one instruction back: the
  // execve's `syscall`, in the old image.
  auto first = position_of(**s, image.tid);
  if (!first) return first.error();
  auto before = session_before(*first);
  if (!before) return before.error();
  if (!*before) return Error{"reverse execution: nothing before the exec"};
  session_ = std::move(*before);
  return exec_stop(image.tid);
}

Result<void> ReplayTarget::set_image_floor(const std::optional<trace::TaskEvent>& image,
                                           uint64_t from_events) {
  image_floor_.reset();
  // The first image of the debugged process starts the history: nothing
  // before it to cross into.
  if (!image || auto_checkpoints_.empty()) return ok_result();
  if (image->event.value <= history_image_event_) return ok_result();
  auto at = image_start(*image, from_events);
  if (!at) return at.error();
  image_floor_ = ImageFloor{*image, *at, from_events};
  return ok_result();
}

Result<StopInfo> ReplayTarget::at_image_floor() {
  ImageFloor f = *image_floor_;
  return before_image(f.image, f.from_events);
}

}  // namespace rwd
