/* deloc.http core: HTTP requests on libcurl's multi interface, over TCP, TLS
 * or a unix socket.  libcurl is not linked: dl_http_load() dlopen()s
 * "libcurl.so.4" when the first request needs it, so a command that makes no
 * request never pays for its 33 shared libraries.  No Lua here: the binding
 * (l_http.c) turns requests and events into tables.
 *
 * Callbacks from libcurl only touch C buffers; chunks and finished transfers
 * are picked up after curl_multi_perform() has returned. */
#ifndef DELOC_HTTP_H
#define DELOC_HTTP_H

#define CURL_DISABLE_TYPECHECK
#include <curl/curl.h>
#include <stddef.h>

#define DL_HTTP_ERRLEN 512
#define DL_HTTP_LIBRARY "libcurl.so.4"

/* The libcurl functions deloc calls, resolved with dlsym. */
struct dl_http_curl {
  void *dl;
  CURLcode (*global_init)(long);
  CURL *(*easy_init)(void);
  CURLcode (*easy_setopt)(CURL *, CURLoption, ...);
  CURLcode (*easy_getinfo)(CURL *, CURLINFO, ...);
  CURLcode (*easy_pause)(CURL *, int);
  void (*easy_cleanup)(CURL *);
  const char *(*easy_strerror)(CURLcode);
  struct curl_slist *(*slist_append)(struct curl_slist *, const char *);
  void (*slist_free_all)(struct curl_slist *);
  CURLM *(*multi_init)(void);
  CURLMcode (*multi_add_handle)(CURLM *, CURL *);
  CURLMcode (*multi_remove_handle)(CURLM *, CURL *);
  CURLMcode (*multi_perform)(CURLM *, int *);
  CURLMcode (*multi_poll)(CURLM *, struct curl_waitfd *, unsigned, int, int *);
  CURLMsg *(*multi_info_read)(CURLM *, int *);
  CURLMcode (*multi_cleanup)(CURLM *);
  const char *(*multi_strerror)(CURLMcode);
  curl_version_info_data *(*version_info)(CURLversion);
};

/* Whether libcurl is mapped into this process (dlopen RTLD_NOLOAD). */
int dl_http_loaded(void);

/* dlopen()s libcurl and resolves every function; never dlclose()d (OpenSSL
 * registers exit handlers).  0, or -1 with "cannot load libcurl: why". */
int dl_http_load(struct dl_http_curl *c, char *err);

/* A growing byte buffer. */
struct dl_http_buf {
  char *p;
  size_t len, cap;
};

/* Why a transfer failed, for callers that react to the kind. */
enum dl_http_kind {
  DL_HTTP_OK = 0,
  DL_HTTP_CONNECT, /* refused, unreachable, no such socket, name unknown */
  DL_HTTP_TIMEOUT,
  DL_HTTP_TLS,
  DL_HTTP_ABORTED,
  DL_HTTP_PROTOCOL /* anything else: closed mid-body, bad reply, bad url */
};
const char *dl_http_kind_name(enum dl_http_kind k);

struct dl_http_req {
  unsigned id;
  CURL *easy;
  struct curl_slist *headers;
  char *url, *unix_socket;
  int stream;      /* body goes to `chunk` for delivery, not to `body` */
  int paused;      /* the write callback returned CURL_WRITEFUNC_PAUSE */
  int done;        /* finished: result, status and err are set */
  size_t max_body; /* 0: no limit */
  size_t received; /* body bytes so far */
  struct dl_http_buf body, chunk, head;
  CURLcode result;
  long status;
  enum dl_http_kind kind;
  char why[128]; /* our own reason, set by a callback */
  char errbuf[CURL_ERROR_SIZE];
  char err[DL_HTTP_ERRLEN]; /* "<url>: reason" once done with an error */
};

struct dl_http_opts {
  const char *url, *method, *unix_socket;
  const char *cacert, *cert, *key;
  const char *body; /* NULL: no body */
  size_t body_len;
  const char *const *headers; /* "Name: value" lines */
  size_t nheaders;
  long timeout_ms, connect_timeout_ms; /* 0: none (connect: libcurl's 300 s) */
  long idle_timeout_s; /* > 0: fail when no byte came for this long (0: none) */
  size_t max_body;
  int insecure, stream, follow;
};

struct dl_http_multi {
  const struct dl_http_curl *c;
  CURLM *multi;
  struct dl_http_req **reqs;
  size_t n, cap;
  unsigned next_id;
};

/* Creates the multi handle inside *m (memory the caller owns).  0 or -1. */
int dl_http_multi_init(struct dl_http_multi *m, const struct dl_http_curl *c,
                       char *err);
/* Aborts every transfer and frees everything; idempotent. */
void dl_http_multi_close(struct dl_http_multi *m);

/* Starts a request; *id names it in events.  0 or -1 with err. */
int dl_http_multi_add(struct dl_http_multi *m, const struct dl_http_opts *o,
                      unsigned *id, char *err);
/* Aborts and frees one request; 0, or -1 when there is no such id. */
int dl_http_multi_remove(struct dl_http_multi *m, unsigned id);

/* Runs transfers; when none has news (a chunk or its end), waits up to
 * timeout_ms for sockets and runs them again.  Afterwards every request with
 * chunk.len > 0 or done has news for the caller.  0 or -1 with err. */
int dl_http_multi_poll(struct dl_http_multi *m, int timeout_ms, char *err);

/* Clears the chunk of a streamed request once the caller has taken it; a
 * paused transfer resumes at the next poll. */
void dl_http_chunk_taken(struct dl_http_req *r);

#endif
