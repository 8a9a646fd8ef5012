//! Login throttling: how many failed logins are allowed, per account, per client address and
//! per (account, address), before `POST /api/auth/login` answers 429 with `Retry-After`.
//! Pure bookkeeping with the time passed in (`now`); no I/O, no clock of its own.
//!
//! Each limit is a generic cell rate: `burst` failures at once, then one more every `every`.
//! Only failures count, and only attempts that were let through (a 429 is not another
//! failure, so hammering does not lengthen the wait); a success clears its (account,
//! address) pair. The numbers ([`RULES`]):
//!
//! | key | burst | then one per | for |
//! |---|---|---|---|
//! | account + address | 5 | 20 s | one client guessing one password: 180 guesses an hour |
//! | address | 20 | 10 s | one client spraying many accounts: 360 an hour |
//! | account | 50 | 5 s | many clients on one account: 720 an hour |
//!
//! An attacker on one address locks only that address out of that account (for 20 s per
//! further guess); the real user, elsewhere, logs in at once. Only a distributed attack of
//! more than 12 guesses a minute keeps an account refusing everyone, and only while it lasts.
//! Per-account limits are kept for existing accounts only; IPv6 clients count per /64.
//! At most [`MAX_KEYS`] keys are kept: expired ones are dropped first, and beyond that new
//! addresses go untracked until room frees up (existing blocks and the per-account limits
//! still hold). The state is per process: with several replicas each counts its own.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::client::subscriber;

/// One limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    /// Failures allowed at once.
    pub burst: u32,
    /// Then one more per this interval.
    pub every: Duration,
}

impl Rule {
    /// How far ahead of `now` the next allowed time may run before attempts are refused.
    fn tolerance(&self) -> Duration {
        self.every * self.burst.saturating_sub(1)
    }
}

/// The limits: (account, address), address, account.
pub const RULES: Rules = Rules {
    pair: Rule {
        burst: 5,
        every: Duration::from_secs(20),
    },
    address: Rule {
        burst: 20,
        every: Duration::from_secs(10),
    },
    account: Rule {
        burst: 50,
        every: Duration::from_secs(5),
    },
};

/// Most keys kept at once (about 100 bytes each).
pub const MAX_KEYS: usize = 100_000;

/// The three limits.
#[derive(Debug, Clone, Copy)]
pub struct Rules {
    pub pair: Rule,
    pub address: Rule,
    pub account: Rule,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    Pair(String, IpAddr),
    Address(IpAddr),
    Account(String),
}

/// The failed-login bookkeeping of one process.
#[derive(Debug)]
pub struct Throttle {
    rules: Rules,
    /// Per key, the time at which it is back to a full burst ("theoretical arrival time").
    /// A std mutex: held for a few map operations, never across an `.await`.
    state: Mutex<HashMap<Key, Instant>>,
}

impl Default for Throttle {
    fn default() -> Self {
        Throttle::new(RULES)
    }
}

impl Throttle {
    pub fn new(rules: Rules) -> Throttle {
        Throttle {
            rules,
            state: Mutex::new(HashMap::new()),
        }
    }

