//! Prometheus metrics: messages in and out per channel, ballots stored,
//! errors, and the time from a message arriving to its replies being ready.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

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
    pub ballots_stored: Counter,
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
        let ballots_stored = Counter::default();
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
        registry.register("ballots_stored", "Ballots stored", ballots_stored.clone());
        Self {
            registry,
            messages_in,
            messages_out,
            duplicates,
            errors,
            reply_seconds,
            ballots_stored,
        }
    }
}

impl Metrics {
    pub fn channel(channel: &str) -> ChannelLabel {
        ChannelLabel {
            channel: channel.to_string(),
        }
    }

    /// The metrics in Prometheus text format.
    pub fn render(&self) -> String {
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}
