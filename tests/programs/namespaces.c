/* Namespaces, as sandboxes and container tools make them. After
 * unshare(CLONE_NEWPID) the first child is pid 1 of a new pid namespace:
 * it sees itself as 1 and its parent as 0, and reaps a grandchild that is
 * pid 2 there. It unshares mount, UTS and IPC namespaces of its own, sets a
 * host name only it sees, and mounts a tmpfs only it sees, where it writes,
 * reads back and lists a file. The parent sees neither the name nor the
 * mount. A second child, made by clone(CLONE_NEWPID), is pid 1 of another
 * namespace, and a third, in a user namespace, is not root there. (Root
 * only: the tests run as root.) */
#include "common.h"

#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>

static void list(const char* dir) {
  DIR* d = opendir(dir);
  CHECK(d != NULL);
  struct dirent* e;
  int n = 0;
  while ((e = readdir(d)))
    if (e->d_name[0] != '.') printf("  entry: %s\n", e->d_name), n++;
  closedir(d);
  printf("  %d entries\n", n);
}

static void in_namespace(const char* dir) {
  printf("child: pid %d, parent %d\n", (int)getpid(), (int)getppid());
  CHECK(unshare(CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC) == 0);
  /* Mounts made here must not reach the parent's namespace. */
  CHECK(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0);
  CHECK(sethostname("rewind-ns", 9) == 0);
  struct utsname u;
  CHECK(uname(&u) == 0);
  printf("child: host name %s\n", u.nodename);
  CHECK(mount("rewind-tmpfs", dir, "tmpfs", 0, "size=1m") == 0);
  char path[512];
  snprintf(path, sizeof path, "%s/inside", dir);
  int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
  CHECK(fd >= 0);
  CHECK(write(fd, "written in the namespace", 24) == 24);
  char buf[32] = {0};
  CHECK(pread(fd, buf, sizeof buf - 1, 0) == 24);
  close(fd);
  printf("child: read back '%s'\n", buf);
  list(dir);
  pid_t g = fork();
  CHECK(g >= 0);
  if (g == 0) {
    printf("grandchild: pid %d, parent %d\n", (int)getpid(), (int)getppid());
    _exit(5);
  }
  int st;
  pid_t w = waitpid(-1, &st, 0);
  printf("child: fork gave %d, reaped %d, status %d\n", (int)g, (int)w, WEXITSTATUS(st));
  CHECK(umount2(dir, 0) == 0);
  exit(g == 2 && w == 2 && getpid() == 1 ? 0 : 1);
}

int main(void) {
  const char* tmp = getenv("TMPDIR");
  char dir[256];
  snprintf(dir, sizeof dir, "%s/ns-mount", tmp ? tmp : "/tmp");
  CHECK(mkdir(dir, 0700) == 0 || errno == EEXIST);
  struct utsname before, after;
  CHECK(uname(&before) == 0);
  /* First clone(CLONE_NEWPID): (after unshare(CLONE_NEWPID), the children
   * go into the namespace it made, which dies with its first one). */
  int st;
  long r = syscall(SYS_clone, CLONE_NEWPID | SIGCHLD, 0, 0, 0, 0);
  CHECK(r >= 0);
  if (r == 0) _exit(getpid() == 1 && getppid() == 0 ? 9 : 1);
  CHECK(waitpid((pid_t)r, &st, 0) == (pid_t)r);
  printf("parent: the clone(CLONE_NEWPID) child exited %d\n", WEXITSTATUS(st));
  /* A user namespace: root outside is the overflow uid inside until a
   * uid map says otherwise. */
  pid_t u = fork();
  CHECK(u >= 0);
  if (u == 0) {
    CHECK(unshare(CLONE_NEWUSER) == 0);
    printf("user namespace: uid %d, gid %d\n", (int)getuid(), (int)getgid());
    _exit(getuid() != 0 ? 0 : 1);
  }
  CHECK(waitpid(u, &st, 0) == u && WIFEXITED(st) && WEXITSTATUS(st) == 0);
  CHECK(unshare(CLONE_NEWPID) == 0);
  pid_t c = fork();
  CHECK(c >= 0);
  if (c == 0) in_namespace(dir);
  CHECK(waitpid(c, &st, 0) == c);
  printf("parent: child exited %d\n", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
  CHECK(uname(&after) == 0);
  printf("parent: host name unchanged: %s\n",
         strcmp(before.nodename, after.nodename) ? "no" : "yes");
  printf("parent: the mount point from here:\n");
  list(dir);
  rmdir(dir);
  return 0;
}
