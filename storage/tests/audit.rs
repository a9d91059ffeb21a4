//! The audit trail on SQLite and PostgreSQL alike: an entry is written with
//! the write it describes and only then (a refused write leaves none), reads
//! back exactly, filters and pages, and is purged by age.

use std::sync::Arc;

use chrono::{Duration, Utc};
use scepter_domain::audit::{AuditAction, Change, ResourceType};
use scepter_storage::{Actor, AuditFilter, NewAuditEntry, PageRequest, StorageError, Store};
use serde_json::json;
use uuid::Uuid;

mod support;

use support::*;

scepter_storage::store_tests!(
    entries_read_back_exactly_with_the_id_of_what_they_describe,
    a_refused_write_records_nothing,
    entries_filter_and_page,
    old_entries_are_purged_in_batches,
);

fn actor(subject: &str) -> Actor {
    Actor {
        subject: subject.to_owned(),
        role: "admin".to_owned(),
        request_id: Some(Uuid::new_v4()),
    }
}

fn entry(subject: &str, action: AuditAction, changes: Vec<Change>) -> NewAuditEntry {
    NewAuditEntry::new(&actor(subject), action, ResourceType::User, changes)
}

async fn all(store: &Arc<dyn Store>, filter: AuditFilter) -> Vec<scepter_storage::StoredAuditEntry> {
    store
        .audit_entries(&filter, PageRequest::first(500))
        .await
        .unwrap()
        .items
}

async fn entries_read_back_exactly_with_the_id_of_what_they_describe(store: Arc<dyn Store>) {
    let changes = vec![
        Change::new("/displayName", None, Some(json!("Jane"))),
        Change::new(
            "/settings/keySize",
            Some(json!(2048)),
            Some(json!({"nested": [1, "two", null]})),
        ),
    ];
    let created = entry("alice", AuditAction::Create, changes.clone());
    let before = Utc::now();
    let user = store
        .insert_user(&user("jane@contoso.com"), &created)
        .await
        .unwrap();
    let stored = all(&store, AuditFilter::default()).await;
    assert_eq!(stored.len(), 1);
    let stored = &stored[0];
    assert_eq!(stored.resource_id, Some(user.id));
    assert_eq!(stored.actor, created.actor);
    assert_eq!(stored.action, AuditAction::Create);
    assert_eq!(stored.resource_type, ResourceType::User);
    assert_eq!(stored.changes, changes);
    assert!(stored.occurred_at >= before - Duration::seconds(1) && stored.occurred_at <= Utc::now());
}

async fn a_refused_write_records_nothing(store: Arc<dyn Store>) {
    let audit = entry("alice", AuditAction::Replace, Vec::new());
    let jane = store
        .insert_user(&user("jane@contoso.com"), &audit)
        .await
        .unwrap();
    let stale = store
        .update_user(jane.id, jane.version + 1, &user("x@contoso.com"), &audit)
        .await;
    assert!(
        matches!(stale, Err(StorageError::VersionMismatch { .. })),
        "{stale:?}"
    );
    let missing = store.delete_user(Uuid::now_v7(), None, &audit).await;
    assert!(matches!(missing, Err(StorageError::NotFound)), "{missing:?}");
    let taken = store.insert_user(&user("JANE@contoso.com"), &audit).await;
    assert!(matches!(taken, Err(StorageError::Conflict(_))), "{taken:?}");
    let unknown_member = store.remove_member(Uuid::now_v7(), jane.id, &audit).await;
    assert!(
        matches!(unknown_member, Err(StorageError::NotFound)),
        "{unknown_member:?}"
    );
    assert_eq!(
        all(&store, AuditFilter::default()).await.len(),
        1,
        "only the insert"
    );
}

async fn entries_filter_and_page(store: Arc<dyn Store>) {
    let jane = store
        .insert_user(
            &user("jane@contoso.com"),
            &entry("alice", AuditAction::Create, Vec::new()),
        )
        .await
        .unwrap();
    let joe = store
        .insert_user(
            &user("joe@contoso.com"),
            &entry("bob", AuditAction::Create, Vec::new()),
        )
        .await
        .unwrap();
    store
        .delete_user(jane.id, None, &entry("bob", AuditAction::Delete, Vec::new()))
        .await
        .unwrap();

    let subjects = |entries: Vec<scepter_storage::StoredAuditEntry>| {
        entries
            .into_iter()
            .map(|entry| (entry.actor.subject, entry.resource_id.unwrap()))
            .collect::<Vec<_>>()
    };
    let by_bob = AuditFilter {
        actor: Some("bob".to_owned()),
        ..AuditFilter::default()
    };
    assert_eq!(
        subjects(all(&store, by_bob).await),
        [("bob".to_owned(), joe.id), ("bob".to_owned(), jane.id)]
    );
    let about_jane = AuditFilter {
        resource_id: Some(jane.id),
        ..AuditFilter::default()
    };
    assert_eq!(all(&store, about_jane).await.len(), 2);
    let deletes = AuditFilter {
        action: Some(AuditAction::Delete),
        resource_type: Some(ResourceType::User),
        ..AuditFilter::default()
    };
    assert_eq!(
        subjects(all(&store, deletes).await),
        [("bob".to_owned(), jane.id)]
    );
    let other_type = AuditFilter {
        resource_type: Some(ResourceType::Device),
        ..AuditFilter::default()
    };
    assert!(all(&store, other_type).await.is_empty());
    let future = AuditFilter {
        from: Some(Utc::now() + Duration::minutes(1)),
        ..AuditFilter::default()
    };
    assert!(all(&store, future).await.is_empty());

    // Keyset pages in time order.
    let first = store
        .audit_entries(&AuditFilter::default(), PageRequest::first(2))
        .await
        .unwrap();
    assert_eq!(first.items.len(), 2);
    let cursor = first.next_cursor.expect("a second page");
    let second = store
        .audit_entries(
            &AuditFilter::default(),
            PageRequest {
                limit: 2,
                cursor: Some(cursor),
            },
        )
        .await
        .unwrap();
    assert_eq!(second.items.len(), 1);
    assert!(second.next_cursor.is_none());
    assert!(first.items[1].id < second.items[0].id);
}

async fn old_entries_are_purged_in_batches(store: Arc<dyn Store>) {
    for index in 0..5 {
        store
            .insert_user(
                &user(&format!("u{index}@contoso.com")),
                &entry("alice", AuditAction::Create, Vec::new()),
            )
            .await
            .unwrap();
    }
    assert_eq!(
        store
            .purge_audit_entries(Utc::now() - Duration::days(1), 10)
            .await
            .unwrap(),
        0
    );
    let cutoff = Utc::now() + Duration::seconds(1);
    assert_eq!(store.purge_audit_entries(cutoff, 3).await.unwrap(), 3);
    assert_eq!(store.purge_audit_entries(cutoff, 3).await.unwrap(), 2);
    assert!(all(&store, AuditFilter::default()).await.is_empty());
}
