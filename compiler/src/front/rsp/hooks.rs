//! The hooks each RuntimeSecurityPolicy rule becomes, per block strategy,
//! and why those (the same text is `tpc explain rsp`).
//!
//! | rule | BPF LSM | syscall kprobes (Override) | syscall tracepoints (Sigkill) |
//! |---|---|---|---|
//! | Execution | `bprm_creds_from_file` (file, arg 1) | `sys_execve`, `sys_execveat` (filename) | `sys_enter_execve`, `sys_enter_execveat` |
//! | File read / write | `file_permission` (file; mask: MAY_READ 4, MAY_WRITE 2) | `sys_openat` (filename; flags) | `sys_enter_openat` |
//! | File create | `inode_create`, `inode_mkdir` (dentry) | `sys_openat` (O_CREAT), `sys_mkdirat` | `sys_enter_openat`, `sys_enter_mkdirat` |
//! | File delete | `inode_unlink`, `inode_rmdir` (dentry) | `sys_unlinkat` | `sys_enter_unlinkat` |
//! | File rename | `inode_rename` (old and new dentry) | `sys_renameat2` (old and new name) | `sys_enter_renameat2` |
//! | File chmod / chown | `path_chmod`, `path_chown` (path) | `sys_fchmodat`, `sys_fchownat` | `sys_enter_fchmodat`, `sys_enter_fchownat` |
//! | Network connect | `socket_connect` (sockaddr; socket for protocol) | `sys_connect` (sockaddr) | `sys_enter_connect` |
//! | Network listen | `socket_listen` (the socket: local address, port, protocol) | `sys_bind` (sockaddr) | `sys_enter_bind` |
//! | Network accept | `socket_accept` (the listening socket) | `sys_accept`, `sys_accept4` (no address yet) | `sys_enter_accept`, `sys_enter_accept4` |

/// The text `tpc explain rsp` prints.
pub const EXPLANATION: &str = "\
RuntimeSecurityPolicy (kind RuntimeSecurityPolicy, short name rsp) is a
policy a person who knows paths and ports can write. tpc lowers it into the
same IR as a TracingPolicy; `tpc convert` prints that TracingPolicy.

Block strategy, chosen per target kernel (the first one every target kernel
can run; `--rsp-strategy` overrides):
  lsm         BPF LSM hooks; Block = Override argError -1: the operation
              fails with EPERM and the process lives on. Needs CONFIG_BPF_LSM,
              BPF trampolines and `bpf` among the active LSMs.
  kprobe      kprobes on syscalls; Block = Override argError -1 through
              bpf_override_return (syscalls are error-injectable). Needs
              kprobes and CONFIG_BPF_KPROBE_OVERRIDE.
  tracepoint  syscalls/sys_enter_* tracepoints; Block = Sigkill from the
              hook: the process dies before the syscall returns. Runs on
              every kernel. Sees paths as the process passed them (relative
              paths stay relative).
Audit rules use the same hooks as the policy's Block rules and post events.

