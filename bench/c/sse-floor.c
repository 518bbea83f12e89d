/*
 * The floor under the Node benchmarks: a minimal Server-Sent Events server in C on one epoll
 * loop, one thread, no library. It puts the same bytes on the wire as @tidings/hub (an HTTP/1.1
 * chunked body; per event `id: urn:uuid:<36 characters>`, `data: <payload>`, a blank line),
 * and does nothing else: no auth, no history, no topics, no coalescing. Each event is one
 * write(2) per subscriber. What this server needs per delivery is what the machine needs.
 *
 *   sse-floor            listens on 127.0.0.1 on a free port and prints "listening <port>"
 *   GET <any path>       subscribes: the event-stream head, then every event, chunked
 *   POST <any path>      publishes the request body (Content-Length) as one event; answers
 *                        200 with the event's id, keeping the connection alive
 *   stdin "publish R D"  publishes R events/s for D ms from a 1 ms timer, each payload
 *                        {"seq":N,"t":<due time, µs on CLOCK_MONOTONIC>}; prints
 *                        "published <count> <elapsed ms>"
 *   stdin "marker M"     publishes {"marker":"M","seq":N}; prints "ok"
 *
 * A subscriber that does not take its bytes has them kept, up to 1 MiB, then is dropped.
 * Built by the benchmark with `gcc -O2`; see bench/src/floor/c-floor-process.ts.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#define MAX_HEAD 8192
#define MAX_BODY 65536
#define MAX_BACKLOG (1024 * 1024)
#define MAX_EVENT (MAX_BODY + 256)

static const char SSE_HEAD[] =
    "HTTP/1.1 200 OK\r\n"
    "Content-Type: text/event-stream; charset=utf-8\r\n"
    "Cache-Control: no-cache, no-transform\r\n"
    "X-Accel-Buffering: no\r\n"
    "Connection: keep-alive\r\n"
    "Transfer-Encoding: chunked\r\n"
    "\r\n";

struct conn {
  int fd;
  int dead; /* closed; freed once the current batch of epoll events is handled */
  struct conn *next_dead;
  int subscriber;
  int index; /* position in the subscriber list, or -1 */
  char *in;  /* request bytes not handled yet */
  size_t in_len;
  char *out; /* bytes the socket did not take yet */
  size_t out_len;
};

static int epfd;
static struct conn **subscribers;
static int subscriber_count;
static int subscriber_capacity;
static unsigned long long seq;
static char event[MAX_EVENT + 32];
static struct conn *dead_conns;

static uint64_t now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* Closes at once but frees later: a later event of the same epoll batch may still name it. */
static void close_conn(struct conn *c) {
  if (c->dead) return;
  c->dead = 1;
  if (c->index >= 0) {
    struct conn *last = subscribers[--subscriber_count];
    subscribers[c->index] = last;
    last->index = c->index;
    c->index = -1;
  }
  epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, NULL);
  close(c->fd);
  c->next_dead = dead_conns;
  dead_conns = c;
}

static void free_dead_conns(void) {
  while (dead_conns != NULL) {
    struct conn *c = dead_conns;
    dead_conns = c->next_dead;
    free(c->in);
    free(c->out);
    free(c);
  }
}

static void want_writable(struct conn *c, int yes) {
  struct epoll_event ev = {.events = EPOLLIN | (yes ? EPOLLOUT : 0), .data.ptr = c};
  epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev);
}

/* Writes now what the socket takes, keeps the rest; returns -1 when the connection must go. */
static int send_bytes(struct conn *c, const char *bytes, size_t len) {
  if (c->out_len == 0) {
    ssize_t n = write(c->fd, bytes, len);
    if (n < 0) {
      if (errno != EAGAIN && errno != EWOULDBLOCK) return -1;
      n = 0;
    }
    if ((size_t)n == len) return 0;
    bytes += n;
    len -= (size_t)n;
    want_writable(c, 1);
  }
  if (c->out_len + len > MAX_BACKLOG) return -1;
  c->out = realloc(c->out, c->out_len + len);
  memcpy(c->out + c->out_len, bytes, len);
  c->out_len += len;
  return 0;
}

static void flush_out(struct conn *c) {
  ssize_t n = write(c->fd, c->out, c->out_len);
  if (n < 0) {
    if (errno != EAGAIN && errno != EWOULDBLOCK) close_conn(c);
    return;
  }
  memmove(c->out, c->out + n, c->out_len - (size_t)n);
  c->out_len -= (size_t)n;
  if (c->out_len == 0) {
    free(c->out);
    c->out = NULL;
    want_writable(c, 0);
  }
}

