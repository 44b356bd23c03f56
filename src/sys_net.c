/* deloc.sys: the TCP ports something listens on, from the kernel's socket
 * diagnostics (NETLINK_SOCK_DIAG) asked for sockets in state LISTEN only.
 * The kernel then walks its listening table alone, where /proc/net/tcp
 * walks every bucket of the established table: about a millisecond for
 * each of tcp and tcp6 on a machine with a large table, for a question
 * (is port P free?) that every `deloc plan` asks. */
#include "sys.h"

#include <errno.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define TCP_STATE_LISTEN 10 /* include/net/tcp_states.h */

static int request(int fd, int family, char *err) {
  struct {
    struct nlmsghdr nlh;
    struct inet_diag_req_v2 req;
  } msg;
  memset(&msg, 0, sizeof msg);
  msg.nlh.nlmsg_len = sizeof msg;
  msg.nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
  msg.nlh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  msg.req.sdiag_family = (uint8_t)family;
  msg.req.sdiag_protocol = IPPROTO_TCP;
  msg.req.idiag_states = 1u << TCP_STATE_LISTEN;
  struct sockaddr_nl sa;
  memset(&sa, 0, sizeof sa);
  sa.nl_family = AF_NETLINK;
  if (sendto(fd, &msg, sizeof msg, 0, (struct sockaddr *)&sa, sizeof sa) < 0)
    return dl_sys_fail(err, "cannot ask", "sock_diag", errno);
  return 0;
}

/* Reads the answers to one request; 1 when done, 0 to read on, -1. */
static int answers(const char *buf, int len, uint8_t *ports, int family,
                   char *err) {
  for (const struct nlmsghdr *h = (const struct nlmsghdr *)buf;
       NLMSG_OK(h, len); h = NLMSG_NEXT(h, len)) {
    if (h->nlmsg_type == NLMSG_DONE)
      return 1;
    if (h->nlmsg_type == NLMSG_ERROR) {
      const struct nlmsgerr *e = NLMSG_DATA(h);
      /* no IPv6 in this kernel: nothing listens on it */
      if (family == AF_INET6 && (e->error == -ENOENT || e->error == -EINVAL))
        return 1;
      return dl_sys_fail(err, "sock_diag", family == AF_INET ? "tcp" : "tcp6",
                         -e->error);
    }
    if (h->nlmsg_type != SOCK_DIAG_BY_FAMILY)
      continue;
    const struct inet_diag_msg *m = NLMSG_DATA(h);
    unsigned port = ntohs(m->id.idiag_sport);
    ports[port >> 3] |= (uint8_t)(1u << (port & 7));
  }
  return 0;
}

static int dump(int fd, int family, uint8_t *ports, char *err) {
  if (request(fd, family, err) != 0)
    return -1;
  long buf[4096]; /* aligned for nlmsghdr */
  for (;;) {
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return dl_sys_fail(err, "cannot read", "sock_diag", errno);
    if (n == 0)
      return dl_sys_error(err, "sock_diag: the kernel closed the dump early");
    int rc = answers((const char *)buf, (int)n, ports, family, err);
    if (rc != 0)
      return rc < 0 ? -1 : 0;
  }
}

int dl_sys_tcp_listening(uint8_t ports[8192], char *err) {
  memset(ports, 0, 8192);
  int fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
  if (fd < 0)
    return dl_sys_fail(err, "cannot open", "sock_diag", errno);
  int rc = dump(fd, AF_INET, ports, err);
  if (rc == 0)
    rc = dump(fd, AF_INET6, ports, err);
  close(fd);
  return rc;
}
