/* deloc.term core: terminal questions answered by the kernel. */
#include "term.h"

#include <sys/ioctl.h>
#include <unistd.h>

int dl_term_isatty(int fd) {
  return fd >= 0 && isatty(fd) == 1;
}

int dl_term_width(int fd) {
  struct winsize ws;
  if (fd < 0 || ioctl(fd, TIOCGWINSZ, &ws) != 0)
    return 0;
  return ws.ws_col;
}
