//! Fleet certificate health: every SCEP profile's device states (its
//! device-status summary, so the two always agree), certificate expiry and
//! failures by diagnostic code, added up for the fleet. The periodic sweep
//! publishes the totals as gauges.

use std::collections::HashMap;

use chrono::{DateTime, SubsecRound, Utc};
use scepter_domain::{device_status::DeviceStatusSummary, Platform};
use scepter_storage::{CertificateExpiry, PageRequest, ProfileFilter, StatusScope, StorageError, Store};
use uuid::Uuid;

/// One profile's figures, or the fleet's (then summed over profiles: a
/// device targeted by two profiles counts twice).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HealthFigures {
    pub states: DeviceStatusSummary,
    pub expiry: CertificateExpiry,
}

impl HealthFigures {
    /// Devices the profile targets now (the states of targeted devices; not
    /// `revocationPending` or `revoked`, which concern devices it left).
    pub fn targeted(&self) -> u64 {
        let s = &self.states;
        s.pending + s.challenge_issued + s.succeeded + s.failed + s.renewal_due
    }

    fn add(&mut self, other: &HealthFigures) {
        let (s, o) = (&mut self.states, &other.states);
        s.pending += o.pending;
        s.challenge_issued += o.challenge_issued;
        s.succeeded += o.succeeded;
        s.failed += o.failed;
        s.renewal_due += o.renewal_due;
        s.revocation_pending += o.revocation_pending;
        s.revoked += o.revoked;
        let (e, o) = (&mut self.expiry, &other.expiry);
        e.expiring_within_7_days += o.expiring_within_7_days;
        e.expiring_within_30_days += o.expiring_within_30_days;
        e.expired_still_in_use += o.expired_still_in_use;
    }
}

#[derive(Debug, Clone)]
pub struct ProfileHealth {
    pub profile_id: Uuid,
    pub display_name: String,
    pub platform: Platform,
    pub figures: HealthFigures,
}

#[derive(Debug, Clone)]
pub struct CertificateHealth {
    pub generated_at: DateTime<Utc>,
    pub totals: HealthFigures,
    /// (diagnostic code, device × profile pairs whose last step failed with it).
    pub failures_by_code: Vec<(u32, u64)>,
    pub profiles: Vec<ProfileHealth>,
}

/// The report at `now`: one status summary per SCEP profile (the device-status
/// report's own aggregate), one expiry aggregate, one failure aggregate.
pub async fn certificate_health(
    store: &dyn Store,
    now: DateTime<Utc>,
) -> Result<CertificateHealth, StorageError> {
    let now = now.trunc_subsecs(6);
    let expiry: HashMap<Uuid, CertificateExpiry> = store
        .certificate_expiry(now)
        .await?
        .into_iter()
        .map(|expiry| (expiry.profile_id, expiry))
        .collect();
    let mut profiles = Vec::new();
    let mut totals = HealthFigures::default();
    let mut page = PageRequest::first(PageRequest::MAX_LIMIT);
    loop {
        let listed = store.list_scep_profiles(ProfileFilter::default(), page).await?;
        for record in listed.items {
            let content = &record.content;
            let scope = StatusScope {
                profile_id: record.id,
                platform: content.platform,
                root_id: content.root_certificate_id,
                certificate_type: content.settings.certificate_type,
                renewal_threshold_percent: content.settings.renewal_threshold_percentage.percent(),
            };
            let figures = HealthFigures {
                states: store.status_summary(&scope, now).await?,
                expiry: expiry.get(&record.id).copied().unwrap_or(CertificateExpiry {
                    profile_id: record.id,
                    ..CertificateExpiry::default()
                }),
            };
            totals.add(&figures);
            profiles.push(ProfileHealth {
                profile_id: record.id,
                display_name: content.display_name.as_str().to_owned(),
                platform: content.platform,
                figures,
            });
        }
        match listed.next_cursor {
            Some(cursor) => page.cursor = Some(cursor),
            None => break,
        }
    }
    Ok(CertificateHealth {
        generated_at: now,
        totals,
        failures_by_code: store.failures_by_diagnostic_code().await?,
        profiles,
    })
}
