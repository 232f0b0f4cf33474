/* Checks AF_UNIX stream sockets between a parent and a forked child:
 * socket, bind, listen, accept4, connect, getsockname, getpeername and
 * SO_PEERCRED. Replay must return the recorded addresses and data. */
#include "common.h"
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>

int main(void) {
  const char *dir = make_tmpdir();
  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  /* sun_path holds 108 bytes; $TMPDIR paths under the driver are short. */
  CHECK(strlen(dir) < sizeof addr.sun_path - 6);
  snprintf(addr.sun_path, sizeof addr.sun_path, "%.100s/sock", dir);
  int srv = socket(AF_UNIX, SOCK_STREAM, 0);
  CHECK(srv >= 0);
  show("bind", bind(srv, (struct sockaddr *)&addr, sizeof addr));
  show("bind again (in use)", bind(socket(AF_UNIX, SOCK_STREAM, 0), (struct sockaddr *)&addr, sizeof addr));
  show("listen", listen(srv, 4));

  pid_t child = fork();
  CHECK(child >= 0);
  if (child == 0) {
    int c = socket(AF_UNIX, SOCK_STREAM, 0);
    CHECK(connect(c, (struct sockaddr *)&addr, sizeof addr) == 0);
    char msg[64];
    int len = snprintf(msg, sizeof msg, "hello from child %d", getpid());
    CHECK(write(c, msg, len) == len);
    char reply[64] = {0};
    ssize_t n = read(c, reply, sizeof reply - 1);
    printf("child got %zd '%s'\n", n, reply);
    _exit(0);
  }
  struct sockaddr_un peer;
  socklen_t plen = sizeof peer;
  int conn = accept4(srv, (struct sockaddr *)&peer, &plen, SOCK_CLOEXEC);
  CHECK(conn >= 0);
  printf("accept4 -> peer addrlen %u family %d\n", plen, peer.sun_family);
  struct ucred cred;
  socklen_t clen = sizeof cred;
  CHECK(getsockopt(conn, SOL_SOCKET, SO_PEERCRED, &cred, &clen) == 0);
  printf("SO_PEERCRED pid is the child: %d (pid %d uid %d)\n", cred.pid == child, cred.pid, cred.uid);
  struct sockaddr_un me;
  socklen_t mlen = sizeof me;
  CHECK(getsockname(conn, (struct sockaddr *)&me, &mlen) == 0);
  printf("getsockname -> len %u path ends '%s'\n", mlen, strrchr(me.sun_path, '/'));
  mlen = sizeof me;
  show("getpeername", getpeername(conn, (struct sockaddr *)&me, &mlen));

  char buf[64] = {0};
  ssize_t n = read(conn, buf, sizeof buf - 1);
  printf("parent got %zd '%s'\n", n, buf);
  CHECK(write(conn, "bye", 3) == 3);
  int status;
  waitpid(child, &status, 0);
  printf("child status %d\n", WEXITSTATUS(status));
  n = read(conn, buf, sizeof buf);
  printf("read after child exit -> %zd\n", n);
  unlink(addr.sun_path);
  rmdir(dir);
  return 0;
}
