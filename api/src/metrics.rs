//! Prometheus metrics (the `prometheus` crate), served at `GET /metrics` in
//! the text exposition format.
//!
//! Every label value comes from a closed set, because `/metrics` keeps one
//! series per distinct label combination for the life of the process and
//! anyone can send a request: requests are labelled with the *route pattern*
//! (`/api/v1/devices/{id}`), never the concrete path, with one
//! [`UNMATCHED_ROUTE`] for paths no route serves; with the method when it is
//! one RFC 9110 defines (and `other` for the rest — any token is a valid
//! method, and 3,000 invented 4 KiB ones once made a scrape of 233 MB); and
//! with the status code.

use prometheus::{
    exponential_buckets, Encoder, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGaugeVec, Opts,
    Registry, TextEncoder,
};

/// The route label of requests no route serves.
pub const UNMATCHED_ROUTE: &str = "unmatched";

/// Every metric of one process.
pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    request_duration: HistogramVec,
    check_ins: IntCounterVec,
    /// `check_in_facts_total` by source, resolved once: counted on every check-in.
    facts_from_cache: IntCounter,
    facts_from_database: IntCounter,
    verifications: IntCounterVec,
    pool_connections: IntGaugeVec,
    check_in_connections: IntGaugeVec,
    certificate_health: CertificateHealthGauges,
}

/// The fleet certificate-health totals as gauges, set from each report the
/// background refresh (see [`crate::service::health`]) or a request
/// obtains — never computed per scrape,
/// which would run the report's aggregates at the scraper's pace. Labels are
/// bounded: eight states, three windows, the seed's diagnostic codes.
#[derive(Clone)]
pub struct CertificateHealthGauges {
    devices: IntGaugeVec,
    certificates: IntGaugeVec,
    failures: IntGaugeVec,
}

impl CertificateHealthGauges {
    fn new() -> prometheus::Result<Self> {
        Ok(Self {
            devices: IntGaugeVec::new(
                Opts::new(
                    "certificate_health_devices",
                    "Device x SCEP profile pairs by enrollment state, summed over profiles (state=targeted: all targeted)",
                ),
                &["state"],
            )?,
            certificates: IntGaugeVec::new(
                Opts::new(
                    "certificate_health_certificates",
                    "Newest unrevoked certificates per device and profile by expiry (expiring_7d, expiring_30d, expired_in_use)",
                ),
                &["window"],
            )?,
            failures: IntGaugeVec::new(
                Opts::new(
                    "certificate_health_failures",
                    "Device x SCEP profile pairs whose last enrollment step failed, by diagnostic code",
                ),
                &["diagnostic_code"],
            )?,
        })
    }

    /// Sets every gauge from `report`; codes no longer failing disappear.
    pub fn publish(&self, report: &crate::service::health::CertificateHealth) {
        let totals = &report.totals;
        let states = &totals.states;
        for (state, value) in [
            ("targeted", totals.targeted()),
            ("pending", states.pending),
            ("challengeIssued", states.challenge_issued),
            ("succeeded", states.succeeded),
            ("failed", states.failed),
            ("renewalDue", states.renewal_due),
            ("revocationPending", states.revocation_pending),
            ("revoked", states.revoked),
        ] {
            self.devices.with_label_values(&[state]).set(count(value));
        }
        for (window, value) in [
            ("expiring_7d", totals.expiry.expiring_within_7_days),
            ("expiring_30d", totals.expiry.expiring_within_30_days),
            ("expired_in_use", totals.expiry.expired_still_in_use),
        ] {
            self.certificates.with_label_values(&[window]).set(count(value));
        }
        self.failures.reset();
        for (code, value) in &report.failures_by_code {
            let label = scepter_domain::diagnostics::DiagnosticCode::from_code(*code)
                .map_or_else(|| format!("0x{code:08X}"), |code| code.hex());
            self.failures
                .with_label_values(&[label.as_str()])
                .set(count(*value));
        }
    }
}

