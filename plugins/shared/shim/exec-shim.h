/*
 * What the exec shims (plugins/cni/shim/tsnet-cni.c, plugins/netavark/shim/tsnet-netavark.c and
 * the tsnet thin client src/cli/shim/tsnet.c) share: buffers, the daemon's socket, starting the
 * daemon, the request and reply framing of plugins/shared/framing.ts, and exec'ing the node script
 * when the daemon does not take a call. Included (by relative path) into each shim's one
 * translation unit, so each is still one `cc` call. The shim defines fail() (below): its face's
 * error, then exit 1. A function not every shim calls is marked SHIM_MAYBE_UNUSED (no -Wall warning).
 */
#ifndef TSNET_EXEC_SHIM_H
#define TSNET_EXEC_SHIM_H

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
#include <signal.h>
#include <unistd.h>

#define SHIM_MAYBE_UNUSED __attribute__((unused))
/* First bytes of a CNI or netavark request (plugins/cni/wire.ts). */
#define CNI_MAGIC "CNI1"

/* The face's error output, exit 1: code is a CNI error code (the netavark shim and the CLI print none). */
static void fail(int code, const char *what, int err);

struct buf { char *p; size_t n, cap; };

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
 * Starts `node cli daemon` for dir in the background unless one runs or is starting. The child takes
 * an flock on dir/daemon.start and keeps it (inherited through exec) for the daemon's lifetime, so
 * parallel shims start one daemon, and a dead daemon's lock goes with it. default_path: give the
 * daemon a PATH when the caller's environment has none (it finds the firewall tools through it).
 */
SHIM_MAYBE_UNUSED static void start_daemon(const char *node, const char *cli, const char *dir, int default_path) {
  char path[4096];
  int fd = dial(dir, "daemon.sock");
  if (fd >= 0) { /* one runs (started without this face's socket, or still starting it) */
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
    if (default_path && !getenv("PATH")) setenv("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", 1);
    /* As tsnet's own on-demand start: a daemon nobody asked for does not take the Docker plugin socket. */
    char *argv[] = { (char *)node, (char *)cli, "--state-dir", (char *)dir, "daemon", "--no-docker-plugin", NULL };
    execv(node, argv);
    _exit(127);
  }
  close(lock); /* the child's copy holds the lock */
}

/*
 * Execs `node script argv[1]…`; with replay, stdin is those bytes (already read from the runtime),
 * through a memfd named memfd_name. label names the script in errors ("node plugin").
 */
static void exec_node(const char *node, const char *script, const char *label, const char *memfd_name, char **argv, const struct buf *replay) {
  if (replay) {
    int m = memfd_create(memfd_name, 0);
    if (m < 0 || write_all(m, replay->p, replay->n, 0) < 0 || lseek(m, 0, SEEK_SET) < 0 || dup2(m, 0) < 0) {
      char what[128];
      snprintf(what, sizeof what, "replay stdin to the %s", label);
      fail(5, what, errno);
    }
    close(m);
  }
  int argc = 0;
  while (argv[argc]) argc++;
  char **nargv = calloc((size_t)argc + 2, sizeof *nargv);
  if (!nargv) fail(5, "out of memory", ENOMEM);
  nargv[0] = (char *)node;
  nargv[1] = (char *)script;
  for (int i = 1; i < argc; i++) nargv[i + 1] = argv[i];
  execv(node, nargv);
  char what[4200];
  snprintf(what, sizeof what, "exec %s", node);
  fail(999, what, errno);
}

/*
 * Sends a request (magic | u32 n | field… for each of the nfields) on fd, reads what comes back into
 * rep, closes fd. A write that fails leaves rep empty: no ack, so the call was not taken.
 */
static void exchange(int fd, const char *magic, const struct buf *const *fields, int nfields, struct buf *rep) {
  struct buf req = { 0 };
  put(&req, magic, strlen(magic));
  for (int i = 0; i < nfields; i++) {
    put32(&req, (uint32_t)fields[i]->n);
    if (fields[i]->n) put(&req, fields[i]->p, fields[i]->n);
  }
  if (write_all(fd, req.p, req.n, 1) == 0) slurp(fd, rep);
  close(fd);
}

/* Reads the u32 at *at and advances; -1 past the end. */
static int64_t take32(const struct buf *b, size_t *at) {
  if (*at + 4 > b->n) return -1;
  uint32_t v;
  memcpy(&v, b->p + *at, 4);
  *at += 4;
  return ntohl(v);
}

/* What the daemon sent back, as exchange() read it. */
enum outcome {
  NOT_TAKEN, /* no ack: the daemon did not take the call (declined, stopping, or another version); node may run it */
  LOST,      /* acked, then no whole reply: the daemon died running it */
  ANSWERED,  /* the reply was printed; the shim exits with its code */
};

/* How a face reads its daemon's answer, and what came. */
struct answer {
  const char *acks;   /* the ack bytes its daemon sends ("A"; the CLI's "AR") */
  int quiet_pipe;     /* ignore SIGPIPE before printing: a closed stdout ends quietly, status still the reply's */
  char ack;           /* out: the ack that came (0: none) */
  int code;           /* out, ANSWERED: the exit code */
};

/* Classifies rep; for a whole reply, prints its stdout and stderr and sets a->code. */
static enum outcome answer(const struct buf *rep, struct answer *a) {
  /* memchr, not strchr: a NUL first byte is no ack. */
  if (rep->n == 0 || !memchr(a->acks, rep->p[0], strlen(a->acks))) return NOT_TAKEN;
  a->ack = rep->p[0];
  size_t at = 1;
  int64_t status = take32(rep, &at), nout = take32(rep, &at);
  const char *out = rep->p + at;
  at += nout < 0 ? 0 : (size_t)nout;
  int64_t nerr = at <= rep->n ? take32(rep, &at) : -1;
  if (status < 0 || nout < 0 || nerr < 0 || at + (size_t)nerr > rep->n) return LOST;
  if (a->quiet_pipe) signal(SIGPIPE, SIG_IGN);
  write_all(1, out, (size_t)nout, 0);
  write_all(2, rep->p + at, (size_t)nerr, 0);
  a->code = (int)(status & 255);
  return ANSWERED;
}

#endif
