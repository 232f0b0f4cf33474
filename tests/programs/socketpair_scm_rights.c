/* Checks socketpair, sendmsg and recvmsg with several iovecs, and passing
 * a descriptor with SCM_RIGHTS: replay must fill every iovec and the
 * control buffer, and the received fd must read the file it refers to. */
#include "common.h"
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/uio.h>

int main(void) {
  int sv[2];
  show("socketpair", socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv));

  /* The descriptor to pass: a pipe holding a per-run message. */
  int p[2];
  CHECK(pipe(p) == 0);
  char secret[64];
  int slen = snprintf(secret, sizeof secret, "passed through pid %d", getpid());
  CHECK(write(p[1], secret, slen) == slen);

  char h1[] = "head|", h2[] = "body|", h3[] = "tail";
  struct iovec out[] = {{h1, 5}, {h2, 5}, {h3, 4}};
  union { struct cmsghdr align; char buf[CMSG_SPACE(sizeof(int))]; } ctl;
  memset(&ctl, 0, sizeof ctl);
  struct msghdr msg = {.msg_iov = out, .msg_iovlen = 3, .msg_control = ctl.buf,
                       .msg_controllen = sizeof ctl.buf};
  struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(c), &p[0], sizeof(int));
  show("sendmsg", sendmsg(sv[0], &msg, 0));
  close(p[0]);

  char r1[3] = {0}, r2[8] = {0}, r3[32] = {0};
  struct iovec in[] = {{r1, 2}, {r2, 7}, {r3, 31}};
  union { struct cmsghdr align; char buf[CMSG_SPACE(sizeof(int))]; } rctl;
  memset(&rctl, 0, sizeof rctl);
  struct msghdr rmsg = {.msg_iov = in, .msg_iovlen = 3, .msg_control = rctl.buf,
                        .msg_controllen = sizeof rctl.buf};
  ssize_t n = recvmsg(sv[1], &rmsg, MSG_CMSG_CLOEXEC);
  printf("recvmsg -> %zd [%s] [%s] [%s] controllen %zu flags %#x\n", n, r1, r2, r3,
         (size_t)rmsg.msg_controllen, rmsg.msg_flags);
  struct cmsghdr *rc = CMSG_FIRSTHDR(&rmsg);
  CHECK(rc != NULL && rc->cmsg_type == SCM_RIGHTS);
  int got;
  memcpy(&got, CMSG_DATA(rc), sizeof got);
  printf("received fd %d cloexec %d\n", got, fcntl(got, F_GETFD) & FD_CLOEXEC);
  char buf[64] = {0};
  n = read(got, buf, sizeof buf - 1);
  printf("read via received fd -> %zd '%s'\n", n, buf);

  /* A plain message the other way, plus a peek. */
  show("send back", send(sv[1], "pong", 4, 0));
  memset(buf, 0, sizeof buf);
  n = recv(sv[0], buf, sizeof buf, MSG_PEEK);
  printf("recv peek -> %zd '%s'\n", n, buf);
  memset(buf, 0, sizeof buf);
  n = recv(sv[0], buf, sizeof buf, 0);
  printf("recv -> %zd '%s'\n", n, buf);
  n = recv(sv[0], buf, sizeof buf, MSG_DONTWAIT);
  printf("recv empty nonblocking -> %zd (%s)\n", n, strerrorname_np(errno));
  return 0;
}
