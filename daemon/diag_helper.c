// SPDX-License-Identifier: GPL-2.0-only
/*
 * The privileged sock_diag helper (see diag_helper.h for what it is and why).  The daemon side
 * sends one fixed-size request per datagram on its thread's channel and waits (bounded) for the
 * answer with the same request id; the helper side is a poll loop over its channel ends that
 * answers each datagram, with an error for anything that is not exactly a request.
 */
#include "daemon/diag_helper.h"
#include "lib/log.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define DIAG_HELPER_TIMEOUT_MS 1000 /* a worker waits at most this long for one answer */
#define DIAG_HELPER_START_MS 5000

struct diag_chan {
	pthread_mutex_t lock; /* threads beyond the channel count share one */
	int fd;
	uint32_t seq;
};

struct diag_helper {
	pid_t pid;
	unsigned int n;
	atomic_uint next; /* the next thread's channel */
	atomic_bool gone;
	struct diag_chan ch[];
};

/* ---- the helper process ---- */

/* close_range, or one by one where a seccomp filter or an old kernel refuses it. */
static int helper_close_range(unsigned int lo, unsigned int hi)
{
	struct rlimit rl;

	if (!close_range(lo, hi, 0))
		return 0;
	if (errno != ENOSYS && errno != EPERM)
		return -errno;
	if (getrlimit(RLIMIT_NOFILE, &rl))
		return -errno;
	for (unsigned long fd = lo; fd <= hi && fd < rl.rlim_cur; fd++)
		close((int)fd);
	return 0;
}

/* Every fd but keep[] (sorted here), then 0-2 onto /dev/null so that no later socket is one. */
static int helper_close_fds(int *keep, unsigned int n)
{
	unsigned int lo = 0;
	int rc;

	for (unsigned int i = 1; i < n; i++)
		for (unsigned int j = i; j > 0 && keep[j - 1] > keep[j]; j--) {
			int t = keep[j];

			keep[j] = keep[j - 1];
			keep[j - 1] = t;
		}
	for (unsigned int i = 0; i < n; i++) {
		if ((unsigned int)keep[i] > lo) {
			rc = helper_close_range(lo, (unsigned int)keep[i] - 1);
			if (rc)
				return rc;
		}
		lo = (unsigned int)keep[i] + 1;
	}
	rc = helper_close_range(lo, ~0u);
	if (rc)
		return rc;
	for (int fd = 0; fd < 3; fd++)
		if (fcntl(fd, F_GETFD) < 0 && open("/dev/null", O_RDWR) < 0)
			return -errno;
	return 0;
}

static int helper_caps(uint32_t eff, uint32_t prm, uint32_t inh, bool set)
{
	struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct data[2] = {{0}};

	if (set) {
		data[0].effective = eff;
		data[0].permitted = prm;
		data[0].inheritable = inh;
		return syscall(SYS_capset, &hdr, data) ? -errno : 0;
	}
	if (syscall(SYS_capget, &hdr, data))
		return -errno;
	return data[0].effective == eff && data[0].permitted == prm && data[0].inheritable == inh &&
			       !data[1].effective && !data[1].permitted && !data[1].inheritable
		       ? 0
		       : -EPERM;
}

/*
 * Become pd's user with CAP_NET_ADMIN only, and check it.  Order matters: the bounding set is
 * emptied while root has CAP_SETPCAP; KEEPCAPS carries the permitted set over setresuid; the
 * parent-death signal and non-dumpable are set after the last credential change, which resets
 * both (commit_creds).
 */
static int helper_become(const struct privdrop *pd, pid_t parent)
{
	const uint32_t net_admin = 1u << CAP_NET_ADMIN;
	uid_t ru, eu, su;

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		return -errno;
	for (unsigned long cap = 0; cap < 64; cap++) {
		if (cap == CAP_NET_ADMIN)
			continue;
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0)) {
			if (errno == EINVAL)
				break; /* past the kernel's last capability */
			return -errno;
		}
	}
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) && errno != EINVAL)
		return -errno;
	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) || setgroups(1, &pd->gid) ||
	    setresgid(pd->gid, pd->gid, pd->gid) || setresuid(pd->uid, pd->uid, pd->uid))
		return -errno;
	if (helper_caps(net_admin, net_admin, 0, true) || prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0))
		return -errno;
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) || prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0))
		return -errno;
	if (getppid() != parent)
		return -ESRCH; /* the daemon died before the signal was armed */
	/* Trust, but check. */
	if (helper_caps(net_admin, net_admin, 0, false) || getresuid(&ru, &eu, &su) ||
	    ru != pd->uid || eu != pd->uid || su != pd->uid || !setresuid(0, 0, 0) ||
	    prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) != 0 || prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1)
		return -EPERM;
	for (unsigned long cap = 0; cap < 64; cap++) {
		int r = prctl(PR_CAPBSET_READ, cap, 0, 0, 0);

		if (r < 0)
			break;
		if (r != (cap == CAP_NET_ADMIN))
			return -EPERM;
	}
	return 0;
}

