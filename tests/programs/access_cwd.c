/* Checks access, faccessat2 (via syscall()), getcwd and chdir/fchdir:
 * replay must return the recorded results and the recorded cwd string. */
#include "common.h"
#include <fcntl.h>
#include <sys/syscall.h>

#ifndef SYS_faccessat2
#define SYS_faccessat2 439
#endif

int main(void) {
  show("access /bin/sh X_OK", access("/bin/sh", X_OK));
  show("access /etc/shadow W_OK", access("/etc/shadow", W_OK));
  show("access missing F_OK", access("/nonexistent/x", F_OK));
  show("faccessat2 /etc/passwd R_OK EACCESS",
       syscall(SYS_faccessat2, AT_FDCWD, "/etc/passwd", R_OK, AT_EACCESS));
  show("faccessat2 bad flags", syscall(SYS_faccessat2, AT_FDCWD, "/", R_OK, 0x12345));

  char buf[4096];
  printf("getcwd -> %s\n", getcwd(buf, sizeof buf));
  const char *dir = make_tmpdir();
  show("chdir tmpdir", chdir(dir));
  printf("getcwd -> %s\n", getcwd(buf, sizeof buf));
  char *small = getcwd(buf, 2);
  printf("getcwd small buffer -> %s (%s)\n", small ? small : "NULL", strerrorname_np(errno));
  int fd = open("/usr", O_RDONLY | O_DIRECTORY);
  show("fchdir /usr", fchdir(fd));
  printf("getcwd -> %s\n", getcwd(buf, sizeof buf));
  show("chdir missing", chdir("/nonexistent"));
  close(fd);
  rmdir(dir);
  return 0;
}
