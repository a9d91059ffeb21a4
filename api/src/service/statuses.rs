//! A SCEP profile's status per device: storage reads the facts — devices
//! targeted by rules 1–3 (for the profile and for its root), the profile's
//! certificates and enrollment steps — and `scepter_domain::device_status`
//! derives each device's state; this module pages the result.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use scepter_domain::{
    device_status::{
        self, DeviceEnrollmentState, DeviceStatus, DeviceStatusSummary, LedgerEntry, Revocation,
        StatusProfile, Step, StepEntry, TargetedDevice,
    },
    targeting::ProfileKind,
    Platform, Record,
};
use scepter_storage::{EnrollmentStep, Page, PageRequest, StoredDevice};
use uuid::Uuid;

use crate::{error::ApiError, state::AppState};

/// One page of statuses and the counts over all of them.
#[derive(Debug)]
pub struct StatusPage {
    pub summary: DeviceStatusSummary,
    pub page: Page<DeviceStatus>,
}

/// The statuses of SCEP profile `profile_id`, only those in state `only`
/// when given, one page by device id.
pub async fn device_statuses(
    state: &AppState,
    profile_id: Uuid,
    only: Option<DeviceEnrollmentState>,
    page: PageRequest,
    now: DateTime<Utc>,
) -> Result<StatusPage, ApiError> {
    let profile = state
        .store
        .scep_profile(profile_id)
        .await?
        .ok_or(ApiError::NotFound)?;
    let settings = &profile.content.settings;
    let platform = profile.content.platform;
    let root_reaches: HashSet<Uuid> = all_targeted(
        state,
        ProfileKind::TrustedCertificate,
        profile.content.root_certificate_id,
        platform,
    )
    .await?
    .into_iter()
    .map(|device| device.id)
    .collect();
    let targeted: Vec<TargetedDevice> =
        all_targeted(state, ProfileKind::ScepCertificate, profile_id, platform)
            .await?
            .into_iter()
            .map(|device| TargetedDevice {
                device_id: device.id,
                has_primary_user: device.content.device.user_id.is_some(),
                root_installed: root_reaches.contains(&device.id),
                device_name: device.content.device.device_name,
            })
            .collect();
    let certificates: Vec<LedgerEntry> = state
        .store
        .profile_certificates(profile_id)
        .await?
        .into_iter()
        .map(|certificate| LedgerEntry {
            certificate_id: certificate.id,
            device_id: certificate.device_id,
            issued_at: certificate.issued_at,
            validity: (certificate.not_before, certificate.not_after),
            revocation: Revocation {
                status: certificate.revoke_status,
                requested_at: certificate.revoke_requested_at,
                diagnostic_code: certificate.revoke_diagnostic_code,
                revoked_at: certificate.revoked_at,
            },
        })
        .collect();
    let steps: Vec<StepEntry> = state
        .store
        .profile_states(profile_id)
        .await?
        .into_iter()
        .map(|state| StepEntry {
            device_id: state.device_id,
            step: match state.step {
                EnrollmentStep::ChallengeIssued => Step::ChallengeIssued,
                EnrollmentStep::Failed(code) => Step::Failed(code),
            },
            reason: state.reason,
            updated_at: state.updated_at,
        })
        .collect();

    let profile = StatusProfile {
        certificate_type: settings.certificate_type,
        renewal_threshold_percent: settings.renewal_threshold_percentage.percent(),
    };
    let statuses = device_status::device_statuses(profile, &targeted, &certificates, &steps, now);
    let summary = DeviceStatusSummary::of(&statuses);
    let after = page.cursor.map(|cursor| cursor.last_id());
    let rows: Vec<DeviceStatus> = statuses
        .into_iter()
        .filter(|status| only.is_none_or(|wanted| status.state == wanted))
        .filter(|status| after.is_none_or(|after| status.device_id > after))
        .take(page.limit as usize + 1)
        .collect();
    let mut page = Page::from_overfetched(rows, page.limit, |status| status.device_id);
    name_untargeted(state, &mut page.items).await?;
    Ok(StatusPage { summary, page })
}

/// Names the devices on the page that the profile no longer reaches, in one
/// read (a retired device has no name any more).
async fn name_untargeted(state: &AppState, statuses: &mut [DeviceStatus]) -> Result<(), ApiError> {
    let unnamed: Vec<Uuid> = statuses
        .iter()
        .filter(|status| status.device_name.is_none())
        .map(|status| status.device_id)
        .collect();
    let names: HashMap<Uuid, String> = state
        .store
        .devices(&unnamed)
        .await?
        .into_iter()
        .map(|device| (device.id, device.content.device.device_name))
        .collect();
    for status in statuses.iter_mut().filter(|status| status.device_name.is_none()) {
        status.device_name = names.get(&status.device_id).cloned();
    }
    Ok(())
}

/// Every device a profile reaches by targeting rules 1–3, all pages.
async fn all_targeted(
    state: &AppState,
    kind: ProfileKind,
    profile_id: Uuid,
    platform: Platform,
) -> Result<Vec<Record<StoredDevice>>, ApiError> {
    let mut devices = Vec::new();
    let mut page = PageRequest::first(PageRequest::MAX_LIMIT);
    loop {
        let batch = state
            .store
            .targeted_devices(kind, profile_id, platform, page)
            .await?;
        devices.extend(batch.items);
        match batch.next_cursor {
            Some(cursor) => page.cursor = Some(cursor),
            None => return Ok(devices),
        }
    }
}
