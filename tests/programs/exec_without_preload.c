/* Checks recording a process image that runs without rewind's preload
 * library: the program re-executes itself with an empty environment
 * (execve(..., envp = {NULL}) drops LD_PRELOAD), and the new image does file
 * I/O and a few thousand syscalls. Without the library every syscall is an
 * ordinary ptrace stop; the recording must still be complete.
 *
 * The new image lists the shared objects it has mapped (the replay reads
 * the recorded /proc/self/maps) and checks that none is rewind's. The
 * scratch directory comes as an argument, since TMPDIR is gone with the
 * rest of the environment. */
#include "common.h"
#include <fcntl.h>
#include <time.h>

extern char **environ;

/* Prints the basenames of the shared objects in /proc/self/maps, once
 * each, in map order; fails if one looks like rewind's. */
static void list_objects(void) {
  FILE *f = fopen("/proc/self/maps", "r");
  CHECK(f != NULL);
  char line[4096], seen[64][256];
  int n = 0;
  printf("stage 2: shared objects:");
  while (fgets(line, sizeof line, f)) {
    char *path = strchr(line, '/');
    if (!path || !strstr(path, ".so")) continue;
    path[strcspn(path, "\n")] = 0;
    const char *base = strrchr(path, '/') + 1;
    int dup = 0;
    for (int i = 0; i < n; i++) dup |= strcmp(seen[i], base) == 0;
    if (dup || n == 64) continue;
    snprintf(seen[n++], sizeof seen[0], "%s", base);
    printf(" %s", base);
    CHECK(!strstr(base, "rewind") && !strstr(base, "preload") && !strstr(base, "syscallbuf"));
  }
  printf("\n");
  fclose(f);
}

static int stage2(const char *dir) {
  int entries = 0;
  while (environ && environ[entries]) entries++;
  printf("stage 2: environment has %d entries\n", entries);
  CHECK(entries == 0);
  list_objects();

  char path[4200];
  snprintf(path, sizeof path, "%s/stage2.dat", dir);
  int fd = open(path, O_CREAT | O_RDWR | O_TRUNC, 0600);
  CHECK(fd >= 0);
  unsigned char block[4096];
  unsigned long long wrote = 0;
  for (int i = 0; i < 64; i++) {
    for (size_t k = 0; k < sizeof block; k++) block[k] = (unsigned char)(k * 31 + i);
    CHECK(write(fd, block, sizeof block) == sizeof block);
    wrote = wrote * 31 + fnv1a(block, sizeof block);
  }
  CHECK(lseek(fd, 0, SEEK_SET) == 0);
  unsigned long long got = 0;
  ssize_t r;
  long reads = 0;
  while ((r = read(fd, block, sizeof block)) > 0) {
    CHECK(r == sizeof block);
    got = got * 31 + fnv1a(block, (size_t)r);
    reads++;
  }
  CHECK(r == 0);
  struct stat st;
  CHECK(fstat(fd, &st) == 0);
  printf("stage 2: file of %lld bytes, %ld reads, checksum %016llx (wrote %016llx)\n",
         (long long)st.st_size, reads, got, wrote);
  CHECK(got == wrote && st.st_size == 64 * 4096);
  CHECK(close(fd) == 0 && unlink(path) == 0);

  pid_t pid = getpid();
  long long tsum = 0;
  for (int i = 0; i < 2000; i++) {
    CHECK(getpid() == pid);
    struct timespec ts;
    CHECK(clock_gettime(CLOCK_MONOTONIC, &ts) == 0);
    tsum += ts.tv_nsec % 997;
    CHECK(access(dir, W_OK) == 0);
  }
  printf("stage 2: 2000 rounds of getpid/clock_gettime/access, time checksum %lld (vary)\n", tsum);
  return 0;
}

int main(int argc, char **argv) {
  if (argc == 3 && strcmp(argv[1], "stage2") == 0) return stage2(argv[2]);
  printf("stage 1: LD_PRELOAD %s (depends on the recording mode)\n",
         getenv("LD_PRELOAD") ? "set" : "unset");
  char self[4096] = {0};
  CHECK(readlink("/proc/self/exe", self, sizeof self - 1) > 0);
  char *args[] = {"exec_without_preload", "stage2", (char *)make_tmpdir(), NULL};
  char *no_env[] = {NULL};
  execve(self, args, no_env);
  CHECK(!"execve failed");
  return 1;
}
