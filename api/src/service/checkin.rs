//! Device check-in: a device reports what it has and gets, per profile, what
//! to do — with rendered payloads and fresh challenges where it must enroll.
//!
//! One pass, in this order: the device's facts (cached at its state
//! generation), the SCEP profiles that reach it (read once, cached by
//! version), the decisions (`scepter_domain::checkin`), the state tag — and
//! only when the device does not already hold that tag, the trusted profiles
//! and the payloads. Last, what changed is
//! recorded: `challengeIssued` for profiles offered anew, and a stale
//! `lastCheckInDateTime` (written behind, in batches).
//!
//! An answer without payloads is remembered beside the facts with the
//! report's digest ([`crate::state::facts_cache`]): a device that sends the
//! same report again, holding that answer's tag, gets 304 from
//! [`answer_unchanged`] before its report is parsed. An idle device
//! therefore costs the credential lookup and nothing else.

use std::{
    collections::{HashMap, HashSet},
    sync::Arc,
};

use chrono::{DateTime, Duration, Utc};
use scepter_domain::{
    checkin::{
        self, Action, CheckInReport, Decision, ItemReason, ItemState, LedgerCertificate, ProfileForDevice,
        TagInputs,
    },
    enrollment::MAX_DETAIL_CHARS,
    payload::{self, Challenge, PayloadError},
    subject_name::ExpansionError,
    targeting::{effective_profiles, EffectiveProfile, Explain, ProfileKind},
    text::bounded,
    Record, ScepCertificateProfile, TrustedCertificateProfile,
};
use scepter_storage::{CheckInFacts, EnrollmentStep, FactsGenerations, PayloadOffer};
use serde::Serialize;
use sha2::{Digest, Sha256};
use utoipa::ToSchema;
use uuid::Uuid;

use super::name_context;
use crate::{
    error::ApiError,
    state::{facts_cache::UnchangedAnswer, AppState},
};

/// How stale `lastCheckInDateTime` may get before an unchanged (304)
/// check-in writes it: idle check-ins then cost no write most of the time.
const LAST_CHECK_IN_RESOLUTION: Duration = Duration::seconds(60);

/// The device checking in, as its credential proved it.
#[derive(Debug, Clone, Copy)]
pub struct CheckingDevice {
    pub device_id: Uuid,
    /// The generations read with the credential: the facts cache's key.
    pub generations: FactsGenerations,
}

/// What the device must do with one profile.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CheckInItem {
    pub profile_id: Uuid,
    /// Absent only for `remove` of a profile that no longer exists.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub profile_type: Option<ProfileKind>,
    /// The profile's current version (for `remove` of a deleted profile, the reported one).
    pub version: i64,
    pub action: Action,
    /// The payload's media type; present with `payload`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    /// The rendered payload for the device's platform (`install` and `renew`);
    /// SCEP payloads carry a fresh one-time challenge.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payload: Option<String>,
    pub state: ItemState,
    pub reason: ItemReason,
    /// For a `failed` item: which value or rule stopped the payload, for admins.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CheckInResponse {
    pub items: Vec<CheckInItem>,
}

/// The answer to one check-in.
#[derive(Debug)]
pub enum CheckInAnswer {
    /// The device already holds `tag`: nothing to send.
    Unchanged {
        tag: String,
    },
    Changed {
        tag: String,
        response: CheckInResponse,
    },
}

/// The digest of a check-in report's bytes, as the device sent them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReportDigest([u8; 32]);

impl ReportDigest {
    pub fn of(body: &[u8]) -> Self {
        Self(Sha256::digest(body).into())
    }
}

/// The 304 for a device that sends the report it sent before and holds the
/// tag answered to it, when nothing that answer depends on has changed
/// since; `None` when the report must be parsed and decided
/// ([`check_in`]).
pub async fn answer_unchanged(
    state: &AppState,
    device: CheckingDevice,
    report: ReportDigest,
    holds_tag: impl Fn(&str) -> bool,
    now: DateTime<Utc>,
) -> Result<Option<CheckInAnswer>, ApiError> {
    let Some((facts, tag)) =
        state
            .check_in_facts
            .unchanged_answer(device.device_id, device.generations, &report.0, now)
    else {
        return Ok(None);
    };
    if !holds_tag(&tag) {
        return Ok(None);
    }
    state.metrics.observe_check_in_facts(true);
    if stale_check_in_time(&facts, now) {
        note_check_in_time(state, device, &facts);
    }
    state.metrics.observe_check_in("304");
    Ok(Some(CheckInAnswer::Unchanged { tag }))
}

