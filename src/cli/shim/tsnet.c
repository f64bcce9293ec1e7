/*
 * tsnet thin client: what an administrator runs as `tsnet`. When the tsnet daemon of the state
 * directory serves its CLI socket (STATE_DIR/cli.sock), it hands the command line over (argv, cwd
 * and the variables that change what tsnet does) and prints the daemon's stdout, stderr and exit
 * status, as Docker's CLI does with dockerd. Otherwise, or when the daemon declines (another
 * config, namespace or debug setting; `run`, `sandbox exec`, `daemon`), it execs the node CLI with
 * the same arguments and environment.
 * Framing: src/cli/wire.ts. Compiled by scripts/cli-shim.ts, which bakes in:
 *   TSNET_NODE       node, by absolute path
 *   TSNET_CLI        the node CLI script
 *   TSNET_STATE_DIR  state directory when neither --state-dir nor $TSNET_STATE_DIR says one
 * TSNET_CLI_DAEMON=0 in the environment skips the daemon.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#if !defined(TSNET_NODE) || !defined(TSNET_CLI) || !defined(TSNET_STATE_DIR)
#error "build with scripts/cli-shim.ts: it defines the paths this shim execs"
#endif

extern char **environ;

struct buf { char *p; size_t n, cap; };

static void die(const char *what) {
  fprintf(stderr, "tsnet: %s: %s\n", what, strerror(errno));
  exit(1);
}

static void put(struct buf *b, const void *p, size_t n) {
  if (b->n + n > b->cap) {
    b->cap = (b->n + n) * 2 + 4096;
    if (!(b->p = realloc(b->p, b->cap))) die("out of memory");
  }
  memcpy(b->p + b->n, p, n);
  b->n += n;
}

static void put32(struct buf *b, uint32_t v) {
  v = htonl(v);
  put(b, &v, 4);
}

/* A length-prefixed field from a block built in f. */
static void field(struct buf *req, const struct buf *f) {
  put32(req, (uint32_t)f->n);
  if (f->n) put(req, f->p, f->n);
}

static int write_all(int fd, const char *p, size_t n, int sock) {
  while (n) {
    ssize_t w = sock ? send(fd, p, n, MSG_NOSIGNAL) : write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) return -1;
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

/* Execs the node CLI with this process's arguments and environment. */
static void run_node(char **argv) {
  char *nargv[4096] = { TSNET_NODE, TSNET_CLI };
  int i;
  for (i = 1; argv[i] && i < 4093; i++) nargv[i + 1] = argv[i];
  nargv[i + 1] = NULL;
  execv(TSNET_NODE, nargv);
  die("exec " TSNET_NODE);
}

/* The state directory the command names: the first --state-dir, else $TSNET_STATE_DIR, else the baked default. */
static const char *state_dir(char **argv) {
  for (int i = 1; argv[i] && strcmp(argv[i], "--"); i++) {
    if (!strcmp(argv[i], "--state-dir") && argv[i + 1]) return argv[i + 1];
    if (!strncmp(argv[i], "--state-dir=", 12)) return argv[i] + 12;
  }
  const char *env = getenv("TSNET_STATE_DIR");
  return env && *env ? env : TSNET_STATE_DIR;
}

static int64_t take32(const struct buf *b, size_t *at) {
  if (*at + 4 > b->n) return -1;
  uint32_t v;
  memcpy(&v, b->p + *at, 4);
  *at += 4;
  return ntohl(v);
}

/* "NAME=<inode of /proc/self/ns/KIND>\0" into env: the daemon runs only commands from its own namespaces. */
static void ns_var(struct buf *env, const char *name, const char *kind) {
  char path[64], var[128];
  struct stat st;
  snprintf(path, sizeof path, "/proc/self/ns/%s", kind);
  if (stat(path, &st) < 0) return;
  int n = snprintf(var, sizeof var, "%s=%lu", name, (unsigned long)st.st_ino);
  put(env, var, (size_t)n + 1);
}

int main(int argc, char **argv) {
  (void)argc;
  const char *mode = getenv("TSNET_CLI_DAEMON");
  if (mode && !strcmp(mode, "0")) run_node(argv);
  const char *dir = state_dir(argv);
  struct sockaddr_un a = { .sun_family = AF_UNIX };
  if (snprintf(a.sun_path, sizeof a.sun_path, "%s/cli.sock", dir) >= (int)sizeof a.sun_path) run_node(argv);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) < 0) run_node(argv);

  struct buf env = { 0 }, cwd = { 0 }, args = { 0 }, req = { 0 }, rep = { 0 };
  /* What tsnet reads from its environment; the daemon compares it with its own. */
  for (char **e = environ; *e; e++)
    if (!strncmp(*e, "TSNET_", 6) || !strncmp(*e, "DEBUG=", 6)) put(&env, *e, strlen(*e) + 1);
  ns_var(&env, "TSNET_CLIENT_NETNS", "net");
  ns_var(&env, "TSNET_CLIENT_MNTNS", "mnt");
  char here[4096];
  if (!getcwd(here, sizeof here)) run_node(argv);
  put(&cwd, here, strlen(here));
  for (int i = 1; argv[i]; i++) put(&args, argv[i], strlen(argv[i]) + 1);
  put(&req, "TSN1", 4);
  field(&req, &env);
  field(&req, &cwd);
  field(&req, &args);
  if (write_all(fd, req.p, req.n, 1) < 0) run_node(argv);
  char chunk[65536];
  for (;;) {
    ssize_t r = read(fd, chunk, sizeof chunk);
    if (r == 0) break;
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) break;
    put(&rep, chunk, (size_t)r);
  }
  close(fd);
  /* No ack: declined (or the daemon stopping), nothing ran: node runs it. */
  if (rep.n == 0 || (rep.p[0] != 'A' && rep.p[0] != 'R')) run_node(argv);
  size_t at = 1;
  int64_t code = take32(&rep, &at), nout = take32(&rep, &at);
  const char *out = rep.p + at;
  at += nout < 0 ? 0 : (size_t)nout;
  int64_t nerr = at <= rep.n ? take32(&rep, &at) : -1;
  if (code < 0 || nout < 0 || nerr < 0 || at + (size_t)nerr > rep.n) {
    /* Acked, then lost: the daemon died running it. Only a read-only command is safe to run again. */
    if (rep.p[0] == 'R') run_node(argv);
    fputs("tsnet: the tsnet daemon stopped while running this command: it may or may not have taken effect (check with tsnet ls / tsnet sandbox ls)\n", stderr);
    return 1;
  }
  /* A closed stdout (tsnet ls | head -1) ends quietly: stderr and the status are still the command's. */
  signal(SIGPIPE, SIG_IGN);
  write_all(1, out, (size_t)nout, 0);
  write_all(2, rep.p + at, (size_t)nerr, 0);
  return (int)(code & 255);
}
