/*
 * tsnet-cni exec shim: what a runtime execs as the tsnet-cni plugin. It hands the command (CNI_*
 * variables and the config on stdin) to the tsnet daemon's CNI socket, STATE_DIR/cni.sock, where
 * the plugin runs in-process, and prints the daemon's stdout, stderr and exit code. When no daemon
 * listens it execs the node plugin with the same environment and stdin (and starts the daemon in
 * the background for the next command), so no command ever depends on the daemon.
 * Framing: plugins/cni/wire.ts. Compiled by plugins/cni/shim.ts, which bakes in:
 *   TSNET_NODE          node, by absolute path
 *   TSNET_PLUGIN        the node plugin's script
 *   TSNET_CLI           tsnet's CLI script, to start `tsnet daemon`
 *   TSNET_STATE_DIR     state directory when $TSNET_STATE_DIR is unset
 *   TSNET_START_DAEMON  1 to start the daemon when none runs
 * TSNET_CNI_DAEMON=0 in the environment skips the daemon altogether.
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

#if !defined(TSNET_NODE) || !defined(TSNET_PLUGIN) || !defined(TSNET_CLI) || !defined(TSNET_STATE_DIR) || !defined(TSNET_START_DAEMON)
#error "build with plugins/cni/shim.ts: it defines the paths this shim execs"
#endif

extern char **environ;

struct buf { char *p; size_t n, cap; };

/* The spec's error JSON on stdout, exit 1: what the node plugin would print for the same failure. */
static void fail(int code, const char *what, int err) {
  printf("{\"cniVersion\":\"1.1.0\",\"code\":%d,\"msg\":\"tsnet-cni: %s%s%s\"}\n", code, what, err ? ": " : "", err ? strerror(err) : "");
  exit(1);
}

static void put(struct buf *b, const void *p, size_t n) {
  if (b->n + n > b->cap) {
    b->cap = (b->n + n) * 2 + 4096;
    if (!(b->p = realloc(b->p, b->cap))) fail(5, "out of memory", ENOMEM);
  }
  memcpy(b->p + b->n, p, n);
  b->n += n;
}

static void put32(struct buf *b, uint32_t v) {
  v = htonl(v);
  put(b, &v, 4);
}

/* Reads fd to its end; -1 with errno on a read error (what was read stays in b). */
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

/*
 * Starts `tsnet daemon` for dir in the background unless one runs or is starting. The child takes
 * an flock on dir/daemon.start and keeps it (inherited through exec) for the daemon's lifetime, so
 * parallel shims start one daemon, and a dead daemon's lock goes with it.
 */
static void start_daemon(const char *dir) {
  char path[4096];
  int fd = dial(dir, "daemon.sock");
  if (fd >= 0) { /* one runs (started without the CNI socket, or still starting it) */
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
    /* Never the runtime's pipes: it waits for them to close before reading the result. */
    if (in < 0 || log < 0 || dup2(in, 0) < 0 || dup2(log, 1) < 0 || dup2(log, 2) < 0) _exit(1);
    fcntl(lock, F_SETFD, 0);
    setenv("TSNET_STATE_DIR", dir, 1);
    /* As tsnet's own on-demand start: a daemon nobody asked for does not take the Docker plugin socket. */
    char *argv[] = { TSNET_NODE, TSNET_CLI, "--state-dir", (char *)dir, "daemon", "--no-docker-plugin", NULL };
    execv(TSNET_NODE, argv);
    _exit(127);
  }
  close(lock); /* the child's copy holds the lock */
}

/* Execs the node plugin; with replay, stdin is those bytes (already read from the runtime). */
static void run_node(const char *dir, char **argv, const struct buf *replay) {
  if (replay) {
    int m = memfd_create("tsnet-cni-stdin", 0);
    if (m < 0 || write_all(m, replay->p, replay->n, 0) < 0 || lseek(m, 0, SEEK_SET) < 0 || dup2(m, 0) < 0) fail(5, "replay stdin to the node plugin", errno);
    close(m);
  }
  /* The node plugin must use the directory this shim chose, baked default included. */
  setenv("TSNET_STATE_DIR", dir, 0);
  argv[0] = TSNET_PLUGIN;
  char *nargv[64] = { TSNET_NODE };
  for (int i = 0; argv[i] && i < 62; i++) nargv[i + 1] = argv[i];
  execv(TSNET_NODE, nargv);
  fail(999, "exec " TSNET_NODE, errno);
}

/* Reads the u32 at *at and advances; -1 past the end. */
static int64_t take32(const struct buf *b, size_t *at) {
  if (*at + 4 > b->n) return -1;
  uint32_t v;
  memcpy(&v, b->p + *at, 4);
  *at += 4;
  return ntohl(v);
}

int main(int argc, char **argv) {
  const char *dir = getenv("TSNET_STATE_DIR"), *mode = getenv("TSNET_CNI_DAEMON"), *cmd = getenv("CNI_COMMAND");
  if (!dir || !*dir) dir = TSNET_STATE_DIR;
  int fd = argc > 1 || (mode && !strcmp(mode, "0")) ? -1 : dial(dir, "cni.sock");
  if (fd < 0) {
    /* `tsnet-cni install …` and TSNET_CNI_DAEMON=0 are node's; only a missing socket starts the daemon. */
    if (argc == 1 && !(mode && !strcmp(mode, "0")) && TSNET_START_DAEMON) start_daemon(dir);
    run_node(dir, argv, NULL);
  }
  struct buf in = { 0 }, env = { 0 }, req = { 0 }, rep = { 0 };
  if (slurp(0, &in) < 0) fail(5, "read config from stdin", errno);
  /* Only what runCni reads: the CNI_* variables, and TSNET_DEBUG for error details on stderr. */
  for (char **e = environ; *e; e++)
    if (!strncmp(*e, "CNI_", 4) || !strncmp(*e, "TSNET_DEBUG=", 12)) put(&env, *e, strlen(*e) + 1);
  put(&req, "CNI1", 4);
  put32(&req, (uint32_t)env.n);
  put(&req, env.p, env.n);
  put32(&req, (uint32_t)in.n);
  put(&req, in.p, in.n);
  if (write_all(fd, req.p, req.n, 1) == 0) slurp(fd, &rep);
  close(fd);
  /* No ack: the daemon did not take the command (stopping, or another version), so node runs it. */
  if (rep.n == 0 || rep.p[0] != 'A') run_node(dir, argv, &in);
  size_t at = 1;
  int64_t code = take32(&rep, &at), nout = take32(&rep, &at);
  const char *out = rep.p + at;
  at += nout < 0 ? 0 : (size_t)nout;
  int64_t nerr = at <= rep.n ? take32(&rep, &at) : -1;
  if (code < 0 || nout < 0 || nerr < 0 || at + (size_t)nerr > rep.n) {
    /* Acked, then lost: the daemon died running it. Every command but ADD is safe to run again. */
    if (!cmd || strcmp(cmd, "ADD")) run_node(dir, argv, &in);
    fail(11, "the tsnet daemon stopped during ADD (DEL, then retry)", 0);
  }
  write_all(1, out, (size_t)nout, 0);
  write_all(2, rep.p + at, (size_t)nerr, 0);
  return (int)(code & 255);
}
