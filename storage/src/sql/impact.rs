//! Dry runs of admin writes (see `repositories/impact.rs`).
//!
//! A measurement has two ways of finding what a change reaches, chosen by
//! the change: a change to profiles (their settings, assignments, deletion;
//! a group's deletion, which takes its assignments) is measured per profile
//! over the whole fleet in SQL; a change to devices (a member, a device, a
//! user) is measured per device with the facts and the domain rules
//! check-in itself uses, for every profile those devices get.

use super::statuses::{root_reaches_targeted, targeted_everywhere};

/// The devices the SCEP profile `$1` is applicable to, by id — targeting's
/// five rules, as `scepter_domain::targeting` applies them: included and not
/// excluded (1, 2), of the profile's platform `$3` (3), with a primary user
/// when `$4` is `user` (4), and its root `$2` applicable there: of the
/// device's platform, included and not excluded (5). Where the root's
/// assignments cover the profile's, rule 5 is decided once for the statement
/// and the root's member sets are not probed per device.
pub(crate) fn applicable_scep_devices() -> String {
    format!(
        "SELECT d.id FROM devices d WHERE d.platform = $3 AND ($4 <> 'user' OR d.user_id IS NOT NULL) \
         AND {} \
         AND EXISTS (SELECT 1 FROM trusted_certificate_profiles t WHERE t.id = $2 AND t.platform = d.platform) \
         AND {} ORDER BY d.id",
        targeted_everywhere("scep_profile_assignments", "$1"),
        root_reaches_targeted("$1", "$2"),
    )
}

/// The devices the trusted profile `$1` of platform `$2` is applicable to
/// (rules 1–3).
pub(crate) fn applicable_trusted_devices() -> String {
    format!(
        "SELECT d.id FROM devices d WHERE d.platform = $2 AND {} ORDER BY d.id",
        targeted_everywhere("trusted_profile_assignments", "$1"),
    )
}

/// Devices holding a live certificate of profile `$1` at `$2`: not revoked
/// or queued for it, not expired.
pub(crate) const HOLDING_DEVICES: &str = "SELECT DISTINCT device_id FROM issued_certificates \
     WHERE profile_id = $1 AND revoke_status = 'none' AND not_after > $2";

/// The profiles device `$1` holds a live certificate of at `$2`.
pub(crate) const HELD_PROFILES: &str = "SELECT DISTINCT profile_id FROM issued_certificates \
     WHERE device_id = $1 AND revoke_status = 'none' AND not_after > $2";

/// The SCEP profiles whose root is the trusted profile `$1`.
pub(crate) const ROOTED_IN: &str = "SELECT id FROM scep_certificate_profiles WHERE root_certificate_id = $1";

/// What group `$1`'s assignments bring: its profiles of both kinds, and the
/// SCEP profiles whose root it brings.
pub(crate) const GROUP_REACH: &str =
    "SELECT 'trustedCertificate', profile_id FROM trusted_profile_assignments \
     WHERE group_id = $1 \
     UNION SELECT 'scepCertificate', profile_id FROM scep_profile_assignments WHERE group_id = $1 \
     UNION SELECT 'scepCertificate', s.id FROM scep_certificate_profiles s \
     JOIN trusted_profile_assignments a ON a.profile_id = s.root_certificate_id WHERE a.group_id = $1";

/// The devices a group member stands for: the device, or the user's devices.
pub(crate) const MEMBER_DEVICES: &str = "SELECT id FROM devices WHERE id = $1 OR user_id = $1 ORDER BY id";

/// The devices whose primary user is `$1`.
pub(crate) const USER_DEVICES: &str = "SELECT id FROM devices WHERE user_id = $1 ORDER BY id";

