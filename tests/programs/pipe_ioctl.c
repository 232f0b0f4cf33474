/* Checks pipe2 and ioctl: TCGETS and TIOCGWINSZ (on stdin, stdout and a
 * pipe: usually ENOTTY under the driver), FIONREAD on a pipe, FIONBIO.
 * Replay must return the recorded results and the recorded out-buffers. */
#include "common.h"
#include <fcntl.h>
#include <sys/ioctl.h>
#include <termios.h>

int main(void) {
  int p[2];
  show("pipe2 CLOEXEC|NONBLOCK", pipe2(p, O_CLOEXEC | O_NONBLOCK));
  printf("pipe fds %d %d\n", p[0], p[1]);
  int q[2];
  show("pipe2 bad flags", pipe2(q, 0x7fffffff));

  int avail = -1;
  show("FIONREAD empty", ioctl(p[0], FIONREAD, &avail));
  printf("  avail %d\n", avail);
  show("write pipe", write(p[1], "some bytes in the pipe", 22));
  show("FIONREAD", ioctl(p[0], FIONREAD, &avail));
  printf("  avail %d\n", avail);
  char buf[8];
  show("read 8", read(p[0], buf, sizeof buf));
  show("FIONREAD after read", ioctl(p[0], FIONREAD, &avail));
  printf("  avail %d\n", avail);
  int on = 0;
  show("FIONBIO off", ioctl(p[0], FIONBIO, &on));
  printf("F_GETFL nonblock -> %d\n", !!(fcntl(p[0], F_GETFL) & O_NONBLOCK));

  for (int fd = 0; fd <= 2; fd++) {
    struct termios t;
    memset(&t, 0xab, sizeof t);
    int r = ioctl(fd, TCGETS, &t);
    printf("TCGETS fd %d -> %d %s lflag %#x\n", fd, r, r ? strerrorname_np(errno) : "",
           r ? 0 : t.c_lflag);
    struct winsize ws;
    memset(&ws, 0, sizeof ws);
    r = ioctl(fd, TIOCGWINSZ, &ws);
    printf("TIOCGWINSZ fd %d -> %d %s %ux%u\n", fd, r, r ? strerrorname_np(errno) : "",
           ws.ws_col, ws.ws_row);
  }
  struct winsize ws;
  show("TIOCGWINSZ pipe", ioctl(p[0], TIOCGWINSZ, &ws));
  return 0;
}
