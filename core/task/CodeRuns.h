// Reading and patching scattered instructions of a tracee's code with few
// reads and writes: sites less than a page apart are grouped into runs, each
// read once and written back once, and the code between runs is never read.
// Used for the syscall sites (record/SyscallPatch.cc) and the rdtsc sites
// (TrapPatch.h) of each new process.
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#include "core/task/Task.h"

namespace rwd {

// [start, end) of the tracee's memory, whose bytes are at `at` in the
// buffer read_code_runs() fills.
struct CodeRun {
  uint64_t start, end;
  size_t at;
};

// The runs that cover `sites` ([address, length), sorted by address).
std::vector<CodeRun> code_runs_of(const std::vector<std::pair<uint64_t, size_t>>& sites);

// Reads every run into `code` with one process_vm_readv, or, where that
// stops short (a page the tracee cannot read), /proc/PID/mem run by run.
// Returns how many bytes of each run were read.
std::vector<size_t> read_code_runs(Task& task, const std::vector<CodeRun>& runs,
                                   std::vector<uint8_t>& code);

}  // namespace rwd
