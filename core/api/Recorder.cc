// The recorder's entry point (Recorder.h): what `rewind record` runs once
// its options are parsed.
#include "core/api/Recorder.h"

#include <signal.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <string>
#include <vector>

#include "core/api/internal/RecordCheckpoints.h"
#include "core/base/Log.h"
#include "core/cpu/CpuFeatures.h"
#include "core/cpu/Cpuid.h"
#include "core/record/RecordSession.h"
#include "core/task/Spawn.h"
#include "core/trace/TraceReader.h"
#include "core/trace/TraceWriter.h"

namespace rwd::api {
namespace {

Result<std::string> resolve_program(const std::string& prog) {
  auto check = [](const std::string& path) -> Result<std::string> {
    struct stat st;
    if (stat(path.c_str(), &st) < 0) return Error::from_errno("cannot run '" + path + "'");
    if (S_ISDIR(st.st_mode)) return Error{"cannot run '" + path + "': it is a directory"};
    if (!S_ISREG(st.st_mode)) return Error{"cannot run '" + path + "': not a regular file"};
    if (access(path.c_str(), X_OK) < 0)
      return Error{"cannot run '" + path + "': it is not executable (Permission denied)"};
    return path;
  };
  if (prog.empty()) return Error{"empty program name"};
  if (prog.find('/') != std::string::npos) return check(prog);
  const char* path_env = getenv("PATH");
  std::string path = path_env ? path_env : "/usr/local/bin:/usr/bin:/bin";
  size_t pos = 0;
  while (pos <= path.size()) {
    size_t colon = path.find(':', pos);
    std::string dir =
        path.substr(pos, colon == std::string::npos ? std::string::npos : colon - pos);
    std::string cand = (dir.empty() ? "." : dir) + "/" + prog;
    if (access(cand.c_str(), X_OK) == 0) {
      struct stat st;
      if (stat(cand.c_str(), &st) == 0 && S_ISREG(st.st_mode)) return cand;
    }
    if (colon == std::string::npos) break;
    pos = colon + 1;
  }
  return Error{"cannot run '" + prog + "': command not found in PATH"};
}

// `env` is the program's environment, as replay will start it again;
// `cpu_features` what --cpu-features allowed it (empty: everything).
trace::TraceHeader make_header(const std::vector<std::string>& argv,
                               const std::vector<std::string>& env,
                               const std::vector<std::string>& cpu_features) {
  trace::TraceHeader h;
  if (getrandom(h.uuid.data(), h.uuid.size(), 0) != static_cast<ssize_t>(h.uuid.size()))
    for (auto& b : h.uuid) b = static_cast<uint8_t>(rand());
  struct utsname u;
  if (uname(&u) == 0) h.kernel = std::string(u.release) + " " + u.version;
  h.cpuid = cpu::read_all_cpuid_leaves();
  h.xcr0 = cpu::read_xcr0();
  h.argv = argv;
  h.env = env;
  h.cpu_features = cpu_features;
  char cwd[4096];
  if (getcwd(cwd, sizeof cwd)) h.cwd = cwd;
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  h.start_time_ns = ts.tv_sec * 1000000000ll + ts.tv_nsec;
  return h;
}

// librewind-preload.so: $REWIND_PRELOAD, else beside this rewind, as built
// (build/cli/rewind, build/preload/) or installed (bin/rewind and
// REWIND_BINDIR_TO_HELPERDIR from there, which cmake/Install.cmake derives
// from the install's bindir and libdir: ../lib/x86_64-linux-gnu/rewind in
// the Debian package). Empty if there is none.
std::string find_preload_library() {
  if (const char* p = getenv("REWIND_PRELOAD"); p && *p) return access(p, R_OK) == 0 ? p : "";
  char self[4096];
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0) return "";
  self[n] = 0;
  const std::filesystem::path dir = std::filesystem::path(self).parent_path();
  for (const auto& cand : {dir.parent_path() / "preload" / "librewind-preload.so",
                           dir / REWIND_BINDIR_TO_HELPERDIR / "librewind-preload.so"}) {
    if (access(cand.c_str(), R_OK) == 0) return cand.lexically_normal().string();
  }
  return "";
}

// Puts the preload library first in LD_PRELOAD. Programs keep it across
// execve as they keep their environment; one that drops it is recorded
// without buffering (every syscall a ptrace stop), correctly.
void add_preload(std::vector<std::string>& env, const std::string& lib) {
  for (std::string& e : env) {
    if (e.rfind("LD_PRELOAD=", 0) == 0) {
      e = "LD_PRELOAD=" + lib + (e.size() > 11 ? ":" + e.substr(11) : "");
      return;
    }
  }
  env.push_back("LD_PRELOAD=" + lib);
}

void ignore_terminal_signals() {
  // Ctrl-C and Ctrl-\ go to the whole foreground process group: the program
  // gets them (and they are recorded); rewind keeps recording until it exits.
  // Once the initial process has exited, a Ctrl-C (a SIGINT to rewind) ends
  // the recording of what it left running (RecordSession::request_end).
  struct sigaction sa = {};
  sa.sa_handler = [](int) {};
  sa.sa_flags = SA_RESTART;
  sigaction(SIGQUIT, &sa, nullptr);
  sa.sa_handler = [](int) { RecordSession::request_end(); };
  sigaction(SIGINT, &sa, nullptr);
  // A shell's `fg` sends SIGCONT to the whole job: the program's processes
  // that job control stopped go on with rewind (RecordSession::run).
  sa.sa_handler = [](int) { RecordSession::request_continue(); };
  sigaction(SIGCONT, &sa, nullptr);
}

}  // namespace

