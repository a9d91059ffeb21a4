//! Writes with optimistic concurrency, one implementation for every admin
//! resource with a version (users, devices, groups, both profile kinds):
//! create, read, replace with a required `If-Match`, delete with an optional
//! one, and the revocations a change can make necessary.

use std::future::Future;

use futures_util::future::BoxFuture;
use scepter_domain::{
    audit::{AuditAction, ResourceType},
    Record,
};
use scepter_storage::{
    Actor, NewAuditEntry, PageRequest, PlannedChange, RevocationScope, StorageError, Store,
};
use serde_json::Value;
use uuid::Uuid;

use super::{
    audit,
    dry_run::{self, DryRun},
    enrollment,
};
use crate::{error::ApiError, state::AppState};

/// The `If-Match` precondition of a write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IfMatch {
    /// No header: writes that need one answer 428.
    Absent,
    /// `*`: any current version.
    Any,
    /// The versions the client accepts, from strong entity tags like `"3"`.
    Versions(Vec<i64>),
}

impl IfMatch {
    /// The version a conditional write should expect, given the current one.
    pub fn expect(&self, current: i64) -> Result<i64, ApiError> {
        match self {
            IfMatch::Absent => Err(ApiError::PreconditionRequired),
            IfMatch::Any => Ok(current),
            IfMatch::Versions(versions) if versions.contains(&current) => Ok(current),
            IfMatch::Versions(_) => Err(ApiError::PreconditionFailed { current }),
        }
    }
}

/// A repository call as the store returns it.
pub type Pending<'a, T> = BoxFuture<'a, Result<T, StorageError>>;

/// A resource with a version: how to validate it and which repository calls keep it.
pub trait Versioned: Sized {
    /// The request body it is validated from.
    type Draft;
    /// What the store returns of it (a device adds what Scepter observed).
    type Stored;

    /// Validates a draft; `current` is the record a replacement replaces.
    fn validate(
        state: &AppState,
        draft: Self::Draft,
        current: Option<&Record<Self::Stored>>,
    ) -> impl Future<Output = Result<Self, ApiError>>;

    /// What its audit entries name it.
    const RESOURCE_TYPE: ResourceType;

    /// What the audit trail shows of it (see [`super::audit`]).
    fn snapshot(content: &Self) -> Value;

    /// The content of what the store returns.
    fn content(stored: &Self::Stored) -> &Self;

    fn insert<'a>(
        store: &'a dyn Store,
        content: &'a Self,
        audit: &'a NewAuditEntry,
    ) -> Pending<'a, Record<Self::Stored>>;

    fn read(store: &dyn Store, id: Uuid) -> Pending<'_, Option<Record<Self::Stored>>>;

    fn update<'a>(
        store: &'a dyn Store,
        id: Uuid,
        expected_version: i64,
        content: &'a Self,
        audit: &'a NewAuditEntry,
    ) -> Pending<'a, Record<Self::Stored>>;

    fn delete<'a>(
        store: &'a dyn Store,
        id: Uuid,
        expected_version: Option<i64>,
        audit: &'a NewAuditEntry,
    ) -> Pending<'a, ()>;

    /// How a refused insert or update reads: a missing reference names the field holding it.
    fn write_error(error: StorageError) -> ApiError {
        error.into()
    }

    /// The certificates to check after the resource `id` was replaced.
    fn revocations_after_replace(_id: Uuid) -> Option<RevocationScope> {
        None
    }

    /// The certificates to check after the resource `id` was deleted.
    fn revocations_after_delete(_id: Uuid) -> Option<RevocationScope> {
        None
    }

    /// The change a dry run of replacing `id` with `content` measures;
    /// `None` where a replacement cannot change what devices get (the dry
    /// run is then refused rather than answered with a guess).
    fn planned_replace(_id: Uuid, _expected_version: i64, _content: &Self) -> Option<PlannedChange<'_>> {
        None
    }

    /// The change a dry run of deleting `id` measures, as [`Self::planned_replace`].
    fn planned_delete(_id: Uuid, _expected_version: Option<i64>) -> Option<PlannedChange<'static>> {
        None
    }
}

/// Creates the resource, recording the audit entry of `actor`.
pub async fn create<R: Versioned>(
    state: &AppState,
    actor: &Actor,
    draft: R::Draft,
) -> Result<Record<R::Stored>, ApiError> {
    let content = R::validate(state, draft, None).await?;
    let audit = audit::entry(
        actor,
        AuditAction::Create,
        R::RESOURCE_TYPE,
        None,
        Some(&R::snapshot(&content)),
    );
    R::insert(&*state.store, &content, &audit)
        .await
        .map_err(R::write_error)
}

/// The resource, or 404.
pub async fn get<R: Versioned>(state: &AppState, id: Uuid) -> Result<Record<R::Stored>, ApiError> {
    R::read(&*state.store, id).await?.ok_or(ApiError::NotFound)
}

