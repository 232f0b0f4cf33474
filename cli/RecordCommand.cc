// rewind record: run a program under the recorder and write its trace. The
// recording itself is api::record (core/api/Recorder.h); this parses the
// options and says how it went.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "cli/Bundle.h"
#include "cli/Commands.h"
#include "core/api/Recorder.h"

extern char** environ;

namespace rwd::cli {

namespace {

// --env NAME=VALUE and --unset-env NAME, applied in order to `env`.
void set_env(std::vector<std::string>& env, const std::string& name, const std::string* value) {
  std::erase_if(
      env, [&](const std::string& e) { return e.compare(0, name.size() + 1, name + "=") == 0; });
  if (value) env.push_back(name + "=" + *value);
}

// The value of option `a` (argv[i]) given as --opt=VALUE or as the next
// argument; null (after a usage message) when there is none.
const char* option_value(const std::string& a, const char* opt, int argc, char** argv, int& i) {
  const size_t n = strlen(opt);
  if (a.size() > n && a.compare(0, n, opt) == 0 && a[n] == '=') return argv[i] + n + 1;
  if (i + 1 < argc) return argv[++i];
  usage_error("record", std::string(opt) + " needs a value");
  return nullptr;
}

bool is_option(const std::string& a, const char* opt) {
  const size_t n = strlen(opt);
  return a == opt || (a.size() > n && a.compare(0, n, opt) == 0 && a[n] == '=');
}

}  // namespace

int cmd_record(int argc, char** argv) {
  api::RecordRequest req;
  for (char** e = environ; *e; ++e) req.env.emplace_back(*e);
  std::string bundle_out;
  int i = 0;
  for (; i < argc; ++i) {
    std::string a = argv[i];
    const char* v = nullptr;
    if (a == "-o" || is_option(a, "--output")) {
      if (!(v = option_value(a, a == "-o" ? "-o" : "--output", argc, argv, i))) return kExitUsage;
      req.out_dir = v;
    } else if (a == "-n" || a == "--no-syscall-buffer") {
      req.syscall_buffering = api::SyscallBuffering::Off;
    } else if (a == "-w" || a == "--wait") {
      req.wait_for_all = api::WaitFor::All;
    } else if (is_option(a, "--env")) {
      if (!(v = option_value(a, "--env", argc, argv, i))) return kExitUsage;
      const char* eq = strchr(v, '=');
      if (!eq || eq == v)
        return usage_error("record", "--env needs NAME=VALUE, not '" + std::string(v) + "'");
      const std::string value = eq + 1;
      set_env(req.env, std::string(v, eq), &value);
    } else if (is_option(a, "--unset-env")) {
      if (!(v = option_value(a, "--unset-env", argc, argv, i))) return kExitUsage;
      if (!*v || strchr(v, '=')) return usage_error("record", "--unset-env needs a NAME");
      set_env(req.env, v, nullptr);
    } else if (is_option(a, "--bundle")) {
      if (!(v = option_value(a, "--bundle", argc, argv, i))) return kExitUsage;
      bundle_out = v;
      if (bundle_out.empty()) return usage_error("record", "--bundle needs a file name");
    } else if (is_option(a, "--checkpoint-interval")) {
      if (!(v = option_value(a, "--checkpoint-interval", argc, argv, i))) return kExitUsage;
      char* end = nullptr;
      req.checkpoint_interval = strtod(v, &end);
      if (!*v || *end || !(req.checkpoint_interval > 0))
        return usage_error("record", "--checkpoint-interval needs seconds > 0");
    } else if (a == "--checkpoint-wait") {
      req.checkpoint_wait = api::CheckpointWait::Wait;
    } else if (is_option(a, "--cpu-features")) {
      if (!(v = option_value(a, "--cpu-features", argc, argv, i))) return kExitUsage;
      const std::string spec = v;
      if (spec == "list") {
        fputs(api::describe_cpu_feature_choices().c_str(), stdout);
        return 0;
      }
      auto allowed = api::expand_cpu_features(spec);
      if (!allowed)
        return usage_error("record", "--cpu-features: " + allowed.error().message +
                                         " (`rewind record --cpu-features list` lists them)");
      req.cpu_features = std::move(*allowed);
    } else if (a == "--") {
      ++i;
      break;
    } else if (a.size() > 1 && a[0] == '-') {
      return usage_error("record", "unknown option " + a);
    } else {
      break;
    }
  }
  if (req.checkpoint_wait == api::CheckpointWait::Wait && !(req.checkpoint_interval > 0))
    return usage_error("record", "--checkpoint-wait goes with --checkpoint-interval");
  if (i >= argc) return usage_error("record", "no program given");
  if (!bundle_out.empty() && std::filesystem::exists(bundle_out))
    return usage_error("record", "--bundle: " + bundle_out + " exists already");
  req.argv.assign(argv + i, argv + argc);
  auto outcome = api::record(req);
  if (!outcome) return fail(outcome.error());
  if (!outcome->wait_status) {
    fprintf(stderr, "rewind: recording failed: %s\n", outcome->wait_status.error().message.c_str());
    fprintf(stderr, "rewind: the incomplete trace is in %s\n", outcome->trace_dir.c_str());
    return kExitError;
  }
  // The program's exit status stays rewind's: a failed bundle says so on
  // stderr and with 1 only when the program itself succeeded.
  const int code = exit_code_for(*outcome->wait_status);
  if (!bundle_out.empty() && bundle_after_record(outcome->trace_dir, bundle_out) != 0 && code == 0)
    return kExitError;
  return code;
}

}  // namespace rwd::cli
