//! Profile assignments, and the facts targeting decides on.

use scepter_domain::{
    audit::{pointer, Change},
    targeting::ProfileKind,
};

/// The tables of one profile kind. Fixed strings, never input, so building
/// SQL from them is safe.
pub(crate) struct Tables {
    pub profiles: &'static str,
    pub assignments: &'static str,
}

pub(crate) fn tables(kind: ProfileKind) -> Tables {
    match kind {
        ProfileKind::TrustedCertificate => Tables {
            profiles: "trusted_certificate_profiles",
            assignments: "trusted_profile_assignments",
        },
        ProfileKind::ScepCertificate => Tables {
            profiles: "scep_certificate_profiles",
            assignments: "scep_profile_assignments",
        },
    }
}

/// Whether an assignment with `intent` of the profile whose id is `profile`
/// (an SQL expression) reaches device `d` (alias of `devices`) through a
/// device group or the device's primary user's groups. The SQL half of
/// `scepter_domain::targeting`; the black-box suite checks they agree.
pub(crate) fn reached_through(assignments: &str, profile: &str, intent: &str) -> String {
    format!(
        "(EXISTS (SELECT 1 FROM {assignments} a JOIN device_group_members m \
             ON m.group_id = a.group_id AND m.device_id = d.id \
             WHERE a.profile_id = {profile} AND a.intent = '{intent}') \
          OR EXISTS (SELECT 1 FROM {assignments} a JOIN user_group_members m \
             ON m.group_id = a.group_id AND m.user_id = d.user_id \
             WHERE a.profile_id = {profile} AND a.intent = '{intent}'))"
    )
}

/// Every assignment to a group the device (`$1`) or its primary user (`$2`)
/// is in, with its profile's facts. Indexes: device_group_members_device,
/// user_group_members_user, *_profile_assignments_group, and the primary keys.
pub(crate) const TARGETING_FACTS: &str = concat_targeting_facts!("$2", "ORDER BY profile_kind, profile_id");

/// The device `$1` (platform, primary user) and its [`TARGETING_FACTS`] in
/// one round trip: one row per assignment, or one row without assignment
/// columns when none reaches it; no row for an unknown device.
pub(crate) const DEVICE_TARGETING_FACTS: &str = concat!(
    "SELECT d.platform AS device_platform, d.user_id AS device_user_id, f.* FROM devices d LEFT JOIN (",
    concat_targeting_facts!("(SELECT user_id FROM devices WHERE id = $1)", ""),
    ") f ON 1 = 1 WHERE d.id = $1 ORDER BY f.profile_kind, f.profile_id"
);

/// The targeting-facts statement with the primary user given by `$user`.
macro_rules! concat_targeting_facts {
    ($user:literal, $order:literal) => {
        concat!(
            // The member tables hold groups of their own type only (a CHECK
            // on `group_type`), so the type is known without reading the groups.
            "WITH member_groups AS ( \
                 SELECT group_id, 'device' AS group_type FROM device_group_members WHERE device_id = $1 \
                 UNION ALL \
                 SELECT group_id, 'user' FROM user_group_members WHERE user_id = ",
            $user,
            ") \
             SELECT a.id AS assignment_id, a.group_id, mg.group_type, a.intent, \
                    'trustedCertificate' AS profile_kind, p.id AS profile_id, p.version AS profile_version, \
                    p.platform, NULL AS certificate_type, NULL AS root_profile_id \
             FROM member_groups mg \
             JOIN trusted_profile_assignments a ON a.group_id = mg.group_id \
             JOIN trusted_certificate_profiles p ON p.id = a.profile_id \
             UNION ALL \
             SELECT a.id, a.group_id, mg.group_type, a.intent, \
                    'scepCertificate', p.id, p.version, p.platform, p.certificate_type, p.root_certificate_id \
             FROM member_groups mg \
             JOIN scep_profile_assignments a ON a.group_id = mg.group_id \
             JOIN scep_certificate_profiles p ON p.id = a.profile_id ",
            $order
        )
    };
}
use concat_targeting_facts;

pub(crate) fn count_profile(kind: ProfileKind) -> String {
    format!("SELECT COUNT(*) FROM {} WHERE id = $1", tables(kind).profiles)
}

pub(crate) fn insert_assignment(kind: ProfileKind) -> String {
    format!(
        "INSERT INTO {} (id, profile_id, group_id, intent, created_at) VALUES ($1, $2, $3, $4, $5) \
         RETURNING id, profile_id, group_id, intent, created_at",
        tables(kind).assignments
    )
}

/// `$1` profile, `$2` keyset, `$3` limit.
pub(crate) fn list_assignments(kind: ProfileKind) -> String {
    format!(
        "SELECT id, profile_id, group_id, intent, created_at FROM {} \
         WHERE profile_id = $1 AND ($2 IS NULL OR id > $2) ORDER BY id LIMIT $3",
        tables(kind).assignments
    )
}