/* Frames one event as a chunk and writes it to every subscriber; returns its id's counter. */
static unsigned long long publish(const char *data, size_t len) {
  unsigned long long id = ++seq;
  char block[MAX_EVENT];
  int head = snprintf(block, sizeof block,
                      "id: urn:uuid:00000000-0000-7000-8000-%012llx\ndata: ", id);
  if (len > MAX_BODY) len = MAX_BODY;
  memcpy(block + head, data, len);
  size_t block_len = (size_t)head + len;
  memcpy(block + block_len, "\n\n", 2);
  block_len += 2;
  int size_line = snprintf(event, 32, "%zx\r\n", block_len);
  memcpy(event + size_line, block, block_len);
  size_t event_len = (size_t)size_line + block_len;
  memcpy(event + event_len, "\r\n", 2);
  event_len += 2;
  for (int i = subscriber_count - 1; i >= 0; i--) {
    struct conn *c = subscribers[i];
    if (send_bytes(c, event, event_len) < 0) close_conn(c);
  }
  return id;
}

static void subscribe(struct conn *c) {
  if (subscriber_count == subscriber_capacity) {
    subscriber_capacity = subscriber_capacity ? subscriber_capacity * 2 : 1024;
    subscribers = realloc(subscribers, sizeof *subscribers * (size_t)subscriber_capacity);
  }
  c->subscriber = 1;
  c->index = subscriber_count;
  subscribers[subscriber_count++] = c;
}

/* Handles every complete request in c->in; returns -1 when the connection must go. */
static int handle_requests(struct conn *c) {
  for (;;) {
    char *end = memmem(c->in, c->in_len, "\r\n\r\n", 4);
    if (end == NULL) return c->in_len > MAX_HEAD ? -1 : 0;
    size_t head_len = (size_t)(end - c->in) + 4;
    if (c->in_len >= 4 && memcmp(c->in, "GET ", 4) == 0) {
      if (c->subscriber) return -1;
      if (send_bytes(c, SSE_HEAD, sizeof SSE_HEAD - 1) < 0) return -1;
      subscribe(c);
      c->in_len = 0; /* a subscriber sends nothing more that matters */
      return 0;
    }
    if (c->in_len < 5 || memcmp(c->in, "POST ", 5) != 0) return -1;
    size_t body_len = 0;
    char head[MAX_HEAD + 1];
    if (head_len > MAX_HEAD) return -1;
    memcpy(head, c->in, head_len);
    head[head_len] = '\0';
    char *cl = strcasestr(head, "\r\ncontent-length:");
    if (cl != NULL) body_len = strtoul(cl + 17, NULL, 10);
    if (body_len > MAX_BODY) return -1;
    if (c->in_len < head_len + body_len) return 0;
    unsigned long long id = publish(c->in + head_len, body_len);
    char answer[160];
    int n = snprintf(answer, sizeof answer,
                     "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 45\r\n\r\n"
                     "urn:uuid:00000000-0000-7000-8000-%012llx",
                     id);
    if (send_bytes(c, answer, (size_t)n) < 0) return -1;
    size_t used = head_len + body_len;
    memmove(c->in, c->in + used, c->in_len - used);
    c->in_len -= used;
  }
}

static void on_readable(struct conn *c) {
  char buf[16384];
  for (;;) {
    ssize_t n = read(c->fd, buf, sizeof buf);
    if (n == 0) {
      close_conn(c);
      return;
    }
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;
      close_conn(c);
      return;
    }
    if (c->subscriber) continue; /* nothing a subscriber sends is read */
    c->in = realloc(c->in, c->in_len + (size_t)n);
    memcpy(c->in + c->in_len, buf, (size_t)n);
    c->in_len += (size_t)n;
    if (handle_requests(c) < 0) {
      close_conn(c);
      return;
    }
  }
}

/* The steady-rate publisher driven from stdin. */
static struct {
  int active;
  double interval_us;
  uint64_t start;
  unsigned long long total;
  unsigned long long published;
  int timer;
} pacer;

