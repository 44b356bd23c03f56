/* libFuzzer target: what deloc does with an engine's answer.  The input is
 * the raw bytes a Docker Engine (or the Kubernetes API) sends back on the
 * socket: status line, headers, a body plain, chunked or cut short.  A
 * thread serves it on a unix socket; deloc.http (libcurl's multi interface
 * through src/http.c and src/l_http.c: header buffer limits, header
 * parsing, body buffers) reads it, and the result goes through what the
 * Docker driver applies to bodies: JSON decoding and the stream demuxer.
 * Each must give a value or nil, err — never raise, crash or hang.  One
 * try per input: deloc's retry of a failed GET only waits (its backoff made
 * this target run 2 inputs a second). */
#include <errno.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "harness.h"

static char sock_path[108];
static uint8_t *answer; /* our copy: the thread may outlive the call */
static size_t answer_len;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;

/* Reads the request (to its blank line), sends the answer, closes. */
static void *serve(void *arg) {
  int lfd = *(int *)arg;
  for (;;) {
    int fd = accept(lfd, NULL, NULL);
    if (fd < 0) {
      if (errno == EINTR)
        continue;
      return NULL;
    }
    char req[8192];
    size_t got = 0;
    while (got < sizeof req - 1) {
      ssize_t n = read(fd, req + got, sizeof req - 1 - got);
      if (n <= 0)
        break;
      got += (size_t)n;
      req[got] = '\0';
      if (strstr(req, "\r\n\r\n"))
        break;
    }
    pthread_mutex_lock(&mu);
    size_t off = 0;
    while (off < answer_len) {
      ssize_t n = send(fd, answer + off, answer_len - off, MSG_NOSIGNAL);
      if (n <= 0)
        break;
      off += (size_t)n;
    }
    pthread_mutex_unlock(&mu);
    shutdown(fd, SHUT_WR);
    close(fd);
  }
}

static const char script_head[] =
    "local path = ...\n"
    "local http = require('deloc.http')\n"
    "local json = require('deloc.json')\n"
    "local stream = require('deloc.adapters.docker.stream')\n"
    "return function(_)\n"
    "  local res, err, kind = http.request({ url = "
    "'http://docker/v1.43/containers/json', unix_socket = path, timeout = 5, "
    "max_body = 1048576, retry = false })\n"
    "  if not res then\n"
    "    assert(type(err) == 'string' and type(kind) == 'string', "
    "tostring(err))\n"
    "    return\n"
    "  end\n"
    "  assert(type(res.status) == 'number' and type(res.headers) == 'table' "
    "and type(res.body) == 'string')\n"
    "  for k, v in pairs(res.headers) do assert(type(k) == 'string' and "
    "type(v) == 'string') end\n"
    "  json.decode(res.body)\n"
    "  local frames = 0\n"
    "  local d = stream.demuxer(function() frames = frames + 1 end)\n"
    "  d:feed(res.body)\n"
    "  d:finish()\n"
    "  local l = stream.line_demuxer(function() end)\n"
    "  l:feed(res.body)\n"
    "  l:finish()\n"
    "end\n";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!fuzz_L) {
    snprintf(sock_path, sizeof sock_path, "/tmp/deloc-fuzz-http.%ld.sock",
             (long)getpid());
    unlink(sock_path);
    static int lfd;
    lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    memcpy(sa.sun_path, sock_path, strlen(sock_path) + 1);
    if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof sa) != 0 ||
        listen(lfd, 4) != 0)
      abort();
    pthread_t t;
    if (pthread_create(&t, NULL, serve, &lfd) != 0)
      abort();
    pthread_detach(t);
    char script[sizeof script_head + 200];
    snprintf(script, sizeof script, "return (function(...) %s end)(%s%s%s)",
             script_head, "'", sock_path, "'");
    fuzz_start(script);
  }
  pthread_mutex_lock(&mu);
  free(answer);
  answer = malloc(size ? size : 1);
  if (!answer)
    abort();
  memcpy(answer, data, size);
  answer_len = size;
  pthread_mutex_unlock(&mu);
  fuzz_call(data, size);
  return 0;
}
