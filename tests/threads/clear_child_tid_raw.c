/* Checks the kernel's tid bookkeeping that pthread_join relies on, with raw
 * clone(): CLONE_PARENT_SETTID stores the new tid, CLONE_CHILD_CLEARTID makes
 * the kernel zero the word and FUTEX_WAKE it when the thread exits, and
 * set_tid_address() in a second thread moves that word elsewhere and
 * returns the caller's tid. The threads use no libc TLS (errno) on purpose. */
#include "../programs/common.h"
#include <linux/futex.h>
#include <sched.h>
#include <sys/syscall.h>

static volatile pid_t parent_tid, reported_tid;
/* Nonzero until the kernel clears it (no CLONE_CHILD_SETTID, so the kernel
 * only ever writes 0 here). */
static volatile pid_t child_tid = -1;
static volatile int moved_word = 1; /* zeroed by the kernel when thread 2 exits */
static volatile long child_sum;

static int thread1(void *arg) {
  long s = 0;
  for (int i = 1; i <= 1000; i++) s += i;
  child_sum = s;
  return 0; /* glibc's clone() calls exit(2) with this */
}

static int thread2(void *arg) {
  reported_tid = (pid_t)syscall(SYS_set_tid_address, &moved_word);
  return 0;
}

/* Waits until the kernel clears *word, as pthread_join does. */
static void wait_cleared(volatile pid_t *word) {
  pid_t v;
  while ((v = *word) != 0) syscall(SYS_futex, word, FUTEX_WAIT, v, NULL, NULL, 0);
}

int main(void) {
  const int flags = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD |
                    CLONE_SYSVSEM | CLONE_PARENT_SETTID | CLONE_CHILD_CLEARTID;
  char *stack1 = malloc(65536), *stack2 = malloc(65536);
  CHECK(stack1 && stack2);
  int tid = clone(thread1, stack1 + 65536, flags, NULL, &parent_tid, NULL, &child_tid);
  CHECK(tid > 0);
  /* PARENT_SETTID wrote the tid before clone returned in the parent. */
  CHECK(parent_tid == tid);
  wait_cleared(&child_tid);
  printf("thread 1: tid offset from main %d (varies), sum %ld, tid word cleared\n",
         tid - getpid(), child_sum);
  CHECK(child_sum == 500500);

  pid_t ctid2 = 12345, ptid2 = 0;
  int tid2 = clone(thread2, stack2 + 65536, flags, NULL, &ptid2, NULL, &ctid2);
  CHECK(tid2 > 0);
  wait_cleared((volatile pid_t *)&moved_word);
  printf("thread 2: set_tid_address returned its own tid: %d; moved word cleared\n",
         reported_tid == tid2);
  CHECK(reported_tid == tid2);
  /* The original CLEARTID word was replaced, so the kernel left it alone. */
  printf("thread 2's original clear word untouched: %d\n", ctid2);
  CHECK(ctid2 == 12345 && ptid2 == tid2);
  return 0;
}
