#include "core/task/ProcessState.h"

#include <linux/prctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <cstring>
#include <fstream>
#include <sstream>

#include "core/base/Log.h"
#include "core/task/ProcMaps.h"
#include "core/task/RemoteSyscall.h"

namespace rwd {

namespace {
Result<KernelSigaction> read_one(Task& t, AutoRemoteSyscalls& remote, int sig) {
  // 8: sizeof(kernel sigset_t), the only size rt_sigaction takes.
  auto r = remote.syscall(SYS_rt_sigaction, sig, 0, kScratchAddr, 8);
  if (!r) return r.error();
  if (*r < 0) return Error::from_errno("rt_sigaction in a checkpoint", static_cast<int>(-*r));
  return t.read_val<KernelSigaction>(RemotePtr(kScratchAddr));
}
}  // namespace

Result<std::vector<std::pair<int, KernelSigaction>>> read_sigactions(Task& t) {
  std::vector<std::pair<int, KernelSigaction>> out;
  AutoRemoteSyscalls remote(t);
  for (int sig = 1; sig < 65; ++sig) {
    if (sig == SIGKILL || sig == SIGSTOP) continue;
    auto act = read_one(t, remote, sig);
    if (!act) return act.error();
    if (act->handler != 0 /*SIG_DFL*/ || act->flags || act->mask) out.emplace_back(sig, *act);
  }
  return out;
}

Result<KernelSigaction> read_sigaction(Task& t, int sig) {
  AutoRemoteSyscalls remote(t);
  return read_one(t, remote, sig);
}

Result<void> set_sigaction(Task& t, int sig, const KernelSigaction& act) {
  REWIND_TRY(t.write_mem(RemotePtr(kScratchAddr), &act, sizeof act));
  AutoRemoteSyscalls remote(t);
  auto r = remote.syscall(SYS_rt_sigaction, sig, kScratchAddr, 0, 8);
  if (!r) return r.error();
  if (*r < 0)
    return Error::from_errno("rt_sigaction(" + signal_name(sig) + ") in a restored process",
                             static_cast<int>(-*r));
  return ok_result();
}

Result<std::optional<stack_t>> read_altstack(Task& t) {
  AutoRemoteSyscalls remote(t);
  auto r = remote.syscall(SYS_sigaltstack, 0, kScratchAddr);
  if (!r) return r.error();
  if (*r < 0) return Error::from_errno("sigaltstack in a checkpoint", static_cast<int>(-*r));
  auto ss = t.read_val<stack_t>(RemotePtr(kScratchAddr));
  if (!ss) return ss.error();
  if (ss->ss_flags & SS_DISABLE) return std::optional<stack_t>();
  ss->ss_flags &= ~SS_ONSTACK;  // how it stands, not a flag sigaltstack takes
  return std::optional<stack_t>(*ss);
}

Result<void> set_altstack(Task& t, const stack_t& ss) {
  REWIND_TRY(t.write_mem(RemotePtr(kScratchAddr), &ss, sizeof ss));
  AutoRemoteSyscalls remote(t);
  auto r = remote.syscall(SYS_sigaltstack, kScratchAddr, 0);
  if (!r) return r.error();
  if (*r < 0) return Error::from_errno("sigaltstack in a restored process", static_cast<int>(-*r));
  return ok_result();
}

// A /proc file whole (they report size 0, so no stat() first).
static Result<std::string> read_small_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error::from_errno("cannot open " + path);
  std::ostringstream out;
  out << in.rdbuf();
  if (in.bad()) return Error::from_errno("cannot read " + path);
  return out.str();
}

// /proc/PID/stat's fields after the command name, which may hold spaces
// and parentheses: fields[0] is field 3 (state) of proc(5).
static Result<std::vector<std::string>> stat_fields(pid_t pid) {
  const std::string path = "/proc/" + std::to_string(pid) + "/stat";
  auto text = read_small_file(path);
  if (!text) return text.error();
  const size_t close = text->rfind(')');
  if (close == std::string::npos) return Error{path + ": malformed"};
  std::istringstream in(text->substr(close + 1));
  std::vector<std::string> fields;
  for (std::string f; in >> f;) fields.push_back(f);
  if (fields.size() < 50) return Error{path + ": too few fields"};
  return fields;
}

Result<uint64_t> heap_start(pid_t pid) {
  auto f = stat_fields(pid);
  if (!f) return f.error();
  return std::stoull((*f)[47 - 3]);
}

