//! The enrollment timeline of one device: gathers the facts for
//! `scepter_domain::enrollment_timeline` and lets it order and diagnose them.
//!
//! Cost, whatever the device's history: check-in's facts (device, user,
//! memberships, targeted profiles, certificates, steps; a handful of indexed
//! reads on one connection), the newest offers and events of the device
//! (indexes `payload_offers_device` and `events_device`), and per SCEP
//! profile its row and, for one profile, its newest versions. Nothing scales
//! with the fleet, and history is capped at [`HISTORY_LIMIT`] entries a kind.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use scepter_domain::{
    diagnostics::{DiagnosticCode, EventId},
    enrollment::Denial,
    enrollment_timeline::{
        diagnose, timeline, Diagnosis, EnrollmentFacts, IssuedCertificate, NotTargetedReason, Offer,
        RevocationResult, Targeting, TimelineItem, Verification,
    },
    subject_name::{expand_name, ExpansionError},
    targeting::{effective_profiles, EffectiveProfile, Explain, ProfileKind},
    Record, ScepCertificateProfile,
};
use scepter_storage::{CheckInFacts, EnrollmentHistory, StoredEvent};
use uuid::Uuid;

use super::name_context;
use crate::{error::ApiError, state::AppState};

/// The most offers, events and profile versions read per timeline: the
/// newest ones (a device that failed for months has one offer per
/// half-challenge-lifetime; the story is in the latest).
pub const HISTORY_LIMIT: u32 = 200;

/// One profile's timeline and diagnosis.
#[derive(Debug)]
pub struct ProfileTimeline {
    pub profile_id: Uuid,
    /// `None` when the profile was deleted.
    pub display_name: Option<String>,
    pub diagnosis: Diagnosis,
    pub items: Vec<TimelineItem>,
}

/// The device's history, after writing the offers this instance noted but
/// has not written yet (they are written behind the check-ins): an admin
/// who just watched a check-in sees its offer.
async fn enrollment_history(
    state: &AppState,
    device_id: Uuid,
    profile_id: Option<Uuid>,
) -> Result<EnrollmentHistory, ApiError> {
    state
        .write_behind
        .payload_offers
        .flush(state.store.as_ref())
        .await?;
    Ok(state
        .store
        .enrollment_history(device_id, profile_id, HISTORY_LIMIT)
        .await?)
}

/// The timeline of `device_id` for one SCEP profile. An unknown device is
/// 404; a `profile_id` that names no SCEP profile and never reached the
/// device is a 422 naming `profileId`.
pub async fn for_profile(
    state: &AppState,
    device_id: Uuid,
    profile_id: Uuid,
    now: DateTime<Utc>,
) -> Result<ProfileTimeline, ApiError> {
    let facts = device_facts(state, device_id).await?;
    let history = enrollment_history(state, device_id, Some(profile_id)).await?;
    let profile = state.store.scep_profile(profile_id).await?;
    let known = profile.is_some()
        || !history.offers.is_empty()
        || !history.events.is_empty()
        || facts
            .certificates
            .iter()
            .any(|certificate| certificate.profile_id == profile_id);
    if !known {
        return Err(ApiError::field(
            "profileId",
            "exists",
            "names no SCEP certificate profile, and no such profile ever reached the device",
        ));
    }
    let versions = state.store.profile_versions(profile_id, HISTORY_LIMIT).await?;
    let effective = effective_profiles(&facts.subject.memberships, &facts.subject.profiles, Explain::Yes);
    let mut gathered = gather(&facts, &effective, &history, profile_id, profile.as_ref());
    gathered.profile_versions = versions
        .into_iter()
        .map(|change| (change.version, change.changed_at))
        .collect();
    Ok(ProfileTimeline {
        profile_id,
        display_name: profile.map(|profile| profile.content.display_name.as_str().to_owned()),
        diagnosis: diagnose(&gathered, now),
        items: timeline(&gathered, now),
    })
}

/// One diagnosis per SCEP profile that reaches the device now (also excluded
/// ones and those for another platform) or reached it before (it holds a
/// certificate of it, was offered it or requested it), by profile id; no
/// items.
pub async fn per_profile(
    state: &AppState,
    device_id: Uuid,
    now: DateTime<Utc>,
) -> Result<Vec<ProfileTimeline>, ApiError> {
    let facts = device_facts(state, device_id).await?;
    let history = enrollment_history(state, device_id, None).await?;
    let effective = effective_profiles(&facts.subject.memberships, &facts.subject.profiles, Explain::Yes);
    let profile_ids: BTreeSet<Uuid> = effective
        .iter()
        .filter(|profile| profile.kind == ProfileKind::ScepCertificate)
        .map(|profile| profile.profile_id)
        .chain(
            facts
                .certificates
                .iter()
                .map(|certificate| certificate.profile_id),
        )
        .chain(facts.steps.iter().map(|step| step.profile_id))
        .chain(history.offers.iter().map(|offer| offer.profile_id))
        .chain(history.events.iter().filter_map(|event| event.profile_id))
        .collect();
    let mut diagnoses = Vec::with_capacity(profile_ids.len());
    for profile_id in profile_ids {
        let profile = state.store.scep_profile(profile_id).await?;
        let gathered = gather(&facts, &effective, &history, profile_id, profile.as_ref());
        diagnoses.push(ProfileTimeline {
            profile_id,
            display_name: profile.map(|profile| profile.content.display_name.as_str().to_owned()),
            diagnosis: diagnose(&gathered, now),
            items: Vec::new(),
        });
    }
    Ok(diagnoses)
}

