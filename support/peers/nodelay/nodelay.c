/*
 * LD_PRELOAD shim for the command-line clients (support/peers/nodelay.ts).
 * On every TCP connect() of the program:
 * - TLS_CONFORMANCE_NODELAY=1: set TCP_NODELAY, as browsers, curl and most
 *   HTTP clients do (gnutls-cli does not: its request then waits behind its
 *   unacknowledged Finished for the server's delayed ACK, ~40 ms on Linux,
 *   whenever the server defers its TLS 1.3 session tickets).
 * - TLS_CONFORMANCE_REPORT_PORT=1: write the connection's local port to
 *   stderr as a line "tls-conformance-local-port=<port>", so that the harness
 *   can give the server's evidence of exactly that connection to the attempt
 *   (openssl s_client and gnutls-cli print their peer's address, not their own).
 * Nothing else about the connection or the bytes changes.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int enabled(const char *name) {
  const char *value = getenv(name);
  return value && strcmp(value, "1") == 0;
}

int connect(int fd, const struct sockaddr *address, socklen_t length) {
  static int (*real_connect)(int, const struct sockaddr *, socklen_t);
  if (!real_connect) real_connect = (int (*)(int, const struct sockaddr *, socklen_t))dlsym(RTLD_NEXT, "connect");
  int tcp = 0;
  if (address && (address->sa_family == AF_INET || address->sa_family == AF_INET6)) {
    int type = 0;
    socklen_t size = sizeof type;
    tcp = getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &size) == 0 && type == SOCK_STREAM;
  }
  if (tcp && enabled("TLS_CONFORMANCE_NODELAY")) {
    int on = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
  }
  int result = real_connect(fd, address, length);
  if (tcp && enabled("TLS_CONFORMANCE_REPORT_PORT")) {
    struct sockaddr_storage local;
    socklen_t size = sizeof local;
    if (getsockname(fd, (struct sockaddr *)&local, &size) == 0) {
      int port = local.ss_family == AF_INET ? ntohs(((struct sockaddr_in *)&local)->sin_port) : ntohs(((struct sockaddr_in6 *)&local)->sin6_port);
      if (port != 0) {
        char line[64];
        int n = snprintf(line, sizeof line, "tls-conformance-local-port=%d\n", port);
        if (n > 0) (void)!write(2, line, (size_t)n);
      }
    }
  }
  return result;
}
