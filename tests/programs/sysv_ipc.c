/* SysV semaphores and message queues between two processes, blocking cases
 * included. The child blocks in semop (glibc 2.36 makes it semtimedop)
 * until the parent posts, receives the parent's message with a blocking
 * msgrcv and answers it; the parent blocks in msgrcv for the answer and in
 * semtimedop for the child's final post. A semtimedop with a short timeout
 * on a semaphore nobody posts fails with EAGAIN. The semaphores' values and
 * the queue's state are read back with semctl and msgctl. Also two calls
 * outside SysV that used to get ENOSYS from rewind: quotactl (the kernel's
 * own error for a filesystem without quotas, ENOTBLK for "/") and iopl(0)
 * (ENOSYS from kernels built without CONFIG_X86_IOPL_IOPERM). */
#include "common.h"

#include <sys/io.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/quota.h>
#include <sys/sem.h>
#include <sys/wait.h>
#include <time.h>

struct message {
  long type;
  char text[32];
};

static void sem_add(int sem, unsigned short which, short delta) {
  struct sembuf op = {which, delta, 0};
  CHECK(semop(sem, &op, 1) == 0);
}

int main(void) {
  const int sem = semget(IPC_PRIVATE, 2, IPC_CREAT | 0600);
  const int queue = msgget(IPC_PRIVATE, IPC_CREAT | 0600);
  CHECK(sem >= 0 && queue >= 0);

  const pid_t child = fork();
  CHECK(child >= 0);
  if (child == 0) {
    sem_add(sem, 0, -1);  // blocks until the parent posts
    struct message m;
    const ssize_t n = msgrcv(queue, &m, sizeof m.text, 1, 0);
    CHECK(n > 0);
    printf("child: got \"%s\" (%zd bytes)\n", m.text, n);
    struct message reply = {2, "pong"};
    CHECK(msgsnd(queue, &reply, strlen(reply.text) + 1, 0) == 0);
    sem_add(sem, 1, 1);
    _exit(0);
  }

  sem_add(sem, 0, 1);
  struct message ping = {1, "ping"};
  CHECK(msgsnd(queue, &ping, strlen(ping.text) + 1, 0) == 0);
  struct message m;
  const ssize_t n = msgrcv(queue, &m, sizeof m.text, 2, 0);  // blocks for the answer
  CHECK(n > 0);
  printf("parent: got \"%s\" (%zd bytes)\n", m.text, n);
  struct sembuf wait_child = {1, -1, 0};
  struct timespec ten_s = {10, 0};
  CHECK(semtimedop(sem, &wait_child, 1, &ten_s) == 0);
  int status = 0;
  CHECK(waitpid(child, &status, 0) == child);
  printf("child exited %d\n", WEXITSTATUS(status));

  struct sembuf never = {0, -1, 0};
  struct timespec short_wait = {0, 1000000};
  errno = 0;
  const int r = semtimedop(sem, &never, 1, &short_wait);
  printf("semtimedop on 0 with a timeout -> %d %s\n", r, strerrorname_np(errno));
  printf("semaphores now %d %d\n", semctl(sem, 0, GETVAL), semctl(sem, 1, GETVAL));
  struct msqid_ds ds;
  CHECK(msgctl(queue, IPC_STAT, &ds) == 0);
  printf("queue: %lu messages, last sender is the child: %d\n", (unsigned long)ds.msg_qnum,
         ds.msg_lspid == child);
  CHECK(semctl(sem, 0, IPC_RMID) == 0);
  CHECK(msgctl(queue, IPC_RMID, NULL) == 0);

  struct dqblk q;
  errno = 0;
  const int qr = quotactl(QCMD(Q_GETQUOTA, USRQUOTA), "/", 0, (caddr_t)&q);
  printf("quotactl -> %d %s\n", qr, qr == 0 ? "ok" : strerrorname_np(errno));
  CHECK(qr == 0 || errno != ENOSYS);  // the kernel knows quotactl; ENOSYS was rewind's
  errno = 0;
  const int ir = iopl(0);
  printf("iopl(0) -> %d %s\n", ir, ir == 0 ? "ok" : strerrorname_np(errno));
  return 0;
}
