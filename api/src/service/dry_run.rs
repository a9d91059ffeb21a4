//! Dry runs of the writes that change what devices get: both profile kinds'
//! replacement, deletion and assignments; group members; a device's
//! replacement; deletes of devices, users and groups. The write is validated
//! exactly as the real call validates it — the same service steps up to the
//! store, the same statements in the store — and measured in a transaction
//! that is rolled back (see `scepter_storage::ImpactRepository`).

use scepter_domain::impact::{count, device_impacts, DeviceImpact, ImpactCounts};
use scepter_storage::{Cursor, NewAuditEntry, Page, PageRequest, PlannedChange, RevocationScope, WouldWrite};

use crate::{error::ApiError, state::AppState};

/// What a write would do: its result, the counts, and one page of the devices it concerns.
#[derive(Debug)]
pub struct DryRun {
    pub written: WouldWrite,
    pub impact: ImpactCounts,
    pub devices: Page<DeviceImpact>,
}

/// Measures `change` (recording `audit` and counting the revocations of
/// `revocations_after`, as the real call would, then rolling everything
/// back); `devices` pages the concerned devices by id. Errors are the real
/// write's, unmapped.
pub async fn measure(
    state: &AppState,
    change: PlannedChange<'_>,
    audit: &NewAuditEntry,
    revocations_after: Option<RevocationScope>,
    devices: PageRequest,
) -> Result<DryRun, scepter_storage::StorageError> {
    let measured = state
        .store
        .measure_change(change, audit, revocations_after)
        .await?;
    let impacts = device_impacts(&measured.facts);
    let impact = count(&impacts);
    Ok(DryRun {
        written: measured.written,
        impact,
        devices: page(impacts, devices),
    })
}

/// The page of `impacts` (sorted by device id) that `request` asks for.
fn page(impacts: Vec<DeviceImpact>, request: PageRequest) -> Page<DeviceImpact> {
    let after = request.cursor.map(Cursor::last_id);
    let limit = request.limit as usize;
    let mut items: Vec<DeviceImpact> = impacts
        .into_iter()
        .filter(|impact| after.is_none_or(|after| impact.device_id > after))
        .take(limit + 1)
        .collect();
    let next_cursor = (items.len() > limit).then(|| {
        items.truncate(limit);
        Cursor::after(items[limit - 1].device_id)
    });
    Page { items, next_cursor }
}

/// `dryRun=true` on a write that cannot measure its impact yet: refused, so
/// that nobody mistakes the real write for a rehearsal.
pub fn unsupported(what: &str) -> ApiError {
    ApiError::field(
        "dryRun",
        "supported",
        format!("a dry run of {what} is not available yet; leave dryRun out to make the change"),
    )
}
