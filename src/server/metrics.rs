//! What operators watch, in the Prometheus text format at `/metrics`.

use prometheus_client::encoding::text::encode;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DecisionLabels {
    pub decision: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ProtocolLabels {
    pub provider: String,
    pub kind: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct EndLabels {
    pub provider: String,
    pub reason: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RefusalLabels {
    pub route: String,
    pub reason: String,
}

/// Every metric of the server.
pub struct Metrics {
    registry: Registry,
    pub active_calls: Gauge,
    pub calls: Family<EndLabels, Counter>,
    pub decisions: Family<DecisionLabels, Counter>,
    /// Seconds from the detected end of an utterance to the decision on it.
    pub decision_latency: Histogram,
    pub decisions_on_partials: Counter,
    pub asr_queue_depth: Gauge,
    pub partials_dropped: Counter,
    pub protocol_errors: Family<ProtocolLabels, Counter>,
    pub refused: Family<RefusalLabels, Counter>,
    pub barge_ins: Counter,
    pub tickets_filed: Counter,
    pub ticket_errors: Counter,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("switchboard");
        let active_calls = Gauge::default();
        registry.register(
            "active_calls",
            "Calls with a media stream open",
            active_calls.clone(),
        );
        let calls = Family::<EndLabels, Counter>::default();
        registry.register(
            "calls",
            "Media streams ended, by provider and reason",
            calls.clone(),
        );
        let decisions = Family::<DecisionLabels, Counter>::default();
        registry.register(
            "decisions",
            "Decisions after utterances, by type",
            decisions.clone(),
        );
        let decision_latency = Histogram::new([
            0.025, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0,
        ]);
        registry.register(
            "decision_latency_seconds",
            "From the detected end of an utterance to the decision on it",
            decision_latency.clone(),
        );
        let decisions_on_partials = Counter::default();
        registry.register(
            "decisions_on_partials",
            "Escalations and flags decided while the caller was still speaking",
            decisions_on_partials.clone(),
        );
        let asr_queue_depth = Gauge::default();
        registry.register(
            "asr_queue_depth",
            "Utterances waiting for or in recognition",
            asr_queue_depth.clone(),
        );
        let partials_dropped = Counter::default();
        registry.register(
            "partials_dropped",
            "Partial transcripts skipped because recognition was busy (finals are never dropped)",
            partials_dropped.clone(),
        );
        let protocol_errors = Family::<ProtocolLabels, Counter>::default();
        registry.register(
            "protocol_errors",
            "Streams ended by bad input, by provider and kind",
            protocol_errors.clone(),
        );
        let refused = Family::<RefusalLabels, Counter>::default();
        registry.register(
            "refused_requests",
            "Requests refused: bad or missing signatures or tokens, draining",
            refused.clone(),
        );
        let barge_ins = Counter::default();
        registry.register(
            "barge_ins",
            "Times a caller talked over the agent and playback was cleared",
            barge_ins.clone(),
        );
        let tickets_filed = Counter::default();
        registry.register("tickets_filed", "Tickets written", tickets_filed.clone());
        let ticket_errors = Counter::default();
        registry.register(
            "ticket_errors",
            "Ticket writes that failed",
            ticket_errors.clone(),
        );
        Self {
            registry,
            active_calls,
            calls,
            decisions,
            decision_latency,
            decisions_on_partials,
            asr_queue_depth,
            partials_dropped,
            protocol_errors,
            refused,
            barge_ins,
            tickets_filed,
            ticket_errors,
        }
    }

    pub fn refuse(&self, route: &str, reason: &str) {
        self.refused
            .get_or_create(&RefusalLabels {
                route: route.to_string(),
                reason: reason.to_string(),
            })
            .inc();
    }

    /// The exposition text.
    pub fn render(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = encode(&mut out, &self.registry);
        out
    }
}
