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
pub struct OutcomeLabels {
    pub outcome: String,
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
    /// From the decision to escalate to each dial request sent (the announcement plays in between).
    pub dial_latency: Histogram,
    /// Transfer outcomes: bridged, busy, no-answer, failed, canceled, unavailable.
    pub transfers: Family<OutcomeLabels, Counter>,
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
        let mut r = Registry::with_prefix("switchboard");
        Self {
            active_calls: register(&mut r, "active_calls", "Calls with a media stream open"),
            calls: register(&mut r, "calls", "Media streams ended, by provider and reason"),
            decisions: register(&mut r, "decisions", "Decisions after utterances, by type"),
            decision_latency: register_as(
                &mut r,
                "decision_latency_seconds",
                "From the detected end of an utterance to the decision on it",
                Histogram::new([
                    0.025, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0,
                ]),
            ),
            dial_latency: register_as(
                &mut r,
                "dial_latency_seconds",
                "From the decision to escalate to the dial request (includes the announcement)",
                Histogram::new([0.5, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0, 15.0, 30.0]),
            ),
            transfers: register(&mut r, "transfers", "Transfer attempts ended, by outcome"),
            decisions_on_partials: register(
                &mut r,
                "decisions_on_partials",
                "Escalations and flags decided while the caller was still speaking",
            ),
            asr_queue_depth: register(
                &mut r,
                "asr_queue_depth",
                "Utterances waiting for or in recognition",
            ),
            partials_dropped: register(
                &mut r,
                "partials_dropped",
                "Partial transcripts skipped because recognition was busy (finals are never dropped)",
            ),
            protocol_errors: register(
                &mut r,
                "protocol_errors",
                "Streams ended by bad input, by provider and kind",
            ),
            refused: register(
                &mut r,
                "refused_requests",
                "Requests refused: bad or missing signatures or tokens, draining",
            ),
            barge_ins: register(
                &mut r,
                "barge_ins",
                "Times a caller talked over the agent and playback was cleared",
            ),
            tickets_filed: register(&mut r, "tickets_filed", "Tickets written"),
            ticket_errors: register(&mut r, "ticket_errors", "Ticket writes that failed"),
            registry: r,
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

/// Registers a fresh metric and hands back the handle the server updates (metrics are shared handles).
fn register<M: Default + Clone + prometheus_client::registry::Metric>(
    registry: &mut Registry,
    name: &str,
    help: &str,
) -> M {
    register_as(registry, name, help, M::default())
}

fn register_as<M: Clone + prometheus_client::registry::Metric>(
    registry: &mut Registry,
    name: &str,
    help: &str,
    metric: M,
) -> M {
    registry.register(name, help, metric.clone());
    metric
}
