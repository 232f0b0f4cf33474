/* Checks fork from a multi-threaded process: 3 threads wait on a condvar
 * while main forks; the child has exactly one thread, can use malloc, stdio
 * and new threads, and exits 7. A worker thread then forks too (its child's
 * parent is the process). Finally main releases and joins its threads. */
#include "../programs/common.h"
#include <dirent.h>
#include <pthread.h>
#include <sys/wait.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t go = PTHREAD_COND_INITIALIZER;
static int released, parked;

static int count_tasks(void) {
  DIR *d = opendir("/proc/self/task");
  CHECK(d != NULL);
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d)))
    if (e->d_name[0] != '.') n++;
  closedir(d);
  return n;
}

static void *child_thread(void *arg) { return (void *)(long)(count_tasks() * 10); }

static void *worker(void *arg) {
  long id = (long)arg;
  if (id == 0) { /* this worker forks too */
    pid_t me = getpid(), c = fork();
    CHECK(c >= 0);
    if (c == 0) {
      printf("worker's child: parent is the process %d, tasks %d\n", getppid() == me, count_tasks());
      _exit(8);
    }
    int st;
    CHECK(waitpid(c, &st, 0) == c);
    printf("worker 0: its child exited %d\n", WEXITSTATUS(st));
  }
  pthread_mutex_lock(&lock);
  parked++;
  while (!released) pthread_cond_wait(&go, &lock);
  pthread_mutex_unlock(&lock);
  return NULL;
}

int main(void) {
  pthread_t t[3];
  for (long i = 0; i < 3; i++) CHECK(pthread_create(&t[i], NULL, worker, (void *)i) == 0);
  printf("parent: tasks before fork %d (varies)\n", count_tasks());
  pid_t c = fork();
  CHECK(c >= 0);
  if (c == 0) {
    int alone = count_tasks();
    char *p = malloc(100000);
    CHECK(p != NULL);
    memset(p, 1, 100000);
    pthread_t ct;
    void *r;
    CHECK(pthread_create(&ct, NULL, child_thread, NULL) == 0);
    pthread_join(ct, &r);
    printf("child: tasks %d, its new thread saw %ld\n", alone, (long)r / 10);
    CHECK(alone == 1 && (long)r == 20);
    exit(7);
  }
  int st;
  CHECK(waitpid(c, &st, 0) == c);
  printf("parent: child exited %d\n", WEXITSTATUS(st));
  CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 7);
  pthread_mutex_lock(&lock);
  released = 1;
  pthread_cond_broadcast(&go);
  pthread_mutex_unlock(&lock);
  for (int i = 0; i < 3; i++) pthread_join(t[i], NULL);
  /* A joined thread can linger in /proc briefly, so the count may vary. */
  printf("parent: joined, %d workers had parked, tasks now %d\n", parked, count_tasks());
  CHECK(parked == 3);
  return 0;
}
