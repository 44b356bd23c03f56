/* deloc.http core: libcurl loaded on demand, a multi handle of requests,
 * and callbacks that only fill C buffers.  See http.h. */
#include "http.h"

#include <ctype.h>
#include <dlfcn.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* A streamed transfer pauses once this much is waiting for the caller. */
#define STREAM_HIGH_WATER (1u << 20)
/* Response headers past this are a broken or hostile server. */
#define HEAD_MAX (256u << 10)
#define ERROR_BODY_MAX (64u << 10) /* an error answer of a stream, kept */

static int fail(char *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int fail(char *err, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err, DL_HTTP_ERRLEN, fmt, ap);
  va_end(ap);
  return -1;
}

/* ---- loading libcurl ---- */

int dl_http_loaded(void) {
  void *h = dlopen(DL_HTTP_LIBRARY, RTLD_NOW | RTLD_NOLOAD);
  if (!h)
    return 0;
  dlclose(h); /* drops only the reference RTLD_NOLOAD took */
  return 1;
}

static const struct {
  const char *name;
  size_t offset;
} symbols[] = {
#define SYM(field, name)                                                       \
  { name, offsetof(struct dl_http_curl, field) }
    SYM(global_init, "curl_global_init"),
    SYM(easy_init, "curl_easy_init"),
    SYM(easy_setopt, "curl_easy_setopt"),
    SYM(easy_getinfo, "curl_easy_getinfo"),
    SYM(easy_pause, "curl_easy_pause"),
    SYM(easy_cleanup, "curl_easy_cleanup"),
    SYM(easy_strerror, "curl_easy_strerror"),
    SYM(slist_append, "curl_slist_append"),
    SYM(slist_free_all, "curl_slist_free_all"),
    SYM(multi_init, "curl_multi_init"),
    SYM(multi_add_handle, "curl_multi_add_handle"),
    SYM(multi_remove_handle, "curl_multi_remove_handle"),
    SYM(multi_perform, "curl_multi_perform"),
    SYM(multi_poll, "curl_multi_poll"),
    SYM(multi_info_read, "curl_multi_info_read"),
    SYM(multi_cleanup, "curl_multi_cleanup"),
    SYM(multi_strerror, "curl_multi_strerror"),
    SYM(version_info, "curl_version_info"),
#undef SYM
};

int dl_http_load(struct dl_http_curl *c, char *err) {
  memset(c, 0, sizeof *c);
  void *h = dlopen(DL_HTTP_LIBRARY, RTLD_NOW | RTLD_LOCAL);
  if (!h) {
    const char *why = dlerror();
    return fail(err, "cannot load libcurl: %s",
                why ? why : DL_HTTP_LIBRARY ": not found");
  }
  for (size_t i = 0; i < sizeof symbols / sizeof symbols[0]; i++) {
    void *p = dlsym(h, symbols[i].name);
    if (!p) {
      dlclose(h);
      return fail(err,
                  "cannot load libcurl: " DL_HTTP_LIBRARY
                  " has no %s (libcurl 7.85 or later is needed)",
                  symbols[i].name);
    }
    /* POSIX guarantees data and function pointers share a representation */
    memcpy((char *)c + symbols[i].offset, &p, sizeof p);
  }
  /* Reference counted inside libcurl; OpenSSL is initialised here once. */
  CURLcode rc = c->global_init(CURL_GLOBAL_DEFAULT);
  if (rc != CURLE_OK) {
    const char *why = c->easy_strerror(rc);
    memset(c, 0, sizeof *c);
    return fail(err, "cannot load libcurl: curl_global_init: %s", why);
  }
  c->dl = h;
  return 0;
}

const char *dl_http_kind_name(enum dl_http_kind k) {
  switch (k) {
  case DL_HTTP_OK:
    return "ok";
  case DL_HTTP_CONNECT:
    return "connect";
  case DL_HTTP_TIMEOUT:
    return "timeout";
  case DL_HTTP_TLS:
    return "tls";
  case DL_HTTP_ABORTED:
    return "aborted";
  case DL_HTTP_PROTOCOL:
    break;
  }
  return "protocol";
}

/* ---- buffers ---- */

