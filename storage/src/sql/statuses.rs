//! A SCEP profile's status per device: the facts of one device-id range, and
//! the counts per state in one aggregate query.
//!
//! A range is `[$lower, $upper]` (inclusive; the repository turns "after a
//! cursor" into the next id up and "unbounded" into the largest id), so every
//! statement is a plain range scan of an index: devices_platform_id,
//! issued_certificates_profile, device_profile_states_profile.

use scepter_domain::scep_profile::CertificateType;

use super::{assignments::reached_through, ledger::certificate_columns, Dialect};

/// Rules 1–3 for the SCEP profile `$1` on device `d`.
fn targeted_condition() -> String {
    format!(
        "{} AND NOT {}",
        reached_through("scep_profile_assignments", "$1", "include"),
        reached_through("scep_profile_assignments", "$1", "exclude")
    )
}

/// Whether the trusted root `root` reaches device `d` (rules 1–3), as 1 or 0.
fn root_installed(root: &str) -> String {
    format!(
        "CAST(CASE WHEN {} AND NOT {} THEN 1 ELSE 0 END AS BIGINT)",
        reached_through("trusted_profile_assignments", root, "include"),
        reached_through("trusted_profile_assignments", root, "exclude")
    )
}

/// Whether an assignment with `intent` of the profile `profile` (an SQL
/// expression) reaches device `d`, as [`reached_through`] decides it but as
/// membership in sets computed once per statement (hashed) rather than
/// probes per device: for statements over all of a platform's devices.
pub(crate) fn reached_through_sets(assignments: &str, profile: &str, intent: &str) -> String {
    format!(
        "(d.id IN (SELECT m.device_id FROM {assignments} a JOIN device_group_members m \
             ON m.group_id = a.group_id WHERE a.profile_id = {profile} AND a.intent = '{intent}') \
          OR (d.user_id IS NOT NULL AND d.user_id IN (SELECT m.user_id FROM {assignments} a \
             JOIN user_group_members m ON m.group_id = a.group_id \
             WHERE a.profile_id = {profile} AND a.intent = '{intent}')))"
    )
}

/// Rules 1–3 for `profile` of the kind whose assignments are in
/// `assignments`, on device `d`, over all devices (see [`reached_through_sets`]).
pub(crate) fn targeted_everywhere(assignments: &str, profile: &str) -> String {
    format!(
        "{} AND NOT {}",
        reached_through_sets(assignments, profile, "include"),
        reached_through_sets(assignments, profile, "exclude")
    )
}

/// The upper end of the range that holds the next `$4` devices from `$3` on
/// (`$5` = `$4` − 1): the `$4`-th of the ids the profile `$1` targets on
/// platform `$2` or that hold one of its certificates; no row when there are
/// fewer. Each side reads at most `$4` ids in index order.
pub(crate) fn range_end() -> String {
    format!(
        "SELECT id FROM ( \
           SELECT id FROM (SELECT d.id FROM devices d WHERE d.platform = $2 AND d.id >= $3 AND {} \
                           ORDER BY d.id LIMIT $4) targeted \
           UNION \
           SELECT device_id FROM (SELECT DISTINCT device_id FROM issued_certificates \
                                  WHERE profile_id = $1 AND device_id >= $3 ORDER BY device_id LIMIT $4) holding \
         ) candidates ORDER BY id LIMIT 1 OFFSET $5",
        targeted_condition()
    )
}

/// The devices in `[$3, $4]` the profile `$1` targets on platform `$2`, with
/// whether its root `$5` reaches them (`root_installed`), by id.
pub(crate) fn targeted_in_range() -> String {
    format!(
        "SELECT d.*, {} AS root_installed FROM devices d \
         WHERE d.platform = $2 AND d.id >= $3 AND d.id <= $4 AND {} ORDER BY d.id",
        root_installed("$5"),
        targeted_condition()
    )
}

/// The profile's (`$1`) certificates of the devices in `[$2, $3]`, by device
/// then newest first (as `CERTIFICATES_OF_PROFILE`).
pub(crate) const CERTIFICATES_IN_RANGE: &str = concat!(
    "SELECT ",
    certificate_columns!(),
    " FROM issued_certificates c WHERE profile_id = $1 AND device_id >= $2 AND device_id <= $3 \
     ORDER BY device_id, issued_at DESC, id DESC"
);

/// The profile's (`$1`) enrollment steps of the devices in `[$2, $3]`.
pub(crate) const STEPS_IN_RANGE: &str = "SELECT device_id, profile_version, state, diagnostic_code, reason, \
     updated_at FROM device_profile_states WHERE profile_id = $1 AND device_id >= $2 AND device_id <= $3 \
     ORDER BY device_id";

