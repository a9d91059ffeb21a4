//! Writes with optimistic concurrency, one implementation for every admin
//! resource with a version (users, devices, groups, both profile kinds):
//! create, read, replace with a required `If-Match`, delete with an optional
//! one, and the revocations a change can make necessary.

use std::future::Future;

use futures_util::future::BoxFuture;
use scepter_domain::Record;
use scepter_storage::{RevocationScope, StorageError, Store};
use uuid::Uuid;

use super::enrollment;
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

    fn insert<'a>(store: &'a dyn Store, content: &'a Self) -> Pending<'a, Record<Self::Stored>>;

    fn read(store: &dyn Store, id: Uuid) -> Pending<'_, Option<Record<Self::Stored>>>;

    fn update<'a>(
        store: &'a dyn Store,
        id: Uuid,
        expected_version: i64,
        content: &'a Self,
    ) -> Pending<'a, Record<Self::Stored>>;

    fn delete(store: &dyn Store, id: Uuid, expected_version: Option<i64>) -> Pending<'_, ()>;

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
}

pub async fn create<R: Versioned>(state: &AppState, draft: R::Draft) -> Result<Record<R::Stored>, ApiError> {
    let content = R::validate(state, draft, None).await?;
    R::insert(&*state.store, &content).await.map_err(R::write_error)
}

/// The resource, or 404.
pub async fn get<R: Versioned>(state: &AppState, id: Uuid) -> Result<Record<R::Stored>, ApiError> {
    R::read(&*state.store, id).await?.ok_or(ApiError::NotFound)
}

/// Replaces the resource if `if_match` (required) admits its current version.
pub async fn replace<R: Versioned>(
    state: &AppState,
    id: Uuid,
    if_match: &IfMatch,
    draft: R::Draft,
) -> Result<Record<R::Stored>, ApiError> {
    let current = get::<R>(state, id).await?;
    let expected_version = if_match.expect(current.version)?;
    let content = R::validate(state, draft, Some(&current)).await?;
    let record = R::update(&*state.store, id, expected_version, &content)
        .await
        .map_err(R::write_error)?;
    queue_revocations(state, R::revocations_after_replace(id)).await;
    Ok(record)
}

/// Deletes the resource; when `if_match` is sent, only if it admits the current version.
pub async fn delete<R: Versioned>(state: &AppState, id: Uuid, if_match: &IfMatch) -> Result<(), ApiError> {
    let expected_version = match if_match {
        IfMatch::Absent => None,
        condition => Some(condition.expect(get::<R>(state, id).await?.version)?),
    };
    R::delete(&*state.store, id, expected_version).await?;
    queue_revocations(state, R::revocations_after_delete(id)).await;
    Ok(())
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
