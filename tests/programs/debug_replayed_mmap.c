// Single-stepping across a buffered mmap that replay's preload library makes
// again (kReplayedSyscallInsn in preload/abi.h), which replay's seccomp
// filter lets through without a stop (tests/gdb/replayed_mmap_stepi.gdb):
// a software watchpoint has gdb step every instruction from marker() to the
// store after the mmap, the library's included, and the mapping must exist
// afterwards as it did in the recording.
#include <stdio.h>
#include <sys/mman.h>

volatile long progress;

__attribute__((noinline)) void marker(void) {
  __asm__ volatile("" ::: "memory");
}

int main(void) {
  progress = 1;
  marker();
  char* p = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return 1;
  p[4096] = 7;
  progress = 2;
  printf("mapped, %d\n", p[4096]);
  return 0;
}