Hooks, and why:
  Execution   lsm: bprm_creds_from_file, the LSM check that sees the file
              being executed after the interpreter is resolved (Tetragon's
              draft uses its kprobe, security_bprm_creds_from_file), arg 1
              (file) matched against matchPaths: Full -> Equal,
              Prefix -> Prefix, Postfix -> Postfix; NotIn -> NotEqual,
              NotPrefix, NotPostfix. The matchPaths entries all hold (AND).
              kprobe/tracepoint: execve and execveat, their filename.
              Tetragon's draft overrides the kprobe on
              security_bprm_creds_from_file with fmod_ret, which needs the
              same BPF trampolines as BPF LSM; where those are missing, the
              error-injectable places are the syscalls.
  File        lsm: file_permission for read and write (every read(2) and
              write(2) family call, with the access mask, so it sees writes
              through descriptors opened earlier); inode_create and
              inode_mkdir for create, inode_unlink and inode_rmdir for
              delete, inode_rename (old or new name) for rename, path_chmod
              and path_chown. Paths are Equal, prefixes Prefix, one selector
              each (OR). A dentry's path is its path within its mount
              (Tetragon refuses Equal on dentries), so on the inode_* hooks
              whole paths are matched as suffixes (Postfix), and a prefix
              only matches files on the mount it names.
              kprobe/tracepoint: openat (read: every open of the path;
              write: O_WRONLY, O_RDWR or O_TRUNC; create: O_CREAT), mkdirat,
              unlinkat, renameat2, fchmodat, fchownat.
              The executableSelector becomes matchBinaries (one entry).
  Network     connect: socket_connect (lsm) or connect(2), by the
              destination in the sockaddr: cidrs -> SAddr, ports -> SPort
              (a sockaddr carries the address it names on the \"source\"
              side in Tetragon's operators). listen: socket_listen (lsm),
              by the listening socket's local address and port; on syscall
              hooks bind(2), where a server takes them (listen(2) carries
              only the descriptor). accept: socket_accept (lsm), each
              connection accepted on a listening socket, by its local
              address and port; accept(2) and accept4(2) on syscall hooks,
              where no address is known yet, so only the executable can be
              matched there. protocol needs the socket: lsm only
              (Protocol IPPROTO_TCP/IPPROTO_UDP).
The podSelector becomes the TracingPolicy's podSelector.";

/// Where and how one hook attaches, with what it reads.
#[derive(Debug)]
pub struct HookSpec {
    /// `lsmhooks`, `kprobes` or `tracepoints`.
    pub section: &'static str,
    /// The target's keys, in order (`hook`; `call` and `syscall`;
    /// `subsystem` and `event`). Values `true`/`false` are written plain.
    pub target: &'static [(&'static str, &'static str)],
    /// `args`: (index, type).
    pub args: &'static [(u32, &'static str)],
    /// The `args` indexes a rule's paths or addresses are matched on (one
    /// selector each).
    pub subjects: &'static [u32],
    /// The `args` index of the access mask or open flags, if any.
    pub flags: Option<u32>,
}

impl HookSpec {
    /// A name that identifies the hook within a policy.
    pub fn name(&self) -> &'static str {
        self.target
            .iter()
            .find(|(k, _)| matches!(*k, "hook" | "call" | "event"))
            .map_or("", |(_, v)| v)
    }

    pub fn is_tracepoint(&self) -> bool {
        self.section == "tracepoints"
    }
}

macro_rules! lsm {
    ($name:ident, $hook:literal, [$(($i:literal, $t:literal)),*], [$($s:literal),*], $flags:expr) => {
        pub static $name: HookSpec = HookSpec {
            section: "lsmhooks",
            target: &[("hook", $hook)],
            args: &[$(($i, $t)),*],
            subjects: &[$($s),*],
            flags: $flags,
        };
    };
}

macro_rules! sys {
    ($kp:ident, $tp:ident, $call:literal, $event:literal, [$(($i:literal, $t:literal)),*], [$($s:literal),*], $flags:expr) => {
        pub static $kp: HookSpec = HookSpec {
            section: "kprobes",
            target: &[("call", $call), ("syscall", "true")],
            args: &[$(($i, $t)),*],
            subjects: &[$($s),*],
            flags: $flags,
        };
        /// Tracepoint fields count the common fields and `__syscall_nr`
        /// first: the syscall's argument N is field 5 + N.
        pub static $tp: HookSpec = HookSpec {
            section: "tracepoints",
            target: &[("subsystem", "syscalls"), ("event", $event)],
            args: &[$(($i + 5, $t)),*],
            subjects: &[$($s + 5),*],
            flags: match $flags {
                Some(f) => Some(f + 5u32),
                None => None::<u32>,
            },
        };
    };
}