Result<RecordOutcome> record(const RecordRequest& req) {
  const std::vector<std::string>& prog_argv = req.argv;
  const std::vector<std::string>& cpu_features = req.cpu_features;
  bool syscall_buffer = req.syscall_buffering == SyscallBuffering::On;
  if (prog_argv.empty()) return Error{"no program given"};
  auto exe = resolve_program(prog_argv[0]);
  if (!exe) return exe.error();

  std::filesystem::path dir, root;
  if (!req.out_dir.empty()) {
    dir = req.out_dir;
  } else {
    root = trace::default_trace_root();
    auto d = trace::new_trace_dir(root, std::filesystem::path(prog_argv[0]).filename().string());
    if (!d) return d.error();
    dir = *d;
  }
  // The program's environment. --cpu-features works through it (CpuFeatures.h),
  // and the header keeps it for replay, which so applies the same masks.
  std::vector<std::string> env = req.env;
  if (!cpu_features.empty()) {
    const auto present = cpu::cpu_features_of(cpu::read_all_cpuid_leaves());
    for (const std::string& w : cpu::apply_cpu_feature_env(env, cpu_features, present))
      warn("%s", w.c_str());
  }

  if (syscall_buffer) {
    const std::string lib = find_preload_library();
    if (lib.empty()) {
      warn(
          "librewind-preload.so not found (set REWIND_PRELOAD): recording without syscall "
          "buffering");
      syscall_buffer = false;
    } else {
      add_preload(env, lib);
    }
  }

  // First, so that the header's CPUID leaves are this CPU's.
  auto cpu = pin_tracer_to_one_cpu();
  if (!cpu) return cpu.error();
  auto writer = trace::TraceWriter::create(dir);
  if (!writer) return writer.error();
  trace::TraceHeader header = make_header(prog_argv, env, cpu_features);
  header.record_cpu = *cpu;
  header.cpuid_faulting = cpu::cpuid_faulting_available();
  header.clears_signal_frames = true;  // RecordSession::resume always does
  header.ignored_signals = ignored_signals_now();
  header.syscall_filter = syscall_buffer;  // RecordSession spawns under the filter then
  auto hr = (*writer)->write_header(header);
  if (!hr) return hr.error();
  // Now, not at the end: a recording that is killed is the one to debug,
  // and `rewind replay` with no trace argument must find it.
  if (!root.empty()) {
    auto l = trace::update_latest_link(root, dir);
    if (!l) warn("%s", l.error().message.c_str());
  }
  std::unique_ptr<CheckpointFollower> follower;
  if (req.checkpoint_interval > 0) {
    auto f = CheckpointFollower::start(dir, req.checkpoint_interval, *cpu);
    if (!f) return f.error();
    follower = std::move(*f);
  }
  RecordOptions opts;
  opts.exe_path = *exe;
  opts.argv = prog_argv;
  opts.env = env;
  opts.cpu = *cpu;
  opts.cpu_features = cpu_features;
  opts.cpuid_faulting = header.cpuid_faulting;
  opts.syscall_buffer = syscall_buffer;
  opts.wait_for_all = req.wait_for_all == WaitFor::All;
  ignore_terminal_signals();
  RecordSession session(opts, **writer);
  auto status = session.run();
  if (!status) return RecordOutcome{dir, status.error()};
  auto closed = (*writer)->close();
  if (!closed) return closed.error();
  if (follower && !follower->finish(req.checkpoint_wait == CheckpointWait::Wait))
    warn(
        "the checkpoints could not all be saved while recording (see above); "
        "`rewind checkpoint create %s` makes them",
        dir.c_str());
  return RecordOutcome{dir, *status};
}

std::string describe_cpu_feature_choices() {
  return cpu::describe_cpu_feature_choices();
}

Result<std::vector<std::string>> expand_cpu_features(const std::string& spec) {
  return cpu::expand_cpu_features(spec);
}

}  // namespace rwd::api
