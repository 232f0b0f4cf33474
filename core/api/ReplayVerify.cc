// replay -a from a persistent checkpoint (-g), and the stretches of
// replay -a --jobs N (Replay.h): the trace verified in parallel, one
// stretch between two checkpoints per process, each one checking that it
// arrives at the next checkpoint's exact state
// (ReplaySession::verify_against), the last one that the program ends as
// recorded.
#include <cstdio>
#include <string>
#include <vector>

#include "core/api/Replay.h"
#include "core/base/Log.h"
#include "core/replay/ReplaySession.h"
#include "core/trace/CheckpointStore.h"
#include "core/trace/TraceReader.h"

namespace rwd::api {

namespace {

struct Opened {
  std::unique_ptr<trace::TraceReader> reader;
  std::unique_ptr<trace::CheckpointStore> store;
};

Result<Opened> open_trace_and_store(const std::filesystem::path& dir) {
  auto reader = trace::TraceReader::open(dir, trace::IncompleteTraces::ReadPrefix);
  if (!reader) return reader.error();
  auto store = trace::CheckpointStore::open(dir, (*reader)->header().uuid);
  if (!store) return store.error();
  return Opened{std::move(*reader), std::move(*store)};
}

// A session at the newest usable checkpoint at or before `event` (refusing
// those that fail, with a warning), or at the start.
Result<std::unique_ptr<ReplaySession>> session_near(const Opened& o, uint64_t event,
                                                    const rwd::ReplayOptions& options) {
  auto cps = o.store->list();
  for (auto it = cps.rbegin(); it != cps.rend(); ++it) {
    if (it->events > event) continue;
    auto data = o.store->load(it->events);
    if (!data) {
      warn("not using the checkpoint at event %llu: %s", (unsigned long long)it->events,
           data.error().message.c_str());
      continue;
    }
    auto s = ReplaySession::restore_persisted(*o.reader, *o.store, *data, options);
    if (s) return s;
    warn("not using the checkpoint at event %llu: %s", (unsigned long long)it->events,
         s.error().message.c_str());
  }
  auto reader = o.reader->clone();
  if (!reader) return reader.error();
  return ReplaySession::open(std::move(*reader), options);
}

Result<void> replay_to(ReplaySession& s, uint64_t event) {
  while (s.events_completed() < event) {
    auto more = s.step();
    if (!more) return more.error();
    if (!*more) return Error{"the trace ends at event " + std::to_string(s.events_completed())};
  }
  return ok_result();
}

rwd::ReplayOptions engine_options(const ReplayOptions& o) {
  return rwd::ReplayOptions{.force_cpu = o.force_cpu, .emit_output = o.emit_output, .cpu = o.cpu};
}

}  // namespace

Result<ReplayEnd> replay_to_end_from(const std::filesystem::path& dir, uint64_t event,
                                     const ReplayOptions& options) {
  auto o = open_trace_and_store(dir);
  if (!o) return o.error();
  rwd::ReplayOptions quiet = engine_options(options);
  quiet.emit_output = false;
  auto s = session_near(*o, event, quiet);
  if (!s) return s.error();
  fprintf(stderr, "rewind: replaying from event %llu\n",
          (unsigned long long)(*s)->events_completed());
  if (auto r = replay_to(**s, event); !r) return r.error();
  // The rest as replay -a would: with the program's output, to its end.
  (*s)->set_emit_output(options.emit_output);
  auto status = (*s)->run_to_end();
  if (!status) return status.error();
  return ReplayEnd{*status};
}

Result<std::optional<int>> verify_stretch(const std::filesystem::path& dir, uint64_t from,
                                          uint64_t to, const ReplayOptions& api_options) {
  const rwd::ReplayOptions options = engine_options(api_options);
  auto o = open_trace_and_store(dir);
  if (!o) return o.error();
  std::unique_ptr<ReplaySession> s;
  if (from) {
    auto data = o->store->load(from);
    if (!data) return data.error();
    auto r = ReplaySession::restore_persisted(*o->reader, *o->store, *data, options);
    if (!r) return r.error();
    s = std::move(*r);
  } else {
    auto reader = o->reader->clone();
    if (!reader) return reader.error();
    auto r = ReplaySession::open(std::move(*reader), options);
    if (!r) return r.error();
    s = std::move(*r);
  }
  if (!to) {
    auto status = s->run_to_end();
    if (!status) return status.error().context("from event " + std::to_string(from));
    return *status;
  }
  if (auto r = replay_to(*s, to); !r)
    return r.error().context("from event " + std::to_string(from));
  auto want = o->store->load(to);
  if (!want) return want.error();
  if (auto r = s->verify_against(*want); !r)
    return r.error().context("the replay from event " + std::to_string(from) +
                             " does not arrive at the checkpoint at event " + std::to_string(to));
  return std::optional<int>();
}

Result<std::vector<VerifyStretch>> plan_verify_stretches(const std::filesystem::path& dir) {
  auto o = open_trace_and_store(dir);
  if (!o) return o.error();
  std::vector<uint64_t> points{0};
  for (const trace::CheckpointInfo& c : o->store->list()) points.push_back(c.events);
  points.push_back(0);  // to the end
  auto starts_program = [&](uint64_t from, uint64_t to) {
    if (from == 0) return true;
    for (const trace::TaskEvent& te : o->reader->task_events())
      if (te.kind == trace::TaskEventKind::Exec && te.event.value > from &&
          (to == 0 || te.event.value <= to))
        return true;
    return false;
  };
  std::vector<VerifyStretch> stretches;
  for (size_t i = 0; i + 1 < points.size(); ++i)
    stretches.push_back({points[i], points[i + 1], starts_program(points[i], points[i + 1])});
  return stretches;
}

}  // namespace rwd::api