/// Per SCEP profile, over each device's newest unrevoked certificate of it:
/// how many expire in `($1, $2]` (7 days), in `($1, $3]` (30 days), and how
/// many expired at or before `$1`. Times as epoch microseconds.
pub(crate) fn certificate_expiry<D: Dialect>() -> String {
    format!(
        "WITH newest AS ( \
           SELECT c.profile_id, {not_after} AS not_after, \
                  ROW_NUMBER() OVER (PARTITION BY c.profile_id, c.device_id \
                                     ORDER BY c.issued_at DESC, c.id DESC) AS n \
           FROM issued_certificates c WHERE c.revoke_status = 'none') \
         SELECT profile_id, \
           SUM(CASE WHEN not_after > $1 AND not_after <= $2 THEN 1 ELSE 0 END) AS within_7, \
           SUM(CASE WHEN not_after > $1 AND not_after <= $3 THEN 1 ELSE 0 END) AS within_30, \
           SUM(CASE WHEN not_after <= $1 THEN 1 ELSE 0 END) AS expired \
         FROM newest WHERE n = 1 GROUP BY profile_id",
        not_after = D::epoch_micros("c.not_after"),
    )
}

/// Failed last steps by diagnostic code. Index: none needed (one row per
/// device and profile; read by the periodic sweep and the report).
pub(crate) const FAILURES_BY_CODE: &str = "SELECT diagnostic_code, COUNT(*) FROM device_profile_states \
     WHERE state = 'failed' AND diagnostic_code IS NOT NULL GROUP BY diagnostic_code ORDER BY diagnostic_code";

/// Whether the root `root` reaches every device the SCEP profile `profile`
/// targets, decided from the assignments alone: the root excludes nobody and
/// every group the profile includes, the root includes too (a device targeted
/// through a group is then reached by the root through the same group). The
/// usual set-up, as both profiles go to the same groups. It does not depend
/// on the device, so the database evaluates it once per statement.
fn root_covers_profile(profile: &str, root: &str) -> String {
    format!(
        "(NOT EXISTS (SELECT 1 FROM trusted_profile_assignments r \
                      WHERE r.profile_id = {root} AND r.intent = 'exclude') \
          AND NOT EXISTS (SELECT 1 FROM scep_profile_assignments s \
                          WHERE s.profile_id = {profile} AND s.intent = 'include' \
            AND NOT EXISTS (SELECT 1 FROM trusted_profile_assignments r WHERE r.profile_id = {root} \
                            AND r.intent = 'include' AND r.group_id = s.group_id)))"
    )
}

/// Rules 1–3 of the root `root` on device `d`, for a device the SCEP profile
/// `profile` targets (only there may the answer come from
/// [`root_covers_profile`]): where the root covers the profile, no device is
/// probed for it and its member sets are never hashed; elsewhere as
/// [`targeted_everywhere`].
pub(crate) fn root_reaches_targeted(profile: &str, root: &str) -> String {
    format!(
        "({} OR ({}))",
        root_covers_profile(profile, root),
        targeted_everywhere("trusted_profile_assignments", root)
    )
}

