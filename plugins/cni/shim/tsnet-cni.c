/*
 * tsnet-cni exec shim: what a runtime execs as the tsnet-cni plugin. It hands the command (CNI_*
 * variables and the config on stdin) to the tsnet daemon's CNI socket, STATE_DIR/cni.sock, where
 * the plugin runs in-process, and prints the daemon's stdout, stderr and exit code. When no daemon
 * listens it execs the node plugin with the same environment and stdin (and starts the daemon in
 * the background for the next command), so no command ever depends on the daemon.
 * Framing: plugins/cni/wire.ts; what all exec shims share: plugins/shared/shim/exec-shim.h.
 * Compiled by plugins/cni/shim.ts, which bakes in:
 *   TSNET_NODE          node, by absolute path
 *   TSNET_PLUGIN        the node plugin's script
 *   TSNET_CLI           tsnet's CLI script, to start `tsnet daemon`
 *   TSNET_STATE_DIR     state directory when $TSNET_STATE_DIR is unset
 *   TSNET_START_DAEMON  1 to start the daemon when none runs
 * TSNET_CNI_DAEMON=0 in the environment skips the daemon altogether.
 */
#define _GNU_SOURCE
#if !defined(TSNET_NODE) || !defined(TSNET_PLUGIN) || !defined(TSNET_CLI) || !defined(TSNET_STATE_DIR) || !defined(TSNET_START_DAEMON)
#error "build with plugins/cni/shim.ts: it defines the paths this shim execs"
#endif

#include "../../shared/shim/exec-shim.h"

extern char **environ;

/* The spec's error JSON on stdout, exit 1: what the node plugin would print for the same failure. */
static void fail(int code, const char *what, int err) {
  printf("{\"cniVersion\":\"1.1.0\",\"code\":%d,\"msg\":\"tsnet-cni: %s%s%s\"}\n", code, what, err ? ": " : "", err ? strerror(err) : "");
  exit(1);
}

/* Execs the node plugin; with replay, stdin is those bytes (already read from the runtime). */
static void run_node(const char *dir, char **argv, const struct buf *replay) {
  /* The node plugin must use the directory this shim chose, baked default included. */
  setenv("TSNET_STATE_DIR", dir, 0);
  exec_node(TSNET_NODE, TSNET_PLUGIN, "node plugin", "tsnet-cni-stdin", argv, replay);
}

int main(int argc, char **argv) {
  const char *dir = getenv("TSNET_STATE_DIR"), *mode = getenv("TSNET_CNI_DAEMON"), *cmd = getenv("CNI_COMMAND");
  if (!dir || !*dir) dir = TSNET_STATE_DIR;
  int fd = argc > 1 || (mode && !strcmp(mode, "0")) ? -1 : dial(dir, "cni.sock");
  if (fd < 0) {
    /* `tsnet-cni install …` and TSNET_CNI_DAEMON=0 are node's; only a missing socket starts the daemon. */
    if (argc == 1 && !(mode && !strcmp(mode, "0")) && TSNET_START_DAEMON) start_daemon(TSNET_NODE, TSNET_CLI, dir, 0);
    run_node(dir, argv, NULL);
  }
  struct buf in = { 0 }, env = { 0 }, rep = { 0 };
  if (slurp(0, &in) < 0) fail(5, "read config from stdin", errno);
  /* Only what runCni reads: the CNI_* variables, and TSNET_DEBUG for error details on stderr. */
  for (char **e = environ; *e; e++)
    if (!strncmp(*e, "CNI_", 4) || !strncmp(*e, "TSNET_DEBUG=", 12)) put(&env, *e, strlen(*e) + 1);
  exchange(fd, CNI_MAGIC, (const struct buf *[]){ &env, &in }, 2, &rep);
  struct answer a = { .acks = "A" };
  switch (answer(&rep, &a)) {
  case NOT_TAKEN: /* the daemon did not take the command (stopping, or another version), so node runs it */
    run_node(dir, argv, &in);
    break;
  case LOST: /* acked, then lost: the daemon died running it. Every command but ADD is safe to run again. */
    if (!cmd || strcmp(cmd, "ADD")) run_node(dir, argv, &in);
    fail(11, "the tsnet daemon stopped during ADD (DEL, then retry)", 0);
    break;
  case ANSWERED:
    break;
  }
  return a.code;
}