fn count(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let registry = Registry::new_custom(Some("scepter".to_owned()), None)
            .unwrap_or_else(|error| panic!("a static metric prefix is valid: {error}"));
        let requests = IntCounterVec::new(
            Opts::new(
                "http_requests_total",
                "HTTP requests by route pattern, method and status",
            ),
            &["route", "method", "status"],
        );
        let request_duration = HistogramVec::new(
            HistogramOpts::new(
                "http_request_duration_seconds",
                "HTTP request latency by route pattern and method",
            )
            // 0.25 ms … ~4 s.
            .buckets(exponential_buckets(0.000_25, 2.0, 15).unwrap_or_default()),
            &["route", "method"],
        );
        let check_ins = IntCounterVec::new(
            Opts::new(
                "check_ins_total",
                "Device check-ins by outcome (200 with items, 304 unchanged)",
            ),
            &["outcome"],
        );
        let check_in_facts = IntCounterVec::new(
            Opts::new(
                "check_in_facts_total",
                "Where check-ins found the device's facts (cache: unchanged since cached; database: read)",
            ),
            &["source"],
        );
        let verifications = IntCounterVec::new(
            Opts::new(
                "challenge_verifications_total",
                "SCEP challenge verifications by diagnostic code and decision",
            ),
            &["diagnostic_code", "allowed"],
        );
        let pool_connections = IntGaugeVec::new(
            Opts::new(
                "db_pool_connections",
                "Database pool connections by state (idle, in_use) and the maximum (max)",
            ),
            &["state"],
        );
        let check_in_connections = IntGaugeVec::new(
            Opts::new(
                "db_check_in_connections",
                "Connections of the check-in lane beside the pool (PostgreSQL) by state (idle, in_use) and the maximum (max)",
            ),
            &["state"],
        );
        let (
            requests,
            request_duration,
            check_ins,
            check_in_facts,
            verifications,
            pool_connections,
            check_in_connections,
        ) = match (
            requests,
            request_duration,
            check_ins,
            check_in_facts,
            verifications,
            pool_connections,
            check_in_connections,
        ) {
            (Ok(a), Ok(b), Ok(c), Ok(d), Ok(e), Ok(f), Ok(g)) => (a, b, c, d, e, f, g),
            _ => panic!("static metric definitions are valid"),
        };
        let certificate_health = CertificateHealthGauges::new()
            .unwrap_or_else(|error| panic!("static metric definitions are valid: {error}"));
        for collector in [
            Box::new(requests.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(request_duration.clone()),
            Box::new(check_ins.clone()),
            Box::new(check_in_facts.clone()),
            Box::new(verifications.clone()),
            Box::new(pool_connections.clone()),
            Box::new(check_in_connections.clone()),
            Box::new(certificate_health.devices.clone()),
            Box::new(certificate_health.certificates.clone()),
            Box::new(certificate_health.failures.clone()),
        ] {
            registry
                .register(collector)
                .unwrap_or_else(|error| panic!("metric names are unique: {error}"));
        }
        Self {
            registry,
            requests,
            request_duration,
            check_ins,
            facts_from_cache: check_in_facts.with_label_values(&["cache"]),
            facts_from_database: check_in_facts.with_label_values(&["database"]),
            verifications,
            pool_connections,
            check_in_connections,
            certificate_health,
        }
    }

    /// The certificate-health gauges, for the periodic sweep to set.
    pub fn certificate_health_gauges(&self) -> CertificateHealthGauges {
        self.certificate_health.clone()
    }

    pub fn publish_certificate_health(&self, report: &crate::service::health::CertificateHealth) {
        self.certificate_health.publish(report);
    }

    /// `route`: the matched route pattern (a finite set: the application's
    /// routes), `None` for a path no route serves.
    pub fn observe_request(&self, route: Option<&str>, method: &str, status: u16, seconds: f64) {
        let route = route.unwrap_or(UNMATCHED_ROUTE);
        let method = method_label(method);
        self.requests
            .with_label_values(&[route, method, status_label(status)])
            .inc();
        self.request_duration
            .with_label_values(&[route, method])
            .observe(seconds);
    }

    /// `outcome`: `"200"` or `"304"`.
    pub fn observe_check_in(&self, outcome: &str) {
        self.check_ins.with_label_values(&[outcome]).inc();
    }

    /// Whether a check-in found the device's facts cached (`true`) or read them.
    pub fn observe_check_in_facts(&self, cached: bool) {
        if cached {
            self.facts_from_cache.inc();
        } else {
            self.facts_from_database.inc();
        }
    }

    pub fn observe_verification(&self, diagnostic_code: &str, allowed: bool) {
        self.verifications
            .with_label_values(&[diagnostic_code, if allowed { "true" } else { "false" }])
            .inc();
    }

    /// The text exposition of every metric, with the pool gauges refreshed.
    pub fn render(&self, pool: scepter_storage::PoolStatus) -> String {
        publish_connections(&self.pool_connections, pool.pool);
        publish_connections(&self.check_in_connections, pool.check_in);
        let mut buffer = Vec::new();
        if let Err(error) = TextEncoder::new().encode(&self.registry.gather(), &mut buffer) {
            tracing::warn!(%error, "encoding metrics failed");
        }
        String::from_utf8(buffer).unwrap_or_default()
    }
}

