//! What validation may ask of the host: user and group lookups, `env_file` contents. The
//! real implementation ([`System`]) is the only place config validation touches the system;
//! tests use a fake.

use std::path::Path;

use crate::accounts::{self, Credentials};

/// What validation may ask of the host: user and group lookups, `env_file` contents.
pub trait Host {
    /// Resolves a user name or numeric uid.
    fn user(&self, name: &str) -> Result<Option<Credentials>, String>;
    /// Resolves a group name or numeric gid.
    fn group(&self, name: &str) -> Result<Option<u32>, String>;
    /// Reads a file.
    fn read(&self, path: &Path) -> std::io::Result<String>;
}

/// The real host: passwd/group databases and the file system.
pub struct System;

impl Host for System {
    fn user(&self, name: &str) -> Result<Option<Credentials>, String> {
        accounts::lookup_user(name)
    }

    fn group(&self, name: &str) -> Result<Option<u32>, String> {
        accounts::lookup_group(name)
    }

    fn read(&self, path: &Path) -> std::io::Result<String> {
        std::fs::read_to_string(path)
    }
}