static int buf_add(struct dl_http_buf *b, const char *p, size_t n) {
  if (n == 0)
    return 0;
  if (b->len + n > b->cap) {
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + n) {
      if (cap > ((size_t)-1) / 2)
        return -1;
      cap *= 2;
    }
    char *q = realloc(b->p, cap);
    if (!q)
      return -1;
    b->p = q;
    b->cap = cap;
  }
  memcpy(b->p + b->len, p, n);
  b->len += n;
  return 0;
}

static void buf_free(struct dl_http_buf *b) {
  free(b->p);
  b->p = NULL;
  b->len = b->cap = 0;
}

/* ---- libcurl callbacks: C buffers only, never Lua ---- */

/* The status of the answer whose headers are in h ("HTTP/1.1 503 ..."), 0
 * when unknown. */
static int head_status(const struct dl_http_buf *h) {
  size_t i = 0;
  while (i < h->len && h->p[i] != ' ')
    i++;
  int st = 0;
  for (size_t k = i + 1; k < i + 4; k++) {
    if (k >= h->len || h->p[k] < '0' || h->p[k] > '9')
      return 0;
    st = st * 10 + (h->p[k] - '0');
  }
  return st;
}

static size_t on_body(char *p, size_t size, size_t n, void *ud) {
  struct dl_http_req *r = ud;
  size_t len = size * n;
  /* An error answer is not the stream: its body (the reason) is kept for
   * resp.body, up to ERROR_BODY_MAX, and nothing reaches on_data. */
  if (r->stream && head_status(&r->head) >= 400) {
    size_t room =
        r->body.len < ERROR_BODY_MAX ? ERROR_BODY_MAX - r->body.len : 0;
    if (buf_add(&r->body, p, len < room ? len : room) != 0) {
      snprintf(r->why, sizeof r->why, "out of memory");
      return 0;
    }
    return len;
  }
  if (r->max_body && r->received + len > r->max_body) {
    snprintf(r->why, sizeof r->why, "response body larger than %zu bytes",
             r->max_body);
    return 0; /* CURLE_WRITE_ERROR ends the transfer */
  }
  if (r->stream && r->chunk.len >= STREAM_HIGH_WATER) {
    r->paused = 1; /* libcurl keeps this data and offers it again */
    return CURL_WRITEFUNC_PAUSE;
  }
  if (buf_add(r->stream ? &r->chunk : &r->body, p, len) != 0) {
    snprintf(r->why, sizeof r->why, "out of memory");
    return 0;
  }
  r->received += len;
  return len;
}

static size_t on_header(char *p, size_t size, size_t n, void *ud) {
  struct dl_http_req *r = ud;
  size_t len = size * n;
  /* A new status line starts a new response (100 Continue, a redirect):
   * only the last one's headers are the answer. */
  if (len >= 5 && memcmp(p, "HTTP/", 5) == 0)
    r->head.len = 0;
  if (r->head.len + len > HEAD_MAX) {
    snprintf(r->why, sizeof r->why, "response headers larger than %u bytes",
             HEAD_MAX);
    return 0;
  }
  if (buf_add(&r->head, p, len) != 0) {
    snprintf(r->why, sizeof r->why, "out of memory");
    return 0;
  }
  return len;
}

/* ---- requests ---- */

static void req_free(struct dl_http_multi *m, struct dl_http_req *r) {
  if (r->easy) {
    if (!r->done)
      m->c->multi_remove_handle(m->multi, r->easy);
    m->c->easy_cleanup(r->easy);
  }
  if (r->headers)
    m->c->slist_free_all(r->headers);
  buf_free(&r->body);
  buf_free(&r->chunk);
  buf_free(&r->head);
  free(r->url);
  free(r->unix_socket);
  free(r);
}

