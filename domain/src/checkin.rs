//! Device check-in: what a device must do with each profile, given what
//! targeting says reaches it, what the device reports as installed, and the
//! ledger of certificates the CA issued to it.
//!
//! Two ideas shape it:
//! - **Renewal comes from the ledger**, never from a marker in the subject:
//!   a reported certificate is looked up by thumbprint among the
//!   certificates Scepter was notified of, and *their* validity decides
//!   whether the remaining lifetime is at or below the profile's
//!   `renewalThresholdPercentage`. A certificate the ledger does not know is
//!   judged by the dates the device reports, so a device is never stranded by
//!   a missed notification.
//! - **Idle check-ins are cheap**: [`state_tag`] digests everything a response
//!   depends on except the fresh challenges, so the API can answer 304 to a
//!   device whose state did not change without rendering anything. Challenges
//!   expire, so while any item carries a payload the tag also covers a time
//!   bucket of half the challenge lifetime: a device that holds on to an old
//!   response gets a new challenge before its old one runs out.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::{
    targeting::{EffectiveProfile, ProfileKind, TargetReason, TargetState},
    validation::ValidationErrors,
};

/// Most profiles or certificates a device may report in one check-in.
pub const MAX_REPORTED_ITEMS: usize = 500;

/// A profile the device says it has installed.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReportedProfile {
    pub profile_id: Uuid,
    pub version: i64,
}

/// A certificate the device says it holds for a SCEP profile.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReportedCertificate {
    pub profile_id: Uuid,
    /// SHA-1 of the certificate's DER, 40 hex digits (either case).
    pub thumbprint_sha1: String,
    pub not_before: DateTime<Utc>,
    pub not_after: DateTime<Utc>,
}

/// The body of `POST /device/v1/checkin`: what the device has.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CheckInReport {
    #[serde(default)]
    pub installed_profiles: Vec<ReportedProfile>,
    #[serde(default)]
    pub installed_certificates: Vec<ReportedCertificate>,
}

impl CheckInReport {
    /// Bounds the report and normalises thumbprints to upper case.
    pub fn validate(mut self) -> Result<Self, ValidationErrors> {
        let mut errors = ValidationErrors::new();
        if self.installed_profiles.len() > MAX_REPORTED_ITEMS {
            errors.push(
                "installedProfiles",
                "maxItems",
                format!("at most {MAX_REPORTED_ITEMS} entries"),
            );
        }
        if self.installed_certificates.len() > MAX_REPORTED_ITEMS {
            errors.push(
                "installedCertificates",
                "maxItems",
                format!("at most {MAX_REPORTED_ITEMS} entries"),
            );
        }
        for (index, certificate) in self.installed_certificates.iter_mut().enumerate() {
            if certificate.thumbprint_sha1.len() != 40
                || !certificate.thumbprint_sha1.bytes().all(|b| b.is_ascii_hexdigit())
            {
                errors.push(
                    format!("installedCertificates[{index}].thumbprintSha1"),
                    "thumbprint",
                    "must be 40 hex digits (SHA-1 of the certificate)",
                );
            }
            if certificate.not_after <= certificate.not_before {
                errors.push(
                    format!("installedCertificates[{index}].notAfter"),
                    "validity",
                    "must be after notBefore",
                );
            }
            certificate.thumbprint_sha1.make_ascii_uppercase();
        }
        if errors.is_empty() {
            Ok(self)
        } else {
            Err(errors)
        }
    }
}

/// Microsoft Graph's `certificateRevokeStatus`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum RevokeStatus {
    /// Not queued for revocation.
    None,
    /// Queued: the connector has not picked it up yet.
    Pending,
    /// The connector received the revocation command.
    Issued,
    /// The CA refused or failed to revoke it (see the diagnostic code).
    Failed,
    Revoked,
}

impl RevokeStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Pending => "pending",
            Self::Issued => "issued",
            Self::Failed => "failed",
            Self::Revoked => "revoked",
        }
    }
}

