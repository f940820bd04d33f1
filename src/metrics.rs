//! Prometheus metrics: messages in and out per channel, ballots stored,
//! errors, and the time from a message arriving to its replies being ready.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use tokio::sync::watch;

/// The label every per-channel metric carries.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ChannelLabel {
    pub channel: String,
}

/// The service's metrics and their registry.
pub struct Metrics {
    registry: Registry,
    pub messages_in: Family<ChannelLabel, Counter>,
    pub messages_out: Family<ChannelLabel, Counter>,
    pub duplicates: Family<ChannelLabel, Counter>,
    pub errors: Family<ChannelLabel, Counter>,
    pub reply_seconds: Family<ChannelLabel, Histogram>,
    /// Platform updates whose handling has ended: replies sent, or failed.
    pub updates_done: Family<ChannelLabel, Counter>,
    /// Ballots the mixer appended to the chain (a batch at a time, so the
    /// counter dates no single ballot).
    pub ballots_mixed: Counter,
    /// Replies in a sender's hands, not yet delivered.
    pub replies_pending: Family<ChannelLabel, Gauge>,
    /// Acknowledged events not yet handled (the Zalo inbox).
    pub events_pending: Family<ChannelLabel, Gauge>,
    /// Platform updates done, all channels: what waiting on them watches.
    done: watch::Sender<u64>,
    /// Replies and inbox events pending, all channels.
    pending: watch::Sender<i64>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

/// Counts one platform update as done when dropped, on every path out of
/// its handler (see [`Metrics::update_in_hand`]).
pub struct UpdateInHand {
    counter: Counter,
    done: watch::Sender<u64>,
}

impl Drop for UpdateInHand {
    fn drop(&mut self) {
        self.counter.inc();
        self.done.send_modify(|n| *n += 1);
    }
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("khaosat");
        let messages_in = Family::<ChannelLabel, Counter>::default();
        let messages_out = Family::<ChannelLabel, Counter>::default();
        let duplicates = Family::<ChannelLabel, Counter>::default();
        let errors = Family::<ChannelLabel, Counter>::default();
        // 0.1 ms … 3.3 s
        let reply_seconds = Family::<ChannelLabel, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.0001, 2.0, 16))
        });
        let updates_done = Family::<ChannelLabel, Counter>::default();
        let ballots_mixed = Counter::default();
        let replies_pending = Family::<ChannelLabel, Gauge>::default();
        registry.register(
            "replies_pending",
            "Replies in the outbox being sent, not yet delivered",
            replies_pending.clone(),
        );
        let events_pending = Family::<ChannelLabel, Gauge>::default();
        registry.register(
            "events_pending",
            "Events acknowledged to the platform, in the inbox, not yet handled",
            events_pending.clone(),
        );
        registry.register(
            "messages_in",
            "Messages received from respondents",
            messages_in.clone(),
        );
        registry.register(
            "messages_out",
            "Replies sent to respondents",
            messages_out.clone(),
        );
        registry.register(
            "duplicate_messages",
            "Redelivered messages recognised and ignored",
            duplicates.clone(),
        );
        registry.register("errors", "Messages whose handling failed", errors.clone());
        registry.register(
            "reply_seconds",
            "Time from a message arriving to its replies being durable",
            reply_seconds.clone(),
        );
        registry.register(
            "updates_done",
            "Platform updates fully handled (replies sent, or failed)",
            updates_done.clone(),
        );
        registry.register(
            "ballots_mixed",
            "Ballots the mixer appended to the chain, a batch at a time",
            ballots_mixed.clone(),
        );
        Self {
            registry,
            messages_in,
            messages_out,
            duplicates,
            errors,
            reply_seconds,
            updates_done,
            ballots_mixed,
            replies_pending,
            events_pending,
            done: watch::channel(0).0,
            pending: watch::channel(0).0,
        }
    }
}

impl Metrics {
    pub fn channel(channel: &str) -> ChannelLabel {
        ChannelLabel {
            channel: channel.to_string(),
        }
    }

    /// A platform update taken in hand; it counts as done when the returned
    /// guard is dropped.
    pub fn update_in_hand(&self, channel: &str) -> UpdateInHand {
        UpdateInHand {
            counter: self
                .updates_done
                .get_or_create(&Self::channel(channel))
                .clone(),
            done: self.done.clone(),
        }
    }

    /// Waits until `n` platform updates (all channels together) are done.
    pub async fn wait_updates_done(&self, n: u64) {
        let mut done = self.done.subscribe();
        let _ = done.wait_for(|d| *d >= n).await;
    }

    /// A reply handed to a channel's sender.
    pub fn reply_queued(&self, channel: &str) {
        self.replies_pending
            .get_or_create(&Self::channel(channel))
            .inc();
        self.pending.send_modify(|n| *n += 1);
    }

    /// A reply delivered (or given up for now).
    pub fn reply_settled(&self, channel: &str) {
        self.replies_pending
            .get_or_create(&Self::channel(channel))
            .dec();
        self.pending.send_modify(|n| *n -= 1);
    }

    /// An acknowledged event waiting in the inbox to be handled.
    pub fn event_queued(&self, channel: &str) {
        self.events_pending
            .get_or_create(&Self::channel(channel))
            .inc();
        self.pending.send_modify(|n| *n += 1);
    }

    /// An event handled (or left for later).
    pub fn event_settled(&self, channel: &str) {
        self.events_pending
            .get_or_create(&Self::channel(channel))
            .dec();
        self.pending.send_modify(|n| *n -= 1);
    }

    /// Waits until no sender has a reply in hand and no inbox an event.
    pub async fn wait_replies_settled(&self) {
        let mut pending = self.pending.subscribe();
        let _ = pending.wait_for(|n| *n <= 0).await;
    }

    /// Platform updates of a channel fully handled so far.
    pub fn updates_done(&self, channel: &str) -> u64 {
        self.updates_done
            .get_or_create(&Self::channel(channel))
            .get()
    }

    /// The metrics in Prometheus text format.
    pub fn render(&self) -> String {
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}
