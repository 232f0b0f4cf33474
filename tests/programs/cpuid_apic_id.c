/* Prints the initial APIC id of the CPU it runs on, from CPUID leaf 1
 * (EBX bits 31..24). CPUID is not trapped (no CPUID faulting on these
 * machines), so a replay reads it live: the output matches the recording
 * only if replay runs the program on the CPU the recording used. ld.so keeps
 * the same leaf in writable memory early in every process's life, which is
 * why replay must (core/task/Spawn.h: pin_tracer_to_one_cpu). */
#include "common.h"

#include <cpuid.h>

int main(void) {
  unsigned eax, ebx, ecx, edx;
  CHECK(__get_cpuid(1, &eax, &ebx, &ecx, &edx));
  printf("initial APIC id %u\n", ebx >> 24);
  return 0;
}
