/* Checks AF_INET UDP on 127.0.0.1 (loopback only): sendto and recvfrom
 * with source addresses, connect on a datagram socket, and MSG_TRUNC.
 * Replay must return the recorded sockaddrs and payloads. */
#include "common.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

static struct sockaddr_in bound(int fd) {
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  CHECK(bind(fd, (struct sockaddr *)&a, sizeof a) == 0);
  socklen_t len = sizeof a;
  CHECK(getsockname(fd, (struct sockaddr *)&a, &len) == 0);
  return a;
}

int main(void) {
  int s1 = socket(AF_INET, SOCK_DGRAM, 0), s2 = socket(AF_INET, SOCK_DGRAM, 0);
  CHECK(s1 >= 0 && s2 >= 0);
  struct sockaddr_in a1 = bound(s1), a2 = bound(s2);
  printf("ports %d %d\n", ntohs(a1.sin_port), ntohs(a2.sin_port));

  char msg[64];
  int len = snprintf(msg, sizeof msg, "datagram from %d", getpid());
  show("sendto", sendto(s1, msg, len, 0, (struct sockaddr *)&a2, sizeof a2));
  char buf[64] = {0};
  struct sockaddr_in from;
  socklen_t flen = sizeof from;
  ssize_t n = recvfrom(s2, buf, sizeof buf - 1, 0, (struct sockaddr *)&from, &flen);
  printf("recvfrom -> %zd '%s' from port matches %d (addrlen %u)\n", n, buf,
         from.sin_port == a1.sin_port, flen);

  /* A datagram larger than the buffer is truncated; MSG_TRUNC gives the real size. */
  show("sendto 40 bytes", sendto(s2, "0123456789012345678901234567890123456789", 40, 0,
                                 (struct sockaddr *)&a1, sizeof a1));
  memset(buf, 0, sizeof buf);
  n = recvfrom(s1, buf, 8, MSG_TRUNC, NULL, NULL);
  printf("recvfrom truncated -> %zd '%s'\n", n, buf);

  show("connect s1 to s2", connect(s1, (struct sockaddr *)&a2, sizeof a2));
  show("send connected", send(s1, "connected", 9, 0));
  memset(buf, 0, sizeof buf);
  n = recv(s2, buf, sizeof buf, 0);
  printf("recv -> %zd '%s'\n", n, buf);
  n = recv(s2, buf, sizeof buf, MSG_DONTWAIT);
  printf("recv empty -> %zd (%s)\n", n, strerrorname_np(errno));
  return 0;
}