/// Devices per state (`state`, `devices`) of the SCEP profile `$1` on
/// platform `$2` with root `$3` at `$4` (microseconds since 1970), renewal
/// threshold `$5` percent: `scepter_domain::device_status`'s rules in SQL.
///
/// - targeted: rules 1–3, minus rule 4 (a user certificate needs a primary
///   user), as set memberships ([`targeted_everywhere`]);
/// - a valid certificate (unrevoked, unexpired): the newest one's
///   `renewal_due` (`remaining * 100 <= max(lifetime, 1) * threshold`, in whole
///   seconds truncated as chrono's `num_seconds`) → `renewalDue`, else `succeeded`;
/// - else the root does not reach the device → `failed`;
/// - else the enrollment step (`challengeIssued`, `failed`), or `pending`;
/// - a device not targeted that holds certificates: `revocationPending` while
///   one is not revoked, else `revoked`; so is a device of another platform,
///   or a deleted (retired) device's id that certificates still name.
///
/// Shape, for 100,000 targeted devices: one pass over the platform's devices
/// decides targeting once per device (fenced, so the member sets are hashed
/// once) and joins the few devices with facts of the profile — certificates
/// and steps, gathered per device into one small hashed row set (the
/// platform's device count, from statistics, keeps that set the hashed side).
/// Each device's certificates of the profile are aggregated once (`held`),
/// for that set and for the devices off the platform. The root is probed only for targeted devices without a valid certificate,
/// and not at all where it covers the profile ([`root_reaches_targeted`]). A
/// profile whose platform has no devices reads none (the certificate health
/// report counts every profile). This replaced a statement that materialised
/// the targeted devices, joined them three times and then anti-joined the
/// certificates against them (BENCHMARKS.md, "Status summary in one pass").
pub(crate) fn summary<D: Dialect>(certificate_type: CertificateType) -> String {
    let rule_4 = match certificate_type {
        CertificateType::User => " AND d.user_id IS NOT NULL",
        CertificateType::Device => "",
    };
    let not_before = D::epoch_micros("c.not_before");
    let not_after = D::epoch_micros("c.not_after");
    format!(
        "WITH valid AS ( \
           SELECT c.device_id, {not_before} AS not_before, {not_after} AS not_after, \
                  ROW_NUMBER() OVER (PARTITION BY c.device_id ORDER BY c.issued_at DESC, c.id DESC) AS newest \
           FROM issued_certificates c \
           WHERE c.profile_id = $1 AND c.revoke_status = 'none' AND {not_after} > $4), \
         held AS ( \
           SELECT c.device_id, MAX(CASE WHEN c.revoke_status <> 'revoked' THEN 1 ELSE 0 END) AS unrevoked \
           FROM issued_certificates c WHERE c.profile_id = $1 GROUP BY c.device_id), \
         facts AS ( \
           SELECT device_id, MAX(unrevoked) AS unrevoked, MAX(not_before) AS not_before, \
                  MAX(not_after) AS not_after, MAX(step) AS step \
           FROM ( \
             SELECT device_id, unrevoked, CAST(NULL AS BIGINT) AS not_before, \
                    CAST(NULL AS BIGINT) AS not_after, CAST(NULL AS TEXT) AS step FROM held \
             UNION ALL \
             SELECT device_id, NULL, not_before, not_after, NULL FROM valid WHERE newest = 1 \
             UNION ALL \
             SELECT device_id, NULL, NULL, NULL, state FROM device_profile_states WHERE profile_id = $1 \
           ) per_source GROUP BY device_id), \
         each_device AS ( \
           SELECT d.id, d.user_id, CASE WHEN {targeted}{rule_4} THEN 1 ELSE 0 END AS targeted, \
                  f.unrevoked, f.not_before, f.not_after, f.step \
           FROM devices d LEFT JOIN facts f ON f.device_id = d.id \
           WHERE d.platform = $2 {fence}), \
         states AS ( \
           SELECT CASE \
             WHEN d.targeted = 0 THEN {revocation_state} \
             WHEN d.not_after IS NOT NULL THEN \
               CASE WHEN ((d.not_after - $4) / 1000000) * 100 <= \
                         (CASE WHEN (d.not_after - d.not_before) / 1000000 < 1 THEN 1 \
                               ELSE (d.not_after - d.not_before) / 1000000 END) * $5 \
                    THEN 'renewalDue' ELSE 'succeeded' END \
             WHEN NOT {root_reaches} THEN 'failed' \
             WHEN d.step = 'challengeIssued' THEN 'challengeIssued' \
             WHEN d.step = 'failed' THEN 'failed' \
             ELSE 'pending' END AS state \
           FROM each_device d \
           WHERE d.targeted = 1 OR d.unrevoked IS NOT NULL \
           UNION ALL \
           SELECT {revocation_state} FROM held h \
           WHERE NOT EXISTS (SELECT 1 FROM devices d WHERE d.id = h.device_id AND d.platform = $2)) \
         SELECT state, COUNT(*) AS devices FROM states GROUP BY state",
        targeted = targeted_everywhere("scep_profile_assignments", "$1"),
        fence = D::SUBQUERY_FENCE,
        root_reaches = root_reaches_targeted("$1", "$3"),
        revocation_state = "CASE WHEN unrevoked = 1 THEN 'revocationPending' ELSE 'revoked' END",
    )
}

