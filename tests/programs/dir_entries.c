/* Checks mkdir, rmdir, unlink, rename, renameat2, link, symlink, readlink
 * and getdents64 (through opendir/readdir): replay must produce the same
 * directory listing, in the recorded order, with the same inode numbers. */
#include "common.h"
#include <dirent.h>
#include <fcntl.h>
#include <sys/syscall.h>

static void list(const char *dir) {
  DIR *d = opendir(dir);
  CHECK(d != NULL);
  struct dirent *e;
  printf("listing:");
  while ((e = readdir(d)) != NULL)
    printf(" %s(type %d ino %llu)", e->d_name, e->d_type, (unsigned long long)e->d_ino);
  printf("\n");
  closedir(d);
}

int main(void) {
  const char *dir = make_tmpdir();
  CHECK(chdir(dir) == 0);
  show("mkdir sub", mkdir("sub", 0755));
  show("mkdir sub again", mkdir("sub", 0755));
  int fd = open("a", O_WRONLY | O_CREAT, 0644);
  CHECK(fd >= 0);
  close(fd);
  show("link a b", link("a", "b"));
  show("symlink a s", symlink("a", "s"));
  char target[64] = {0};
  show("readlink s", readlink("s", target, sizeof target));
  printf("readlink target '%s'\n", target);
  show("readlink a (not a link)", readlink("a", target, sizeof target));
  show("rename b c", rename("b", "c"));
  show("renameat2 NOREPLACE c a", syscall(SYS_renameat2, AT_FDCWD, "c", AT_FDCWD, "a", 1));
  show("renameat2 EXCHANGE c s", syscall(SYS_renameat2, AT_FDCWD, "c", AT_FDCWD, "s", 2));
  /* Many entries so that getdents64 needs more than one call. */
  for (int i = 0; i < 300; i++) {
    char name[64];
    snprintf(name, sizeof name, "sub/entry-with-a-longish-name-%03d", i);
    fd = open(name, O_WRONLY | O_CREAT, 0600);
    CHECK(fd >= 0);
    close(fd);
  }
  list(".");
  list("sub");
  show("rmdir sub (not empty)", rmdir("sub"));
  for (int i = 0; i < 300; i++) {
    char name[64];
    snprintf(name, sizeof name, "sub/entry-with-a-longish-name-%03d", i);
    unlink(name);
  }
  show("rmdir sub", rmdir("sub"));
  show("unlink a", unlink("a"));
  show("unlink c", unlink("c"));
  show("unlink s", unlink("s"));
  show("unlink missing", unlink("missing"));
  list(".");
  CHECK(chdir("/") == 0);
  show("rmdir tmpdir", rmdir(dir));
  return 0;
}