/// Checks `device` in with the report of `digest`. `holds_tag` tells
/// whether the device sent a tag back (`If-None-Match`) that matches the
/// current one.
pub async fn check_in(
    state: &AppState,
    device: CheckingDevice,
    report: &CheckInReport,
    digest: ReportDigest,
    holds_tag: impl Fn(&str) -> bool,
    now: DateTime<Utc>,
) -> Result<CheckInAnswer, ApiError> {
    let facts = facts_of(state, device).await?;
    let effective = effective_profiles(&facts.subject.memberships, &facts.subject.profiles, Explain::No);
    let mut profiles = LoadedProfiles::load(state, &effective, &facts).await?;
    let for_device = profiles.for_device(effective, &facts);
    let ledger = ledger(&facts);
    let decisions = checkin::decide(
        &for_device,
        &facts
            .subject
            .profiles
            .iter()
            .map(|profile| (profile.profile_id, profile.kind))
            .collect(),
        report,
        &ledger,
        now,
    );
    let tag = checkin::state_tag(
        &TagInputs {
            device_id: device.device_id,
            device_version: facts.subject.device.version,
            user_version: facts.subject.user.as_ref().map(|user| user.version),
            settings_fingerprint: state.settings_fingerprint,
            now: now.timestamp(),
            challenge_lifetime: state.enrollment.challenge_lifetime_secs,
        },
        &decisions,
    );
    let touch = stale_check_in_time(&facts, now);
    // Without payloads the tag covers no time bucket: the answer changes
    // only with the facts, the report, or a certificate's renewal or expiry,
    // so it can be remembered (unless this check-in wrote to the device).
    let remembered =
        (!decisions.iter().any(|decision| decision.action.has_payload())).then(|| UnchangedAnswer {
            report_digest: digest.0,
            tag: tag.clone(),
            until: checkin::decided_until(&for_device, report, &ledger, now),
        });

    if holds_tag(&tag) {
        let wrote = record(state, device, &facts, report, touch, &[]).await?;
        remember(state, device, remembered, wrote);
        state.metrics.observe_check_in("304");
        return Ok(CheckInAnswer::Unchanged { tag });
    }
    profiles.load_trusted(state, &facts, &decisions).await?;
    let items: Vec<CheckInItem> = decisions
        .into_iter()
        .map(|decision| profiles.item(state, &facts, decision, now))
        .collect();
    let challenge_expires_at = now + Duration::seconds(state.enrollment.challenge_lifetime_secs);
    let offered: Vec<PayloadOffer> = items
        .iter()
        .filter(|item| item.payload.is_some() && item.profile_type == Some(ProfileKind::ScepCertificate))
        .map(|item| PayloadOffer {
            device_id: device.device_id,
            profile_id: item.profile_id,
            profile_version: item.version,
            scep_server_urls: profiles
                .scep
                .get(&item.profile_id)
                .map_or_else(Vec::new, |profile| {
                    profile
                        .content
                        .settings
                        .scep_server_urls
                        .iter()
                        .map(|url| url.as_str().to_owned())
                        .collect()
                }),
            challenge_expires_at,
            offered_at: now,
        })
        .collect();
    let wrote = record(state, device, &facts, report, touch, &offered).await?;
    remember(state, device, remembered, wrote);
    state.metrics.observe_check_in("200");
    Ok(CheckInAnswer::Changed {
        tag,
        response: CheckInResponse { items },
    })
}

/// Keeps `answer` for [`answer_unchanged`], unless the check-in that made
/// it wrote to the device (its generation moved: the answer could not be
/// found again anyway).
fn remember(state: &AppState, device: CheckingDevice, answer: Option<UnchangedAnswer>, wrote: bool) {
    if let Some(answer) = answer.filter(|_| !wrote) {
        state
            .check_in_facts
            .remember_answer(device.device_id, device.generations, answer);
    }
}

/// Whether the device's `lastCheckInDateTime` is older than its resolution.
fn stale_check_in_time(facts: &CheckInFacts, now: DateTime<Utc>) -> bool {
    facts
        .subject
        .device
        .content
        .last_check_in_at
        .is_none_or(|last| now - last >= LAST_CHECK_IN_RESOLUTION)
}

/// Notes the check-in time for the write-behind flush
/// ([`crate::state::write_behind`]) and patches it into the cached facts,
/// so the next minute of check-ins does not note it again.
fn note_check_in_time(state: &AppState, device: CheckingDevice, facts: &CheckInFacts) {
    let at = scepter_storage::now();
    state.write_behind.last_check_ins.note(device.device_id, at);
    let mut updated = facts.clone();
    updated.subject.device.content.last_check_in_at = Some(at);
    state
        .check_in_facts
        .put(device.device_id, device.generations, Arc::new(updated));
}

