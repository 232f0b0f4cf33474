/* Checks fork + execve of another test program (argv_env_echo, found next
 * to /proc/self/exe) with a chosen argv and environment, and a failed
 * execve (ENOENT) in a second child. */
#include "common.h"
#include <libgen.h>
#include <sys/wait.h>

int main(void) {
  char self[4096] = {0};
  CHECK(readlink("/proc/self/exe", self, sizeof self - 1) > 0);
  char target[4200];
  snprintf(target, sizeof target, "%s/argv_env_echo", dirname(self));

  pid_t child = fork();
  CHECK(child >= 0);
  if (child == 0) {
    char pidarg[32];
    snprintf(pidarg, sizeof pidarg, "parent-%d", getppid());
    char *argv[] = {"argv_env_echo", "one", "two words", "", pidarg, NULL};
    char *envp[] = {"REWIND_TEST_A=1", "REWIND_TEST_B=with space", "HOME=/nowhere", NULL};
    execve(target, argv, envp);
    _exit(127);
  }
  int status;
  CHECK(waitpid(child, &status, 0) == child);
  printf("exec'd child exited %d\n", WEXITSTATUS(status));

  child = fork();
  CHECK(child >= 0);
  if (child == 0) {
    char *argv[] = {"x", NULL};
    execve("/nonexistent/program", argv, argv + 1);
    printf("execve failed in child: %s\n", strerrorname_np(errno));
    _exit(5);
  }
  CHECK(waitpid(child, &status, 0) == child);
  printf("failed-exec child exited %d\n", WEXITSTATUS(status));
  return 0;
}
