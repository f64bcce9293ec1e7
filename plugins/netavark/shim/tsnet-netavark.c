/*
 * tsnet-netavark exec shim: what podman execs as `netavark`. A setup or teardown (the network options
 * on stdin) is handed to the tsnet daemon's netavark socket, STATE_DIR/netavark.sock, where the face
 * runs over the daemon's open Controller; the shim prints the daemon's stdout, stderr and exit code.
 * Anything else (version, --file, no daemon, a daemon that does not take the call) execs the node
 * helper with the same argv and stdin, and a missing daemon is started in the background for the next
 * call. Framing: plugins/cni/wire.ts, with the argv as TSNET_NETAVARK_ARGV (a JSON array).
 * Compiled by plugins/netavark/shim.ts, which bakes in:
 *   TSNET_NODE        node, by absolute path
 *   TSNET_HELPER      the node helper script (the face, with the state directory fixed)
 *   TSNET_CLI         tsnet's CLI script, to start `tsnet daemon`
 *   TSNET_STATE_DIR   the state directory: always this one, whatever the caller's environment says
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#if !defined(TSNET_NODE) || !defined(TSNET_HELPER) || !defined(TSNET_CLI) || !defined(TSNET_STATE_DIR)
#error "build with plugins/netavark/shim.ts: it defines the paths this shim execs"
#endif

struct buf { char *p; size_t n, cap; };

/* netavark's error JSON on stdout, exit 1. */
static void fail(const char *what, int err) {
  printf("{\"error\":\"tsnet-netavark: %s%s%s\"}\n", what, err ? ": " : "", err ? strerror(err) : "");
  exit(1);
}

static void put(struct buf *b, const void *p, size_t n) {
  if (b->n + n > b->cap) {
    b->cap = (b->n + n) * 2 + 4096;
    if (!(b->p = realloc(b->p, b->cap))) fail("out of memory", ENOMEM);
  }
  memcpy(b->p + b->n, p, n);
  b->n += n;
}

static void put32(struct buf *b, uint32_t v) {
  v = htonl(v);
  put(b, &v, 4);
}

/* Appends s as a JSON string. */
static void put_json(struct buf *b, const char *s) {
  put(b, "\"", 1);
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    char esc[8];
    if (c == '"' || c == '\\') { esc[0] = '\\'; esc[1] = (char)c; put(b, esc, 2); }
    else if (c < 0x20) { snprintf(esc, sizeof esc, "\\u%04x", c); put(b, esc, 6); }
    else put(b, s, 1);
  }
  put(b, "\"", 1);
}

static int slurp(int fd, struct buf *b) {
  char chunk[65536];
  for (;;) {
    ssize_t r = read(fd, chunk, sizeof chunk);
    if (r == 0) return 0;
    if (r < 0 && errno != EINTR) return -1;
    if (r > 0) put(b, chunk, (size_t)r);
  }
}

static int write_all(int fd, const char *p, size_t n, int sock) {
  while (n) {
    /* MSG_NOSIGNAL: a daemon that hangs up mid-request must mean "fall back", not SIGPIPE. */
    ssize_t w = sock ? send(fd, p, n, MSG_NOSIGNAL) : write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) return -1;
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

/* A connected socket to dir/name, or -1 when nobody listens there. */
static int dial(const char *dir, const char *name) {
  struct sockaddr_un a = { .sun_family = AF_UNIX };
  if (snprintf(a.sun_path, sizeof a.sun_path, "%s/%s", dir, name) >= (int)sizeof a.sun_path) return -1;
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) == 0) return fd;
  if (fd >= 0) close(fd);
  return -1;
}

