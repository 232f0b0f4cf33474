/* Checks signalfd fed by another thread: main blocks SIGUSR1 and SIGRTMIN+7
 * and polls a signalfd while a worker sends 8 RT signals with payloads to
 * main (pthread_sigqueue) and one SIGUSR1 to the process. One read may
 * return several signalfd_siginfo records (how many varies); the RT payloads
 * must come out in order and the sender pid must be ours. */
#include "../programs/common.h"
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/signalfd.h>

static pthread_t main_thread;

static void *sender(void *arg) {
  for (int i = 0; i < 8; i++)
    CHECK(pthread_sigqueue(main_thread, SIGRTMIN + 7, (union sigval){.sival_int = 1000 + i}) == 0);
  CHECK(kill(getpid(), SIGUSR1) == 0);
  return NULL;
}

int main(void) {
  main_thread = pthread_self();
  sigset_t s;
  sigemptyset(&s);
  sigaddset(&s, SIGUSR1);
  sigaddset(&s, SIGRTMIN + 7);
  pthread_sigmask(SIG_BLOCK, &s, NULL);
  int sfd = signalfd(-1, &s, SFD_CLOEXEC | SFD_NONBLOCK);
  CHECK(sfd >= 0);
  struct signalfd_siginfo none;
  show("read with nothing pending", read(sfd, &none, sizeof none));

  pthread_t t;
  CHECK(pthread_create(&t, NULL, sender, NULL) == 0);
  int rt = 0, usr1 = 0, reads = 0;
  while (rt < 8 || usr1 < 1) {
    struct pollfd p = {.fd = sfd, .events = POLLIN};
    CHECK(poll(&p, 1, 5000) == 1);
    struct signalfd_siginfo info[4];
    ssize_t r = read(sfd, info, sizeof info);
    if (r < 0 && errno == EAGAIN) continue;
    CHECK(r > 0 && r % sizeof info[0] == 0);
    reads++;
    for (size_t i = 0; i < r / sizeof info[0]; i++) {
      CHECK(info[i].ssi_pid == (uint32_t)getpid());
      if (info[i].ssi_signo == (uint32_t)SIGUSR1) {
        usr1++;
        CHECK(info[i].ssi_code == SI_USER);
      } else {
        CHECK(info[i].ssi_signo == (uint32_t)(SIGRTMIN + 7) && info[i].ssi_code == SI_QUEUE);
        CHECK(info[i].ssi_int == 1000 + rt);
        rt++;
      }
    }
  }
  pthread_join(t, NULL);
  printf("signalfd: %d RT in order, %d SIGUSR1, in %d reads (varies)\n", rt, usr1, reads);
  close(sfd);
  return 0;
}
