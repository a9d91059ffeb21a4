//! The one repository suite both backends must pass: every behaviour the API
//! relies on, run against SQLite and PostgreSQL alike.

use std::sync::Arc;

use scepter_domain::{
    scep_profile::{CertificateType, KeyUsage, SubjectNameFormat},
    Platform, ScepCertificateProfile, ScepCertificateProfileDraft, ScepProfileContext,
    TrustedCertificateProfile, TrustedCertificateProfileDraft,
};
use scepter_storage::testing::audit_entry;
use scepter_storage::{PageRequest, ProfileFilter, StorageError, Store};
use uuid::Uuid;

const ROOT_PEM: &str = include_str!("../../domain/tests/fixtures/root-ca.pem");

scepter_storage::store_tests!(
    migrations_are_idempotent_and_ping_answers,
    trusted_profile_round_trips,
    scep_profile_round_trips,
    missing_profiles_read_as_none,
    list_pages_in_creation_order_without_gaps_or_repeats,
    list_filters_by_platform,
    update_bumps_version_and_modified_time_only,
    update_at_a_stale_version_reports_the_current_one,
    update_or_delete_of_a_missing_profile_is_not_found,
    delete_at_a_stale_version_is_refused_and_keeps_the_row,
    trusted_profile_in_use_cannot_be_deleted,
    trusted_profile_in_use_cannot_move_to_an_unsuitable_platform,
    scep_profile_needs_an_existing_root,
);

fn trusted(platform: Platform, name: &str) -> TrustedCertificateProfile {
    TrustedCertificateProfile::parse(TrustedCertificateProfileDraft {
        display_name: name.to_owned(),
        description: Some("for tests".to_owned()),
        platform,
        cert_file_name: Some("root.cer".to_owned()),
        trusted_root_certificate: ROOT_PEM.to_owned(),
        destination_store: None,
        issuing_certificates: None,
    })
    .expect("valid trusted profile")
}

fn scep(platform: Platform, root_id: Uuid) -> ScepCertificateProfile {
    let draft = ScepCertificateProfileDraft {
        display_name: "Device certificate".to_owned(),
        description: None,
        platform,
        certificate_type: CertificateType::Device,
        certificate_validity_period_value: None,
        certificate_validity_period_scale: None,
        key_storage_provider: None,
        subject_name_format: SubjectNameFormat::Custom,
        subject_name_format_string: Some("CN={{AAD_Device_ID}},O=Contoso".to_owned()),
        custom_subject_alternative_names: vec![],
        key_usage: vec![KeyUsage::DigitalSignature, KeyUsage::KeyEncipherment],
        key_size: 2048,
        hash_algorithm: None,
        root_certificate_id: root_id,
        extended_key_usages: None,
        renewal_threshold_percentage: Some(25),
        scep_server_urls: vec!["https://ndes.contoso.example/certsrv/mscep/mscep.dll".to_owned()],
    };
    let context = ScepProfileContext {
        allow_http_scep_urls: false,
        root_platform: Some(platform),
    };
    ScepCertificateProfile::parse(draft, &context).expect("valid SCEP profile")
}

/// `backend_tests!` (the form the black-box suite uses) hands each test a
/// backend: two pools on one database see the same rows.
mod per_backend {
    use scepter_domain::Platform;
    use scepter_storage::testing::{audit_entry, Backend, TestDatabase};

    scepter_storage::backend_tests!(a_second_pool_on_the_same_database_sees_its_rows);

    async fn a_second_pool_on_the_same_database_sees_its_rows(backend: Backend) {
        let database = TestDatabase::fresh(backend).await;
        let first = database.connect().await;
        let inserted = first
            .insert_trusted_profile(&super::trusted(Platform::Windows10, "Shared"), &audit_entry())
            .await
            .unwrap();
        let second = database.share().connect().await;
        assert_eq!(second.trusted_profile(inserted.id).await.unwrap(), Some(inserted));
    }
}

async fn migrations_are_idempotent_and_ping_answers(store: Arc<dyn Store>) {
    store.migrate().await.expect("second migration run is a no-op");
    store.ping().await.expect("ping");
}

async fn trusted_profile_round_trips(store: Arc<dyn Store>) {
    let profile = trusted(Platform::Windows10, "Contoso Root");
    let inserted = store
        .insert_trusted_profile(&profile, &audit_entry())
        .await
        .unwrap();
    assert_eq!(inserted.version, 1);
    assert_eq!(inserted.created_at, inserted.modified_at);
    assert_eq!(inserted.content, profile);

    let read = store.trusted_profile(inserted.id).await.unwrap().expect("stored");
    assert_eq!(read, inserted, "timestamps and content read back exactly");
}

