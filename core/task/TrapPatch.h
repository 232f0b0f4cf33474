// rdtsc, cpuid and rdrand made to stop the tracee, on every machine.
//
// Record and replay need every rdtsc, cpuid, rdrand and rdseed to stop the
// task, so that the recorder can note the answer and replay can hand it
// back (core/cpu/TrapAnswer.h).
//
// rdtsc: PR_SET_TSC(PR_TSC_SIGSEGV) is meant to do that (the kernel sets
// CR4.TSD), but on some VMs rdtsc runs on regardless: seen on an AMD EPYC
// guest with Linux 6.18, where every dynamically linked program then
// diverged in replay, because ld.so reads the TSC at start (glibc's rtld
// timing) and the value stays in a register.
//
// cpuid: only CPUID faulting (arch_prctl ARCH_SET_CPUID, Intel) makes it
// trap, and most of our VMs lack it. Yet ld.so keeps CPUID's answers in
// memory (_rtld_global_ro's cpu_features), and one of them, leaf 1 EBX's
// initial APIC id, changes from run to run on a VM whose vCPUs a hypervisor
// renumbers: two replays of one trace then disagreed about that page, and
// a checkpoint made in one replay did not match another (checkpoints.md).
//
// rdrand and rdseed: nothing makes them trap, ever, and a program that
// executes them itself (rather than asking the kernel, as glibc's
// getrandom does) would get other numbers in replay.
//
// So rewind rewrites the instructions: each rdtsc (0f 31), cpuid (0f a2),
// rdrand and rdseed (0f c7 /6 and /7) in a tracee's executable file
// mappings becomes ud2 (0f 0b) followed by nops over the rest of the
// instruction, as the mapping appears (at execve and at each
// file mmap with PROT_EXEC), the same way in record and in replay, whatever
// the machine, so that memory and traces agree everywhere. ud2 raises
// SIGILL at the instruction; at a patched site the sessions record, or
// hand back, what the instruction returned. PR_SET_TSC and, where the CPU
// has it, CPUID faulting stay on for what this misses: code that is
// generated at run time, or mapped without PROT_EXEC first.
//
// The instructions are found by decoding the file's executable sections
// (or, without section headers, its executable segments) linearly with
// Zydis; see find_trap_insns in core/cpu/Insn.h.
#pragma once

#include <sys/stat.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/base/Error.h"
#include "core/cpu/Insn.h"
#include "core/task/FileScanStore.h"
#include "core/task/ProcMaps.h"
#include "core/task/Task.h"

namespace rwd {

// The trapped instructions of each file a session has seen, by file
// offset: an exec of the same program, or a library every process maps, is
// decoded once per session, and once per machine thanks to the scan store
// (FileScanStore.h): decoding gcc's programs (cc1 is 25 MB) cost each
// recording of a 31-file make 0.4 s of its 1.2 s.
struct TrapScan {
  using Site = TrapSite;
  // Named anew when the set of instructions grew (cpuid): a store's older
  // scans are then not read.
  static constexpr std::string_view kKind = "trap-sites";
  // Sites in the open ELF file `fd`; none for anything that is not ELF.
  static std::vector<TrapSite> scan(int fd, const struct stat& st);
  static std::string encode(const std::vector<TrapSite>& sites);
  static std::optional<std::vector<TrapSite>> decode(std::string_view payload);
};
using TrapSiteCache = FileScanCache<TrapScan>;

// Patches the trap sites of the task's private, executable, file-backed
// mappings that overlap [start, end), and notes them in its address space.
// Returns how many sites it patched. Reads /proc/PID/maps: where the caller
// knows the mapping (it just made it), patch_trap_mapping is cheaper.
Result<size_t> patch_trap_sites(Task& task, TrapSiteCache& cache, uint64_t start = 0,
                                uint64_t end = UINT64_MAX);
// The same with the task's mappings as read_proc_maps() gave them, for a
// caller that has just read them anyway (an execve's recording).
Result<size_t> patch_trap_sites(Task& task, TrapSiteCache& cache,
                                const std::vector<KernelMapping>& maps, uint64_t start = 0,
                                uint64_t end = UINT64_MAX);

// The same for one private mapping [start, end) of the file open at `fd`
// (its fstat `st`), whose first byte is the file's byte `offset`.
Result<size_t> patch_trap_mapping(Task& task, TrapSiteCache& cache, int fd, const struct stat& st,
                                  uint64_t start, uint64_t end, uint64_t offset);
// The same for the file at `path` (whose stat is `st`), which is opened
// only if neither the cache nor its store knows its sites.
Result<size_t> patch_trap_mapping(Task& task, TrapSiteCache& cache, const char* path,
                                  const struct stat& st, uint64_t start, uint64_t end,
                                  uint64_t offset);

// [file offset, size) of the code in the open ELF file `fd`: its executable
// sections, or its executable segments where it has no section headers.
// Empty for anything that is not ELF.
std::vector<std::pair<uint64_t, uint64_t>> elf_code_ranges(int fd);

// The instruction patched at regs.rip, if the SIGILL the task stopped with
// is one of ours.
std::optional<TrapInsnInfo> patched_trap_at(const Task& task, uint64_t rip);

// The instruction the task stopped at with signal `sig` (whose siginfo is
// `si`), if it is one record and replay answer: a patched site's ud2
// (SIGILL), or rdtsc under PR_SET_TSC or cpuid under CPUID faulting (a #GP,
// which the kernel reports as SIGSEGV with SI_KERNEL).
std::optional<TrapInsnInfo> trapped_insn_at(const Task& task, int sig, const siginfo_t& si,
                                            uint64_t rip);

}  // namespace rwd
