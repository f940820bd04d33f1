//! Guessing budgets: how many wrong tokens may be tried per client address,
//! and per channel as a whole, before further tries are refused for a
//! while (per respondent the count is kept in the database, see
//! `admission.rs`). Counted in memory, per instance, with `governor`: a
//! wrong try takes a cell of the budget; once a budget is empty its key is
//! refused until the budget has a cell again. A right token costs nothing.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::time::{Duration, Instant};

use dashmap::DashMap;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

/// Wrong tokens per client address per hour.
pub const PER_ADDRESS_PER_HOUR: u32 = 20;
/// Wrong tokens per channel per hour, all its users together.
pub const PER_CHANNEL_PER_HOUR: u32 = 300;

/// What a budget is kept for.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    Address(IpAddr),
    Channel(String),
}

/// The budgets of one instance.
pub struct Budgets {
    addresses: DefaultKeyedRateLimiter<Key>,
    channels: DefaultKeyedRateLimiter<Key>,
    /// Keys whose budget ran out, until when.
    refused: DashMap<Key, Instant>,
    clock: DefaultClock,
}

impl Default for Budgets {
    fn default() -> Self {
        Self {
            addresses: RateLimiter::keyed(hourly(PER_ADDRESS_PER_HOUR)),
            channels: RateLimiter::keyed(hourly(PER_CHANNEL_PER_HOUR)),
            refused: DashMap::new(),
            clock: DefaultClock::default(),
        }
    }
}

/// `n` wrong tries, refilled evenly over an hour. The limiter says no
/// to the charge that empties the budget, so it holds `n - 1` cells: the
/// `n`-th wrong try is the last one looked at.
fn hourly(n: u32) -> Quota {
    let cells = NonZeroU32::new(n.saturating_sub(1).max(1)).expect("at least 1");
    Quota::with_period(Duration::from_secs(3600) / n.max(1))
        .expect("a positive period")
        .allow_burst(cells)
}

impl Budgets {
    /// Whether a try from here may be looked at: neither the channel's nor
    /// the address's budget has run out.
    pub fn allows(&self, channel: &str, address: Option<IpAddr>) -> bool {
        let now = Instant::now();
        let open = |key: &Key| self.refused.get(key).is_none_or(|until| *until <= now);
        open(&Key::Channel(channel.to_string())) && address.is_none_or(|a| open(&Key::Address(a)))
    }

    /// Charges one wrong try; a budget it empties refuses until it refills.
    pub fn charge(&self, channel: &str, address: Option<IpAddr>) {
        let charge = |limiter: &DefaultKeyedRateLimiter<Key>, key: Key| {
            if let Err(not_until) = limiter.check_key(&key) {
                let wait = not_until.wait_time_from(self.clock.now());
                self.refused.insert(key, Instant::now() + wait);
            }
        };
        charge(&self.channels, Key::Channel(channel.to_string()));
        if let Some(a) = address {
            charge(&self.addresses, Key::Address(a));
        }
    }

    /// Forgets what has refilled (bounded memory).
    pub fn tidy(&self) {
        let now = Instant::now();
        self.refused.retain(|_, until| *until > now);
        self.addresses.retain_recent();
        self.channels.retain_recent();
    }
}