static void pace(void) {
  uint64_t now = now_us();
  unsigned long long due = (unsigned long long)((double)(now - pacer.start) / pacer.interval_us);
  if (due > pacer.total) due = pacer.total;
  char payload[96];
  while (pacer.published < due) {
    /* Event n (from 0) comes due when n + 1 intervals have passed. */
    uint64_t due_us = pacer.start + (uint64_t)((double)(pacer.published + 1) * pacer.interval_us + 0.5);
    int n = snprintf(payload, sizeof payload, "{\"seq\":%llu,\"t\":%llu}", seq + 1,
                     (unsigned long long)due_us);
    publish(payload, (size_t)n);
    pacer.published++;
  }
  if (pacer.published >= pacer.total) {
    pacer.active = 0;
    struct itimerspec off = {0};
    timerfd_settime(pacer.timer, 0, &off, NULL);
    printf("published %llu %.3f\n", pacer.published, (double)(now_us() - pacer.start) / 1000.0);
    fflush(stdout);
  }
}

static void on_command(char *line) {
  double rate, duration_ms;
  if (sscanf(line, "publish %lf %lf", &rate, &duration_ms) == 2 && rate > 0) {
    pacer.active = 1;
    pacer.interval_us = 1e6 / rate;
    pacer.start = now_us();
    pacer.total = (unsigned long long)(rate * duration_ms / 1000.0);
    pacer.published = 0;
    struct itimerspec every_ms = {{0, 1000000}, {0, 1000000}};
    timerfd_settime(pacer.timer, 0, &every_ms, NULL);
  } else if (strncmp(line, "marker ", 7) == 0) {
    char payload[256];
    int n = snprintf(payload, sizeof payload, "{\"marker\":\"%.200s\",\"seq\":%llu}", line + 7,
                     seq + 1);
    publish(payload, (size_t)n);
    printf("ok\n");
    fflush(stdout);
  } else {
    fprintf(stderr, "sse-floor: unknown command: %s\n", line);
  }
}

int main(void) {
  int listener = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  int one = 1;
  setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = 0};
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(listener, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(listener, 4096) < 0) {
    perror("sse-floor: listen");
    return 1;
  }
  socklen_t addr_len = sizeof addr;
  getsockname(listener, (struct sockaddr *)&addr, &addr_len);
  epfd = epoll_create1(0);
  pacer.timer = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);
  fcntl(STDIN_FILENO, F_SETFL, fcntl(STDIN_FILENO, F_GETFL) | O_NONBLOCK);
  /* The listener, the timer and stdin are told apart by these tags in data.u64. */
  struct epoll_event ev = {.events = EPOLLIN, .data.u64 = 1};
  epoll_ctl(epfd, EPOLL_CTL_ADD, listener, &ev);
  ev.data.u64 = 2;
  epoll_ctl(epfd, EPOLL_CTL_ADD, pacer.timer, &ev);
  ev.data.u64 = 3;
  epoll_ctl(epfd, EPOLL_CTL_ADD, STDIN_FILENO, &ev);
  printf("listening %d\n", ntohs(addr.sin_port));
  fflush(stdout);

  char command[512];
  size_t command_len = 0;
  struct epoll_event events[256];
  for (;;) {
    int ready = epoll_wait(epfd, events, 256, -1);
    for (int i = 0; i < ready; i++) {
      uint64_t tag = events[i].data.u64;
      if (tag == 1) {
        for (;;) {
          int fd = accept4(listener, NULL, NULL, SOCK_NONBLOCK);
          if (fd < 0) break;
          setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
          struct conn *c = calloc(1, sizeof *c);
          c->fd = fd;
          c->index = -1;
          struct epoll_event cev = {.events = EPOLLIN, .data.ptr = c};
          epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &cev);
        }
      } else if (tag == 2) {
        uint64_t expirations;
        if (read(pacer.timer, &expirations, sizeof expirations) > 0 && pacer.active) pace();
      } else if (tag == 3) {
        ssize_t n = read(STDIN_FILENO, command + command_len, sizeof command - 1 - command_len);
        if (n == 0) return 0; /* the runner went away */
        if (n < 0) continue;
        command_len += (size_t)n;
        char *newline;
        while ((newline = memchr(command, '\n', command_len)) != NULL) {
          *newline = '\0';
          on_command(command);
          size_t used = (size_t)(newline - command) + 1;
          memmove(command, command + used, command_len - used);
          command_len -= used;
        }
        if (command_len == sizeof command - 1) command_len = 0;
      } else {
        struct conn *c = events[i].data.ptr;
        if (c->dead) continue;
        if (events[i].events & (EPOLLERR | EPOLLHUP)) {
          close_conn(c);
          continue;
        }
        if (events[i].events & EPOLLOUT) {
          flush_out(c);
          /* flush_out may have closed it; a closed conn is not touched again this round. */
          if (c->dead || !(events[i].events & EPOLLIN)) continue;
        }
        if (events[i].events & EPOLLIN) on_readable(c);
      }
    }
    free_dead_conns();
  }
}