/// Replaces the resource if `if_match` (required) admits its current version.
///
/// The audit entry's "before" is `current`, the version the update expects:
/// a version that moved meanwhile fails the update (412), so it is exact.
pub async fn replace<R: Versioned>(
    state: &AppState,
    actor: &Actor,
    id: Uuid,
    if_match: &IfMatch,
    draft: R::Draft,
) -> Result<Record<R::Stored>, ApiError> {
    let (current, expected_version, content) = prepare_replace::<R>(state, id, if_match, draft).await?;
    let audit = replace_entry::<R>(actor, &current, &content);
    let record = R::update(&*state.store, id, expected_version, &content, &audit)
        .await
        .map_err(R::write_error)?;
    queue_revocations(state, R::revocations_after_replace(id)).await;
    Ok(record)
}

/// A dry run of [`replace`]: the same checks, the same statements, nothing kept.
pub async fn replace_dry_run<R: Versioned>(
    state: &AppState,
    actor: &Actor,
    id: Uuid,
    if_match: &IfMatch,
    draft: R::Draft,
    devices: PageRequest,
) -> Result<DryRun, ApiError> {
    let (current, expected_version, content) = prepare_replace::<R>(state, id, if_match, draft).await?;
    let audit = replace_entry::<R>(actor, &current, &content);
    let change = R::planned_replace(id, expected_version, &content)
        .ok_or_else(|| dry_run::unsupported("this replacement"))?;
    dry_run::measure(state, change, &audit, R::revocations_after_replace(id), devices)
        .await
        .map_err(R::write_error)
}

/// The audit entry of replacing `current` with `content`.
fn replace_entry<R: Versioned>(actor: &Actor, current: &Record<R::Stored>, content: &R) -> NewAuditEntry {
    audit::entry(
        actor,
        AuditAction::Replace,
        R::RESOURCE_TYPE,
        Some(&R::snapshot(R::content(&current.content))),
        Some(&R::snapshot(content)),
    )
}

/// Everything a replacement checks before it writes, in the order it checks
/// it (404, 428/412, 422): the current record, the version to expect, and
/// the validated content. A dry run checks the same.
pub async fn prepare_replace<R: Versioned>(
    state: &AppState,
    id: Uuid,
    if_match: &IfMatch,
    draft: R::Draft,
) -> Result<(Record<R::Stored>, i64, R), ApiError> {
    let current = get::<R>(state, id).await?;
    let expected_version = if_match.expect(current.version)?;
    let content = R::validate(state, draft, Some(&current)).await?;
    Ok((current, expected_version, content))
}

/// Deletes the resource; when `if_match` is sent, only if it admits the current version.
///
/// The delete always expects the version it read, so the audit entry shows
/// exactly what was deleted. Without `If-Match` any version may go: a
/// version that moved between the read and the delete is read again.
pub async fn delete<R: Versioned>(
    state: &AppState,
    actor: &Actor,
    id: Uuid,
    if_match: &IfMatch,
) -> Result<(), ApiError> {
    let mut attempts = 0;
    loop {
        let current = get::<R>(state, id).await?;
        let expected_version = match if_match {
            IfMatch::Absent => current.version,
            condition => condition.expect(current.version)?,
        };
        let before = R::snapshot(R::content(&current.content));
        let audit = audit::entry(actor, AuditAction::Delete, R::RESOURCE_TYPE, Some(&before), None);
        match R::delete(&*state.store, id, Some(expected_version), &audit).await {
            Err(StorageError::VersionMismatch { .. }) if *if_match == IfMatch::Absent && attempts < 3 => {
                attempts += 1;
            }
            result => {
                result?;
                break;
            }
        }
    }
    queue_revocations(state, R::revocations_after_delete(id)).await;
    Ok(())
}

/// A dry run of [`delete`]: the same preconditions, the same statements, nothing kept.
pub async fn delete_dry_run<R: Versioned>(
    state: &AppState,
    actor: &Actor,
    id: Uuid,
    if_match: &IfMatch,
    devices: PageRequest,
) -> Result<DryRun, ApiError> {
    let current = get::<R>(state, id).await?;
    let expected_version = match if_match {
        IfMatch::Absent => current.version,
        condition => condition.expect(current.version)?,
    };
    let before = R::snapshot(R::content(&current.content));
    let audit = audit::entry(actor, AuditAction::Delete, R::RESOURCE_TYPE, Some(&before), None);
    let change =
        R::planned_delete(id, Some(expected_version)).ok_or_else(|| dry_run::unsupported("this delete"))?;
    Ok(dry_run::measure(state, change, &audit, R::revocations_after_delete(id), devices).await?)
}

async fn queue_revocations(state: &AppState, scope: Option<RevocationScope>) {
    if let Some(scope) = scope {
        enrollment::queue_revocations(state, scope).await;
    }
}

/// The store's "a referenced resource does not exist" as a 422 on the `field` holding the reference.
pub fn missing_reference(error: StorageError, field: &str, message: &str) -> ApiError {
    match error {
        StorageError::MissingReference => ApiError::field(field, "exists", message),
        other => other.into(),
    }
}