static enum dl_http_kind kind_of(CURLcode rc) {
  switch (rc) {
  case CURLE_OK:
    return DL_HTTP_OK;
  case CURLE_COULDNT_RESOLVE_PROXY:
  case CURLE_COULDNT_RESOLVE_HOST:
  case CURLE_COULDNT_CONNECT:
    return DL_HTTP_CONNECT;
  case CURLE_OPERATION_TIMEDOUT:
    return DL_HTTP_TIMEOUT;
  case CURLE_SSL_CONNECT_ERROR:
  case CURLE_PEER_FAILED_VERIFICATION:
  case CURLE_SSL_CERTPROBLEM:
  case CURLE_SSL_CIPHER:
  case CURLE_SSL_CACERT_BADFILE:
  case CURLE_SSL_ENGINE_NOTFOUND:
  case CURLE_SSL_ENGINE_SETFAILED:
  case CURLE_SSL_ENGINE_INITFAILED:
  case CURLE_SSL_CRL_BADFILE:
  case CURLE_SSL_ISSUER_ERROR:
  case CURLE_SSL_SHUTDOWN_FAILED:
  case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
  case CURLE_SSL_INVALIDCERTSTATUS:
  case CURLE_SSL_CLIENTCERT:
  case CURLE_USE_SSL_FAILED:
    return DL_HTTP_TLS;
  case CURLE_ABORTED_BY_CALLBACK:
    return DL_HTTP_ABORTED;
  default:
    return DL_HTTP_PROTOCOL;
  }
}

/* libcurl's messages start with a capital and may end in a newline; ours
 * are lower case like git's. */
static void lower_first(char *s) {
  size_t n = strlen(s);
  while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' '))
    s[--n] = '\0';
  if (n > 1 && isupper((unsigned char)s[0]) && !isupper((unsigned char)s[1]))
    s[0] = (char)tolower((unsigned char)s[0]);
}

/* libcurl says "Couldn't connect to server"; the system says why, and the
 * url in front of the message already names the host and port. */
static int connect_reason(const struct dl_http_curl *c, struct dl_http_req *r,
                          char *out, size_t cap) {
  long oe = 0;
  c->easy_getinfo(r->easy, CURLINFO_OS_ERRNO, &oe);
  if (!oe)
    return 0;
  char why[128];
  snprintf(why, sizeof why, "%s", strerror((int)oe));
  lower_first(why);
  snprintf(out, cap, "cannot connect: %s", why);
  return 1;
}

static void finish(struct dl_http_multi *m, struct dl_http_req *r,
                   CURLcode rc) {
  const struct dl_http_curl *c = m->c;
  r->done = 1;
  r->result = rc;
  c->easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &r->status);
  /* Back to the multi's connection cache; the easy handle is freed later. */
  c->multi_remove_handle(m->multi, r->easy);
  if (rc == CURLE_OK)
    return;
  r->kind = r->why[0] ? DL_HTTP_PROTOCOL : kind_of(rc);
  char reason[384];
  if (r->why[0]) {
    snprintf(reason, sizeof reason, "%s", r->why);
  } else if (rc == CURLE_COULDNT_CONNECT && r->unix_socket) {
    long oe = 0;
    c->easy_getinfo(r->easy, CURLINFO_OS_ERRNO, &oe);
    char why[128];
    snprintf(why, sizeof why, "%s",
             oe ? strerror((int)oe) : "connection refused");
    lower_first(why);
    snprintf(reason, sizeof reason, "cannot connect to unix socket '%s': %s",
             r->unix_socket, why);
  } else if (rc == CURLE_COULDNT_CONNECT &&
             connect_reason(c, r, reason, sizeof reason)) {
    /* "cannot connect: connection refused" */
  } else {
    snprintf(reason, sizeof reason, "%s",
             r->errbuf[0] ? r->errbuf : c->easy_strerror(rc));
    lower_first(reason);
  }
  snprintf(r->err, sizeof r->err, "%s: %s", r->url, reason);
}

static char *dup(const char *s) {
  if (!s)
    return NULL;
  size_t n = strlen(s) + 1;
  char *d = malloc(n);
  if (d)
    memcpy(d, s, n);
  return d;
}

static int has_header(const struct dl_http_opts *o, const char *name) {
  size_t n = strlen(name);
  for (size_t i = 0; i < o->nheaders; i++)
    if (strncasecmp(o->headers[i], name, n) == 0 && o->headers[i][n] == ':')
      return 1;
  return 0;
}