    fn keys(&self, account: &str, address: IpAddr) -> [(Key, Rule); 3] {
        let account = account.to_lowercase();
        let address = subscriber(address);
        [
            (Key::Pair(account.clone(), address), self.rules.pair),
            (Key::Address(address), self.rules.address),
            (Key::Account(account), self.rules.account),
        ]
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Key, Instant>> {
        // A panic while holding the lock leaves consistent data (plain map updates).
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// `Err(wait)` if a login for `account` from `address` must wait that long.
    pub fn check(&self, account: &str, address: IpAddr, now: Instant) -> Result<(), Duration> {
        let state = self.lock();
        let wait = self
            .keys(account, address)
            .iter()
            .filter_map(|(key, rule)| {
                let tat = *state.get(key)?;
                let allowed_from = tat.checked_sub(rule.tolerance())?;
                (allowed_from > now).then(|| allowed_from - now)
            })
            .max();
        match wait {
            Some(wait) => Err(wait),
            None => Ok(()),
        }
    }

    /// Records a failed login; `known_account` says whether the e-mail is a user's (only
    /// then is the account counted).
    pub fn failed(&self, account: &str, address: IpAddr, known_account: bool, now: Instant) {
        let mut state = self.lock();
        if state.len() >= MAX_KEYS {
            state.retain(|_, tat| *tat > now);
        }
        for (key, rule) in self.keys(account, address) {
            if matches!(key, Key::Account(_)) && !known_account {
                continue;
            }
            let full = state.len() >= MAX_KEYS;
            match state.get_mut(&key) {
                Some(tat) => *tat = (*tat).max(now) + rule.every,
                None if full && !matches!(key, Key::Account(_)) => {}
                None => {
                    state.insert(key, now + rule.every);
                }
            }
        }
    }

    /// A successful login forgets the (account, address) pair's failures.
    pub fn succeeded(&self, account: &str, address: IpAddr) {
        let [(pair, _), _, _] = self.keys(account, address);
        self.lock().remove(&pair);
    }

    /// Keys kept (for tests).
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// True if and only if nothing is kept.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    const S: Duration = Duration::from_secs(1);

    #[test]
    fn five_failures_then_one_per_20_s_for_one_client_on_one_account() {
        let t = Throttle::default();
        let now = Instant::now();
        let (attacker, user) = (ip("203.0.113.7"), ip("198.51.100.2"));
        for _ in 0..5 {
            assert_eq!(t.check("Admin@x", attacker, now), Ok(()));
            t.failed("admin@x", attacker, true, now);
        }
        assert_eq!(t.check("admin@x", attacker, now), Err(20 * S));
        // Refused attempts do not count; the wait does not grow.
        assert_eq!(t.check("admin@x", attacker, now + 5 * S), Err(15 * S));
        // The real user elsewhere is not affected; nor is another account.
        assert_eq!(t.check("admin@x", user, now), Ok(()));
        assert_eq!(t.check("other@x", attacker, now), Ok(()));
        // After the window, one more guess.
        assert_eq!(t.check("admin@x", attacker, now + 20 * S), Ok(()));
        t.failed("admin@x", attacker, true, now + 20 * S);
        assert_eq!(t.check("admin@x", attacker, now + 20 * S), Err(20 * S));
        // A success clears the pair (the address and account counts stay).
        t.succeeded("ADMIN@X", attacker);
        assert_eq!(t.check("admin@x", attacker, now + 20 * S), Ok(()));
    }

    #[test]
    fn spraying_from_one_address_is_limited_across_accounts() {
        let t = Throttle::default();
        let now = Instant::now();
        let a = ip("203.0.113.7");
        for i in 0..20 {
            let account = format!("user{i}@x");
            assert_eq!(t.check(&account, a, now), Ok(()));
            t.failed(&account, a, false, now);
        }
        assert_eq!(t.check("fresh@x", a, now), Err(10 * S));
        // Unknown accounts are not tracked per account.
        assert!(t.len() <= 21);
    }

    #[test]
    fn many_addresses_on_one_account_hit_the_account_limit() {
        let t = Throttle::default();
        let now = Instant::now();
        for i in 0..50u8 {
            let a = ip(&format!("192.0.2.{i}"));
            assert_eq!(t.check("admin@x", a, now), Ok(()), "{i}");
            t.failed("admin@x", a, true, now);
        }
        assert_eq!(t.check("admin@x", ip("198.51.100.9"), now), Err(5 * S));
        assert_eq!(t.check("admin@x", ip("198.51.100.9"), now + 5 * S), Ok(()));
    }

    #[test]
    fn ipv6_clients_count_per_64_and_the_table_is_bounded() {
        let t = Throttle::new(Rules {
            pair: Rule { burst: 1, every: S },
            ..RULES
        });
        let now = Instant::now();
        t.failed("a@x", ip("2001:db8::1"), false, now);
        assert!(t.check("a@x", ip("2001:db8::2"), now).is_err());
        assert!(t.check("a@x", ip("2001:db8:0:1::2"), now).is_ok());
        // Expired keys go when the table is full.
        {
            let mut state = t.lock();
            for i in 0..MAX_KEYS as u32 {
                state.insert(Key::Address(IpAddr::from(i.to_be_bytes())), now);
            }
        }
        t.failed("b@x", ip("203.0.113.1"), false, now + S);
        assert!(t.len() < 10, "{}", t.len());
    }
}
