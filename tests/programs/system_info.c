/* Checks uname and sysinfo: replay must restore the recorded structs
 * (sysinfo's uptime and free memory vary between runs). */
#include "common.h"
#include <sys/sysinfo.h>
#include <sys/utsname.h>

int main(void) {
  struct utsname u;
  show("uname", uname(&u));
  printf("  sysname %s release %s machine %s nodename hash %016llx\n", u.sysname, u.release,
         u.machine, fnv1a(u.nodename, strlen(u.nodename)));
  struct sysinfo si;
  show("sysinfo", sysinfo(&si));
  printf("  uptime %ld procs %u totalram %lu freeram %lu unit %u loads %lu %lu %lu\n",
         si.uptime, si.procs, si.totalram, si.freeram, si.mem_unit, si.loads[0], si.loads[1],
         si.loads[2]);
  printf("nprocs conf %d online %d\n", get_nprocs_conf(), get_nprocs());
  char host[256] = {0};
  show("gethostname", gethostname(host, sizeof host));
  printf("  hash %016llx\n", fnv1a(host, strlen(host)));
  show("sysinfo bad pointer", sysinfo((struct sysinfo *)8));
  return 0;
}