async fn scep_profile_round_trips(store: Arc<dyn Store>) {
    let root = store
        .insert_trusted_profile(&trusted(Platform::Ios, "root"), &audit_entry())
        .await
        .unwrap();
    let profile = scep(Platform::Ios, root.id);
    let inserted = store.insert_scep_profile(&profile, &audit_entry()).await.unwrap();
    assert_eq!(inserted.content, profile);
    assert_eq!(store.scep_profile(inserted.id).await.unwrap(), Some(inserted));
}

async fn missing_profiles_read_as_none(store: Arc<dyn Store>) {
    assert_eq!(store.trusted_profile(Uuid::now_v7()).await.unwrap(), None);
    assert_eq!(store.scep_profile(Uuid::now_v7()).await.unwrap(), None);
}

async fn list_pages_in_creation_order_without_gaps_or_repeats(store: Arc<dyn Store>) {
    let mut created = Vec::new();
    for index in 0..7 {
        let record = store
            .insert_trusted_profile(
                &trusted(Platform::Android, &format!("root {index}")),
                &audit_entry(),
            )
            .await;
        created.push(record.unwrap().id);
    }
    let mut listed = Vec::new();
    let mut page = PageRequest::first(3);
    let mut pages = 0;
    loop {
        let result = store
            .list_trusted_profiles(ProfileFilter::default(), page)
            .await
            .unwrap();
        pages += 1;
        listed.extend(result.items.iter().map(|record| record.id));
        match result.next_cursor {
            Some(cursor) => page.cursor = Some(cursor),
            None => break,
        }
    }
    assert_eq!(listed, created);
    assert_eq!(pages, 3);
}

async fn list_filters_by_platform(store: Arc<dyn Store>) {
    let ios = store
        .insert_trusted_profile(&trusted(Platform::Ios, "ios"), &audit_entry())
        .await
        .unwrap();
    store
        .insert_trusted_profile(&trusted(Platform::Android, "android"), &audit_entry())
        .await
        .unwrap();
    let ios_scep = store
        .insert_scep_profile(&scep(Platform::Ios, ios.id), &audit_entry())
        .await
        .unwrap();

    let filter = ProfileFilter {
        platform: Some(Platform::Ios),
    };
    let page = store
        .list_trusted_profiles(filter, PageRequest::first(10))
        .await
        .unwrap();
    assert_eq!(page.items, vec![ios]);
    assert_eq!(page.next_cursor, None);
    let page = store
        .list_scep_profiles(filter, PageRequest::first(10))
        .await
        .unwrap();
    assert_eq!(page.items, vec![ios_scep]);
    let none = ProfileFilter {
        platform: Some(Platform::Macos),
    };
    assert!(store
        .list_scep_profiles(none, PageRequest::first(10))
        .await
        .unwrap()
        .items
        .is_empty());
}

async fn update_bumps_version_and_modified_time_only(store: Arc<dyn Store>) {
    let original = store
        .insert_trusted_profile(&trusted(Platform::Ios, "before"), &audit_entry())
        .await
        .unwrap();
    let changed = trusted(Platform::Ios, "after");
    let updated = store
        .update_trusted_profile(original.id, 1, &changed, &audit_entry())
        .await
        .unwrap();
    assert_eq!(updated.version, 2);
    assert_eq!(updated.created_at, original.created_at);
    assert!(updated.modified_at >= original.modified_at);
    assert_eq!(updated.content, changed);
    assert_eq!(store.trusted_profile(original.id).await.unwrap(), Some(updated));

    let root = store
        .insert_trusted_profile(&trusted(Platform::Android, "root"), &audit_entry())
        .await
        .unwrap();
    let scep_record = store
        .insert_scep_profile(&scep(Platform::Android, root.id), &audit_entry())
        .await
        .unwrap();
    let mut changed_scep = scep(Platform::Android, root.id);
    changed_scep.settings.key_usage = vec![KeyUsage::DigitalSignature];
    let updated = store
        .update_scep_profile(scep_record.id, 1, &changed_scep, &audit_entry())
        .await
        .unwrap();
    assert_eq!((updated.version, updated.content), (2, changed_scep));
}