/* Sets every option of one request; a libcurl refusal names the option. */
static int configure(const struct dl_http_curl *c, struct dl_http_req *r,
                     const struct dl_http_opts *o, char *err) {
  CURL *e = r->easy;
  CURLcode rc = CURLE_OK;
#define SET(opt, val)                                                          \
  do {                                                                         \
    if ((rc = c->easy_setopt(e, opt, val)) != CURLE_OK)                        \
      return fail(err, "%s: cannot set " #opt ": %s", o->url,                  \
                  c->easy_strerror(rc));                                       \
  } while (0)
  SET(CURLOPT_URL, o->url);
  SET(CURLOPT_PRIVATE, (void *)r);
  SET(CURLOPT_NOSIGNAL, 1L);
  SET(CURLOPT_ERRORBUFFER, r->errbuf);
  SET(CURLOPT_WRITEFUNCTION, on_body);
  SET(CURLOPT_WRITEDATA, (void *)r);
  SET(CURLOPT_HEADERFUNCTION, on_header);
  SET(CURLOPT_HEADERDATA, (void *)r);
  SET(CURLOPT_USERAGENT, "deloc");
  SET(CURLOPT_TCP_KEEPALIVE, 1L);
  /* Only HTTP: a URL from a config file never reaches file:// or gopher:// */
  rc = c->easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
  if (rc != CURLE_OK && rc != CURLE_UNKNOWN_OPTION)
    return fail(err, "%s: cannot restrict protocols: %s", o->url,
                c->easy_strerror(rc));
  rc = c->easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  if (rc != CURLE_OK && rc != CURLE_UNKNOWN_OPTION)
    return fail(err, "%s: cannot restrict protocols: %s", o->url,
                c->easy_strerror(rc));
  if (o->unix_socket)
    SET(CURLOPT_UNIX_SOCKET_PATH, o->unix_socket);
  if (o->timeout_ms > 0)
    SET(CURLOPT_TIMEOUT_MS, o->timeout_ms);
  if (o->connect_timeout_ms > 0)
    SET(CURLOPT_CONNECTTIMEOUT_MS, o->connect_timeout_ms);
  if (o->idle_timeout_s > 0) { /* a stalled peer: under 1 byte/s that long */
    SET(CURLOPT_LOW_SPEED_LIMIT, 1L);
    SET(CURLOPT_LOW_SPEED_TIME, o->idle_timeout_s);
  }
  if (o->cacert)
    SET(CURLOPT_CAINFO, o->cacert);
  if (o->cert)
    SET(CURLOPT_SSLCERT, o->cert);
  if (o->key)
    SET(CURLOPT_SSLKEY, o->key);
  if (o->insecure) {
    SET(CURLOPT_SSL_VERIFYPEER, 0L);
    SET(CURLOPT_SSL_VERIFYHOST, 0L);
  }
  if (o->follow) {
    SET(CURLOPT_FOLLOWLOCATION, 1L);
    SET(CURLOPT_MAXREDIRS, 10L);
  }

  const char *method = o->method ? o->method : "GET";
  const char *body = o->body;
  size_t body_len = o->body_len;
  if (!body && (strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0 ||
                strcmp(method, "PATCH") == 0)) {
    body = ""; /* sends Content-Length: 0, which Docker's POSTs expect */
    body_len = 0;
  }
  if (strcmp(method, "HEAD") == 0)
    SET(CURLOPT_NOBODY, 1L);
  if (body) {
    SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
    SET(CURLOPT_COPYPOSTFIELDS, body);
  }
  if (strcmp(method, "HEAD") != 0 && !(body && strcmp(method, "POST") == 0) &&
      !(!body && strcmp(method, "GET") == 0))
    SET(CURLOPT_CUSTOMREQUEST, method);

  struct curl_slist *l;
  for (size_t i = 0; i < o->nheaders; i++) {
    if (!(l = c->slist_append(r->headers, o->headers[i])))
      return fail(err, "%s: out of memory", o->url);
    r->headers = l;
  }
  /* No "Expect: 100-continue" wait before large bodies. */
  if (body && !has_header(o, "Expect")) {
    if (!(l = c->slist_append(r->headers, "Expect:")))
      return fail(err, "%s: out of memory", o->url);
    r->headers = l;
  }
  if (r->headers)
    SET(CURLOPT_HTTPHEADER, r->headers);
#undef SET
  return 0;
}

int dl_http_multi_init(struct dl_http_multi *m, const struct dl_http_curl *c,
                       char *err) {
  memset(m, 0, sizeof *m);
  m->c = c;
  m->next_id = 1;
  if (!(m->multi = c->multi_init()))
    return fail(err, "cannot create a curl multi handle: out of memory");
  return 0;
}