pub(crate) fn delete_assignment(kind: ProfileKind) -> String {
    format!(
        "DELETE FROM {} WHERE id = $1 AND profile_id = $2 RETURNING group_id, intent",
        tables(kind).assignments
    )
}

/// The audit trail's view of an assignment appearing or disappearing: it is
/// a member of its profile, at `/assignments/{id}`.
pub(crate) fn assignment_change(
    assignment_id: uuid::Uuid,
    before: Option<(uuid::Uuid, &str)>,
    after: Option<(uuid::Uuid, &str)>,
) -> Change {
    let value =
        |(group_id, intent): (uuid::Uuid, &str)| serde_json::json!({"groupId": group_id, "intent": intent});
    Change::new(
        pointer("/assignments", &assignment_id.to_string()),
        before.map(value),
        after.map(value),
    )
}

/// Rules 1–3 of scepter_domain::targeting: included, not excluded, same
/// platform. `$1` profile, `$2` platform, `$3` keyset, `$4` limit. Walks
/// devices_platform_id in id order; each candidate is an index probe per assignment.
pub(crate) fn targeted_devices(kind: ProfileKind) -> String {
    let assignments = tables(kind).assignments;
    format!(
        "SELECT d.* FROM devices d WHERE d.platform = $2 AND ($3 IS NULL OR d.id > $3) \
         AND {} AND NOT {} ORDER BY d.id LIMIT $4",
        reached_through(assignments, "$1", "include"),
        reached_through(assignments, "$1", "exclude")
    )
}

/// The targeting facts of a device once its platform and primary user are known.
pub(crate) fn memberships(
    platform: scepter_domain::Platform,
    user_id: Option<uuid::Uuid>,
    profiles: &[scepter_domain::targeting::TargetedProfile],
) -> scepter_domain::targeting::DeviceMemberships {
    use scepter_domain::directory::GroupType;
    let groups_of = |group_type: GroupType| {
        profiles
            .iter()
            .flat_map(|profile| &profile.assignments)
            .filter(|assignment| assignment.group_type == group_type)
            .map(|assignment| assignment.group_id)
            .collect()
    };
    scepter_domain::targeting::DeviceMemberships {
        platform,
        has_primary_user: user_id.is_some(),
        device_groups: groups_of(GroupType::Device),
        user_groups: groups_of(GroupType::User),
    }
}

