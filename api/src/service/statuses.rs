//! A SCEP profile's status per device: storage reads the facts of one
//! device-id range at a time — the devices targeted by rules 1–3 and whether
//! the root reaches them, the profile's certificates and enrollment steps —
//! and `scepter_domain::device_status` derives those devices' states; this
//! module pages the result. The summary over all devices is storage's
//! aggregate of the same rules.

use std::{collections::HashMap, time::Duration};

use chrono::{DateTime, SubsecRound, Utc};
use scepter_domain::device_status::{
    self, DeviceEnrollmentState, DeviceStatus, DeviceStatusSummary, LedgerEntry, Revocation, StatusProfile,
    Step, StepEntry, TargetedDevice,
};
use scepter_storage::{
    DeviceProfileState, EnrollmentStep, Page, PageRequest, StatusDevice, StatusScope, StoredCertificate,
};
use uuid::Uuid;

use super::health;
use crate::{error::ApiError, state::AppState};

/// One page of statuses and the counts over all of them.
#[derive(Debug)]
pub struct StatusPage {
    pub summary: DeviceStatusSummary,
    /// When the summary's counts were true: now, or the certificate health
    /// snapshot's time for a large profile (see [`health::summary_from_snapshot`]).
    pub summary_generated_at: DateTime<Utc>,
    pub page: Page<DeviceStatus>,
}

/// The smallest device-id range read at a time when a `state` filter is
/// given: the filter may drop most of a range, so it starts wider than the
/// page. Without a filter a range's devices have a status each (but for a
/// user certificate's device without a primary user and no certificate, which
/// a further range makes up for), so the first range is the page itself plus
/// the device that tells whether another page follows: a page costs what it
/// shows, not a fixed 256 devices.
const MIN_FILTERED_BATCH: u32 = 256;

/// The largest: a `state` filter that matches few devices widens the ranges
/// (doubling) so a scan for them takes few rounds, each still bounded.
const MAX_BATCH: u32 = 8_192;

/// The statuses of SCEP profile `profile_id`, only those in state `only`
/// when given, one page by device id. The page is derived from the facts of
/// the device-id ranges it spans, read range by range until it is full; the
/// summary is counted by the database — or, for a profile reaching many
/// devices, taken from a certificate health snapshot no older than
/// `summary_max_age`.
pub async fn device_statuses(
    state: &AppState,
    profile_id: Uuid,
    only: Option<DeviceEnrollmentState>,
    page: PageRequest,
    now: DateTime<Utc>,
    summary_max_age: Duration,
) -> Result<StatusPage, ApiError> {
    // Both backends keep microseconds: the page and the summary decide at the same instant.
    let now = now.trunc_subsecs(6);
    let profile = state
        .store
        .scep_profile(profile_id)
        .await?
        .ok_or(ApiError::NotFound)?;
    let settings = &profile.content.settings;
    let status_profile = StatusProfile {
        certificate_type: settings.certificate_type,
        renewal_threshold_percent: settings.renewal_threshold_percentage.percent(),
    };
    let scope = StatusScope {
        profile_id,
        platform: profile.content.platform,
        root_id: profile.content.root_certificate_id,
        certificate_type: status_profile.certificate_type,
        renewal_threshold_percent: status_profile.renewal_threshold_percent,
    };
    let stored =
        health::summary_from_snapshot(state.store.as_ref(), profile_id, now, summary_max_age).await?;
    let (summary, summary_generated_at) = match stored {
        Some(stored) => stored,
        None => (state.store.status_summary(&scope, now).await?, now),
    };

    let wanted = page.limit as usize + 1;
    let mut rows: Vec<DeviceStatus> = Vec::with_capacity(wanted);
    let mut after = page.cursor.map(|cursor| cursor.last_id());
    let mut batch = match only {
        None => (page.limit + 1).min(MAX_BATCH),
        Some(_) => (page.limit + 1).clamp(MIN_FILTERED_BATCH, MAX_BATCH),
    };
    while rows.len() < wanted {
        let facts = state.store.status_facts(&scope, after, batch).await?;
        rows.extend(
            range_statuses(
                status_profile,
                facts.targeted,
                facts.certificates,
                facts.steps,
                now,
            )
            .into_iter()
            .filter(|status| only.is_none_or(|wanted| status.state == wanted)),
        );
        match facts.last_id {
            Some(last_id) => after = Some(last_id),
            None => break,
        }
        batch = batch.saturating_mul(2).min(MAX_BATCH);
    }
    rows.truncate(wanted);
    let mut page = Page::from_overfetched(rows, page.limit, |status| status.device_id);
    name_untargeted(state, &mut page.items).await?;
    Ok(StatusPage {
        summary,
        summary_generated_at,
        page,
    })
}

/// The statuses of the devices in one id range, from that range's facts.
fn range_statuses(
    profile: StatusProfile,
    targeted: Vec<StatusDevice>,
    certificates: Vec<StoredCertificate>,
    steps: Vec<DeviceProfileState>,
    now: DateTime<Utc>,
) -> Vec<DeviceStatus> {
    let targeted: Vec<TargetedDevice> = targeted
        .into_iter()
        .map(|targeted| TargetedDevice {
            device_id: targeted.device.id,
            has_primary_user: targeted.device.content.device.user_id.is_some(),
            root_installed: targeted.root_installed,
            device_name: targeted.device.content.device.device_name,
        })
        .collect();
    let certificates: Vec<LedgerEntry> = certificates
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
    let steps: Vec<StepEntry> = steps
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
    device_status::device_statuses(profile, &targeted, &certificates, &steps, now)
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
