package detect

// SelinuxNSEnv is the environment variable a runtime sets when it gave the container its
// own SELinux namespace (systemd-nspawn --selinux-namespace sets SELINUXNS=1).
const SelinuxNSEnv = "SELINUXNS"