/* Starts `tsnet daemon` in the background unless one runs or is starting (as the CNI shim: an flock on daemon.start). */
static void start_daemon(const char *dir) {
  char path[4096];
  int fd = dial(dir, "daemon.sock");
  if (fd >= 0) {
    close(fd);
    return;
  }
  snprintf(path, sizeof path, "%s/daemon.start", dir);
  int lock = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (lock < 0) return;
  if (flock(lock, LOCK_EX | LOCK_NB) == 0 && fork() == 0) {
    setsid();
    snprintf(path, sizeof path, "%s/daemon.log", dir);
    int in = open("/dev/null", O_RDONLY), log = open(path, O_WRONLY | O_CREAT | O_APPEND, 0600);
    /* Never podman's pipes: it waits for them to close before reading the status block. */
    if (in < 0 || log < 0 || dup2(in, 0) < 0 || dup2(log, 1) < 0 || dup2(log, 2) < 0) _exit(1);
    fcntl(lock, F_SETFD, 0);
    setenv("TSNET_STATE_DIR", dir, 1);
    if (!getenv("PATH")) setenv("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", 1);
    char *argv[] = { TSNET_NODE, TSNET_CLI, "--state-dir", (char *)dir, "daemon", "--no-docker-plugin", NULL };
    execv(TSNET_NODE, argv);
    _exit(127);
  }
  close(lock);
}

/* Execs the node helper; with replay, stdin is those bytes (already read from podman). */
static void run_node(char **argv, const struct buf *replay) {
  if (replay) {
    int m = memfd_create("tsnet-netavark-stdin", 0);
    if (m < 0 || write_all(m, replay->p, replay->n, 0) < 0 || lseek(m, 0, SEEK_SET) < 0 || dup2(m, 0) < 0) fail("replay stdin to the node helper", errno);
    close(m);
  }
  char *nargv[64] = { TSNET_NODE, TSNET_HELPER };
  for (int i = 1; argv[i] && i < 62; i++) nargv[i + 1] = argv[i];
  execv(TSNET_NODE, nargv);
  fail("exec " TSNET_NODE, errno);
}

static int64_t take32(const struct buf *b, size_t *at) {
  if (*at + 4 > b->n) return -1;
  uint32_t v;
  memcpy(&v, b->p + *at, 4);
  *at += 4;
  return ntohl(v);
}

int main(int argc, char **argv) {
  const char *dir = TSNET_STATE_DIR;
  int verb = 0;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "setup") || !strcmp(argv[i], "teardown")) verb = 1;
    if (!strcmp(argv[i], "-f") || !strncmp(argv[i], "--file", 6)) { verb = 0; break; }
  }
  int fd = verb ? dial(dir, "netavark.sock") : -1;
  if (fd < 0) {
    if (verb) start_daemon(dir);
    run_node(argv, NULL);
  }
  struct buf in = { 0 }, env = { 0 }, req = { 0 }, rep = { 0 };
  if (slurp(0, &in) < 0) fail("read the network options from stdin", errno);
  put(&env, "TSNET_NETAVARK_ARGV=[", 21);
  for (int i = 1; i < argc; i++) {
    if (i > 1) put(&env, ",", 1);
    put_json(&env, argv[i]);
  }
  put(&env, "]", 2); /* with the entry's NUL */
  const char *debug = getenv("TSNET_DEBUG");
  if (debug) {
    put(&env, "TSNET_DEBUG=", 12);
    put(&env, debug, strlen(debug) + 1);
  }
  put(&req, "CNI1", 4);
  put32(&req, (uint32_t)env.n);
  put(&req, env.p, env.n);
  put32(&req, (uint32_t)in.n);
  put(&req, in.p, in.n);
  if (write_all(fd, req.p, req.n, 1) == 0) slurp(fd, &rep);
  close(fd);
  /* No ack: the daemon did not take the call, so node runs it. */
  if (rep.n == 0 || rep.p[0] != 'A') run_node(argv, &in);
  size_t at = 1;
  int64_t code = take32(&rep, &at), nout = take32(&rep, &at);
  const char *out = rep.p + at;
  at += nout < 0 ? 0 : (size_t)nout;
  int64_t nerr = at <= rep.n ? take32(&rep, &at) : -1;
  /* Acked, then lost: the daemon died running it; the call may be half done, as a killed netavark's. */
  if (code < 0 || nout < 0 || nerr < 0 || at + (size_t)nerr > rep.n) fail("the tsnet daemon stopped during the call", 0);
  write_all(1, out, (size_t)nout, 0);
  write_all(2, rep.p + at, (size_t)nerr, 0);
  return (int)(code & 255);
}