/// A certificate from the ledger, as check-in needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerCertificate {
    pub profile_id: Uuid,
    /// Upper-case hex.
    pub thumbprint_sha1: String,
    pub not_before: DateTime<Utc>,
    pub not_after: DateTime<Utc>,
    pub revoke_status: RevokeStatus,
}

/// A profile that reaches the device, with what the decision needs beyond targeting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileForDevice {
    pub effective: EffectiveProfile,
    /// The profile's current `Record::version`.
    pub version: i64,
    /// SCEP profiles: `renewalThresholdPercentage`.
    pub renewal_threshold_percent: Option<u8>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Action {
    /// Install the payload (a SCEP payload carries a fresh challenge).
    Install,
    /// Remove the profile and its certificate.
    Remove,
    /// Enroll again before the certificate runs out (payload with a fresh challenge).
    Renew,
    /// Nothing to do.
    None,
}

impl Action {
    /// Whether the item carries a rendered payload.
    pub fn has_payload(self) -> bool {
        matches!(self, Self::Install | Self::Renew)
    }
}

/// The item's targeting state; `notTargeted` for profiles that no longer reach the device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum ItemState {
    Applicable,
    Failed,
    NotApplicable,
    NotTargeted,
}

/// Why the action was chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum ItemReason {
    NotInstalled,
    VersionChanged,
    UpToDate,
    CertificateMissing,
    CertificateExpired,
    CertificateRevoked,
    RenewalDue,
    NoLongerAssigned,
    RootCertificateNotAssigned,
    NoPrimaryUser,
    /// The device or its user lacks a value the subject name needs.
    SubjectNameUnavailable,
    /// A value cannot go into this platform's payload (e.g. a DNS SAN from a
    /// device name with spaces, a `;` in a Windows SAN); `detail` says which.
    PayloadUnrenderable,
}

/// What the device must do with one profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub profile_id: Uuid,
    /// Unknown for a reported profile that no longer exists.
    pub kind: Option<ProfileKind>,
    /// The current version; for `remove` of an unknown profile, the reported one.
    pub version: i64,
    pub action: Action,
    pub state: ItemState,
    pub reason: ItemReason,
}

/// Whether a certificate valid over `[not_before, not_after]` has at most
/// `threshold_percent` of its lifetime left at `now`.
pub fn renewal_due(
    not_before: DateTime<Utc>,
    not_after: DateTime<Utc>,
    threshold_percent: u8,
    now: DateTime<Utc>,
) -> bool {
    let lifetime = (not_after - not_before).num_seconds().max(1);
    let remaining = (not_after - now).num_seconds();
    // remaining / lifetime <= threshold / 100, in integers.
    i128::from(remaining) * 100 <= i128::from(lifetime) * i128::from(threshold_percent)
}