static int helper_send(int fd, const struct diag_helper_ans *a)
{
	if (send(fd, a, sizeof(*a), MSG_DONTWAIT | MSG_NOSIGNAL) == (ssize_t)sizeof(*a))
		return 0;
	/* a daemon that does not read its answers loses them, nobody else's */
	return errno == EAGAIN ? 0 : -errno;
}

/* One datagram on fd: answered.  -errno when the channel is done (the daemon is gone). */
static int helper_serve_one(int nlfd, int fd, short revents)
{
	union {
		struct diag_helper_req r;
		char b[sizeof(struct diag_helper_req) + 64];
	} in;
	struct diag_helper_ans a = {.magic = DIAG_HELPER_MAGIC, .err = -EBADMSG};
	ssize_t n;

	memset(&in, 0, sizeof(in));
	/* MSG_TRUNC: the datagram's real length, so an oversized one is seen as such */
	n = recv(fd, &in, sizeof(in), MSG_TRUNC | MSG_DONTWAIT);
	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -errno;
	if (n == 0 && (revents & (POLLHUP | POLLRDHUP)))
		return -EPIPE;
	if (n == (ssize_t)sizeof(in.r) && in.r.magic == DIAG_HELPER_MAGIC) {
		a.seq = in.r.seq;
		a.err = hw_diag_query(nlfd, &in.r.id, &a.d);
		/* only the daemon's sockets (its user's; root's: listeners made before the drop,
		 * and the connections they accepted) */
		if (!a.err && a.d.found && a.d.uid && a.d.uid != getuid()) {
			a.err = -EPERM;
			memset(&a.d, 0, sizeof(a.d));
		}
	}
	return helper_send(fd, &a);
}

static void helper_loop(int nlfd, const int *fds, unsigned int n)
{
	struct pollfd pfd[DIAG_HELPER_MAX_CHANNELS];

	for (unsigned int i = 0; i < n; i++)
		pfd[i] = (struct pollfd){.fd = fds[i], .events = POLLIN | POLLRDHUP};
	for (;;) {
		if (poll(pfd, n, -1) < 0) {
			if (errno == EINTR)
				continue;
			return;
		}
		for (unsigned int i = 0; i < n; i++) {
			if (!pfd[i].revents)
				continue;
			/* EOF on any channel: the daemon closes them all at once, when it stops */
			if (!(pfd[i].revents & POLLIN) || helper_serve_one(nlfd, pfd[i].fd, pfd[i].revents))
				return;
		}
	}
}

static __attribute__((noreturn)) void helper_main(const struct privdrop *pd, int *fds,
						   unsigned int n, pid_t parent)
{
	struct diag_helper_ans ready = {.magic = DIAG_HELPER_MAGIC};
	sigset_t all;
	int nlfd = -1;

	prctl(PR_SET_NAME, "tlsgated-diag", 0, 0, 0);
	sigemptyset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL); /* the supervisor blocked SIGTERM for its signalfd */
	ready.err = helper_close_fds(fds, n);
	if (!ready.err)
		ready.err = helper_become(pd, parent);
	if (!ready.err) {
		/* opened with the capability: the kernel checks the opener's too */
		nlfd = hw_diag_open();
		ready.err = nlfd < 0 ? nlfd : 0;
	}
	/* fds[] is sorted now; the daemon waits on channel 0's end, wherever it landed */
	for (unsigned int i = 0; i < n; i++)
		if (helper_send(fds[i], &ready))
			_exit(1);
	if (!ready.err)
		helper_loop(nlfd, fds, n);
	/* _exit: no atexit handlers, no buffers of the daemon's flushed twice */
	_exit(ready.err ? 1 : 0);
}

/* ---- the daemon side ---- */