lsm!(LSM_EXEC, "bprm_creds_from_file", [(1, "file")], [1], None);
lsm!(
    LSM_FILE_PERMISSION,
    "file_permission",
    [(0, "file"), (1, "int")],
    [0],
    Some(1)
);
lsm!(LSM_INODE_CREATE, "inode_create", [(1, "dentry")], [1], None);
lsm!(LSM_INODE_MKDIR, "inode_mkdir", [(1, "dentry")], [1], None);
lsm!(LSM_INODE_UNLINK, "inode_unlink", [(1, "dentry")], [1], None);
lsm!(LSM_INODE_RMDIR, "inode_rmdir", [(1, "dentry")], [1], None);
lsm!(
    LSM_INODE_RENAME,
    "inode_rename",
    [(1, "dentry"), (3, "dentry")],
    [1, 3],
    None
);
lsm!(LSM_PATH_CHMOD, "path_chmod", [(0, "path")], [0], None);
lsm!(LSM_PATH_CHOWN, "path_chown", [(0, "path")], [0], None);
lsm!(
    LSM_SOCKET_CONNECT,
    "socket_connect",
    [(1, "sockaddr")],
    [1],
    None
);
lsm!(
    LSM_SOCKET_LISTEN,
    "socket_listen",
    [(0, "socket")],
    [0],
    None
);
lsm!(
    LSM_SOCKET_ACCEPT,
    "socket_accept",
    [(0, "socket")],
    [0],
    None
);

sys!(
    KP_EXECVE,
    TP_EXECVE,
    "sys_execve",
    "sys_enter_execve",
    [(0, "string")],
    [0],
    None::<u32>
);
sys!(
    KP_EXECVEAT,
    TP_EXECVEAT,
    "sys_execveat",
    "sys_enter_execveat",
    [(1, "string")],
    [1],
    None::<u32>
);
sys!(
    KP_OPENAT,
    TP_OPENAT,
    "sys_openat",
    "sys_enter_openat",
    [(1, "string"), (2, "int")],
    [1],
    Some(2u32)
);
sys!(
    KP_MKDIRAT,
    TP_MKDIRAT,
    "sys_mkdirat",
    "sys_enter_mkdirat",
    [(1, "string")],
    [1],
    None::<u32>
);
sys!(
    KP_UNLINKAT,
    TP_UNLINKAT,
    "sys_unlinkat",
    "sys_enter_unlinkat",
    [(1, "string")],
    [1],
    None::<u32>
);
sys!(
    KP_RENAMEAT2,
    TP_RENAMEAT2,
    "sys_renameat2",
    "sys_enter_renameat2",
    [(1, "string"), (3, "string")],
    [1, 3],
    None::<u32>
);
sys!(
    KP_FCHMODAT,
    TP_FCHMODAT,
    "sys_fchmodat",
    "sys_enter_fchmodat",
    [(1, "string")],
    [1],
    None::<u32>
);
sys!(
    KP_FCHOWNAT,
    TP_FCHOWNAT,
    "sys_fchownat",
    "sys_enter_fchownat",
    [(1, "string")],
    [1],
    None::<u32>
);
sys!(
    KP_CONNECT,
    TP_CONNECT,
    "sys_connect",
    "sys_enter_connect",
    [(1, "sockaddr")],
    [1],
    None::<u32>
);
sys!(
    KP_BIND,
    TP_BIND,
    "sys_bind",
    "sys_enter_bind",
    [(1, "sockaddr")],
    [1],
    None::<u32>
);
sys!(
    KP_ACCEPT,
    TP_ACCEPT,
    "sys_accept",
    "sys_enter_accept",
    [(0, "int")],
    [],
    None::<u32>
);
sys!(
    KP_ACCEPT4,
    TP_ACCEPT4,
    "sys_accept4",
    "sys_enter_accept4",
    [(0, "int")],
    [],
    None::<u32>
);

use super::strategy::Strategy;

/// `MAY_READ` and `MAY_WRITE` as `file_permission` gets them.
const MAY_READ: u32 = 4;
const MAY_WRITE: u32 = 2;
/// `O_WRONLY | O_RDWR | O_TRUNC`, and `O_CREAT` (x86-64 and arm64 values).
const OPEN_WRITE: u32 = 0o1 | 0o2 | 0o1000;
const OPEN_CREAT: u32 = 0o100;

/// The hooks of an Execution rule.
pub fn execution(strategy: Strategy) -> Vec<&'static HookSpec> {
    match strategy {
        Strategy::Lsm => vec![&LSM_EXEC],
        Strategy::KprobeOverride => vec![&KP_EXECVE, &KP_EXECVEAT],
        Strategy::TracepointSigkill => vec![&TP_EXECVE, &TP_EXECVEAT],
    }
}