macro_rules! impl_status_repository {
    ($store:ident, $db:ty) => {
        mod status_repository {
            use async_trait::async_trait;
            use chrono::{DateTime, Utc};
            use scepter_domain::device_status::DeviceStatusSummary;
            use uuid::Uuid;

            use super::{fetch, $store};
            use crate::{
                rows::{CertificateRow, StateRow, StatusDeviceRow},
                sql::{statuses::*, Dialect},
                CertificateExpiry, StatusFacts, StatusRepository, StatusScope, StorageError,
            };

            /// A transaction for the reads, set up for them.
            async fn reads(pool: &sqlx::Pool<$db>) -> Result<sqlx::Transaction<'_, $db>, StorageError> {
                let mut transaction = pool.begin().await?;
                if let Some(setup) = <$db as Dialect>::BEFORE_STATUS_READS {
                    sqlx::query(setup).execute(&mut *transaction).await?;
                }
                Ok(transaction)
            }

            #[async_trait]
            impl StatusRepository for $store {
                async fn status_facts(
                    &self,
                    scope: &StatusScope,
                    after: Option<Uuid>,
                    batch: u32,
                ) -> Result<StatusFacts, StorageError> {
                    let lower = match after {
                        None => Uuid::nil(),
                        Some(after) => match after.as_u128().checked_add(1) {
                            Some(next) => Uuid::from_u128(next),
                            None => return Ok(StatusFacts::default()),
                        },
                    };
                    let batch = i64::from(batch.max(1));
                    let mut connection = reads(&self.pool).await?;
                    let last_id = sqlx::query_scalar::<_, Uuid>(&range_end())
                        .bind(scope.profile_id)
                        .bind(scope.platform.as_str())
                        .bind(lower)
                        .bind(batch)
                        .bind(batch - 1)
                        .fetch_optional(&mut *connection)
                        .await?;
                    let upper = last_id.unwrap_or(Uuid::max());
                    let targeted = sqlx::query_as::<_, StatusDeviceRow>(&targeted_in_range())
                        .bind(scope.profile_id)
                        .bind(scope.platform.as_str())
                        .bind(lower)
                        .bind(upper)
                        .bind(scope.root_id)
                        .fetch_all(&mut *connection)
                        .await?
                        .into_iter()
                        .map(TryInto::try_into)
                        .collect::<Result<_, _>>()?;
                    let range = (lower, upper);
                    let certificates = fetch::all_in_range::<CertificateRow, _>(
                        &mut *connection,
                        CERTIFICATES_IN_RANGE,
                        scope.profile_id,
                        range,
                    )
                    .await?;
                    let steps = fetch::all_in_range::<StateRow, _>(
                        &mut *connection,
                        STEPS_IN_RANGE,
                        scope.profile_id,
                        range,
                    )
                    .await?;
                    connection.commit().await?;
                    Ok(StatusFacts {
                        targeted,
                        certificates,
                        steps,
                        last_id,
                    })
                }

                async fn status_summary(
                    &self,
                    scope: &StatusScope,
                    now: DateTime<Utc>,
                ) -> Result<DeviceStatusSummary, StorageError> {
                    let mut transaction = reads(&self.pool).await?;
                    let rows = sqlx::query_as::<_, (String, i64)>(&summary::<$db>(scope.certificate_type))
                        .bind(scope.profile_id)
                        .bind(scope.platform.as_str())
                        .bind(scope.root_id)
                        .bind(now.timestamp_micros())
                        .bind(i64::from(scope.renewal_threshold_percent))
                        .fetch_all(&mut *transaction)
                        .await?;
                    transaction.commit().await?;
                    let mut summary = DeviceStatusSummary::default();
                    for (state, devices) in rows {
                        let counter = match state.as_str() {
                            "pending" => &mut summary.pending,
                            "challengeIssued" => &mut summary.challenge_issued,
                            "succeeded" => &mut summary.succeeded,
                            "failed" => &mut summary.failed,
                            "renewalDue" => &mut summary.renewal_due,
                            "revocationPending" => &mut summary.revocation_pending,
                            "revoked" => &mut summary.revoked,
                            other => return Err(StorageError::Corrupt(format!("device status {other:?}"))),
                        };
                        *counter = u64::try_from(devices).unwrap_or_default();
                    }
                    Ok(summary)
                }

                async fn certificate_expiry(
                    &self,
                    now: DateTime<Utc>,
                ) -> Result<Vec<CertificateExpiry>, StorageError> {
                    let micros = |at: DateTime<Utc>| at.timestamp_micros();
                    let rows = sqlx::query_as::<_, (Uuid, i64, i64, i64)>(&certificate_expiry::<$db>())
                        .bind(micros(now))
                        .bind(micros(now + chrono::Duration::days(7)))
                        .bind(micros(now + chrono::Duration::days(30)))
                        .fetch_all(&self.pool)
                        .await?;
                    let count = |value: i64| u64::try_from(value).unwrap_or_default();
                    Ok(rows
                        .into_iter()
                        .map(
                            |(profile_id, within_7, within_30, expired)| CertificateExpiry {
                                profile_id,
                                expiring_within_7_days: count(within_7),
                                expiring_within_30_days: count(within_30),
                                expired_still_in_use: count(expired),
                            },
                        )
                        .collect())
                }

                async fn failures_by_diagnostic_code(&self) -> Result<Vec<(u32, u64)>, StorageError> {
                    let rows = sqlx::query_as::<_, (i64, i64)>(FAILURES_BY_CODE)
                        .fetch_all(&self.pool)
                        .await?;
                    rows.into_iter()
                        .map(|(code, pairs)| {
                            let code = u32::try_from(code)
                                .map_err(|_| StorageError::Corrupt(format!("diagnostic code {code}")))?;
                            Ok((code, u64::try_from(pairs).unwrap_or_default()))
                        })
                        .collect()
                }
            }
        }
    };
}

pub(crate) use impl_status_repository;
