/*
 * tsnet thin client: what an administrator runs as `tsnet`. When the tsnet daemon of the state
 * directory serves its CLI socket (STATE_DIR/cli.sock), it hands the command line over (argv, cwd
 * and the variables that change what tsnet does) and prints the daemon's stdout, stderr and exit
 * status, as Docker's CLI does with dockerd. Otherwise, or when the daemon declines (another
 * config, namespace or debug setting; `run`, `sandbox exec`, `daemon`), it execs the node CLI with
 * the same arguments and environment.
 * Framing: src/cli/wire.ts; what all exec shims share: plugins/shared/shim/exec-shim.h.
 * Compiled by scripts/cli-shim.ts, which bakes in:
 *   TSNET_NODE       node, by absolute path
 *   TSNET_CLI        the node CLI script
 *   TSNET_STATE_DIR  state directory when neither --state-dir nor $TSNET_STATE_DIR says one
 * TSNET_CLI_DAEMON=0 in the environment skips the daemon.
 */
#define _GNU_SOURCE
#if !defined(TSNET_NODE) || !defined(TSNET_CLI) || !defined(TSNET_STATE_DIR)
#error "build with scripts/cli-shim.ts: it defines the paths this shim execs"
#endif

#include <sys/stat.h>
#include "../../../plugins/shared/shim/exec-shim.h"

extern char **environ;

/* `tsnet: what: why` on stderr, exit 1 (the CLI has no error codes). */
static void fail(int code, const char *what, int err) {
  (void)code;
  fprintf(stderr, "tsnet: %s: %s\n", what, strerror(err));
  exit(1);
}

/* Execs the node CLI with this process's arguments and environment. */
static void run_node(char **argv) {
  exec_node(TSNET_NODE, TSNET_CLI, "node CLI", "tsnet-cli-stdin", argv, NULL);
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
  int fd = dial(state_dir(argv), "cli.sock");
  if (fd < 0) run_node(argv);

  struct buf env = { 0 }, cwd = { 0 }, args = { 0 }, rep = { 0 };
  /* What tsnet reads from its environment; the daemon compares it with its own. */
  for (char **e = environ; *e; e++)
    if (!strncmp(*e, "TSNET_", 6) || !strncmp(*e, "DEBUG=", 6)) put(&env, *e, strlen(*e) + 1);
  ns_var(&env, "TSNET_CLIENT_NETNS", "net");
  ns_var(&env, "TSNET_CLIENT_MNTNS", "mnt");
  char here[4096];
  if (!getcwd(here, sizeof here)) run_node(argv);
  put(&cwd, here, strlen(here));
  for (int i = 1; argv[i]; i++) put(&args, argv[i], strlen(argv[i]) + 1);
  exchange(fd, "TSN1", (const struct buf *[]){ &env, &cwd, &args }, 3, &rep);
  /* 'R': read-only, safe to run again; 'A': may change state. A closed stdout (tsnet ls | head -1) ends quietly. */
  struct answer a = { .acks = "AR", .quiet_pipe = 1 };
  switch (answer(&rep, &a)) {
  case NOT_TAKEN: /* no ack: declined (or the daemon stopping), nothing ran: node runs it */
    run_node(argv);
    break;
  case LOST: /* acked, then lost: the daemon died running it. Only a read-only command is safe to run again. */
    if (a.ack == 'R') run_node(argv);
    fputs("tsnet: the tsnet daemon stopped while running this command: it may or may not have taken effect (check with tsnet ls / tsnet sandbox ls)\n", stderr);
    return 1;
  case ANSWERED:
    break;
  }
  return a.code;
}
