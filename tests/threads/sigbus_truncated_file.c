/* Checks SIGBUS from a mapped file that was truncated: a 3-page file mapped
 * whole, then cut to 1 page. A load beyond EOF raises SIGBUS (BUS_ADRERR);
 * the first is skipped by editing the ucontext (RIP, RAX), the second is
 * left with siglongjmp. The surviving page still reads the file's bytes. */
#include "../programs/common.h"
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <sys/mman.h>
#include <ucontext.h>

extern char bus_insn[], bus_after[];
static char *map;
static sigjmp_buf escape;
static volatile int skip_mode = 1, buses; /* shared with the handler */

__attribute__((noinline, noclone)) static long load(char *p) {
  long v;
  asm volatile(".globl bus_insn, bus_after\nbus_insn: movq (%%rdx), %%rax\nbus_after:"
               : "=a"(v) : "d"(p) : "memory");
  return v;
}

static void on_bus(int sig, siginfo_t *si, void *ctx) {
  ucontext_t *uc = ctx;
  buses++;
  printf("SIGBUS code %d (BUS_ADRERR %d) at map%+ld\n", si->si_code, BUS_ADRERR,
         (long)((char *)si->si_addr - map));
  if (!skip_mode) siglongjmp(escape, 1);
  CHECK(uc->uc_mcontext.gregs[REG_RIP] == (greg_t)bus_insn);
  uc->uc_mcontext.gregs[REG_RIP] = (greg_t)bus_after;
  uc->uc_mcontext.gregs[REG_RAX] = -1;
}

int main(void) {
  char path[4200];
  snprintf(path, sizeof path, "%s/file", make_tmpdir());
  int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
  CHECK(fd >= 0);
  char buf[3 * 4096];
  for (size_t i = 0; i < sizeof buf; i++) buf[i] = (char)('a' + i % 26);
  CHECK(write(fd, buf, sizeof buf) == sizeof buf);
  map = mmap(NULL, sizeof buf, PROT_READ, MAP_SHARED, fd, 0);
  CHECK(map != MAP_FAILED);
  CHECK(ftruncate(fd, 4096) == 0);

  struct sigaction sa = {.sa_sigaction = on_bus, .sa_flags = SA_SIGINFO};
  sigemptyset(&sa.sa_mask);
  CHECK(sigaction(SIGBUS, &sa, NULL) == 0);

  printf("first page still reads %.8s\n", map + 26);
  long v = load(map + 4096 + 100);
  printf("load past EOF skipped, returned %ld\n", v);
  CHECK(v == -1 && buses == 1);
  skip_mode = 0;
  if (sigsetjmp(escape, 1) == 0) {
    volatile char c = map[2 * 4096 + 5];
    printf("read past EOF succeeded (%d): must not happen\n", c);
  } else {
    printf("left the handler with siglongjmp\n");
  }
  CHECK(buses == 2);
  close(fd);
  return 0;
}
