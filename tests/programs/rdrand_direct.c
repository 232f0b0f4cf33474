/* Executes rdrand and rdseed itself, without asking CPUID (which under
 * rewind says the CPU has neither), in 16, 32 and 64 bits, in the main
 * thread and in a second one, 1000 times in a loop, and prints the numbers
 * and their carry flags. rewind traps each one (core/task/TrapPatch.h), so
 * a replay prints the recorded numbers; natively every run prints others.
 * Whether the CPU has them comes from /proc/cpuinfo's flags. */
#include "common.h"

#include <pthread.h>

static int cpu_has(const char* flag) {
  FILE* f = fopen("/proc/cpuinfo", "r");
  CHECK(f);
  char line[8192];
  int found = 0;
  while (!found && fgets(line, sizeof line, f)) {
    if (strncmp(line, "flags", 5) != 0) continue;
    for (char* w = strtok(line, " \t\n"); w; w = strtok(NULL, " \t\n")) found |= !strcmp(w, flag);
    break;
  }
  fclose(f);
  return found;
}

/* rdrand or rdseed into a register of TYPE's width, and its carry flag. */
#define RANDOM_FN(name, insn, type)                                     \
  static type name(int* ok) {                                           \
    type v;                                                             \
    unsigned char c;                                                    \
    __asm__ volatile(insn " %0; setc %1" : "=r"(v), "=qm"(c) : : "cc"); \
    *ok = c;                                                            \
    return v;                                                           \
  }
RANDOM_FN(rdrand64, "rdrand", uint64_t)
RANDOM_FN(rdrand32, "rdrand", uint32_t)
RANDOM_FN(rdrand16, "rdrand", uint16_t)
RANDOM_FN(rdseed64, "rdseed", uint64_t)

static void* numbers(void* arg) {
  const char* who = arg;
  int ok64, ok32, ok16;
  const uint64_t a = rdrand64(&ok64);
  const uint32_t b = rdrand32(&ok32);
  const uint16_t c = rdrand16(&ok16);
  printf("%s: rdrand %016llx (%d) %08x (%d) %04x (%d)\n", who, (unsigned long long)a, ok64, b, ok32,
         c, ok16);
  return NULL;
}

int main(void) {
  if (!cpu_has("rdrand")) {
    printf("this CPU has no rdrand\n");
    return 0;
  }
  numbers("main");
  pthread_t t;
  CHECK(pthread_create(&t, NULL, numbers, "thread") == 0);
  CHECK(pthread_join(t, NULL) == 0);
  uint64_t hash = 0xcbf29ce484222325ull;
  int failures = 0;
  for (int i = 0; i < 1000; ++i) {
    int ok;
    hash = (hash ^ rdrand64(&ok)) * 0x100000001b3ull;
    failures += !ok;
  }
  printf("1000 numbers: hash %016llx, %d without carry\n", (unsigned long long)hash, failures);
  if (cpu_has("rdseed")) {
    int ok;
    const uint64_t s = rdseed64(&ok);
    printf("rdseed %016llx (%d)\n", (unsigned long long)s, ok);
  }
  return 0;
}
