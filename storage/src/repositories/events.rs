//! The event log.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use scepter_domain::diagnostics::{DiagnosticCode, EventId};
use uuid::Uuid;

use crate::{Page, PageRequest, StorageError};

/// An event to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEvent {
    pub event: EventId,
    pub diagnostic: DiagnosticCode,
    pub device_id: Option<Uuid>,
    pub profile_id: Option<Uuid>,
    pub certificate_id: Option<Uuid>,
    pub transaction_id: Option<String>,
    /// For operators: why, without secrets.
    pub message: String,
}

/// A recorded event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEvent {
    pub id: Uuid,
    pub event_id: u32,
    pub diagnostic_code: u32,
    pub device_id: Option<Uuid>,
    pub profile_id: Option<Uuid>,
    pub certificate_id: Option<Uuid>,
    pub transaction_id: Option<String>,
    pub message: String,
    pub occurred_at: DateTime<Utc>,
}

/// Filter of the event list; every field narrows it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EventFilter {
    pub device_id: Option<Uuid>,
    pub profile_id: Option<Uuid>,
    pub event_id: Option<u32>,
    /// Inclusive.
    pub from: Option<DateTime<Utc>>,
    /// Exclusive.
    pub to: Option<DateTime<Utc>>,
}

/// The event log.
#[async_trait]
pub trait EventRepository: Send + Sync {
    /// Records an event on its own.
    async fn record_event(&self, event: &NewEvent) -> Result<(), StorageError>;

    async fn list_events(
        &self,
        filter: EventFilter,
        page: PageRequest,
    ) -> Result<Page<StoredEvent>, StorageError>;

    /// Deletes up to `limit` events that occurred before `before`; returns how many.
    async fn purge_events(&self, before: DateTime<Utc>, limit: u32) -> Result<u64, StorageError>;
}