/// Sets a connection gauge's `idle`, `in_use` and `max`.
fn publish_connections(gauges: &IntGaugeVec, counts: scepter_storage::ConnectionCounts) {
    let in_use = counts.size.saturating_sub(counts.idle);
    for (state, value) in [("idle", counts.idle), ("in_use", in_use), ("max", counts.max)] {
        gauges.with_label_values(&[state]).set(i64::from(value));
    }
}

/// The methods of RFC 9110 §9.3 and PATCH (RFC 5789) as themselves; every
/// other token as `other`. Methods are case-sensitive, so `get` is `other`.
fn method_label(method: &str) -> &'static str {
    const KNOWN: [&str; 7] = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];
    KNOWN
        .into_iter()
        .find(|known| *known == method)
        .unwrap_or("other")
}

/// Status codes as static labels (no allocation per request).
fn status_label(status: u16) -> &'static str {
    const KNOWN: [(u16, &str); 17] = [
        (200, "200"),
        (201, "201"),
        (204, "204"),
        (304, "304"),
        (400, "400"),
        (401, "401"),
        (403, "403"),
        (404, "404"),
        (405, "405"),
        (409, "409"),
        (412, "412"),
        (413, "413"),
        (415, "415"),
        (422, "422"),
        (428, "428"),
        (500, "500"),
        (503, "503"),
    ];
    if let Some((_, label)) = KNOWN.iter().find(|(code, _)| *code == status) {
        return label;
    }
    match status / 100 {
        1 => "1xx",
        2 => "2xx",
        3 => "3xx",
        4 => "4xx",
        _ => "5xx",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_requests_check_ins_verifications_and_pool_use() {
        let metrics = Metrics::new();
        metrics.observe_request(Some("/api/v1/devices/{id}"), "GET", 200, 0.002);
        metrics.observe_request(Some("/api/v1/devices/{id}"), "GET", 200, 0.003);
        metrics.observe_check_in("304");
        metrics.observe_verification("0x00000411", false);
        let text = metrics.render(scepter_storage::PoolStatus {
            pool: scepter_storage::ConnectionCounts {
                size: 5,
                idle: 3,
                max: 16,
            },
            check_in: scepter_storage::ConnectionCounts {
                size: 4,
                idle: 1,
                max: 16,
            },
        });
        assert!(
            text.contains(
                r#"scepter_http_requests_total{method="GET",route="/api/v1/devices/{id}",status="200"} 2"#
            ),
            "{text}"
        );
        assert!(text.contains(
            r#"scepter_http_request_duration_seconds_count{method="GET",route="/api/v1/devices/{id}"} 2"#
        ));
        assert!(text.contains(r#"scepter_check_ins_total{outcome="304"} 1"#));
        assert!(text.contains(
            r#"scepter_challenge_verifications_total{allowed="false",diagnostic_code="0x00000411"} 1"#
        ));
        assert!(text.contains(r#"scepter_db_pool_connections{state="in_use"} 2"#));
        assert!(text.contains(r#"scepter_db_pool_connections{state="max"} 16"#));
        assert!(text.contains(r#"scepter_db_check_in_connections{state="in_use"} 3"#));
        assert!(text.contains(r#"scepter_db_check_in_connections{state="idle"} 1"#));
    }

    #[test]
    fn invented_methods_and_unmatched_paths_share_one_label_each() {
        let metrics = Metrics::new();
        for n in 0..100 {
            metrics.observe_request(None, &format!("X-INVENTED-{n}"), 404, 0.001);
        }
        metrics.observe_request(None, "get", 404, 0.001);
        let text = metrics.render(scepter_storage::PoolStatus::default());
        assert!(
            text.contains(
                r#"scepter_http_requests_total{method="other",route="unmatched",status="404"} 101"#
            ),
            "{text}"
        );
        assert!(!text.contains("INVENTED"), "{text}");
        assert_eq!(method_label("OPTIONS"), "OPTIONS");
    }

    #[test]
    fn unusual_statuses_share_a_class_label() {
        assert_eq!(status_label(418), "4xx");
        assert_eq!(status_label(502), "5xx");
        assert_eq!(status_label(206), "2xx");
    }
}
