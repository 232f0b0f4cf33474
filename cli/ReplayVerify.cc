// replay -a from a persistent checkpoint (-g), and replay -a --jobs N:
// the trace verified in parallel, one stretch between two checkpoints per
// process, each one checking that it arrives at the next checkpoint's
// exact state (ReplaySession::verify_against), the last one that the
// program ends as recorded.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <deque>
#include <string>
#include <thread>
#include <vector>

#include "cli/Commands.h"
#include "cli/ReplayVerify.h"
#include "core/base/Log.h"
#include "core/replay/ReplaySession.h"
#include "core/trace/CheckpointStore.h"
#include "core/trace/TraceReader.h"

extern char** environ;

namespace rwd::cli {

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
                                                    const ReplayOptions& options) {
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

}  // namespace

int replay_autopilot_from(const std::filesystem::path& dir, uint64_t event,
                          const ReplayOptions& options) {
  auto o = open_trace_and_store(dir);
  if (!o) return fail(o.error());
  ReplayOptions quiet = options;
  quiet.emit_output = false;
  auto s = session_near(*o, event, quiet);
  if (!s) return fail(s.error());
  fprintf(stderr, "rewind: replaying from event %llu\n",
          (unsigned long long)(*s)->events_completed());
  if (auto r = replay_to(**s, event); !r) return fail(r.error());
  // The rest as replay -a would: with the program's output, to its end.
  ReplayOptions loud = options;
  (*s)->set_emit_output(loud.emit_output);
  auto status = (*s)->run_to_end();
  if (!status) return fail(status.error());
  if (!*status) return 128 + SIGKILL;
  return exit_code_for(**status);
}

int replay_verify_stretch(const std::filesystem::path& dir, uint64_t from, uint64_t to,
                          const ReplayOptions& options) {
  auto o = open_trace_and_store(dir);
  if (!o) return fail(o.error());
  std::unique_ptr<ReplaySession> s;
  if (from) {
    auto data = o->store->load(from);
    if (!data) return fail(data.error());
    auto r = ReplaySession::restore_persisted(*o->reader, *o->store, *data, options);
    if (!r) return fail(r.error());
    s = std::move(*r);
  } else {
    auto reader = o->reader->clone();
    if (!reader) return fail(reader.error());
    auto r = ReplaySession::open(std::move(*reader), options);
    if (!r) return fail(r.error());
    s = std::move(*r);
  }
  if (!to) {
    auto status = s->run_to_end();
    if (!status) return fail(status.error().context("from event " + std::to_string(from)));
    printf("%d\n", status->value_or(-1));
    return 0;
  }
  if (auto r = replay_to(*s, to); !r)
    return fail(r.error().context("from event " + std::to_string(from)));
  auto want = o->store->load(to);
  if (!want) return fail(want.error());
  if (auto r = s->verify_against(*want); !r)
    return fail(r.error().context("the replay from event " + std::to_string(from) +
                                  " does not arrive at the checkpoint at event " +
                                  std::to_string(to)));
  return 0;
}

int replay_verify_jobs(const std::filesystem::path& dir, unsigned jobs,
                       const ReplayOptions& options) {
  auto o = open_trace_and_store(dir);
  if (!o) return fail(o.error());
  std::vector<uint64_t> points{0};
  for (const trace::CheckpointInfo& c : o->store->list()) points.push_back(c.events);
  points.push_back(0);  // to the end
  struct Stretch {
    uint64_t from, to;
    pid_t pid = 0;
    int out = -1;
  };
  auto starts_program = [&](uint64_t from, uint64_t to) {
    if (from == 0) return true;
    for (const trace::TaskEvent& te : o->reader->task_events())
      if (te.kind == trace::TaskEventKind::Exec && te.event.value > from &&
          (to == 0 || te.event.value <= to))
        return true;
    return false;
  };
  std::deque<Stretch> todo;
  for (size_t i = 0; i + 1 < points.size(); ++i) todo.push_back({points[i], points[i + 1]});
  const unsigned ncpu = std::max(1u, std::thread::hardware_concurrency());
  const auto start = std::chrono::steady_clock::now();
  std::vector<Stretch> running;
  int failures = 0, exit_status = -1;
  unsigned next_cpu = 0;
  const std::string self = "/proc/self/exe";
  while (!todo.empty() || !running.empty()) {
    while (!todo.empty() && running.size() < jobs) {
      Stretch st = todo.front();
      todo.pop_front();
      int fds[2];
      if (pipe2(fds, O_CLOEXEC) < 0) return fail(Error::from_errno("pipe"));
      std::vector<std::string> args = {"rewind", "replay", "--verify-stretch",
                                       std::to_string(st.from), std::to_string(st.to)};
      // A stretch where a program starts (ld.so keeps what CPUID said in
      // memory, and CPUID answers differ by CPU) runs on the recording's
      // CPU, as a plain replay does; the others wherever there is room.
      if (!starts_program(st.from, st.to)) {
        args.push_back("--cpu");
        args.push_back(std::to_string(next_cpu++ % ncpu));
      }
      if (options.force_cpu) args.push_back("--force");
      args.push_back(dir.string());
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      posix_spawn_file_actions_t fa;
      posix_spawn_file_actions_init(&fa);
      posix_spawn_file_actions_adddup2(&fa, fds[1], STDOUT_FILENO);
      pid_t pid;
      const int err = posix_spawn(&pid, self.c_str(), &fa, nullptr, argv.data(), environ);
      posix_spawn_file_actions_destroy(&fa);
      close(fds[1]);
      if (err) {
        close(fds[0]);
        return fail(Error::from_errno("starting a verifier", err));
      }
      st.pid = pid;
      st.out = fds[0];
      running.push_back(st);
    }
    int status = 0;
    const pid_t done = waitpid(-1, &status, 0);
    if (done < 0) {
      if (errno == EINTR) continue;
      return fail(Error::from_errno("waitpid"));
    }
    for (size_t i = 0; i < running.size(); ++i) {
      if (running[i].pid != done) continue;
      Stretch st = running[i];
      running.erase(running.begin() + static_cast<long>(i));
      char buf[64] = {};
      const ssize_t n = read(st.out, buf, sizeof buf - 1);
      close(st.out);
      const bool ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
      if (!ok) ++failures;
      if (!st.to && ok && n > 0) exit_status = atoi(buf);
      fprintf(stderr, "rewind: stretch %llu..%s: %s\n", (unsigned long long)st.from,
              st.to ? std::to_string(st.to).c_str() : "end", ok ? "verified" : "FAILED");
      break;
    }
  }
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  fprintf(stderr, "rewind: %zu stretches, %d failed, %.2f s with %u jobs\n", points.size() - 1,
          failures, secs, jobs);
  if (failures) return kExitError;
  return exit_status >= 0 ? exit_code_for(exit_status) : 128 + SIGKILL;
}

}  // namespace rwd::cli