/// The device's facts: cached at the caller's generations, or read.
async fn facts_of(state: &AppState, device: CheckingDevice) -> Result<Arc<CheckInFacts>, ApiError> {
    if let Some(facts) = state.check_in_facts.get(device.device_id, device.generations) {
        state.metrics.observe_check_in_facts(true);
        return Ok(facts);
    }
    state.metrics.observe_check_in_facts(false);
    let facts = Arc::new(
        state
            .store
            .check_in_facts(device.device_id)
            .await?
            .ok_or(ApiError::NotFound)?,
    );
    state
        .check_in_facts
        .put(device.device_id, device.generations, Arc::clone(&facts));
    Ok(facts)
}

/// The profiles a check-in needs, each read once at the version the facts name.
struct LoadedProfiles {
    scep: HashMap<Uuid, Arc<Record<ScepCertificateProfile>>>,
    trusted: HashMap<Uuid, Arc<Record<TrustedCertificateProfile>>>,
}

impl LoadedProfiles {
    /// The SCEP profiles among `effective`: decisions need their renewal
    /// thresholds. Trusted profiles wait until a payload is due
    /// ([`Self::load_trusted`]), so an unchanged (304) check-in skips them.
    async fn load(
        state: &AppState,
        effective: &[EffectiveProfile],
        facts: &CheckInFacts,
    ) -> Result<Self, ApiError> {
        let mut loaded = Self {
            scep: HashMap::new(),
            trusted: HashMap::new(),
        };
        for profile in effective
            .iter()
            .filter(|profile| profile.kind == ProfileKind::ScepCertificate)
        {
            let version = version_of(facts, profile.kind, profile.profile_id);
            // Profiles deleted since the facts were read are simply absent.
            if let Some(record) = state
                .profiles
                .scep(state.store.as_ref(), profile.profile_id, version)
                .await?
            {
                loaded.scep.insert(record.id, record);
            }
        }
        Ok(loaded)
    }

    /// The trusted profiles the payloads of `decisions` need: their own, and
    /// the roots of SCEP payloads.
    async fn load_trusted(
        &mut self,
        state: &AppState,
        facts: &CheckInFacts,
        decisions: &[Decision],
    ) -> Result<(), ApiError> {
        let wanted: HashSet<Uuid> = decisions
            .iter()
            .filter(|decision| decision.action.has_payload())
            .filter_map(|decision| match decision.kind? {
                ProfileKind::TrustedCertificate => Some(decision.profile_id),
                ProfileKind::ScepCertificate => self
                    .scep
                    .get(&decision.profile_id)
                    .map(|profile| profile.content.root_certificate_id),
            })
            .collect();
        for id in wanted {
            let version = version_of(facts, ProfileKind::TrustedCertificate, id);
            if let Some(record) = state.profiles.trusted(state.store.as_ref(), id, version).await? {
                self.trusted.insert(record.id, record);
            }
        }
        Ok(())
    }

    /// The effective profiles with their versions and renewal thresholds.
    fn for_device(&self, effective: Vec<EffectiveProfile>, facts: &CheckInFacts) -> Vec<ProfileForDevice> {
        effective
            .into_iter()
            .map(|effective| ProfileForDevice {
                version: version_of(facts, effective.kind, effective.profile_id),
                renewal_threshold_percent: match effective.kind {
                    ProfileKind::TrustedCertificate => None,
                    ProfileKind::ScepCertificate => self
                        .scep
                        .get(&effective.profile_id)
                        .map(|profile| profile.content.settings.renewal_threshold_percentage.percent()),
                },
                effective,
            })
            .collect()
    }

    /// The item for one decision, with its payload when the decision has one.
    fn item(
        &self,
        state: &AppState,
        facts: &CheckInFacts,
        decision: Decision,
        now: DateTime<Utc>,
    ) -> CheckInItem {
        let mut item = CheckInItem {
            profile_id: decision.profile_id,
            profile_type: decision.kind,
            version: decision.version,
            action: decision.action,
            content_type: None,
            payload: None,
            state: decision.state,
            reason: decision.reason,
            detail: None,
        };
        if !decision.action.has_payload() {
            return item;
        }
        let rendered = match decision.kind {
            Some(ProfileKind::TrustedCertificate) => {
                let Some(profile) = self.trusted.get(&decision.profile_id) else {
                    return unavailable(item);
                };
                state
                    .profiles
                    .trusted_payload(profile, facts.subject.device.id, &state.organization)
                    .map_err(PayloadError::from)
            }
            Some(ProfileKind::ScepCertificate) => {
                let Some(profile) = self.scep.get(&decision.profile_id) else {
                    return unavailable(item);
                };
                let Some(root) = self.trusted.get(&profile.content.root_certificate_id) else {
                    return unavailable(item);
                };
                item.version = profile.version;
                payload::scep_payload_with(
                    profile,
                    root,
                    &name_context(&facts.subject),
                    &state.organization,
                    Challenge::Issue {
                        key: &state.enrollment.challenge_key,
                        id: Uuid::new_v4(),
                        issued_at: now.timestamp(),
                        lifetime_secs: state.enrollment.challenge_lifetime_secs,
                    },
                    |input| state.profiles.render_scep(input),
                )
            }
            None => return item,
        };
        // One value that cannot be rendered fails this item only: the device
        // still gets every other profile, its roots and its removals.
        let rendered = match rendered {
            Ok(rendered) => rendered,
            Err(error) => {
                tracing::info!(device_id = %facts.subject.device.id, profile_id = %item.profile_id, %error,
                    "cannot make a payload");
                let reason = match error {
                    PayloadError::Name(ExpansionError::MissingValues(_)) => {
                        ItemReason::SubjectNameUnavailable
                    }
                    _ => ItemReason::PayloadUnrenderable,
                };
                return failed(item, reason, &error);
            }
        };
        match String::from_utf8(rendered.body) {
            Ok(payload) => {
                item.content_type = Some(rendered.content_type.to_owned());
                item.payload = Some(payload);
                item
            }
            Err(_) => failed(item, ItemReason::PayloadUnrenderable, &"the payload is not UTF-8"),
        }
    }
}

