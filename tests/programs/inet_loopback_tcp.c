/* Checks AF_INET TCP on 127.0.0.1 (loopback only) between a parent and a
 * forked child: an ephemeral port from bind+getsockname, setsockopt and
 * getsockopt, connect, accept, send/recv and getpeername. The port differs
 * per run, so replay must return the recorded sockaddrs. */
#include "common.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/wait.h>

int main(void) {
  int srv = socket(AF_INET, SOCK_STREAM, 0);
  CHECK(srv >= 0);
  int one = 1, val = 0;
  socklen_t vlen = sizeof val;
  show("setsockopt SO_REUSEADDR", setsockopt(srv, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one));
  show("getsockopt SO_REUSEADDR", getsockopt(srv, SOL_SOCKET, SO_REUSEADDR, &val, &vlen));
  printf("  value %d len %u\n", val, vlen);
  show("getsockopt SO_RCVBUF", getsockopt(srv, SOL_SOCKET, SO_RCVBUF, &val, &vlen));
  printf("  value %d\n", val);
  show("getsockopt bad level", getsockopt(srv, 12345, 1, &val, &vlen));

  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  CHECK(bind(srv, (struct sockaddr *)&addr, sizeof addr) == 0);
  socklen_t alen = sizeof addr;
  CHECK(getsockname(srv, (struct sockaddr *)&addr, &alen) == 0);
  printf("bound to %s:%d\n", inet_ntoa(addr.sin_addr), ntohs(addr.sin_port));
  CHECK(listen(srv, 1) == 0);

  pid_t child = fork();
  CHECK(child >= 0);
  if (child == 0) {
    int c = socket(AF_INET, SOCK_STREAM, 0);
    CHECK(connect(c, (struct sockaddr *)&addr, sizeof addr) == 0);
    CHECK(setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) == 0);
    char msg[48];
    int len = snprintf(msg, sizeof msg, "tcp hello %d", getpid());
    CHECK(send(c, msg, len, 0) == len);
    char reply[16] = {0};
    ssize_t n = recv(c, reply, 10, MSG_WAITALL); /* the parent sends exactly 10 */
    printf("child recv -> %zd '%s'\n", n, reply);
    _exit(0);
  }
  struct sockaddr_in peer;
  socklen_t plen = sizeof peer;
  int conn = accept(srv, (struct sockaddr *)&peer, &plen);
  CHECK(conn >= 0);
  printf("accepted peer %s port>0 %d\n", inet_ntoa(peer.sin_addr), ntohs(peer.sin_port) > 0);
  struct sockaddr_in p2;
  plen = sizeof p2;
  CHECK(getpeername(conn, (struct sockaddr *)&p2, &plen) == 0);
  printf("getpeername port matches accept %d (port %d)\n", p2.sin_port == peer.sin_port, ntohs(p2.sin_port));
  char buf[64] = {0};
  ssize_t n = recv(conn, buf, sizeof buf - 1, 0);
  printf("parent recv -> %zd '%s'\n", n, buf);
  CHECK(send(conn, "0123456789", 10, 0) == 10);
  int status;
  waitpid(child, &status, 0);
  n = recv(conn, buf, sizeof buf, 0);
  printf("recv after peer exit -> %zd, child status %d\n", n, WEXITSTATUS(status));
  return 0;
}
