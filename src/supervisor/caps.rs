//! Linux capabilities by name, for a service's `capabilities = [...]` (the bounding set it
//! keeps; empty by default). Pure table; dropping happens in `process.rs` before exec.

/// Capability names (without `CAP_`) and numbers, as in `linux/capability.h`.
const TABLE: [(&str, u32); 41] = [
    ("CHOWN", 0),
    ("DAC_OVERRIDE", 1),
    ("DAC_READ_SEARCH", 2),
    ("FOWNER", 3),
    ("FSETID", 4),
    ("KILL", 5),
    ("SETGID", 6),
    ("SETUID", 7),
    ("SETPCAP", 8),
    ("LINUX_IMMUTABLE", 9),
    ("NET_BIND_SERVICE", 10),
    ("NET_BROADCAST", 11),
    ("NET_ADMIN", 12),
    ("NET_RAW", 13),
    ("IPC_LOCK", 14),
    ("IPC_OWNER", 15),
    ("SYS_MODULE", 16),
    ("SYS_RAWIO", 17),
    ("SYS_CHROOT", 18),
    ("SYS_PTRACE", 19),
    ("SYS_PACCT", 20),
    ("SYS_ADMIN", 21),
    ("SYS_BOOT", 22),
    ("SYS_NICE", 23),
    ("SYS_RESOURCE", 24),
    ("SYS_TIME", 25),
    ("SYS_TTY_CONFIG", 26),
    ("MKNOD", 27),
    ("LEASE", 28),
    ("AUDIT_WRITE", 29),
    ("AUDIT_CONTROL", 30),
    ("SETFCAP", 31),
    ("MAC_OVERRIDE", 32),
    ("MAC_ADMIN", 33),
    ("SYSLOG", 34),
    ("WAKE_ALARM", 35),
    ("BLOCK_SUSPEND", 36),
    ("AUDIT_READ", 37),
    ("PERFMON", 38),
    ("BPF", 39),
    ("CHECKPOINT_RESTORE", 40),
];

/// Highest capability number tried when dropping the bounding set (the kernel answers
/// EINVAL past its own last one, which is ignored).
pub const LAST: u32 = 63;

/// A capability number from `CHOWN` or `CAP_CHOWN` (any case).
pub fn parse(name: &str) -> Option<u32> {
    let upper = name.trim().to_ascii_uppercase();
    let bare = upper.strip_prefix("CAP_").unwrap_or(&upper);
    TABLE.iter().find(|(n, _)| *n == bare).map(|(_, v)| *v)
}

/// The name of a capability number.
pub fn name(cap: u32) -> String {
    TABLE
        .iter()
        .find(|(_, v)| *v == cap)
        .map_or_else(|| format!("CAP_{cap}"), |(n, _)| format!("CAP_{n}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_numbers() {
        assert_eq!(parse("CHOWN"), Some(0));
        assert_eq!(parse("cap_setuid"), Some(7));
        assert_eq!(parse("CAP_CHECKPOINT_RESTORE"), Some(40));
        assert_eq!(parse("SUPERPOWER"), None);
        assert_eq!(name(8), "CAP_SETPCAP");
        for (i, (n, v)) in TABLE.iter().enumerate() {
            assert_eq!(*v as usize, i, "{n}");
        }
    }
}
