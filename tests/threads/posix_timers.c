/* Checks POSIX timers (timer_create) in three notification modes: SIGEV_SIGNAL
 * to the process (payload and SI_TIMER checked via sigwaitinfo),
 * SIGEV_THREAD_ID aimed at one worker thread, and SIGEV_THREAD (glibc runs
 * the callback on a helper thread). Overrun counts are printed (they vary). */
#include "../programs/common.h"
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <sys/syscall.h>
#include <time.h>

static volatile pid_t worker_tid;
static sem_t callbacks;
static int callback_value;

static void *target(void *arg) {
  sigset_t s;
  sigemptyset(&s);
  sigaddset(&s, SIGRTMIN + 2);
  worker_tid = (pid_t)syscall(SYS_gettid);
  int got = 0;
  siginfo_t si;
  while (got < 3) {
    CHECK(sigwaitinfo(&s, &si) == SIGRTMIN + 2);
    CHECK(si.si_code == SI_TIMER && si.si_value.sival_int == 77);
    got++;
  }
  return (void *)(long)got;
}

static void on_expiry(union sigval v) {
  callback_value = v.sival_int;
  sem_post(&callbacks);
}

static void arm(timer_t t, long ms) {
  struct itimerspec its = {{0, ms * 1000000}, {0, ms * 1000000}};
  CHECK(timer_settime(t, 0, &its, NULL) == 0);
}

int main(void) {
  sigset_t s;
  sigemptyset(&s);
  sigaddset(&s, SIGRTMIN + 1);
  sigaddset(&s, SIGRTMIN + 2);
  pthread_sigmask(SIG_BLOCK, &s, NULL); /* all threads: sigwaitinfo only */

  timer_t t1;
  struct sigevent ev = {.sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGRTMIN + 1,
                        .sigev_value.sival_int = 42};
  CHECK(timer_create(CLOCK_MONOTONIC, &ev, &t1) == 0);
  arm(t1, 5);
  sigset_t one;
  sigemptyset(&one);
  sigaddset(&one, SIGRTMIN + 1);
  for (int i = 0; i < 4; i++) {
    siginfo_t si;
    CHECK(sigwaitinfo(&one, &si) == SIGRTMIN + 1);
    CHECK(si.si_code == SI_TIMER && si.si_value.sival_int == 42);
    printf("SIGEV_SIGNAL expiry %d, overrun %d (varies)\n", i, si.si_overrun);
  }
  CHECK(timer_delete(t1) == 0);

  pthread_t w;
  CHECK(pthread_create(&w, NULL, target, NULL) == 0);
  while (!worker_tid) sched_yield();
  timer_t t2;
  struct sigevent ev2 = {.sigev_notify = SIGEV_THREAD_ID, .sigev_signo = SIGRTMIN + 2,
                         .sigev_value.sival_int = 77};
  ev2._sigev_un._tid = worker_tid;
  CHECK(timer_create(CLOCK_MONOTONIC, &ev2, &t2) == 0);
  arm(t2, 5);
  void *got;
  pthread_join(w, &got);
  timer_delete(t2);
  printf("SIGEV_THREAD_ID: worker took %ld expiries\n", (long)got);

  sem_init(&callbacks, 0, 0);
  timer_t t3;
  struct sigevent ev3 = {.sigev_notify = SIGEV_THREAD, .sigev_notify_function = on_expiry,
                         .sigev_value.sival_int = 99};
  CHECK(timer_create(CLOCK_REALTIME, &ev3, &t3) == 0);
  arm(t3, 5);
  for (int i = 0; i < 3; i++) sem_wait(&callbacks);
  timer_delete(t3);
  printf("SIGEV_THREAD: 3 callbacks, value %d\n", callback_value);
  CHECK(callback_value == 99);
  return 0;
}
