//! What every handler and service can reach: the store, the token
//! authority, the deployment's settings, the caches and the metrics — built
//! once per process by [`AppState::new`].

pub mod facts_cache;
pub mod last_check_ins;
pub mod payload_offers;
pub mod profile_cache;
pub mod report_gate;
pub mod write_behind;

use std::{sync::Arc, time::Duration};

use scepter_domain::challenge::{self, ChallengeKey};
use scepter_storage::Store;

use self::{
    facts_cache::FactsCache, profile_cache::ProfileCache, report_gate::ReportGate, write_behind::WriteBehind,
};
use crate::{metrics::Metrics, tokens::TokenAuthority};

/// Deployment policies that shape validation.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProfilePolicy {
    /// Lab flag: accept plain-http SCEP server URLs.
    pub allow_http_scep_urls: bool,
}

/// Secrets and limits of the enrollment flow.
pub struct EnrollmentSettings {
    /// Signs challenges; separate from the admin JWT secret.
    pub challenge_key: ChallengeKey,
    /// Seconds a challenge stays valid.
    pub challenge_lifetime_secs: i64,
    /// HMAC secret of step-ca's `SCEPCHALLENGE` webhook (the base64-decoded
    /// "signing secret" step-ca printed); the webhook answers 404 without one.
    pub step_ca_challenge_secret: Option<Vec<u8>>,
    /// Same for the `NOTIFYING` webhook.
    pub step_ca_notify_secret: Option<Vec<u8>>,
}

impl EnrollmentSettings {
    pub fn new(challenge_key: ChallengeKey) -> Self {
        Self {
            challenge_key,
            challenge_lifetime_secs: challenge::DEFAULT_LIFETIME_SECONDS,
            step_ca_challenge_secret: None,
            step_ca_notify_secret: None,
        }
    }
}

/// What every handler can reach.
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub tokens: TokenAuthority,
    pub policy: ProfilePolicy,
    pub max_body_bytes: usize,
    /// Shown to device users as the payloads' organization (`PayloadOrganization`).
    pub organization: String,
    /// [`AppState::settings_fingerprint`] of `organization`, computed once
    /// for check-in's state tag.
    pub settings_fingerprint: [u8; 32],
    pub enrollment: EnrollmentSettings,
    /// Profiles by version, for check-in and verification.
    pub profiles: ProfileCache,
    /// Check-in facts by device and its generations.
    pub check_in_facts: FactsCache,
    /// Check-in times and payload offers waiting to be written (see [`write_behind`]).
    pub write_behind: Arc<WriteBehind>,
    /// How old a certificate health report may be unless a request asks for
    /// a fresher one (see [`crate::service::health`]).
    pub certificate_health_max_age: Duration,
    /// Computations of that report on request, one at a time.
    pub health_on_demand: crate::service::health::OnDemand,
    /// Turns for reports that read across the fleet (see [`report_gate`]).
    pub reports: ReportGate,
    pub metrics: Metrics,
}

impl AppState {
    pub const DEFAULT_MAX_BODY_BYTES: usize = 1024 * 1024;
    /// Payloads' `PayloadOrganization` unless the deployment names its own.
    pub const DEFAULT_ORGANIZATION: &'static str = "Scepter";
    pub const DEFAULT_CERTIFICATE_HEALTH_MAX_AGE: Duration = Duration::from_secs(60);

    /// The state of one server process: empty caches, fresh metrics, and the
    /// defaults of every setting the `with_*` methods change. The CLI and the
    /// test harness both build it here, so a new field cannot be forgotten in one.
    pub fn new(store: Arc<dyn Store>, tokens: TokenAuthority, enrollment: EnrollmentSettings) -> Self {
        Self {
            store,
            tokens,
            policy: ProfilePolicy::default(),
            max_body_bytes: Self::DEFAULT_MAX_BODY_BYTES,
            organization: Self::DEFAULT_ORGANIZATION.to_owned(),
            settings_fingerprint: Self::settings_fingerprint(Self::DEFAULT_ORGANIZATION),
            enrollment,
            profiles: ProfileCache::default(),
            check_in_facts: FactsCache::default(),
            write_behind: Arc::default(),
            certificate_health_max_age: Self::DEFAULT_CERTIFICATE_HEALTH_MAX_AGE,
            health_on_demand: Default::default(),
            reports: ReportGate::default(),
            metrics: Metrics::new(),
        }
    }

    pub fn with_policy(mut self, policy: ProfilePolicy) -> Self {
        self.policy = policy;
        self
    }

    pub fn with_max_body_bytes(mut self, max_body_bytes: usize) -> Self {
        self.max_body_bytes = max_body_bytes;
        self
    }

    /// Names the organization in payloads (and re-tags every device's check-in).
    pub fn with_organization(mut self, organization: impl Into<String>) -> Self {
        self.organization = organization.into();
        self.settings_fingerprint = Self::settings_fingerprint(&self.organization);
        self
    }

    /// Serves certificate health reports up to `max_age` old by default.
    pub fn with_certificate_health_max_age(mut self, max_age: Duration) -> Self {
        self.certificate_health_max_age = max_age;
        self
    }

    /// Lets `concurrency` fleet-wide reports run at once (at least one), for
    /// at most `share_percent` of the time.
    pub fn with_report_gate(mut self, concurrency: usize, share_percent: u32) -> Self {
        self.reports = ReportGate::new(concurrency, share_percent);
        self
    }

    /// Caches check-in facts of at most `devices` devices (0: no cache).
    pub fn with_check_in_cache(mut self, devices: usize) -> Self {
        self.check_in_facts = FactsCache::with_capacity(devices);
        self
    }

    /// A digest of the deployment settings that shape payloads (the
    /// organization name): a change re-tags every device's check-in.
    pub fn settings_fingerprint(organization: &str) -> [u8; 32] {
        use sha2::Digest as _;
        sha2::Sha256::digest(organization.as_bytes()).into()
    }
}
