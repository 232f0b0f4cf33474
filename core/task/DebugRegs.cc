#include "core/task/DebugRegs.h"

#include <signal.h>
#include <sys/ptrace.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstddef>

#include "core/base/Log.h"
#include "core/task/Ptrace.h"

namespace rwd {

static void* dr_offset(int i) {
  return reinterpret_cast<void*>(offsetof(struct user, u_debugreg) + i * sizeof(long));
}

Result<void> set_debug_registers(pid_t tid, const DebugRegSlots& slots) {
  uint64_t dr7 = 0;
  // Disable first: the kernel validates each address against the current DR7.
  REWIND_TRY(ptrace_request(PTRACE_POKEUSER, tid, dr_offset(7), nullptr));
  for (int i = 0; i < 4; ++i) {
    const DebugRegSlot& s = slots[i];
    if (!s.enabled) continue;
    REWIND_TRY(ptrace_request(PTRACE_POKEUSER, tid, dr_offset(i), reinterpret_cast<void*>(s.addr)));
    // LEN encoding: 00 = 1 byte, 01 = 2, 11 = 4, 10 = 8 (execute: 00).
    uint64_t len_bits = s.condition == DebugRegSlot::Condition::Execute ? 0
                        : s.len == 2                                    ? 1
                        : s.len == 4                                    ? 3
                        : s.len == 8                                    ? 2
                                                                        : 0;
    dr7 |= 1ull << (i * 2);  // Li: locally enabled
    dr7 |= (static_cast<uint64_t>(s.condition) | (len_bits << 2)) << (16 + i * 4);
  }
  if (dr7)
    REWIND_TRY(ptrace_request(PTRACE_POKEUSER, tid, dr_offset(7), reinterpret_cast<void*>(dr7)));
  return ok_result();
}

Result<uint64_t> take_dr6(pid_t tid) {
  auto v = ptrace_request(PTRACE_PEEKUSER, tid, dr_offset(6), nullptr);
  if (!v) return v.error();
  REWIND_TRY(ptrace_request(PTRACE_POKEUSER, tid, dr_offset(6), nullptr));
  return static_cast<uint64_t>(*v);
}

// What the probe child runs into; noinline, so it has an address of its own.
__attribute__((noinline)) static void debug_register_probe_target() {
  asm volatile("");
}

static bool probe_debug_registers() {
  pid_t child = fork();
  if (child < 0) return true;  // cannot tell; assume the usual
  if (child == 0) {
    ptrace(PTRACE_TRACEME, 0, nullptr, nullptr);
    raise(SIGSTOP);
    debug_register_probe_target();
    _exit(0);
  }
  int status = 0;
  bool trapped = false;
  if (waitpid(child, &status, __WALL) == child && WIFSTOPPED(status)) {
    DebugRegSlots slots{};
    slots[0].enabled = true;
    slots[0].addr = reinterpret_cast<uint64_t>(&debug_register_probe_target);
    if (set_debug_registers(child, slots).ok() &&
        ptrace(PTRACE_CONT, child, nullptr, nullptr) == 0 &&
        waitpid(child, &status, __WALL) == child)
      trapped = WIFSTOPPED(status) && WSTOPSIG(status) == SIGTRAP;
  }
  kill(child, SIGKILL);
  while (waitpid(child, &status, __WALL) == child && !WIFEXITED(status) && !WIFSIGNALED(status)) {
  }
  if (!trapped) REWIND_LOG(Replay, "the debug registers do not trap here: watchpoints single-step");
  return trapped;
}

bool debug_registers_work() {
  static const bool works = probe_debug_registers();
  return works;
}

}  // namespace rwd