static void chan_close(struct diag_helper *h)
{
	for (unsigned int i = 0; i < h->n; i++) {
		if (h->ch[i].fd >= 0)
			close(h->ch[i].fd);
		h->ch[i].fd = -1;
		pthread_mutex_destroy(&h->ch[i].lock);
	}
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* One answer of seq on fd within deadline: 0, -ETIMEDOUT, -EPIPE (EOF) or -errno. */
static int chan_recv(int fd, uint32_t seq, int64_t deadline, struct diag_helper_ans *a)
{
	for (;;) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		int64_t left = deadline - now_ms();
		ssize_t n;

		if (left <= 0)
			return -ETIMEDOUT;
		n = poll(&p, 1, (int)left);
		if (n < 0 && errno != EINTR)
			return -errno;
		if (n <= 0)
			continue;
		n = recv(fd, a, sizeof(*a), MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EPIPE;
		if (n == (ssize_t)sizeof(*a) && a->magic == DIAG_HELPER_MAGIC && a->seq == seq)
			return 0;
		/* a late answer to a question that timed out: not ours */
	}
}

int diag_helper_start(const struct privdrop *pd, unsigned int nchan, struct diag_helper **out)
{
	struct diag_helper *h;
	struct diag_helper_ans ready;
	int child[DIAG_HELPER_MAX_CHANNELS];
	pid_t parent = getpid();
	int rc;

	*out = NULL;
	if (!pd->drop || !nchan || nchan > DIAG_HELPER_MAX_CHANNELS)
		return -EINVAL;
	h = calloc(1, sizeof(*h) + nchan * sizeof(h->ch[0]));
	if (!h)
		return -ENOMEM;
	for (unsigned int i = 0; i < nchan; i++) {
		int sv[2];

		h->ch[i].fd = -1;
		pthread_mutex_init(&h->ch[i].lock, NULL);
		h->n = i + 1;
		if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv)) {
			rc = -errno;
			for (unsigned int k = 0; k < i; k++)
				close(child[k]);
			goto fail;
		}
		h->ch[i].fd = sv[0];
		child[i] = sv[1];
	}
	h->pid = fork();
	if (h->pid == 0)
		helper_main(pd, child, nchan, parent);
	rc = h->pid < 0 ? -errno : 0;
	for (unsigned int i = 0; i < nchan; i++)
		close(child[i]);
	if (rc)
		goto fail;
	/* The helper checked itself; its verdict comes on every channel (channel 0's is read). */
	rc = chan_recv(h->ch[0].fd, 0, now_ms() + DIAG_HELPER_START_MS, &ready);
	if (!rc)
		rc = ready.err;
	if (rc) {
		log_err("diag helper pid=%d user=%s: did not start: %s (sessions will show "
			"kernel=unknown)",
			(int)h->pid, pd->name, strerror(-rc));
		goto fail;
	}
	for (unsigned int i = 1; i < nchan; i++)
		if (chan_recv(h->ch[i].fd, 0, now_ms() + DIAG_HELPER_START_MS, &ready) || ready.err) {
			rc = -EPROTO;
			goto fail;
		}
	log_info("diag helper pid=%d user=%s capabilities=cap_net_admin channels=%u no_new_privs=1 "
		 "dumpable=0 (sock_diag's TLS state for the workers)",
		 (int)h->pid, pd->name, nchan);
	*out = h;
	return 0;
fail:
	diag_helper_stop(h);
	return rc;
}

int diag_helper_ask(struct diag_helper *h, int fd, struct hw_tls_diag *out)
{
	static __thread unsigned int my_chan = ~0u;
	struct diag_helper_req req = {.magic = DIAG_HELPER_MAGIC};
	struct diag_helper_ans a;
	struct diag_chan *c;
	int rc;

	memset(out, 0, sizeof(*out));
	if (atomic_load(&h->gone))
		return -EPIPE;
	rc = hw_diag_id_of(fd, &req.id);
	if (rc)
		return rc;
	if (my_chan == ~0u)
		my_chan = atomic_fetch_add(&h->next, 1);
	c = &h->ch[my_chan % h->n];
	pthread_mutex_lock(&c->lock);
	if (++c->seq == 0)
		c->seq = 1; /* 0 is the start message's */
	req.seq = c->seq;
	if (send(c->fd, &req, sizeof(req), MSG_NOSIGNAL) != (ssize_t)sizeof(req))
		rc = errno == ECONNRESET || errno == ENOTCONN ? -EPIPE : -errno;
	else
		rc = chan_recv(c->fd, req.seq, now_ms() + DIAG_HELPER_TIMEOUT_MS, &a);
	pthread_mutex_unlock(&c->lock);
	if (rc == -EPIPE) {
		if (!atomic_exchange(&h->gone, true))
			log_err("diag helper pid=%d is gone: sessions show kernel=unknown from now on "
				"(relaying goes on)",
				(int)h->pid);
		return rc;
	}
	if (rc)
		return rc;
	if (a.err)
		return a.err;
	*out = a.d;
	if ((unsigned int)out->tx > HW_CONF_UNKNOWN)
		out->tx = HW_CONF_UNKNOWN;
	if ((unsigned int)out->rx > HW_CONF_UNKNOWN)
		out->rx = HW_CONF_UNKNOWN;
	return 0;
}

void diag_helper_stop(struct diag_helper *h)
{
	if (!h)
		return;
	chan_close(h); /* the helper sees EOF and exits */
	if (h->pid > 0) {
		int64_t deadline = now_ms() + 1000;
		pid_t r;

		while ((r = waitpid(h->pid, NULL, WNOHANG)) == 0 && now_ms() < deadline)
			usleep(10000);
		if (r == 0) { /* stuck: it is the daemon's user's process, ours to end */
			kill(h->pid, SIGKILL);
			waitpid(h->pid, NULL, 0);
		}
	}
	free(h);
}

pid_t diag_helper_pid(const struct diag_helper *h)
{
	return h ? h->pid : -1;
}

int diag_helper_channel_fd(const struct diag_helper *h, unsigned int i)
{
	return h && i < h->n ? h->ch[i].fd : -1;
}
