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

Result<Mark> ReplayTarget::image_start(const trace::TaskEvent& image, uint64_t from_events) {
  auto known = image_starts_.find(image.event.value);
  if (known == image_starts_.end()) {
    // A replay before the execve's entry: marks are by events completed,
    // the exec's event is a trace number, so go back mark by mark until
    // one lies before it.
    MarkKey key{from_events, 0};
    auto c = cursor_at(key);
    if (!c) return c.error();
    while (c->s->current_event().value >= image.event.value) {
      const Mark* prev = marks_.before(c->passed);
      if (!prev) return Error{"reverse execution: the exec is out of reach"};
      c = cursor_from(Mark(*prev));
      if (!c) return c.error();
    }
    RunControl rc = control(false);
    rc.stop_after_exec_of = image.former_tid.value ? image.former_tid : image.tid;
    for (;;) {
      auto d = run(*c, rc);
      if (!d) return d.error();
      if (d->kind == StopKind::Exec && c->s->current_event().value >= image.event.value) break;
      if (d->kind == StopKind::HistoryEnd || d->kind == StopKind::Exited ||
          d->kind == StopKind::Killed)
        return Error{"reverse execution: the replay ended before the exec it crossed"};
    }
    auto cp = c->s->checkpoint();
    if (!cp) return cp.error().context("checkpointing at an exec");
    Mark m{MarkKey{c->s->events_completed(), 0}, std::nullopt, *cp};
    known = image_starts_.emplace(image.event.value, std::move(m)).first;
  }
  // Among the marks too (thinning may have dropped it), so that no search
  // window of reverse-continue straddles the exec.
  const Mark* there = marks_.at_or_before(known->second.key);
  if (!there || there->key != known->second.key) marks_.add(known->second);
  return known->second;
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
  auto c = cursor_from(*at);
  if (!c) return c.error();
  // From the new image's first instruction one instruction back: the
  // execve's `syscall`, in the old image.
  auto first = position_of(*c->s, image.tid);
  if (!first) return first.error();
  auto before = cursor_before(*first, at->key);
  if (!before) return before.error();
  if (!*before) return Error{"reverse execution: nothing before the exec"};
  REWIND_TRY(adopt(std::move(**before)));
  return exec_stop(image.tid);
}

Result<void> ReplayTarget::set_image_floor(const std::optional<trace::TaskEvent>& image,
                                           uint64_t from_events) {
  image_floor_.reset();
  // The first image of the debugged process starts the history: nothing
  // before it to cross into.
  if (!image || marks_.empty()) return ok_result();
  if (image->event.value <= history_image_event_) return ok_result();
  auto at = image_start(*image, from_events);
  if (!at) return at.error();
  image_floor_ = ImageFloor{*image, at->key, from_events};
  return ok_result();
}

Result<StopInfo> ReplayTarget::at_image_floor() {
  ImageFloor f = *image_floor_;
  return before_image(f.image, f.from_events);
}

}  // namespace rwd