async fn update_at_a_stale_version_reports_the_current_one(store: Arc<dyn Store>) {
    let record = store
        .insert_trusted_profile(&trusted(Platform::Ios, "v1"), &audit_entry())
        .await
        .unwrap();
    store
        .update_trusted_profile(record.id, 1, &trusted(Platform::Ios, "v2"), &audit_entry())
        .await
        .unwrap();
    let stale = store
        .update_trusted_profile(record.id, 1, &trusted(Platform::Ios, "lost"), &audit_entry())
        .await;
    assert!(
        matches!(stale, Err(StorageError::VersionMismatch { current: 2 })),
        "{stale:?}"
    );
    let kept = store.trusted_profile(record.id).await.unwrap().unwrap();
    assert_eq!(kept.content.display_name.as_str(), "v2");
}

async fn update_or_delete_of_a_missing_profile_is_not_found(store: Arc<dyn Store>) {
    let id = Uuid::now_v7();
    let root = store
        .insert_trusted_profile(&trusted(Platform::Ios, "root"), &audit_entry())
        .await
        .unwrap();
    let results = [
        store
            .update_trusted_profile(id, 1, &trusted(Platform::Ios, "x"), &audit_entry())
            .await
            .map(drop),
        store
            .update_scep_profile(id, 1, &scep(Platform::Ios, root.id), &audit_entry())
            .await
            .map(drop),
        store.delete_trusted_profile(id, None, &audit_entry()).await,
        store.delete_scep_profile(id, Some(1), &audit_entry()).await,
    ];
    for result in results {
        assert!(matches!(result, Err(StorageError::NotFound)), "{result:?}");
    }
}

async fn delete_at_a_stale_version_is_refused_and_keeps_the_row(store: Arc<dyn Store>) {
    let record = store
        .insert_trusted_profile(&trusted(Platform::Ios, "keep"), &audit_entry())
        .await
        .unwrap();
    let result = store
        .delete_trusted_profile(record.id, Some(7), &audit_entry())
        .await;
    assert!(
        matches!(result, Err(StorageError::VersionMismatch { current: 1 })),
        "{result:?}"
    );
    assert!(store.trusted_profile(record.id).await.unwrap().is_some());
    store
        .delete_trusted_profile(record.id, Some(1), &audit_entry())
        .await
        .unwrap();
    assert_eq!(store.trusted_profile(record.id).await.unwrap(), None);
}

async fn trusted_profile_in_use_cannot_be_deleted(store: Arc<dyn Store>) {
    let root = store
        .insert_trusted_profile(&trusted(Platform::Ios, "root"), &audit_entry())
        .await
        .unwrap();
    let dependent = store
        .insert_scep_profile(&scep(Platform::Ios, root.id), &audit_entry())
        .await
        .unwrap();
    let result = store.delete_trusted_profile(root.id, None, &audit_entry()).await;
    assert!(matches!(result, Err(StorageError::Conflict(_))), "{result:?}");
    assert!(store.trusted_profile(root.id).await.unwrap().is_some());

    store
        .delete_scep_profile(dependent.id, None, &audit_entry())
        .await
        .unwrap();
    store
        .delete_trusted_profile(root.id, None, &audit_entry())
        .await
        .unwrap();
}

async fn trusted_profile_in_use_cannot_move_to_an_unsuitable_platform(store: Arc<dyn Store>) {
    let root = store
        .insert_trusted_profile(&trusted(Platform::Windows10, "root"), &audit_entry())
        .await
        .unwrap();
    store
        .insert_scep_profile(&scep(Platform::Windows10, root.id), &audit_entry())
        .await
        .unwrap();

    let to_android = store
        .update_trusted_profile(root.id, 1, &trusted(Platform::Android, "moved"), &audit_entry())
        .await;
    assert!(
        matches!(to_android, Err(StorageError::Conflict(_))),
        "{to_android:?}"
    );
    let kept = store.trusted_profile(root.id).await.unwrap().unwrap();
    assert_eq!(
        (kept.version, kept.content.platform),
        (1, Platform::Windows10),
        "rolled back"
    );

    // A change that keeps the platform is fine.
    let renamed = store
        .update_trusted_profile(
            root.id,
            1,
            &trusted(Platform::Windows10, "renamed"),
            &audit_entry(),
        )
        .await;
    assert_eq!(renamed.unwrap().version, 2);
}

async fn scep_profile_needs_an_existing_root(store: Arc<dyn Store>) {
    let result = store
        .insert_scep_profile(&scep(Platform::Ios, Uuid::now_v7()), &audit_entry())
        .await;
    assert!(
        matches!(result, Err(StorageError::MissingReference)),
        "{result:?}"
    );
    let page = store
        .list_scep_profiles(ProfileFilter::default(), PageRequest::first(10))
        .await
        .unwrap();
    assert!(page.items.is_empty());
}
