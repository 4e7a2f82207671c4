/* A small TCP echo-ish server that leaks one accepted socket every N
   connections: the kind of descriptor leak that takes a service down after
   days, when it runs out of descriptors.

     leaky_tcp_server [PORT [LEAK_EVERY [PORT_FILE]]]

   listens on 127.0.0.1:PORT (0: any free port), answers every connection
   with one line and closes it, except every LEAK_EVERY-th (default 10),
   which it answers and then forgets without closing. The port it got is
   printed on stdout and, if given, written to PORT_FILE.

   Try it under leaktrace:

     leaktrace run -o /tmp/dumps -- ./leaky_tcp_server 7070 &
     leaktrace snapshot $!
     for i in $(seq 50); do echo hi | nc -q1 127.0.0.1 7070; done
     leaktrace snapshot $!
     leaktrace diff /tmp/dumps/leaky_tcp_server.*.1.dump /tmp/dumps/leaky_tcp_server.*.2.dump

   The diff shows "fd +5", a "socket inet/stream", at accept_client. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static unsigned long served;

/* Accepts the next connection. */
__attribute__((noinline)) int accept_client(int listener) {
  for (;;) {
    int fd = accept4(listener, NULL, NULL, SOCK_CLOEXEC);
    if (fd >= 0 || errno != EINTR) return fd;
  }
}

/* Reads the request line and answers it. Returns 1 when the connection is
   done with and should be closed. */
__attribute__((noinline)) int handle_client(int fd, unsigned long leak_every) {
  char request[256];
  ssize_t n = read(fd, request, sizeof request);
  (void)n;
  ++served;
  /* The bug: an "early return" path that forgets to close. */
  if (served % leak_every == 0) {
    static const char keep[] = "keep\n";
    ssize_t w = write(fd, keep, sizeof keep - 1);
    (void)w;
    return 0;
  }
  static const char bye[] = "bye\n";
  ssize_t w = write(fd, bye, sizeof bye - 1);
  (void)w;
  return 1;
}

int main(int argc, char** argv) {
  const int port = argc > 1 ? atoi(argv[1]) : 0;
  const unsigned long leak_every = argc > 2 ? strtoul(argv[2], NULL, 10) : 10;
  const char* port_file = argc > 3 ? argv[3] : NULL;
  if (leak_every == 0) return 2;
  signal(SIGPIPE, SIG_IGN);

  int listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listener < 0) return perror("socket"), 1;
  int one = 1;
  setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in addr;
  memset(&addr, 0, sizeof addr);
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons((unsigned short)port);
  if (bind(listener, (struct sockaddr*)&addr, sizeof addr) != 0) return perror("bind"), 1;
  if (listen(listener, 128) != 0) return perror("listen"), 1;
  socklen_t len = sizeof addr;
  getsockname(listener, (struct sockaddr*)&addr, &len);
  printf("listening on 127.0.0.1:%d\n", ntohs(addr.sin_port));
  fflush(stdout);
  if (port_file != NULL) {
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", port_file);
    FILE* f = fopen(tmp, "w");
    if (f == NULL) return perror("fopen"), 1;
    fprintf(f, "%d\n", ntohs(addr.sin_port));
    fclose(f);
    rename(tmp, port_file); /* readers never see a half-written file */
  }

  for (;;) {
    int fd = accept_client(listener);
    if (fd < 0) {
      perror("accept");
      continue;
    }
    if (handle_client(fd, leak_every)) close(fd);
  }
}
