/* Checks that each write is attributed to the file its fd number names at
 * the time of the write, while numbers are closed and reused and dup2'ed
 * over (the recorder remembers what each fd is between syscalls): a number
 * that was a pipe and now is a file mapped MAP_SHARED must get its write
 * into replay's copy of the mapping, and only the writes that reach stdout
 * may be replayed to stdout, also when another thread rebinds fd 1. */
#include "common.h"
#include <fcntl.h>
#include <pthread.h>
#include <sys/mman.h>

static int file_fd, saved_stdout;

static void *redirect_stdout(void *arg) {
  (void)arg;
  CHECK(dup2(file_fd, 1) == 1);
  return NULL;
}

static void *restore_stdout(void *arg) {
  (void)arg;
  CHECK(dup2(saved_stdout, 1) == 1);
  return NULL;
}

static void in_thread(void *(*fn)(void *)) {
  pthread_t t;
  CHECK(pthread_create(&t, NULL, fn, NULL) == 0);
  CHECK(pthread_join(t, NULL) == 0);
}

int main(void) {
  const char *dir = make_tmpdir();
  char path[4200];
  snprintf(path, sizeof path, "%s/f", dir);
  printf("start\n");

  /* A pipe, used through both ends, then closed: its read end's number
   * comes back for the file. */
  int p[2];
  CHECK(pipe(p) == 0);
  CHECK(write(p[1], "x", 1) == 1);
  char c;
  CHECK(read(p[0], &c, 1) == 1);
  CHECK(close(p[0]) == 0 && close(p[1]) == 0);
  file_fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
  CHECK(file_fd == p[0]);
  CHECK(ftruncate(file_fd, 4096) == 0);
  const char *map = mmap(NULL, 4096, PROT_READ, MAP_SHARED, file_fd, 0);
  CHECK(map != MAP_FAILED);
  CHECK(pwrite(file_fd, "pwrite", 6, 0) == 6);
  CHECK(lseek(file_fd, 100, SEEK_SET) == 100);
  CHECK(write(file_fd, "write", 5) == 5);
  printf("the mapping sees '%.6s' and '%.5s'\n", map, map + 100);

  /* The same fd number, now a pipe again, then the file again by dup2. */
  int q[2];
  CHECK(pipe(q) == 0);
  CHECK(dup2(q[1], file_fd) == file_fd);
  CHECK(write(file_fd, "yz", 2) == 2);
  char two[2];
  CHECK(read(q[0], two, 2) == 2);
  printf("through the pipe: '%.2s'\n", two);
  int again = open(path, O_RDWR);
  CHECK(again >= 0);
  CHECK(dup2(again, file_fd) == file_fd);
  CHECK(pwrite(file_fd, "dup2", 4, 200) == 4);
  printf("the mapping sees '%.4s'\n", map + 200);

  /* fd 1 rebound by other threads: what main prints in between goes to the
   * file, not to stdout. */
  saved_stdout = dup(1);
  CHECK(saved_stdout >= 0);
  CHECK(lseek(file_fd, 300, SEEK_SET) == 300);
  in_thread(redirect_stdout);
  printf("into the file\n");
  in_thread(restore_stdout);
  printf("back on stdout; the mapping sees '%.13s'\n", map + 300);
  printf("file hash %llx\n", fnv1a(map, 4096));

  unlink(path);
  rmdir(dir);
  return 0;
}