/// Decides every item of a check-in response, ordered by kind then profile id
/// (targeted profiles), then removals by profile id.
///
/// `known_kinds` names the kind of profiles that still exist but no longer
/// reach the device (targeting's facts include excluded ones).
pub fn decide(
    profiles: &[ProfileForDevice],
    known_kinds: &HashMap<Uuid, ProfileKind>,
    report: &CheckInReport,
    ledger: &[LedgerCertificate],
    now: DateTime<Utc>,
) -> Vec<Decision> {
    let installed = installed_versions(report);
    let mut decisions = Vec::with_capacity(profiles.len() + installed.len());
    let mut reaching = HashSet::with_capacity(profiles.len());

    for profile in profiles {
        let effective = &profile.effective;
        reaching.insert(effective.profile_id);
        let installed_version = installed.get(&effective.profile_id).copied();
        let (action, state, reason) = match effective.state {
            TargetState::Applicable => {
                let (action, reason) = applicable_action(profile, installed_version, report, ledger, now);
                (action, ItemState::Applicable, reason)
            }
            TargetState::Failed | TargetState::NotApplicable | TargetState::Excluded => {
                let state = if effective.state == TargetState::Failed {
                    ItemState::Failed
                } else {
                    ItemState::NotApplicable
                };
                let reason = match effective.reason {
                    Some(TargetReason::NoPrimaryUser) => ItemReason::NoPrimaryUser,
                    Some(TargetReason::RootCertificateNotAssigned) => ItemReason::RootCertificateNotAssigned,
                    _ => ItemReason::NoLongerAssigned,
                };
                let action = if installed_version.is_some() {
                    Action::Remove
                } else {
                    Action::None
                };
                (action, state, reason)
            }
        };
        decisions.push(Decision {
            profile_id: effective.profile_id,
            kind: Some(effective.kind),
            version: profile.version,
            action,
            state,
            reason,
        });
    }

    let mut removals: Vec<&ReportedProfile> = report
        .installed_profiles
        .iter()
        .filter(|reported| !reaching.contains(&reported.profile_id))
        .collect();
    removals.sort_by_key(|reported| reported.profile_id);
    removals.dedup_by_key(|reported| reported.profile_id);
    decisions.extend(removals.into_iter().map(|reported| Decision {
        profile_id: reported.profile_id,
        kind: known_kinds.get(&reported.profile_id).copied(),
        version: reported.version,
        action: Action::Remove,
        state: ItemState::NotTargeted,
        reason: ItemReason::NoLongerAssigned,
    }));
    decisions
}

/// The version the device reports per profile (the last report of a profile wins).
fn installed_versions(report: &CheckInReport) -> HashMap<Uuid, i64> {
    report
        .installed_profiles
        .iter()
        .map(|profile| (profile.profile_id, profile.version))
        .collect()
}

fn applicable_action(
    profile: &ProfileForDevice,
    installed_version: Option<i64>,
    report: &CheckInReport,
    ledger: &[LedgerCertificate],
    now: DateTime<Utc>,
) -> (Action, ItemReason) {
    match standing(profile, installed_version, report, ledger) {
        Standing::Settled(action, reason) => (action, reason),
        Standing::Certificate(certificate) => {
            if now >= certificate.not_after {
                (Action::Install, ItemReason::CertificateExpired)
            } else if renewal_due(
                certificate.not_before,
                certificate.not_after,
                certificate.threshold,
                now,
            ) {
                (Action::Renew, ItemReason::RenewalDue)
            } else {
                (Action::None, ItemReason::UpToDate)
            }
        }
    }
}

/// Where an applicable profile stands before the clock is read.
enum Standing {
    /// Decided whatever the time.
    Settled(Action, ItemReason),
    /// Installed at its version with this certificate: up to date, due for
    /// renewal or expired depending on the time.
    Certificate(CertificateWindow),
}

struct CertificateWindow {
    not_before: DateTime<Utc>,
    not_after: DateTime<Utc>,
    threshold: u8,
}

impl CertificateWindow {
    /// The first instant the decision on this certificate changes after
    /// `now`, if it ever does: renewal falls due, then the certificate expires.
    fn next_change(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        if now >= self.not_after {
            return None;
        }
        if renewal_due(self.not_before, self.not_after, self.threshold, now) {
            return Some(self.not_after);
        }
        // renewal_due compares whole seconds left (truncated) with
        // floor(lifetime × threshold / 100) =: R, so it holds from the first
        // instant after not_after − (R + 1) s. Before that instant, and at
        // it, the certificate is up to date.
        let lifetime = i128::from((self.not_after - self.not_before).num_seconds().max(1));
        let allowance = lifetime * i128::from(self.threshold) / 100;
        let seconds = i64::try_from(allowance + 1).unwrap_or(i64::MAX);
        Some(
            chrono::Duration::try_seconds(seconds)
                .and_then(|allowance| self.not_after.checked_sub_signed(allowance))
                .unwrap_or(DateTime::<Utc>::MIN_UTC),
        )
    }
}

