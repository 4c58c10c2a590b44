/*
 * libselinux_oracle: prints what the system's libselinux reads from each given file when it
 * is /etc/selinux/config. Used by oracle_test.go as the reference for internal/config.
 *
 * Usage: libselinux_oracle FILE...   ("-" stands for "no config file at all")
 *
 * libselinux only reads the fixed path /etc/selinux/config, so the program first moves into
 * a private mount namespace and mounts a tmpfs over /etc/selinux (over /etc if /etc/selinux
 * does not exist): the host's files are never touched. Each FILE is copied to
 * /etc/selinux/config and read by a freshly forked child, so no libselinux state carries
 * over. One output line per FILE, fields separated by one space, byte strings in hex ("-"
 * when empty):
 *   mode type binary_policy_path file_contexts_path customizable_types_path
 * where mode is enforcing|permissive|disabled|unset (selinux_getenforcemode) and type is
 * selinux_getpolicytype's result. Needs root (or CAP_SYS_ADMIN); links with -lselinux.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <selinux/selinux.h>

static void die(const char *what)
{
	fprintf(stderr, "libselinux_oracle: %s: %s\n", what, strerror(errno));
	exit(2);
}

static void hex(const char *s)
{
	putchar(' ');
	if (!s || !*s) {
		putchar('-');
		return;
	}
	for (; *s; s++)
		printf("%02x", (unsigned char)*s);
}

/* slurp reads a whole file into a malloc'd buffer. */
static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "re");
	if (!f)
		die(path);
	size_t cap = 4096, n = 0, r;
	char *buf = malloc(cap);
	if (!buf)
		die("malloc");
	while ((r = fread(buf + n, 1, cap - n, f)) > 0) {
		n += r;
		if (n == cap) {
			cap *= 2;
			buf = realloc(buf, cap);
			if (!buf)
				die("realloc");
		}
	}
	if (ferror(f))
		die(path);
	fclose(f);
	*len = n;
	return buf;
}

static void report(void)
{
	int enforce = -2;
	char *type = NULL;
	const char *mode = "unset";

	if (selinux_getenforcemode(&enforce) == 0)
		mode = enforce > 0 ? "enforcing" : enforce == 0 ? "permissive" : "disabled";
	if (selinux_getpolicytype(&type) != 0)
		type = NULL;
	fputs(mode, stdout);
	hex(type);
	hex(selinux_binary_policy_path());
	hex(selinux_file_context_path());
	hex(selinux_customizable_types_path());
	putchar('\n');
	fflush(stdout);
}

int main(int argc, char **argv)
{
	struct stat st;

	if (unshare(CLONE_NEWNS) != 0)
		die("unshare(CLONE_NEWNS)");
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
		die("mount --make-rprivate /");
	if (stat("/etc/selinux", &st) == 0) {
		if (mount("tmpfs", "/etc/selinux", "tmpfs", 0, "mode=0755") != 0)
			die("mount tmpfs on /etc/selinux");
	} else {
		if (mount("tmpfs", "/etc", "tmpfs", 0, "mode=0755") != 0)
			die("mount tmpfs on /etc");
		if (mkdir("/etc/selinux", 0755) != 0)
			die("mkdir /etc/selinux");
	}

	for (int i = 1; i < argc; i++) {
		if (unlink("/etc/selinux/config") != 0 && errno != ENOENT)
			die("unlink /etc/selinux/config");
		if (strcmp(argv[i], "-") != 0) {
			size_t len;
			char *data = slurp(argv[i], &len);
			int fd = open("/etc/selinux/config", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
			if (fd < 0)
				die("create /etc/selinux/config");
			for (size_t off = 0; off < len;) {
				ssize_t w = write(fd, data + off, len - off);
				if (w < 0)
					die("write /etc/selinux/config");
				off += (size_t)w;
			}
			close(fd);
			free(data);
		}
		pid_t pid = fork();
		if (pid < 0)
			die("fork");
		if (pid == 0) {
			report();
			_exit(0);
		}
		int status;
		if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
			fprintf(stderr, "libselinux_oracle: child for %s failed (status %d)\n", argv[i], status);
			return 2;
		}
	}
	return 0;
}
