// A replay target for debuggers, and replay -a (Replay.h). The
// checkpoint-based replays are ReplayVerify.cc.
#include "core/api/Replay.h"

#include <signal.h>
#include <sys/wait.h>

#include <cstring>

#include "core/base/Log.h"
#include "core/replay/ConfinedTarget.h"
#include "core/replay/ReplaySession.h"
#include "core/timeline/ReplayTarget.h"
#include "core/trace/TraceReader.h"

namespace rwd::api {
namespace {

rwd::ReplayOptions engine_options(const ReplayOptions& o) {
  return rwd::ReplayOptions{.force_cpu = o.force_cpu, .emit_output = o.emit_output, .cpu = o.cpu};
}

}  // namespace

// The engine on its own tracer thread (ptrace is per thread), started at
// the first instruction, or at -g EVENT; the server calls it from its
// threads.
Result<std::unique_ptr<target::Target>> open_replay_target(const std::filesystem::path& dir,
                                                           const TargetRequest& req) {
  const rwd::ReplayOptions options = engine_options(req.options);
  auto target =
      ConfinedTarget<ReplayTarget>::create([&] { return ReplayTarget::open(dir, options); });
  if (!target) return target.error();
  (*target)->with_inner([](ReplayTarget& t) {
    if (const auto& end = t.trace_end()) warn("%s", trace::describe(*end).c_str());
  });
  auto started = (*target)->with_inner([&](ReplayTarget& t) {
    if (req.pid) t.select_process(req.pid, req.start == ProcessStart::Fork);
    return t.start(req.goto_event);
  });
  if (!started) return started.error();
  return std::unique_ptr<target::Target>(std::move(*target));
}

Result<ReplayEnd> replay_to_end(const std::filesystem::path& dir, const ReplayOptions& options) {
  auto session = ReplaySession::open(dir, engine_options(options));
  if (!session) return session.error();
  if (const auto& end = (*session)->trace_end()) warn("%s", trace::describe(*end).c_str());
  auto status = (*session)->run_to_end();
  if (!status) return status.error();
  if ((*session)->died_in_exec() && *status) {
    warn("the recorded program was killed by %s while the kernel loaded it; it ran nothing",
         strsignal(WTERMSIG(**status)));
  }
  if (!*status) {
    // The recorded program was killed with its recorder (PTRACE_O_EXITKILL):
    // it has no exit status of its own (ReplayEnd).
    warn("replayed the incomplete trace to its end, event %llu",
         static_cast<unsigned long long>((*session)->trace_end()->last_event));
  }
  return ReplayEnd{*status};
}

}  // namespace rwd::api
