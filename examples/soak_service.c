/* soak_service: a small TCP service for the soak-gate example
   (examples/soak-gate.sh). Its memory has the three shapes a soak test
   must tell apart:

   - warm-up: a route table filled lazily, one entry per distinct key, and
     never again once every key has been seen (ROUTES keys);
   - a bounded cache: the last CACHE_SLOTS responses, each new one replacing
     the oldest, so it keeps allocating and freeing within a bound;
   - a leak, only with --leak: every request appends an audit record to a
     list nothing ever trims.

   Protocol, one line per request on one connection at a time:
     GET <key>   ->  "OK <key> <response length>"
     QUIT        ->  "BYE", then the service exits cleanly
     anything else -> "ERR"

   usage: soak_service [--port N] [--leak]
   --port 0 (the default) takes a free port; the first line on stdout says
   "soak_service: pid P, listening on 127.0.0.1:PORT".

   At exit everything is freed, the audit log too: like most real leaks,
   this one is memory still referenced that grows without bound, which a
   leak checker run at exit never reports and a series of snapshots does. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define ROUTES 1000
#define CACHE_SLOTS 128

struct route {
  unsigned key;
  char name[120];
};

struct audit_record {
  struct audit_record* next;
  unsigned key;
  char line[180];
};

static struct route* routes[ROUTES];
static char* cache[CACHE_SLOTS];
static unsigned cache_next;
static struct audit_record* audit_log;
static int leak;

/* Warm-up: the first request for a key builds its route; later ones reuse it. */
__attribute__((noinline)) static struct route* route_for(unsigned key) {
  struct route** slot = &routes[key % ROUTES];
  if (*slot == NULL) {
    *slot = malloc(sizeof **slot);
    (*slot)->key = key;
    snprintf((*slot)->name, sizeof (*slot)->name, "/items/%u", key);
  }
  return *slot;
}

/* Bounded: a ring of the last CACHE_SLOTS responses, all of one size, so
   once full its live bytes stay exactly the same. */
__attribute__((noinline)) static const char* cache_response(const struct route* r) {
  const size_t size = 192;
  char* response = malloc(size);
  snprintf(response, size, "%s", r->name);
  free(cache[cache_next]);
  cache[cache_next] = response;
  cache_next = (cache_next + 1) % CACHE_SLOTS;
  return response;
}

/* The leak (--leak only): audit records are appended and never dropped. */
__attribute__((noinline)) static void audit(unsigned key, const char* line) {
  struct audit_record* rec = malloc(sizeof *rec);
  rec->key = key;
  snprintf(rec->line, sizeof rec->line, "%s", line);
  rec->next = audit_log;
  audit_log = rec;
}

/* Answers one request line; returns 0 when the client asked to quit. */
static int handle_line(FILE* out, const char* line) {
  unsigned key;
  if (strcmp(line, "QUIT") == 0) {
    fputs("BYE\n", out);
    return 0;
  }
  if (sscanf(line, "GET %u", &key) != 1) {
    fputs("ERR\n", out);
    return 1;
  }
  const char* response = cache_response(route_for(key));
  if (leak) audit(key, line);
  fprintf(out, "OK %u %zu\n", key, strlen(response));
  return 1;
}

/* Serves one connection until it closes; returns 0 after QUIT. */
static int serve(int conn) {
  FILE* in = fdopen(conn, "r");
  FILE* out = fdopen(dup(conn), "w");
  if (in == NULL || out == NULL) {
    if (in) fclose(in); else close(conn);
    if (out) fclose(out);
    return 1;
  }
  char line[256];
  int go_on = 1;
  while (go_on && fgets(line, sizeof line, in) != NULL) {
    line[strcspn(line, "\r\n")] = '\0';
    go_on = handle_line(out, line);
    fflush(out);
  }
  fclose(out);
  fclose(in);
  return go_on;
}

int main(int argc, char** argv) {
  int port = 0;
  for (int i = 1; i < argc; ++i) {
    if (strcmp(argv[i], "--port") == 0 && i + 1 < argc) port = atoi(argv[++i]);
    else if (strcmp(argv[i], "--leak") == 0) leak = 1;
    else {
      fprintf(stderr, "usage: %s [--port N] [--leak]\n", argv[0]);
      return 2;
    }
  }
  signal(SIGPIPE, SIG_IGN); /* a client that goes away must not kill us */

  int listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t len = sizeof addr;
  if (listener < 0 || bind(listener, (struct sockaddr*)&addr, sizeof addr) != 0 || listen(listener, 8) != 0 ||
      getsockname(listener, (struct sockaddr*)&addr, &len) != 0) {
    perror("soak_service: cannot listen");
    return 1;
  }
  printf("soak_service: pid %d, listening on 127.0.0.1:%d%s\n", (int)getpid(), ntohs(addr.sin_port),
         leak ? " (leaking)" : "");
  fflush(stdout);

  for (;;) {
    int conn = accept4(listener, NULL, NULL, SOCK_CLOEXEC);
    if (conn < 0) continue;
    if (!serve(conn)) break;
  }
  close(listener);
  for (int i = 0; i < CACHE_SLOTS; ++i) free(cache[i]);
  for (int i = 0; i < ROUTES; ++i) free(routes[i]);
  while (audit_log) {
    struct audit_record* next = audit_log->next;
    free(audit_log);
    audit_log = next;
  }
  return 0;
}