macro_rules! impl_assignment_repository {
    ($store:ident, $db:ty) => {
        mod assignment_repository {
            use async_trait::async_trait;
            use scepter_domain::{
                targeting::{DeviceMemberships, Intent, ProfileKind, TargetedProfile},
                Platform, Record,
            };
            use uuid::Uuid;

            use super::{audit_repository::insert_audit_entry, $store};
            use crate::{
                rows::{now, targeted_profiles, AssignmentRow, DeviceRow, DeviceTargetingRow, TargetingRow},
                sql::{assignments::*, unique_violation},
                Assignment, AssignmentRepository, NewAuditEntry, Page, PageRequest, StorageError,
                StoredDevice,
            };

            /// The device's platform, primary user and targeting facts in one
            /// round trip; `None` for an unknown device.
            pub(super) async fn device_targeting_facts(
                executor: impl sqlx::Executor<'_, Database = $db>,
                device_id: Uuid,
            ) -> Result<Option<(DeviceMemberships, Vec<TargetedProfile>)>, StorageError> {
                let rows = sqlx::query_as::<_, DeviceTargetingRow>(DEVICE_TARGETING_FACTS)
                    .bind(device_id)
                    .fetch_all(executor)
                    .await?;
                let Some(first) = rows.first() else {
                    return Ok(None);
                };
                let platform: Platform = first
                    .device_platform
                    .parse()
                    .map_err(|error| StorageError::Corrupt(format!("device {device_id}: {error}")))?;
                let user_id = first.device_user_id;
                let mut assignments = Vec::with_capacity(rows.len());
                for row in rows {
                    assignments.extend(row.into_assignment()?);
                }
                let profiles = targeted_profiles(assignments)?;
                Ok(Some((memberships(platform, user_id, &profiles), profiles)))
            }

            /// The targeting facts of a device whose platform and primary user are known.
            pub(super) async fn targeting_facts(
                executor: impl sqlx::Executor<'_, Database = $db>,
                device_id: Uuid,
                platform: Platform,
                user_id: Option<Uuid>,
            ) -> Result<(DeviceMemberships, Vec<TargetedProfile>), StorageError> {
                let rows = sqlx::query_as::<_, TargetingRow>(TARGETING_FACTS)
                    .bind(device_id)
                    .bind(user_id)
                    .fetch_all(executor)
                    .await?;
                let profiles = targeted_profiles(rows)?;
                Ok((memberships(platform, user_id, &profiles), profiles))
            }

            /// [`StorageError::NotFound`] unless the profile exists.
            async fn profile_exists(
                executor: impl sqlx::Executor<'_, Database = $db>,
                kind: ProfileKind,
                profile_id: Uuid,
            ) -> Result<(), StorageError> {
                let count = sqlx::query_scalar::<_, i64>(&count_profile(kind))
                    .bind(profile_id)
                    .fetch_one(executor)
                    .await?;
                if count == 0 {
                    return Err(StorageError::NotFound);
                }
                Ok(())
            }

            type Connection = <$db as sqlx::Database>::Connection;

            /// Inserts an assignment of an existing profile (also for a dry run's rolled-back transaction).
            pub(super) async fn write_assignment(
                connection: &mut Connection,
                kind: ProfileKind,
                profile_id: Uuid,
                group_id: Uuid,
                intent: Intent,
            ) -> Result<Assignment, StorageError> {
                profile_exists(&mut *connection, kind, profile_id).await?;
                let row = sqlx::query_as::<_, AssignmentRow>(&insert_assignment(kind))
                    .bind(Uuid::now_v7())
                    .bind(profile_id)
                    .bind(group_id)
                    .bind(intent.as_str())
                    .bind(now())
                    .fetch_one(&mut *connection)
                    .await
                    .map_err(|error| match unique_violation(&error) {
                        Some(_) => {
                            StorageError::Conflict("the group is already assigned to this profile".to_owned())
                        }
                        None => error.into(),
                    })?;
                row.into_assignment(kind)
            }

            /// Deletes an assignment; returns its group and intent.
            pub(super) async fn erase_assignment(
                connection: &mut Connection,
                kind: ProfileKind,
                profile_id: Uuid,
                assignment_id: Uuid,
            ) -> Result<(Uuid, String), StorageError> {
                sqlx::query_as::<_, (Uuid, String)>(&delete_assignment(kind))
                    .bind(assignment_id)
                    .bind(profile_id)
                    .fetch_optional(connection)
                    .await?
                    .ok_or(StorageError::NotFound)
            }

            #[async_trait]
            impl AssignmentRepository for $store {
                async fn insert_assignment(
                    &self,
                    kind: ProfileKind,
                    profile_id: Uuid,
                    group_id: Uuid,
                    intent: Intent,
                    audit: &NewAuditEntry,
                ) -> Result<Assignment, StorageError> {
                    let mut transaction = self.pool.begin().await?;
                    let assignment =
                        write_assignment(&mut transaction, kind, profile_id, group_id, intent).await?;
                    let change = assignment_change(assignment.id, None, Some((group_id, intent.as_str())));
                    let audit = audit.with_changes(vec![change]);
                    insert_audit_entry(&mut *transaction, &audit, Some(profile_id)).await?;
                    transaction.commit().await?;
                    Ok(assignment)
                }

                async fn list_assignments(
                    &self,
                    kind: ProfileKind,
                    profile_id: Uuid,
                    page: PageRequest,
                ) -> Result<Page<Assignment>, StorageError> {
                    profile_exists(&self.pool, kind, profile_id).await?;
                    let rows = sqlx::query_as::<_, AssignmentRow>(&list_assignments(kind))
                        .bind(profile_id)
                        .bind(page.after())
                        .bind(page.fetch_limit())
                        .fetch_all(&self.pool)
                        .await?;
                    let assignments = rows
                        .into_iter()
                        .map(|row| row.into_assignment(kind))
                        .collect::<Result<Vec<_>, _>>()?;
                    Ok(Page::from_overfetched(
                        assignments,
                        page.limit,
                        |assignment: &Assignment| assignment.id,
                    ))
                }

                async fn delete_assignment(
                    &self,
                    kind: ProfileKind,
                    profile_id: Uuid,
                    assignment_id: Uuid,
                    audit: &NewAuditEntry,
                ) -> Result<(), StorageError> {
                    let mut transaction = self.pool.begin().await?;
                    let (group_id, intent) =
                        erase_assignment(&mut transaction, kind, profile_id, assignment_id).await?;
                    let change = assignment_change(assignment_id, Some((group_id, &intent)), None);
                    insert_audit_entry(
                        &mut *transaction,
                        &audit.with_changes(vec![change]),
                        Some(profile_id),
                    )
                    .await?;
                    transaction.commit().await?;
                    Ok(())
                }

                async fn device_targeting_facts(
                    &self,
                    device_id: Uuid,
                ) -> Result<Option<(DeviceMemberships, Vec<TargetedProfile>)>, StorageError> {
                    device_targeting_facts(&self.pool, device_id).await
                }

                async fn targeted_devices(
                    &self,
                    kind: ProfileKind,
                    profile_id: Uuid,
                    platform: Platform,
                    page: PageRequest,
                ) -> Result<Page<Record<StoredDevice>>, StorageError> {
                    let rows = sqlx::query_as::<_, DeviceRow>(&targeted_devices(kind))
                        .bind(profile_id)
                        .bind(platform.as_str())
                        .bind(page.after())
                        .bind(page.fetch_limit())
                        .fetch_all(&self.pool)
                        .await?;
                    Page::from_rows(rows, page, |record: &Record<StoredDevice>| record.id)
                }
            }
        }
    };
}

pub(crate) use impl_assignment_repository;