macro_rules! impl_impact_repository {
    ($store:ident, $db:ty) => {
        mod impact_repository {
            use std::collections::{HashMap, HashSet};

            use async_trait::async_trait;
            use chrono::{DateTime, Utc};
            use scepter_domain::{
                impact::{ImpactFacts, ProfileFacts},
                targeting::{effective_profiles, Explain, ProfileKind, TargetState},
                Record, ScepCertificateProfile, TrustedCertificateProfile,
            };
            use uuid::Uuid;

            use super::{
                assignment_repository::{device_targeting_facts, erase_assignment, write_assignment},
                directory_repositories::{add_members_in, remove_member_in, update_device_in},
                fetch,
                profile_repositories::{delete_trusted, update_scep, update_trusted},
                versioned, $store,
            };
            use crate::{
                rows::{now, ScepProfileRow, TrustedProfileRow},
                sql::{
                    directory::{DEVICES, GROUPS, USERS},
                    impact::*,
                    ledger::queue_revocations,
                    Dialect,
                    profiles::{SCEP_PROFILES, SELECT_SCEP, SELECT_TRUSTED},
                },
                ImpactRepository, MeasuredChange, NewAuditEntry, PlannedChange, ProfileChange,
                RevocationScope, StorageError, WouldWrite,
            };

            type Connection = <$db as sqlx::Database>::Connection;
            type ProfileKey = (ProfileKind, Uuid);

            /// What a change can affect, found before it is made.
            enum Reach {
                /// These profiles, on every device.
                Profiles(Vec<ProfileKey>),
                /// Every profile, on these devices.
                Devices(Vec<Uuid>),
            }

            /// One side (before or after) of a measurement.
            #[derive(Default)]
            struct Observation {
                applicable: HashMap<ProfileKey, HashSet<Uuid>>,
                versions: HashMap<ProfileKey, i64>,
            }

            async fn ids(connection: &mut Connection, sql: &'static str, key: Uuid) -> Result<Vec<Uuid>, StorageError> {
                Ok(sqlx::query_scalar::<_, Uuid>(sql)
                    .bind(key)
                    .fetch_all(connection)
                    .await?)
            }

            async fn reach(connection: &mut Connection, change: &PlannedChange<'_>) -> Result<Reach, StorageError> {
                Ok(match *change {
                    PlannedChange::ScepProfile { profile_id, .. } => {
                        Reach::Profiles(vec![(ProfileKind::ScepCertificate, profile_id)])
                    }
                    PlannedChange::TrustedProfile { profile_id, .. } => {
                        let mut profiles = vec![(ProfileKind::TrustedCertificate, profile_id)];
                        for rooted in ids(connection, ROOTED_IN, profile_id).await? {
                            profiles.push((ProfileKind::ScepCertificate, rooted));
                        }
                        Reach::Profiles(profiles)
                    }
                    PlannedChange::DeleteGroup { group_id, .. } => {
                        let rows = sqlx::query_as::<_, (String, Uuid)>(GROUP_REACH)
                            .bind(group_id)
                            .fetch_all(connection)
                            .await?;
                        let mut profiles = Vec::with_capacity(rows.len());
                        for (kind, id) in rows {
                            let kind = match kind.as_str() {
                                "trustedCertificate" => ProfileKind::TrustedCertificate,
                                _ => ProfileKind::ScepCertificate,
                            };
                            profiles.push((kind, id));
                        }
                        Reach::Profiles(profiles)
                    }
                    PlannedChange::AddMembers { member_ids, .. } => {
                        let mut devices = Vec::new();
                        for member in member_ids {
                            devices.extend(ids(connection, MEMBER_DEVICES, *member).await?);
                        }
                        devices.sort_unstable();
                        devices.dedup();
                        Reach::Devices(devices)
                    }
                    PlannedChange::RemoveMember { member_id, .. } => {
                        Reach::Devices(ids(connection, MEMBER_DEVICES, member_id).await?)
                    }
                    PlannedChange::ReplaceDevice { device_id, .. }
                    | PlannedChange::DeleteDevice { device_id, .. } => Reach::Devices(vec![device_id]),
                    PlannedChange::DeleteUser { user_id, .. } => {
                        Reach::Devices(ids(connection, USER_DEVICES, user_id).await?)
                    }
                })
            }

            /// Which devices each profile within `reach` is applicable to, and its version.
            async fn observe(connection: &mut Connection, reach: &Reach) -> Result<Observation, StorageError> {
                let mut observed = Observation::default();
                match reach {
                    Reach::Profiles(profiles) => {
                        for &(kind, id) in profiles {
                            let found = match kind {
                                ProfileKind::ScepCertificate => {
                                    let profile: Option<Record<ScepCertificateProfile>> =
                                        fetch::one::<ScepProfileRow, _>(&mut *connection, SELECT_SCEP, id).await?;
                                    match profile {
                                        Some(profile) => {
                                            let content = &profile.content;
                                            let devices = sqlx::query_scalar::<_, Uuid>(&applicable_scep_devices())
                                                .bind(id)
                                                .bind(content.root_certificate_id)
                                                .bind(content.platform.as_str())
                                                .bind(content.settings.certificate_type.as_str())
                                                .fetch_all(&mut *connection)
                                                .await?;
                                            Some((profile.version, devices))
                                        }
                                        None => None,
                                    }
                                }
                                ProfileKind::TrustedCertificate => {
                                    let profile: Option<Record<TrustedCertificateProfile>> =
                                        fetch::one::<TrustedProfileRow, _>(&mut *connection, SELECT_TRUSTED, id)
                                            .await?;
                                    match profile {
                                        Some(profile) => {
                                            let devices = sqlx::query_scalar::<_, Uuid>(&applicable_trusted_devices())
                                                .bind(id)
                                                .bind(profile.content.platform.as_str())
                                                .fetch_all(&mut *connection)
                                                .await?;
                                            Some((profile.version, devices))
                                        }
                                        None => None,
                                    }
                                }
                            };
                            if let Some((version, devices)) = found {
                                observed.versions.insert((kind, id), version);
                                observed.applicable.insert((kind, id), devices.into_iter().collect());
                            }
                        }
                    }
                    Reach::Devices(devices) => {
                        for &device in devices {
                            let Some((memberships, profiles)) =
                                device_targeting_facts(&mut *connection, device).await?
                            else {
                                continue; // deleted: nothing applies to it any more
                            };
                            for profile in &profiles {
                                observed.versions.insert((profile.kind, profile.profile_id), profile.version);
                            }
                            for effective in effective_profiles(&memberships, &profiles, Explain::No) {
                                if effective.state == TargetState::Applicable {
                                    observed
                                        .applicable
                                        .entry((effective.kind, effective.profile_id))
                                        .or_default()
                                        .insert(device);
                                }
                            }
                        }
                    }
                }
                Ok(observed)
            }

            /// Which devices hold a live certificate of which profile within `reach`.
            async fn holding(
                connection: &mut Connection,
                reach: &Reach,
                at: DateTime<Utc>,
            ) -> Result<HashMap<Uuid, HashSet<Uuid>>, StorageError> {
                let mut holding: HashMap<Uuid, HashSet<Uuid>> = HashMap::new();
                match reach {
                    Reach::Profiles(profiles) => {
                        for &(kind, profile) in profiles {
                            if kind != ProfileKind::ScepCertificate {
                                continue;
                            }
                            let devices = sqlx::query_scalar::<_, Uuid>(HOLDING_DEVICES)
                                .bind(profile)
                                .bind(at)
                                .fetch_all(&mut *connection)
                                .await?;
                            holding.entry(profile).or_default().extend(devices);
                        }
                    }
                    Reach::Devices(devices) => {
                        for &device in devices {
                            let profiles = sqlx::query_scalar::<_, Uuid>(HELD_PROFILES)
                                .bind(device)
                                .bind(at)
                                .fetch_all(&mut *connection)
                                .await?;
                            for profile in profiles {
                                holding.entry(profile).or_default().insert(device);
                            }
                        }
                    }
                }
                Ok(holding)
            }

            /// The real write's statements, and what it would have returned.
            async fn write(
                connection: &mut Connection,
                change: PlannedChange<'_>,
                audit: &NewAuditEntry,
            ) -> Result<WouldWrite, StorageError> {
                Ok(match change {
                    PlannedChange::ScepProfile { profile_id, change } => match change {
                        ProfileChange::Replace {
                            expected_version,
                            profile,
                        } => WouldWrite::ScepProfile(
                            update_scep(connection, profile_id, expected_version, profile, audit).await?,
                        ),
                        ProfileChange::Delete { expected_version } => {
                            versioned::delete(connection, &SCEP_PROFILES, profile_id, expected_version, audit).await?;
                            WouldWrite::Nothing
                        }
                        change => assignment(connection, ProfileKind::ScepCertificate, profile_id, change).await?,
                    },
                    PlannedChange::TrustedProfile { profile_id, change } => match change {
                        ProfileChange::Replace {
                            expected_version,
                            profile,
                        } => WouldWrite::TrustedProfile(
                            update_trusted(connection, profile_id, expected_version, profile, audit).await?,
                        ),
                        ProfileChange::Delete { expected_version } => {
                            delete_trusted(connection, profile_id, expected_version, audit).await?;
                            WouldWrite::Nothing
                        }
                        change => assignment(connection, ProfileKind::TrustedCertificate, profile_id, change).await?,
                    },
                    PlannedChange::AddMembers { group_id, member_ids } => {
                        match add_members_in(connection, group_id, member_ids, audit).await? {
                            Ok(change) => WouldWrite::Members(change),
                            Err(rejected) => WouldWrite::RejectedMembers(rejected),
                        }
                    }
                    PlannedChange::RemoveMember { group_id, member_id } => {
                        remove_member_in(connection, group_id, member_id, audit).await?;
                        WouldWrite::Nothing
                    }
                    PlannedChange::ReplaceDevice {
                        device_id,
                        expected_version,
                        device,
                    } => WouldWrite::Device(update_device_in(connection, device_id, expected_version, device, audit).await?),
                    PlannedChange::DeleteDevice {
                        device_id,
                        expected_version,
                    } => {
                        versioned::delete(connection, &DEVICES, device_id, expected_version, audit).await?;
                        WouldWrite::Nothing
                    }
                    PlannedChange::DeleteUser {
                        user_id,
                        expected_version,
                    } => {
                        versioned::delete(connection, &USERS, user_id, expected_version, audit).await?;
                        WouldWrite::Nothing
                    }
                    PlannedChange::DeleteGroup {
                        group_id,
                        expected_version,
                    } => {
                        versioned::delete(connection, &GROUPS, group_id, expected_version, audit).await?;
                        WouldWrite::Nothing
                    }
                })
            }

            /// An assignment's creation or removal, whatever the profile's kind.
            async fn assignment<P>(
                connection: &mut Connection,
                kind: ProfileKind,
                profile_id: Uuid,
                change: ProfileChange<'_, P>,
            ) -> Result<WouldWrite, StorageError> {
                Ok(match change {
                    ProfileChange::Assign { group_id, intent } => WouldWrite::Assignment(
                        write_assignment(connection, kind, profile_id, group_id, intent).await?,
                    ),
                    ProfileChange::Unassign { assignment_id } => {
                        erase_assignment(connection, kind, profile_id, assignment_id).await?;
                        WouldWrite::Nothing
                    }
                    ProfileChange::Replace { .. } | ProfileChange::Delete { .. } => {
                        unreachable!("the caller handles a profile's own replacement and deletion")
                    }
                })
            }

            /// `(device, profile)` of each certificate `scope`'s queueing takes.
            async fn revocations(
                connection: &mut Connection,
                scope: Option<RevocationScope>,
            ) -> Result<Vec<(Uuid, Uuid)>, StorageError> {
                let base = queue_revocations();
                let at = now();
                let mut queued = Vec::new();
                match scope {
                    None => {}
                    Some(RevocationScope::All) => {
                        queued = sqlx::query_as::<_, (Uuid, Uuid)>(&format!("{base} 1 = 1 RETURNING device_id, profile_id"))
                            .bind(at)
                            .fetch_all(&mut *connection)
                            .await?;
                    }
                    Some(RevocationScope::Profile(profile)) => {
                        queued = sqlx::query_as::<_, (Uuid, Uuid)>(&format!(
                            "{base} profile_id = $2 RETURNING device_id, profile_id"
                        ))
                        .bind(at)
                        .bind(profile)
                        .fetch_all(&mut *connection)
                        .await?;
                    }
                    Some(RevocationScope::Devices(devices)) => {
                        let sql = format!("{base} device_id = $2 RETURNING device_id, profile_id");
                        for device in devices {
                            queued.extend(
                                sqlx::query_as::<_, (Uuid, Uuid)>(&sql)
                                    .bind(at)
                                    .bind(device)
                                    .fetch_all(&mut *connection)
                                    .await?,
                            );
                        }
                    }
                }
                Ok(queued)
            }

            /// Per profile, the facts of both sides.
            fn profile_facts(
                before: Observation,
                after: Observation,
                mut holding: HashMap<Uuid, HashSet<Uuid>>,
            ) -> Vec<ProfileFacts> {
                let mut keys: Vec<ProfileKey> = before
                    .applicable
                    .keys()
                    .chain(after.applicable.keys())
                    .copied()
                    .collect();
                keys.sort_unstable();
                keys.dedup();
                let mut before_sets = before.applicable;
                let mut after_sets = after.applicable;
                keys.into_iter()
                    .map(|key @ (kind, profile_id)| {
                        let version_changes = matches!(
                            (before.versions.get(&key), after.versions.get(&key)),
                            (Some(old), Some(new)) if old != new
                        );
                        ProfileFacts {
                            applicable_before: before_sets.remove(&key).unwrap_or_default(),
                            applicable_after: after_sets.remove(&key).unwrap_or_default(),
                            version_changes,
                            holding: holding.remove(&profile_id).unwrap_or_default(),
                            ..ProfileFacts::new(profile_id, kind)
                        }
                    })
                    .collect()
            }

            #[async_trait]
            impl ImpactRepository for $store {
                async fn measure_change(
                    &self,
                    change: PlannedChange<'_>,
                    audit: &NewAuditEntry,
                    revocations_after: Option<RevocationScope>,
                ) -> Result<MeasuredChange, StorageError> {
                    let mut transaction = self.pool.begin().await?;
                    if let Some(setup) = <$db as Dialect>::BEFORE_IMPACT_READS {
                        sqlx::query(setup).execute(&mut *transaction).await?;
                    }
                    let reach = reach(&mut transaction, &change).await?;
                    let before = observe(&mut transaction, &reach).await?;
                    let holding = holding(&mut transaction, &reach, Utc::now()).await?;
                    let written = write(&mut transaction, change, audit).await?;
                    if matches!(written, WouldWrite::RejectedMembers(_)) {
                        transaction.rollback().await?;
                        return Ok(MeasuredChange {
                            facts: ImpactFacts::default(),
                            written,
                        });
                    }
                    let after = observe(&mut transaction, &reach).await?;
                    let revoked_certificates = revocations(&mut transaction, revocations_after).await?;
                    transaction.rollback().await?;
                    Ok(MeasuredChange {
                        facts: ImpactFacts {
                            profiles: profile_facts(before, after, holding),
                            revoked_certificates,
                        },
                        written,
                    })
                }
            }
        }
    };
}

pub(crate) use impl_impact_repository;