/// The hooks of one File operation, each with the flag bits the operation
/// needs on it (`None`: every call on the hook is the operation).
pub fn file(strategy: Strategy, operation: &str) -> Vec<(&'static HookSpec, Option<u32>)> {
    let sys = |kp: &'static HookSpec, tp: &'static HookSpec| match strategy {
        Strategy::TracepointSigkill => tp,
        _ => kp,
    };
    match (strategy, operation) {
        (Strategy::Lsm, "read") => vec![(&LSM_FILE_PERMISSION, Some(MAY_READ))],
        (Strategy::Lsm, "write") => vec![(&LSM_FILE_PERMISSION, Some(MAY_WRITE))],
        (Strategy::Lsm, "create") => vec![(&LSM_INODE_CREATE, None), (&LSM_INODE_MKDIR, None)],
        (Strategy::Lsm, "delete") => vec![(&LSM_INODE_UNLINK, None), (&LSM_INODE_RMDIR, None)],
        (Strategy::Lsm, "rename") => vec![(&LSM_INODE_RENAME, None)],
        (Strategy::Lsm, "chmod") => vec![(&LSM_PATH_CHMOD, None)],
        (Strategy::Lsm, "chown") => vec![(&LSM_PATH_CHOWN, None)],
        (_, "read") => vec![(sys(&KP_OPENAT, &TP_OPENAT), None)],
        (_, "write") => vec![(sys(&KP_OPENAT, &TP_OPENAT), Some(OPEN_WRITE))],
        (_, "create") => vec![
            (sys(&KP_OPENAT, &TP_OPENAT), Some(OPEN_CREAT)),
            (sys(&KP_MKDIRAT, &TP_MKDIRAT), None),
        ],
        (_, "delete") => vec![(sys(&KP_UNLINKAT, &TP_UNLINKAT), None)],
        (_, "rename") => vec![(sys(&KP_RENAMEAT2, &TP_RENAMEAT2), None)],
        (_, "chmod") => vec![(sys(&KP_FCHMODAT, &TP_FCHMODAT), None)],
        (_, "chown") => vec![(sys(&KP_FCHOWNAT, &TP_FCHOWNAT), None)],
        _ => Vec::new(),
    }
}

/// The hooks of one Network operation (a hook without subjects sees no
/// address).
pub fn network(strategy: Strategy, operation: &str) -> Vec<&'static HookSpec> {
    match (strategy, operation) {
        (Strategy::Lsm, "connect") => vec![&LSM_SOCKET_CONNECT],
        (Strategy::Lsm, "listen") => vec![&LSM_SOCKET_LISTEN],
        (Strategy::Lsm, "accept") => vec![&LSM_SOCKET_ACCEPT],
        (Strategy::KprobeOverride, "connect") => vec![&KP_CONNECT],
        (Strategy::KprobeOverride, "listen") => vec![&KP_BIND],
        (Strategy::KprobeOverride, "accept") => vec![&KP_ACCEPT, &KP_ACCEPT4],
        (Strategy::TracepointSigkill, "connect") => vec![&TP_CONNECT],
        (Strategy::TracepointSigkill, "listen") => vec![&TP_BIND],
        (Strategy::TracepointSigkill, "accept") => vec![&TP_ACCEPT, &TP_ACCEPT4],
        _ => Vec::new(),
    }
}

/// The `args` entry that carries the socket on LSM socket hooks (read for
/// `protocol`).
pub const SOCKET_ARG: (u32, &str) = (0, "socket");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_lsm_hook_is_checked_by_the_strategy() {
        for spec in [
            &LSM_EXEC,
            &LSM_FILE_PERMISSION,
            &LSM_INODE_CREATE,
            &LSM_INODE_MKDIR,
            &LSM_INODE_UNLINK,
            &LSM_INODE_RMDIR,
            &LSM_INODE_RENAME,
            &LSM_PATH_CHMOD,
            &LSM_PATH_CHOWN,
            &LSM_SOCKET_CONNECT,
            &LSM_SOCKET_LISTEN,
            &LSM_SOCKET_ACCEPT,
        ] {
            assert!(
                super::super::strategy::LSM_HOOKS.contains(&spec.name()),
                "{}",
                spec.name()
            );
        }
        assert_eq!(TP_OPENAT.args, &[(6, "string"), (7, "int")]);
        assert_eq!(TP_OPENAT.flags, Some(7));
    }
}
