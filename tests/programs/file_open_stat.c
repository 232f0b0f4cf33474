/* Checks open, openat, close, stat, fstat, lstat, newfstatat and statx:
 * replay must return the recorded stat buffers (inode numbers and times vary
 * per run, so they expose a replay that stats the live file instead). */
#include "common.h"
#include <fcntl.h>

static void print_stat(const char *what, int r, const struct stat *st) {
  if (r != 0) {
    printf("%s -> %d (%s)\n", what, r, strerrorname_np(errno));
    return;
  }
  printf("%s -> mode %o size %lld ino %llu nlink %lu mtime %lld.%09ld\n", what,
         st->st_mode, (long long)st->st_size, (unsigned long long)st->st_ino,
         (unsigned long)st->st_nlink, (long long)st->st_mtim.tv_sec,
         st->st_mtim.tv_nsec);
}

int main(void) {
  const char *dir = make_tmpdir();
  int dfd = open(dir, O_RDONLY | O_DIRECTORY);
  CHECK(dfd >= 0);
  int fd = openat(dfd, "file", O_WRONLY | O_CREAT | O_EXCL, 0640);
  CHECK(fd >= 0);
  show("write", write(fd, "0123456789", 10));
  show("openat O_EXCL again", openat(dfd, "file", O_WRONLY | O_CREAT | O_EXCL, 0640));
  CHECK(symlinkat("file", dfd, "link") == 0);

  char path[4200], link[4200];
  snprintf(path, sizeof path, "%s/file", dir);
  snprintf(link, sizeof link, "%s/link", dir);
  struct stat st;
  int r = stat(path, &st);
  print_stat("stat", r, &st);
  r = fstat(fd, &st);
  print_stat("fstat", r, &st);
  r = lstat(link, &st);
  print_stat("lstat link", r, &st);
  r = fstatat(dfd, "link", &st, 0);
  print_stat("fstatat follow", r, &st);
  r = fstatat(dfd, "missing", &st, 0);
  print_stat("fstatat missing", r, &st);

  struct statx sx;
  r = statx(dfd, "file", 0, STATX_BASIC_STATS | STATX_BTIME, &sx);
  printf("statx -> %d mask %x size %llu mode %o btime %lld\n", r, sx.stx_mask,
         (unsigned long long)sx.stx_size, sx.stx_mode, (long long)sx.stx_btime.tv_sec);

  show("close", close(fd));
  show("close again", close(fd));
  show("open missing", open("/nonexistent/rewind", O_RDONLY));
  unlinkat(dfd, "link", 0);
  unlinkat(dfd, "file", 0);
  close(dfd);
  rmdir(dir);
  return 0;
}
