/*
 * LD_PRELOAD shim: every TCP socket a program connects gets TCP_NODELAY, as
 * browsers, curl and most HTTP clients set it. Used for gnutls-cli, which does
 * not: its request then waits behind its unacknowledged Finished for the
 * server's delayed ACK (~40 ms on Linux) whenever the server defers its TLS 1.3
 * session tickets. Nothing else about the connection or the bytes changes.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

int connect(int fd, const struct sockaddr *address, socklen_t length) {
  static int (*real_connect)(int, const struct sockaddr *, socklen_t);
  if (!real_connect) real_connect = (int (*)(int, const struct sockaddr *, socklen_t))dlsym(RTLD_NEXT, "connect");
  if (address && (address->sa_family == AF_INET || address->sa_family == AF_INET6)) {
    int type = 0;
    socklen_t size = sizeof type;
    if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &size) == 0 && type == SOCK_STREAM) {
      int on = 1;
      setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
    }
  }
  return real_connect(fd, address, length);
}
