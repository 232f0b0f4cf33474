/* Executes cpuid itself, in its main thread and in two more, and prints the
 * initial APIC id of the CPU each ran on (leaf 1, EBX bits 31..24) and
 * whether CPUID reports rdrand (leaf 1 ECX bit 30) and rdseed (leaf 7 EBX
 * bit 18). rewind traps each cpuid (core/task/TrapPatch.h) and replay hands
 * back the recorded answer, so a replay on another CPU, or on a vCPU whose
 * APIC id the hypervisor has changed since, prints the recorded ids; and
 * the recorded answers hide rdrand and rdseed. */
#include "common.h"

#include <cpuid.h>
#include <pthread.h>

static void report(const char* who) {
  unsigned eax, ebx, ecx, edx;
  CHECK(__get_cpuid(1, &eax, &ebx, &ecx, &edx));
  const unsigned apic = ebx >> 24, rdrand = (ecx >> 30) & 1;
  unsigned rdseed = 0;
  if (__get_cpuid_max(0, NULL) >= 7) {
    __cpuid_count(7, 0, eax, ebx, ecx, edx);
    rdseed = (ebx >> 18) & 1;
  }
  printf("%s: initial APIC id %u rdrand %u rdseed %u\n", who, apic, rdrand, rdseed);
}

static void* thread_main(void* arg) {
  report((const char*)arg);
  return NULL;
}

int main(void) {
  report("main");
  const char* names[] = {"thread 1", "thread 2"};
  for (int i = 0; i < 2; ++i) {
    pthread_t t;
    CHECK(pthread_create(&t, NULL, thread_main, (void*)names[i]) == 0);
    CHECK(pthread_join(t, NULL) == 0);
  }
  return 0;
}
