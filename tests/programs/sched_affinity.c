/* Checks sched_getaffinity (prints the CPU count: 1 under rewind, which
 * pins tracees to one CPU, so record and replay agree on 1), sched_yield,
 * sched_getscheduler and getcpu. */
#include "common.h"
#include <sched.h>

int main(void) {
  cpu_set_t set;
  CPU_ZERO(&set);
  show("sched_getaffinity", sched_getaffinity(0, sizeof set, &set));
  printf("  cpus in mask %d\n", CPU_COUNT(&set));
  show("sched_getaffinity tiny set", sched_getaffinity(0, 1, &set));
  show("sched_yield", sched_yield());
  show("sched_getscheduler", sched_getscheduler(0));
  struct sched_param sp;
  show("sched_getparam", sched_getparam(0, &sp));
  printf("  priority %d\n", sp.sched_priority);
  unsigned cpu = 999, node = 999;
  show("getcpu", getcpu(&cpu, &node));
  printf("  cpu %u node %u\n", cpu, node);
  printf("sched_getcpu %d\n", sched_getcpu());
  return 0;
}
