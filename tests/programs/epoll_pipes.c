/* Checks epoll_create1, epoll_ctl and epoll_wait/epoll_pwait on pipes:
 * replay must return the recorded events with their user data. */
#include "common.h"
#include <sys/epoll.h>
#include <sys/wait.h>

static void wait_and_print(int ep, int timeout) {
  struct epoll_event ev[4];
  memset(ev, 0, sizeof ev);
  int n = epoll_wait(ep, ev, 4, timeout);
  printf("epoll_wait(%d ms) -> %d:", timeout, n);
  for (int i = 0; i < n; i++) printf(" [data %llu events %#x]", (unsigned long long)ev[i].data.u64, ev[i].events);
  printf("\n");
}

int main(void) {
  int a[2], b[2];
  CHECK(pipe(a) == 0 && pipe(b) == 0);
  int ep = epoll_create1(EPOLL_CLOEXEC);
  CHECK(ep >= 0);
  struct epoll_event ev = {.events = EPOLLIN, .data.u64 = 0xa0a0a0a0a0ull};
  show("ctl add a", epoll_ctl(ep, EPOLL_CTL_ADD, a[0], &ev));
  ev.data.u64 = 0xb0b0b0b0b0ull;
  show("ctl add b", epoll_ctl(ep, EPOLL_CTL_ADD, b[0], &ev));
  show("ctl add b twice", epoll_ctl(ep, EPOLL_CTL_ADD, b[0], &ev));
  wait_and_print(ep, 1);

  CHECK(write(a[1], "1", 1) == 1);
  wait_and_print(ep, 0);
  ev.events = EPOLLIN | EPOLLET;
  ev.data.u64 = 0xaeaeae;
  show("ctl mod a edge-triggered", epoll_ctl(ep, EPOLL_CTL_MOD, a[0], &ev));
  wait_and_print(ep, 0);
  wait_and_print(ep, 0); /* edge-triggered: no new edge, nothing */

  pid_t child = fork();
  CHECK(child >= 0);
  if (child == 0) {
    usleep(2000);
    CHECK(write(b[1], "22", 2) == 2);
    _exit(0);
  }
  struct epoll_event out[4];
  int n = epoll_pwait(ep, out, 4, 5000, NULL);
  printf("epoll_pwait waits for child -> %d first data %llx\n", n,
         n > 0 ? (unsigned long long)out[0].data.u64 : 0ull);
  show("ctl del a", epoll_ctl(ep, EPOLL_CTL_DEL, a[0], NULL));
  show("ctl del a again", epoll_ctl(ep, EPOLL_CTL_DEL, a[0], NULL));
  close(b[1]);
  waitpid(child, NULL, 0);
  wait_and_print(ep, 0);
  return 0;
}
