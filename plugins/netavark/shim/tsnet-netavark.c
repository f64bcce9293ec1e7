/*
 * tsnet-netavark exec shim: what podman execs as `netavark`. A setup or teardown (the network options
 * on stdin) is handed to the tsnet daemon's netavark socket, STATE_DIR/netavark.sock, where the face
 * runs over the daemon's open Controller; the shim prints the daemon's stdout, stderr and exit code.
 * Anything else (version, --file, no daemon, a daemon that does not take the call) execs the node
 * helper with the same argv and stdin, and a missing daemon is started in the background for the next
 * call. Framing: plugins/cni/wire.ts, with the argv as TSNET_NETAVARK_ARGV (a JSON array); what all exec
 * shims share: plugins/shared/shim/exec-shim.h.
 * Compiled by plugins/netavark/shim.ts, which bakes in:
 *   TSNET_NODE        node, by absolute path
 *   TSNET_HELPER      the node helper script (the face, with the state directory fixed)
 *   TSNET_CLI         tsnet's CLI script, to start `tsnet daemon`
 *   TSNET_STATE_DIR   the state directory: always this one, whatever the caller's environment says
 */
#define _GNU_SOURCE
#if !defined(TSNET_NODE) || !defined(TSNET_HELPER) || !defined(TSNET_CLI) || !defined(TSNET_STATE_DIR)
#error "build with plugins/netavark/shim.ts: it defines the paths this shim execs"
#endif

#include "../../shared/shim/exec-shim.h"

/* netavark's error JSON on stdout, exit 1 (netavark has no error codes). */
static void fail(int code, const char *what, int err) {
  (void)code;
  printf("{\"error\":\"tsnet-netavark: %s%s%s\"}\n", what, err ? ": " : "", err ? strerror(err) : "");
  exit(1);
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

/* Execs the node helper; with replay, stdin is those bytes (already read from podman). */
static void run_node(char **argv, const struct buf *replay) {
  exec_node(TSNET_NODE, TSNET_HELPER, "node helper", "tsnet-netavark-stdin", argv, replay);
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
    if (verb) start_daemon(TSNET_NODE, TSNET_CLI, dir, 1);
    run_node(argv, NULL);
  }
  struct buf in = { 0 }, env = { 0 }, rep = { 0 };
  if (slurp(0, &in) < 0) fail(5, "read the network options from stdin", errno);
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
  exchange(fd, CNI_MAGIC, (const struct buf *[]){ &env, &in }, 2, &rep);
  struct answer a = { .acks = "A" };
  switch (answer(&rep, &a)) {
  case NOT_TAKEN: /* the daemon did not take the call, so node runs it */
    run_node(argv, &in);
    break;
  case LOST: /* acked, then lost: the daemon died running it; the call may be half done, as a killed netavark's */
    fail(11, "the tsnet daemon stopped during the call", 0);
    break;
  case ANSWERED:
    break;
  }
  return a.code;
}
