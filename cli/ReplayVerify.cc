// replay -a --jobs N: the trace verified in parallel, one stretch between
// two checkpoints per process (api::plan_verify_stretches), each one a
// `rewind replay --verify-stretch` that checks it arrives at the next
// checkpoint's exact state, the last one that the program ends as
// recorded.
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
#include "core/api/Replay.h"

extern char** environ;

namespace rwd::cli {

int replay_verify_jobs(const std::filesystem::path& dir, unsigned jobs,
                       const api::ReplayOptions& options) {
  auto plan = api::plan_verify_stretches(dir);
  if (!plan) return fail(plan.error());
  struct Stretch {
    uint64_t from, to;
    bool starts_program;
    pid_t pid = 0;
    int out = -1;
  };
  std::deque<Stretch> todo;
  for (const api::VerifyStretch& v : *plan) todo.push_back({v.from, v.to, v.starts_program});
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
      if (!st.starts_program) {
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
  fprintf(stderr, "rewind: %zu stretches, %d failed, %.2f s with %u jobs\n", plan->size(), failures,
          secs, jobs);
  if (failures) return kExitError;
  return exit_status >= 0 ? exit_code_for(exit_status) : 128 + SIGKILL;
}

}  // namespace rwd::cli