void dl_http_multi_close(struct dl_http_multi *m) {
  if (!m->multi)
    return;
  for (size_t i = 0; i < m->n; i++)
    req_free(m, m->reqs[i]);
  free(m->reqs);
  m->c->multi_cleanup(m->multi);
  m->multi = NULL;
  m->reqs = NULL;
  m->n = m->cap = 0;
}

int dl_http_multi_add(struct dl_http_multi *m, const struct dl_http_opts *o,
                      unsigned *id, char *err) {
  if (!m->multi)
    return fail(err, "%s: the multi handle is closed", o->url);
  if (m->n == m->cap) {
    size_t cap = m->cap ? m->cap * 2 : 8;
    struct dl_http_req **q = realloc(m->reqs, cap * sizeof *q);
    if (!q)
      return fail(err, "%s: out of memory", o->url);
    m->reqs = q;
    m->cap = cap;
  }
  struct dl_http_req *r = calloc(1, sizeof *r);
  if (!r)
    return fail(err, "%s: out of memory", o->url);
  r->stream = o->stream;
  r->max_body = o->max_body;
  r->url = dup(o->url);
  r->unix_socket = dup(o->unix_socket);
  if (!r->url || (o->unix_socket && !r->unix_socket)) {
    req_free(m, r);
    return fail(err, "%s: out of memory", o->url);
  }
  if (!(r->easy = m->c->easy_init())) {
    req_free(m, r);
    return fail(err, "%s: cannot create a curl handle", o->url);
  }
  r->done = 1; /* not in the multi yet: req_free must not remove it */
  if (configure(m->c, r, o, err) != 0) {
    req_free(m, r);
    return -1;
  }
  CURLMcode mc = m->c->multi_add_handle(m->multi, r->easy);
  if (mc != CURLM_OK) {
    req_free(m, r);
    return fail(err, "%s: %s", o->url, m->c->multi_strerror(mc));
  }
  r->done = 0;
  r->id = m->next_id++;
  if (m->next_id == 0)
    m->next_id = 1;
  m->reqs[m->n++] = r;
  *id = r->id;
  return 0;
}

int dl_http_multi_remove(struct dl_http_multi *m, unsigned id) {
  for (size_t i = 0; i < m->n; i++) {
    if (m->reqs[i]->id == id) {
      req_free(m, m->reqs[i]);
      memmove(m->reqs + i, m->reqs + i + 1, (m->n - i - 1) * sizeof *m->reqs);
      m->n--;
      return 0;
    }
  }
  return -1;
}

void dl_http_chunk_taken(struct dl_http_req *r) {
  r->chunk.len = 0;
}

static int has_news(const struct dl_http_multi *m) {
  for (size_t i = 0; i < m->n; i++)
    if (m->reqs[i]->done || m->reqs[i]->chunk.len > 0)
      return 1;
  return 0;
}

static int run(struct dl_http_multi *m, char *err) {
  const struct dl_http_curl *c = m->c;
  int running = 0, left = 0;
  CURLMcode mc = c->multi_perform(m->multi, &running);
  if (mc != CURLM_OK)
    return fail(err, "curl_multi_perform: %s", c->multi_strerror(mc));
  CURLMsg *msg;
  while ((msg = c->multi_info_read(m->multi, &left))) {
    if (msg->msg != CURLMSG_DONE)
      continue;
    char *p = NULL;
    c->easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &p);
    struct dl_http_req *r = (struct dl_http_req *)p;
    if (r && !r->done)
      finish(m, r, msg->data.result);
  }
  return 0;
}

int dl_http_multi_poll(struct dl_http_multi *m, int timeout_ms, char *err) {
  if (!m->multi)
    return fail(err, "the multi handle is closed");
  for (size_t i = 0; i < m->n; i++) {
    struct dl_http_req *r = m->reqs[i];
    if (r->paused && r->chunk.len == 0 && !r->done) {
      r->paused = 0;
      m->c->easy_pause(r->easy, CURLPAUSE_CONT); /* may deliver data now */
    }
  }
  if (run(m, err) != 0)
    return -1;
  if (m->n == 0 || has_news(m) || timeout_ms <= 0)
    return 0;
  int fds = 0;
  CURLMcode mc = m->c->multi_poll(m->multi, NULL, 0, timeout_ms, &fds);
  if (mc != CURLM_OK)
    return fail(err, "curl_multi_poll: %s", m->c->multi_strerror(mc));
  return run(m, err);
}