fn standing(
    profile: &ProfileForDevice,
    installed_version: Option<i64>,
    report: &CheckInReport,
    ledger: &[LedgerCertificate],
) -> Standing {
    match installed_version {
        None => return Standing::Settled(Action::Install, ItemReason::NotInstalled),
        Some(version) if version != profile.version => {
            return Standing::Settled(Action::Install, ItemReason::VersionChanged)
        }
        Some(_) => {}
    }
    let Some(threshold) = profile.renewal_threshold_percent else {
        return Standing::Settled(Action::None, ItemReason::UpToDate);
    };
    let profile_id = profile.effective.profile_id;
    // The newest certificate the device reports for this profile.
    let Some(reported) = report
        .installed_certificates
        .iter()
        .filter(|certificate| certificate.profile_id == profile_id)
        .max_by_key(|certificate| certificate.not_after)
    else {
        return Standing::Settled(Action::Install, ItemReason::CertificateMissing);
    };
    let known = ledger
        .iter()
        .find(|certificate| certificate.thumbprint_sha1 == reported.thumbprint_sha1);
    if known.is_some_and(|certificate| certificate.revoke_status != RevokeStatus::None) {
        return Standing::Settled(Action::Install, ItemReason::CertificateRevoked);
    }
    let (not_before, not_after) = known.map_or((reported.not_before, reported.not_after), |certificate| {
        (certificate.not_before, certificate.not_after)
    });
    Standing::Certificate(CertificateWindow {
        not_before,
        not_after,
        threshold,
    })
}

/// Until when [`decide`] gives the same decisions for these inputs as it
/// does at `now`: the first instant after `now` at which a certificate they
/// rest on falls due for renewal or expires (`None`: time alone never
/// changes them). Decisions made at `now` hold for every instant before the
/// one returned, which lets an unchanged check-in be answered again without
/// deciding anew.
pub fn decided_until(
    profiles: &[ProfileForDevice],
    report: &CheckInReport,
    ledger: &[LedgerCertificate],
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    let installed = installed_versions(report);
    profiles
        .iter()
        .filter(|profile| profile.effective.state == TargetState::Applicable)
        .filter_map(|profile| {
            let installed_version = installed.get(&profile.effective.profile_id).copied();
            match standing(profile, installed_version, report, ledger) {
                Standing::Settled(..) => None,
                Standing::Certificate(certificate) => certificate.next_change(now),
            }
        })
        .min()
}

/// What a check-in response depends on besides the decisions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TagInputs {
    pub device_id: Uuid,
    pub device_version: i64,
    /// The primary user's version (their attributes fill subject names).
    pub user_version: Option<i64>,
    /// Digest of deployment settings that shape payloads (organization name…).
    pub settings_fingerprint: [u8; 32],
    /// Unix seconds.
    pub now: i64,
    /// Seconds a challenge stays valid.
    pub challenge_lifetime: i64,
}

/// A strong entity tag over the device's effective state (see the module docs).
pub fn state_tag(inputs: &TagInputs, decisions: &[Decision]) -> String {
    let mut hasher = Sha256::new();
    hasher.update(b"scepter/checkin/v1");
    hasher.update(inputs.device_id.as_bytes());
    hasher.update(inputs.device_version.to_be_bytes());
    hasher.update(inputs.user_version.unwrap_or(-1).to_be_bytes());
    hasher.update(inputs.settings_fingerprint);
    for decision in decisions {
        hasher.update(decision.profile_id.as_bytes());
        hasher.update([
            match decision.kind {
                None => 0,
                Some(ProfileKind::TrustedCertificate) => 1,
                Some(ProfileKind::ScepCertificate) => 2,
            },
            decision.action as u8,
            decision.state as u8,
            decision.reason as u8,
        ]);
        hasher.update(decision.version.to_be_bytes());
    }
    if decisions.iter().any(|decision| decision.action.has_payload()) {
        let bucket = inputs.now.div_euclid((inputs.challenge_lifetime / 2).max(1));
        hasher.update(bucket.to_be_bytes());
    }
    let digest = hasher.finalize();
    format!("\"{}\"", hex::encode(&digest[..16]))
}

#[cfg(test)]
mod tests;