Result<MmLayout> read_mm_layout(Task& t) {
  auto f = stat_fields(t.real_tid());
  if (!f) return f.error();
  // proc(5) numbers them from 1; fields[i] is field i + 3.
  auto at = [&](int field) { return std::stoull((*f)[field - 3]); };
  MmLayout l;
  l.fields = {at(26), at(27), at(45), at(46), at(47), 0, at(28), at(48), at(49), at(50), at(51)};
  {
    AutoRemoteSyscalls remote(t);
    auto brk = remote.syscall(SYS_brk, 0);
    if (!brk) return brk.error();
    l.fields[5] = static_cast<uint64_t>(*brk);
  }
  auto auxv = read_small_file("/proc/" + std::to_string(t.real_tid()) + "/auxv");
  if (!auxv) return auxv.error();
  l.auxv.resize(auxv->size() / 8);
  std::memcpy(l.auxv.data(), auxv->data(), l.auxv.size() * 8);
  return l;
}

Result<void> set_mm_layout(Task& t, const MmLayout& l) {
  struct prctl_mm_map map {};
  static_assert(offsetof(prctl_mm_map, auxv) == 11 * 8);
  std::memcpy(&map, l.fields.data(), sizeof l.fields);
  map.exe_fd = static_cast<uint32_t>(-1);  // keep /proc/PID/exe
  const size_t auxv_bytes = l.auxv.size() * 8;
  if (sizeof map + auxv_bytes > kScratchSize)
    return Error{"a checkpoint's auxv does not fit the scratch area"};
  map.auxv = reinterpret_cast<__u64*>(kScratchAddr + sizeof map);
  map.auxv_size = static_cast<uint32_t>(auxv_bytes);
  REWIND_TRY(t.write_mem(RemotePtr(kScratchAddr), &map, sizeof map));
  if (auxv_bytes)
    REWIND_TRY(t.write_mem(RemotePtr(kScratchAddr + sizeof map), l.auxv.data(), auxv_bytes));
  AutoRemoteSyscalls remote(t);
  auto r = remote.syscall(SYS_prctl, PR_SET_MM, PR_SET_MM_MAP, kScratchAddr, sizeof map, 0);
  if (!r) return r.error();
  if (*r < 0)
    return Error::from_errno(
        "prctl(PR_SET_MM_MAP) in a restored process (rewind needs "
        "CAP_SYS_RESOURCE to restore a checkpoint)",
        static_cast<int>(-*r));
  return ok_result();
}

Result<std::unique_ptr<Task>> spawn_empty_process(Tid rec_tid, int cpu,
                                                  const std::optional<SeccompFilter>& filter,
                                                  uint32_t preload_mode) {
  SpawnOptions so;
  so.exe_path = "/proc/self/exe";
  so.argv = {"rewind-restore"};
  so.cpu = cpu;
  so.seccomp_filter = filter;
  auto spawned = spawn_traced(so);
  if (!spawned) return spawned.error().context("starting a process to restore a checkpoint into");
  if (!spawned->pid) return Error{"the process to restore a checkpoint into died in its execve"};
  auto as = std::make_shared<AddressSpace>();
  auto t = std::make_unique<Task>(rec_tid, spawned->pid, as);
  auto fail = [&](const Error& e) -> Error {
    kill(spawned->pid, SIGKILL);
    while (waitpid(spawned->pid, nullptr, __WALL) < 0 && errno == EINTR) {
    }
    return e;
  };
  if (auto r = as->open_for(spawned->pid); !r) return fail(r.error());
  if (auto r = install_stub_page(*t, preload_mode); !r) return fail(r.error());
  auto maps = read_proc_maps(spawned->pid);
  if (!maps) return fail(maps.error());
  AutoRemoteSyscalls remote(*t);
  for (const KernelMapping& m : *maps) {
    const bool ours = m.start >= kStubPageAddr && m.end <= kStubPageAddr + kStubMappingSize;
    if (ours || m.name == "[vsyscall]") continue;
    auto r = remote.syscall(SYS_munmap, m.start, m.end - m.start);
    if (!r) return fail(r.error());
    if (*r < 0)
      return fail(Error::from_errno(
          "munmap of " + (m.name.empty() ? "a mapping" : m.name) + " in a process to restore into",
          static_cast<int>(-*r)));
  }
  REWIND_LOG(Replay, "empty process %d for recorded pid %d", spawned->pid, rec_tid.value);
  return t;
}

}  // namespace rwd
