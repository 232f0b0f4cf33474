// Persistent checkpoints as marks: a backwards search or a seek that would
// start from a mark far behind it starts from a checkpoint saved in the
// trace instead (rewind checkpoint create), loaded when first needed and
// then kept as a mark like any other. A checkpoint that fails to load (of
// another trace, corrupt, truncated) is refused with a warning, once, and
// the next older one (or the start) is used instead.
#include "core/base/Log.h"
#include "core/timeline/ReplayTarget.h"

namespace rwd {

void ReplayTarget::load_persisted(MarkKey key, bool inclusive) {
  if (!store_) return;
  for (;;) {
    // The newest persisted checkpoint in range that was not refused.
    std::optional<trace::CheckpointInfo> best;
    for (const trace::CheckpointInfo& c : store_->list()) {
      const MarkKey at{c.events, 0};
      if ((inclusive ? at <= key : at < key) && !refused_checkpoints_.count(c.events)) best = c;
    }
    if (!best) return;
    const MarkKey at{best->events, 0};
    const Mark* m = inclusive ? marks_.at_or_before(key) : marks_.before(key);
    if (m && m->key >= at) return;  // a mark at least as near
    auto data = store_->load(best->events);
    Result<std::unique_ptr<ReplaySession>> s =
        data ? ReplaySession::restore_persisted(*reader_, *store_, *data, options_)
             : Result<std::unique_ptr<ReplaySession>>(data.error());
    Result<std::shared_ptr<const SessionCheckpoint>> cp = Error{""};
    if (s) {
      if ((*s)->can_checkpoint())
        cp = (*s)->checkpoint();
      else
        cp = Error{"the restored replay cannot be checkpointed"};
    }
    if (!s || !cp) {
      warn("not using the checkpoint at event %llu: %s; falling back to an older one",
           (unsigned long long)best->events, (!s ? s.error() : cp.error()).message.c_str());
      refused_checkpoints_.insert(best->events);
      continue;
    }
    REWIND_LOG(Replay, "loaded the persisted checkpoint at event %llu",
               (unsigned long long)best->events);
    marks_.add(Mark{at, std::nullopt, *cp});
    return;
  }
}

const Mark* ReplayTarget::mark_at_or_before(MarkKey key) {
  load_persisted(key, true);
  return marks_.at_or_before(key);
}

const Mark* ReplayTarget::mark_before(MarkKey key) {
  load_persisted(key, false);
  return marks_.before(key);
}

}  // namespace rwd