/// The version of a profile the facts name (0 for one they do not name).
fn version_of(facts: &CheckInFacts, kind: ProfileKind, profile_id: Uuid) -> i64 {
    facts
        .subject
        .profiles
        .iter()
        .find(|profile| profile.kind == kind && profile.profile_id == profile_id)
        .map_or(0, |profile| profile.version)
}

/// The ledger's view of the device's certificates, for renewal decisions.
fn ledger(facts: &CheckInFacts) -> Vec<LedgerCertificate> {
    facts
        .certificates
        .iter()
        .map(|certificate| LedgerCertificate {
            profile_id: certificate.profile_id,
            thumbprint_sha1: certificate.thumbprint_sha1.clone(),
            not_before: certificate.not_before,
            not_after: certificate.not_after,
            revoke_status: certificate.revoke_status,
        })
        .collect()
}

/// Records what changed: each SCEP payload handed out (for the enrollment
/// timeline, noted for the write-behind flush: [`crate::state::payload_offers`]),
/// `challengeIssued` for
/// offered profiles not yet in that state (a write, which moves the device's
/// generation, so the next check-in reads fresh facts), the first report of
/// a ledger certificate (once per certificate: the cached facts say whether
/// it was reported before), and a stale `lastCheckInDateTime`
/// ([`note_check_in_time`]). An unchanged device writes nothing on the
/// request path. Returns whether it wrote to the device (which moves its
/// facts generation).
async fn record(
    state: &AppState,
    device: CheckingDevice,
    facts: &CheckInFacts,
    report: &CheckInReport,
    touch: bool,
    offered: &[PayloadOffer],
) -> Result<bool, ApiError> {
    let new_steps: Vec<(Uuid, i64)> = offered
        .iter()
        .map(|offer| (offer.profile_id, offer.profile_version))
        .filter(|(profile_id, version)| {
            !facts.steps.iter().any(|step| {
                step.profile_id == *profile_id
                    && step.profile_version == *version
                    && step.step == EnrollmentStep::ChallengeIssued
            })
        })
        .collect();
    let at = scepter_storage::now();
    state.write_behind.payload_offers.note(offered);
    if !new_steps.is_empty() {
        state
            .store
            .record_challenges_offered(device.device_id, at, &new_steps)
            .await?;
    }
    let first_reported: Vec<Uuid> = facts
        .certificates
        .iter()
        .filter(|certificate| {
            certificate.reported_at.is_none()
                && report.installed_certificates.iter().any(|reported| {
                    reported.profile_id == certificate.profile_id
                        && reported.thumbprint_sha1 == certificate.thumbprint_sha1
                })
        })
        .map(|certificate| certificate.id)
        .collect();
    if !first_reported.is_empty() {
        state
            .store
            .record_certificates_reported(&first_reported, at)
            .await?;
    }
    if touch {
        note_check_in_time(state, device, facts);
    }
    Ok(!new_steps.is_empty() || !first_reported.is_empty())
}

/// The item as `failed` for `reason`, with the error as its detail.
fn failed(mut item: CheckInItem, reason: ItemReason, error: &dyn std::fmt::Display) -> CheckInItem {
    item.action = Action::None;
    item.state = ItemState::Failed;
    item.reason = reason;
    item.detail = Some(bounded(&error.to_string(), MAX_DETAIL_CHARS));
    item
}

/// The profile was deleted between reading the facts and rendering.
fn unavailable(mut item: CheckInItem) -> CheckInItem {
    item.action = Action::None;
    item.state = ItemState::NotTargeted;
    item.reason = ItemReason::NoLongerAssigned;
    item
}