async fn device_facts(state: &AppState, device_id: Uuid) -> Result<CheckInFacts, ApiError> {
    state
        .store
        .check_in_facts(device_id)
        .await?
        .ok_or(ApiError::NotFound)
}

/// The domain's facts about one profile, out of what was read for the device.
fn gather(
    facts: &CheckInFacts,
    effective: &[EffectiveProfile],
    history: &EnrollmentHistory,
    profile_id: Uuid,
    profile: Option<&Record<ScepCertificateProfile>>,
) -> EnrollmentFacts {
    let targeting = targeting(facts, effective, profile_id, profile.is_some());
    let missing_values = match (&targeting, profile) {
        (Targeting::Targeted { .. }, Some(profile)) => {
            match expand_name(&profile.content.settings, &name_context(&facts.subject)) {
                Err(ExpansionError::MissingValues(missing)) => missing,
                _ => Vec::new(),
            }
        }
        _ => Vec::new(),
    };
    let events: Vec<&StoredEvent> = history
        .events
        .iter()
        .filter(|event| event.profile_id == Some(profile_id))
        .collect();
    EnrollmentFacts {
        targeting,
        profile: profile.map(|profile| {
            (
                profile.version,
                profile.content.settings.renewal_threshold_percentage.percent(),
            )
        }),
        missing_values,
        offers: history
            .offers
            .iter()
            .filter(|offer| offer.profile_id == profile_id)
            .map(|offer| Offer {
                offered_at: offer.offered_at,
                profile_version: offer.profile_version,
                scep_server_urls: offer.scep_server_urls.clone(),
                challenge_expires_at: offer.challenge_expires_at,
            })
            .collect(),
        verifications: events.iter().filter_map(|event| verification(event)).collect(),
        certificates: facts
            .certificates
            .iter()
            .filter(|certificate| certificate.profile_id == profile_id)
            .map(|certificate| IssuedCertificate {
                id: certificate.id,
                profile_version: certificate.profile_version,
                serial_number: certificate.serial_number.clone(),
                thumbprint_sha1: certificate.thumbprint_sha1.clone(),
                not_before: certificate.not_before,
                not_after: certificate.not_after,
                issued_at: certificate.issued_at,
                reported_at: certificate.reported_at,
                revoke_status: certificate.revoke_status,
                revoke_requested_at: certificate.revoke_requested_at,
            })
            .collect(),
        revocation_results: events
            .iter()
            .filter_map(|event| revocation_result(event))
            .collect(),
        profile_versions: Vec::new(),
    }
}

/// Targeting's explained verdict on the profile, with the groups it names.
fn targeting(
    facts: &CheckInFacts,
    effective: &[EffectiveProfile],
    profile_id: Uuid,
    exists: bool,
) -> Targeting {
    let Some(found) = effective
        .iter()
        .find(|profile| profile.kind == ProfileKind::ScepCertificate && profile.profile_id == profile_id)
    else {
        let reason = if exists {
            NotTargetedReason::NotAssigned
        } else {
            NotTargetedReason::ProfileDeleted
        };
        return Targeting::NotTargeted {
            reason,
            group_ids: Vec::new(),
        };
    };
    // Explain names assignments; operators think in groups.
    let group_ids = facts
        .subject
        .profiles
        .iter()
        .find(|profile| profile.kind == ProfileKind::ScepCertificate && profile.profile_id == profile_id)
        .map(|profile| {
            profile
                .assignments
                .iter()
                .filter(|assignment| found.assignment_ids.contains(&assignment.assignment_id))
                .map(|assignment| assignment.group_id)
                .collect()
        })
        .unwrap_or_default();
    match NotTargetedReason::of(found.state, found.reason) {
        None => Targeting::Targeted { group_ids },
        Some(reason) => Targeting::NotTargeted { reason, group_ids },
    }
}

/// A verification event (20500 allowed, 20501/20502 denied), if `event` is one.
fn verification(event: &StoredEvent) -> Option<Verification> {
    let allowed = match EventId::from_id(event.event_id)? {
        EventId::CrpVerifyMetricSuccess => true,
        EventId::CrpVerifyMetricWarning | EventId::CrpVerifyMetricFailure => false,
        _ => return None,
    };
    let denial = (!allowed)
        .then(|| Denial::from_event_message(&event.message))
        .flatten();
    Some(Verification {
        occurred_at: event.occurred_at,
        allowed,
        diagnostic: DiagnosticCode::from_code(event.diagnostic_code).unwrap_or(DiagnosticCode::UnknownError),
        reason: denial.as_ref().map(|denial| denial.reason),
        detail: match denial {
            Some(denial) => denial.detail,
            None if allowed => String::new(),
            None => event.message.clone(),
        },
    })
}

/// A revocation result event (20200 revoked, 20202 failed), if `event` is one.
fn revocation_result(event: &StoredEvent) -> Option<RevocationResult> {
    let revoked = match EventId::from_id(event.event_id)? {
        EventId::RevokeCertSuccess => true,
        EventId::RevokeCertFailure => false,
        _ => return None,
    };
    Some(RevocationResult {
        occurred_at: event.occurred_at,
        certificate_id: event.certificate_id?,
        revoked,
        diagnostic: DiagnosticCode::from_code(event.diagnostic_code).unwrap_or(DiagnosticCode::UnknownError),
        message: event.message.clone(),
    })
}
