/* Checks a statically linked program (built with -static; see
 * tests/CMakeLists.txt): no ELF interpreter, so no LD_PRELOAD library can be
 * loaded into it and syscall buffering cannot be used; its libc makes the
 * syscalls straight from the executable's own code. It does file I/O, a
 * getpid loop, clock_gettime (static glibc also uses the vDSO when there is
 * one) and runs two threads that make syscalls of their own. */
#include "common.h"
#include <fcntl.h>
#include <pthread.h>
#include <sys/syscall.h>
#include <time.h>

struct worker {
  int id;
  const char *dir;
  unsigned long long hash;
  long long tsum;
};

static void *work(void *arg) {
  struct worker *w = arg;
  char path[4200];
  snprintf(path, sizeof path, "%s/thread%d.dat", w->dir, w->id);
  int fd = open(path, O_CREAT | O_RDWR | O_TRUNC, 0600);
  CHECK(fd >= 0);
  char line[64];
  for (int i = 0; i < 200; i++) {
    int n = snprintf(line, sizeof line, "thread %d line %d\n", w->id, i);
    CHECK(write(fd, line, (size_t)n) == n);
    struct timespec ts;
    CHECK(clock_gettime(CLOCK_MONOTONIC, &ts) == 0);
    w->tsum += ts.tv_nsec % 991;
  }
  char buf[16384];
  ssize_t r = pread(fd, buf, sizeof buf, 0);
  CHECK(r > 0);
  w->hash = fnv1a(buf, (size_t)r);
  CHECK(close(fd) == 0 && unlink(path) == 0);
  CHECK(syscall(SYS_gettid) != getpid());
  return NULL;
}

int main(void) {
  const char *dir = make_tmpdir();
  char path[4200];
  snprintf(path, sizeof path, "%s/main.dat", dir);
  FILE *f = fopen(path, "w");
  CHECK(f != NULL);
  for (int i = 0; i < 1000; i++) fprintf(f, "%d squared is %d\n", i, i * i);
  CHECK(fclose(f) == 0);
  int fd = open(path, O_RDONLY);
  CHECK(fd >= 0);
  static char buf[1 << 16];
  ssize_t total = 0, r;
  while ((r = read(fd, buf + total, 1000)) > 0) total += r;
  CHECK(r == 0);
  struct stat st;
  CHECK(fstat(fd, &st) == 0 && st.st_size == total);
  close(fd);
  printf("file: %zd bytes, hash %016llx\n", total, fnv1a(buf, (size_t)total));

  pid_t pid = getpid();
  long long tsum = 0;
  for (int i = 0; i < 3000; i++) {
    CHECK(getpid() == pid);
    struct timespec ts;
    CHECK(clock_gettime(i % 2 ? CLOCK_REALTIME : CLOCK_MONOTONIC, &ts) == 0);
    tsum += ts.tv_nsec % 1009;
  }
  printf("3000 getpid + clock_gettime, time checksum %lld (vary)\n", tsum);

  struct worker w[2] = {{.id = 1, .dir = dir}, {.id = 2, .dir = dir}};
  pthread_t t[2];
  for (int i = 0; i < 2; i++) CHECK(pthread_create(&t[i], NULL, work, &w[i]) == 0);
  for (int i = 0; i < 2; i++) CHECK(pthread_join(t[i], NULL) == 0);
  for (int i = 0; i < 2; i++)
    printf("thread %d: file hash %016llx, time checksum %lld (vary)\n", w[i].id, w[i].hash, w[i].tsum);

  /* No dynamic section, no interpreter: check the binary really is static. */
  FILE *maps = fopen("/proc/self/maps", "r");
  CHECK(maps != NULL);
  char line[4096];
  int shared_objects = 0;
  while (fgets(line, sizeof line, maps)) shared_objects += strstr(line, ".so") != NULL;
  fclose(maps);
  printf("shared objects mapped: %d\n", shared_objects);
  CHECK(shared_objects == 0);
  CHECK(unlink(path) == 0 && rmdir(dir) == 0);
  return 0;
}
