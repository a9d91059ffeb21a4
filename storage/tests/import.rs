//! Bulk import on both backends: upserts by `externalId`, rejections that
//! leave the rest of the batch intact, and re-runs that write nothing.

use std::{collections::HashMap, sync::Arc};

use scepter_domain::{
    directory::{Device, Group, GroupType, User},
    Platform, Record,
};
use scepter_storage::testing::{audit_entry, import_run};
use scepter_storage::{DeviceImport, MembershipImport, PageRequest, RowOutcome, Store, StoredDevice};
use uuid::Uuid;

scepter_storage::store_tests!(
    users_are_created_then_updated_or_left_unchanged,
    a_taken_user_principal_name_rejects_only_its_row,
    devices_resolve_their_primary_user_by_external_id,
    memberships_are_imported_by_external_ids,
    a_rerun_writes_nothing,
    batches_larger_than_one_statement_are_applied_whole,
);

fn user(external_id: &str, upn: &str, display_name: &str) -> User {
    User {
        user_principal_name: upn.to_owned(),
        display_name: display_name.to_owned(),
        mail: Some(upn.to_owned()),
        on_premises_distinguished_name: None,
        on_premises_sam_account_name: None,
        on_premises_security_identifier: None,
        external_id: Some(external_id.to_owned()),
    }
}

fn device(external_id: &str, user_external_id: Option<&str>) -> DeviceImport {
    DeviceImport {
        device: Device {
            device_name: format!("Device {external_id}"),
            platform: Platform::Windows10,
            os_version: Some("10.0.22631".to_owned()),
            serial_number: Some(format!("SN-{external_id}")),
            imei: None,
            meid: None,
            wifi_mac_address: None,
            fully_qualified_domain_name: None,
            azure_ad_device_id: None,
            user_id: None,
            external_id: Some(external_id.to_owned()),
        },
        user_external_id: user_external_id.map(str::to_owned),
    }
}

fn membership(group: &str, member: &str) -> MembershipImport {
    MembershipImport {
        group_external_id: group.to_owned(),
        member_external_id: member.to_owned(),
    }
}

fn reason(outcome: &RowOutcome) -> &str {
    match outcome {
        RowOutcome::Rejected(reason) => reason,
        other => panic!("expected a rejection, got {other:?}"),
    }
}

async fn all_users(store: &Arc<dyn Store>) -> HashMap<String, Record<User>> {
    let page = store.list_users(PageRequest::first(500)).await.unwrap();
    assert!(page.next_cursor.is_none());
    page.items
        .into_iter()
        .map(|record| (record.content.external_id.clone().unwrap_or_default(), record))
        .collect()
}

async fn all_devices(store: &Arc<dyn Store>) -> HashMap<String, Record<StoredDevice>> {
    let mut devices = HashMap::new();
    let mut page = PageRequest::first(500);
    loop {
        let fetched = store.list_devices(page).await.unwrap();
        for record in fetched.items {
            devices.insert(
                record.content.device.external_id.clone().unwrap_or_default(),
                record,
            );
        }
        match fetched.next_cursor {
            Some(cursor) => page.cursor = Some(cursor),
            None => return devices,
        }
    }
}

async fn users_are_created_then_updated_or_left_unchanged(store: Arc<dyn Store>) {
    let batch = vec![
        user("u1", "alice@contoso.com", "Alice"),
        user("u2", "bob@contoso.com", "Bob"),
        user("u3", "carol@contoso.com", "Carol"),
    ];
    let outcomes = store.upsert_users(&batch, &import_run()).await.unwrap();
    assert_eq!(
        outcomes,
        [RowOutcome::Created, RowOutcome::Created, RowOutcome::Created]
    );
    let before = all_users(&store).await;
    assert_eq!(before.len(), 3);
    assert!(before.values().all(|record| record.version == 1));
    assert_eq!(before["u2"].content, batch[1]);

    let changed = vec![
        user("u1", "alice@contoso.com", "Alice"),
        // Only the case of the UPN and the name change: its own key, not a conflict.
        user("u2", "Bob@Contoso.com", "Robert"),
        user("u4", "dave@contoso.com", "Dave"),
    ];
    let run = import_run();
    let outcomes = store.upsert_users(&changed, &run).await.unwrap();
    assert_eq!(
        outcomes,
        [RowOutcome::Unchanged, RowOutcome::Updated, RowOutcome::Created]
    );
    // The batch's audit entry, written with it: its counts, about the run.
    let filter = scepter_storage::AuditFilter {
        resource_id: Some(run.id),
        ..Default::default()
    };
    let entries = store
        .audit_entries(&filter, PageRequest::first(10))
        .await
        .unwrap()
        .items;
    assert_eq!(entries.len(), 1);
    let counts: Vec<(String, Option<serde_json::Value>)> = entries[0]
        .changes
        .iter()
        .map(|change| (change.path.clone(), change.after.clone()))
        .collect();
    assert_eq!(
        counts,
        [
            ("/source".to_owned(), Some(serde_json::json!("test.csv"))),
            ("/users/created".to_owned(), Some(serde_json::json!(1))),
            ("/users/updated".to_owned(), Some(serde_json::json!(1))),
            ("/users/unchanged".to_owned(), Some(serde_json::json!(1))),
            ("/users/rejected".to_owned(), Some(serde_json::json!(0))),
        ]
    );
    let after = all_users(&store).await;
    assert_eq!(after.len(), 4);
    assert_eq!(after["u1"], before["u1"], "unchanged rows are not written");
    assert_eq!(after["u3"], before["u3"]);
    let bob = &after["u2"];
    assert_eq!(bob.id, before["u2"].id, "an update keeps the id");
    assert_eq!(bob.version, 2);
    assert!(bob.modified_at >= before["u2"].modified_at);
    assert_eq!(bob.created_at, before["u2"].created_at);
    assert_eq!(bob.content, changed[1]);
    assert_eq!(store.user(bob.id).await.unwrap().unwrap(), *bob);
}

async fn a_taken_user_principal_name_rejects_only_its_row(store: Arc<dyn Store>) {
    // Created through the API, without externalId: import cannot adopt it.
    let manual = User {
        external_id: None,
        ..user("-", "taken@contoso.com", "Manual")
    };
    let manual = store.insert_user(&manual, &audit_entry()).await.unwrap();
    store
        .upsert_users(&[user("x", "x@contoso.com", "X")], &import_run())
        .await
        .unwrap();

    let batch = vec![
        user("a", "TAKEN@contoso.com", "A"),
        user("b", "b@contoso.com", "B"),
        user("c", "B@contoso.COM", "C"),
        User {
            external_id: None,
            ..user("-", "d@contoso.com", "D")
        },
        user("b", "other-b@contoso.com", "B again"),
        // An existing user may not take another's UPN either.
        user("x", "b@contoso.com", "X"),
        user("e", "e@contoso.com", "E"),
    ];
    let outcomes = store.upsert_users(&batch, &import_run()).await.unwrap();
    assert!(
        reason(&outcomes[0]).contains(&manual.id.to_string()),
        "{outcomes:?}"
    );
    assert!(reason(&outcomes[0]).contains("userPrincipalName \"TAKEN@contoso.com\" is already used"));
    assert_eq!(outcomes[1], RowOutcome::Created);
    assert!(reason(&outcomes[2]).contains("externalId \"b\""), "{outcomes:?}");
    assert!(reason(&outcomes[3]).contains("externalId is required"));
    assert!(reason(&outcomes[4]).contains("more than once"));
    assert!(reason(&outcomes[5]).contains("externalId \"b\""), "{outcomes:?}");
    assert_eq!(outcomes[6], RowOutcome::Created);

    let users = all_users(&store).await;
    let mut external_ids: Vec<&str> = users.keys().map(String::as_str).collect();
    external_ids.sort_unstable();
    assert_eq!(external_ids, ["", "b", "e", "x"]);
    assert_eq!(
        users["b"].content.display_name, "B",
        "the first row with an externalId wins"
    );
    assert_eq!(users["x"].version, 1, "the rejected update left x alone");
    assert_eq!(users["x"].content.user_principal_name, "x@contoso.com");
    assert_eq!(users[""].content, manual.content);
}

async fn devices_resolve_their_primary_user_by_external_id(store: Arc<dyn Store>) {
    store
        .upsert_users(
            &[
                user("u1", "u1@contoso.com", "One"),
                user("u2", "u2@contoso.com", "Two"),
            ],
            &import_run(),
        )
        .await
        .unwrap();
    let users = all_users(&store).await;

    let batch = vec![
        device("d1", Some("u1")),
        device("d2", Some("nobody")),
        device("d3", None),
        device("d1", Some("u2")),
    ];
    let outcomes = store.upsert_devices(&batch, &import_run()).await.unwrap();
    assert_eq!(outcomes[0], RowOutcome::Created);
    assert!(reason(&outcomes[1]).contains("unknown userExternalId \"nobody\""));
    assert_eq!(outcomes[2], RowOutcome::Created);
    assert!(reason(&outcomes[3]).contains("more than once"));
    let devices = all_devices(&store).await;
    assert_eq!(devices.len(), 2);
    assert_eq!(devices["d1"].content.device.user_id, Some(users["u1"].id));
    assert_eq!(
        devices["d1"].content.device.serial_number.as_deref(),
        Some("SN-d1")
    );
    assert_eq!(devices["d3"].content.device.user_id, None);
    assert_eq!(devices["d1"].version, 1);

    // Moving d1 to another user is an update; dropping d3's (absent) user is no change.
    let outcomes = store
        .upsert_devices(&[device("d1", Some("u2")), device("d3", None)], &import_run())
        .await
        .unwrap();
    assert_eq!(outcomes, [RowOutcome::Updated, RowOutcome::Unchanged]);
    let after = all_devices(&store).await;
    assert_eq!(after["d1"].version, 2);
    assert_eq!(after["d1"].id, devices["d1"].id);
    assert_eq!(after["d1"].content.device.user_id, Some(users["u2"].id));
    assert_eq!(after["d3"], devices["d3"]);

    // A device's user is cleared when the row names none.
    let outcomes = store
        .upsert_devices(&[device("d1", None)], &import_run())
        .await
        .unwrap();
    assert_eq!(outcomes, [RowOutcome::Updated]);
    assert_eq!(
        store
            .device(after["d1"].id)
            .await
            .unwrap()
            .unwrap()
            .content
            .device
            .user_id,
        None
    );
}

async fn memberships_are_imported_by_external_ids(store: Arc<dyn Store>) {
    let group = |name: &str, group_type: GroupType| Group {
        display_name: name.to_owned(),
        description: None,
        group_type,
        external_id: Some(name.to_owned()),
    };
    let user_group = store
        .insert_group(&group("staff", GroupType::User), &audit_entry())
        .await
        .unwrap();
    let device_group = store
        .insert_group(&group("laptops", GroupType::Device), &audit_entry())
        .await
        .unwrap();
    store
        .upsert_users(
            &[
                user("u1", "u1@contoso.com", "One"),
                user("u2", "u2@contoso.com", "Two"),
            ],
            &import_run(),
        )
        .await
        .unwrap();
    store
        .upsert_devices(&[device("d1", Some("u1"))], &import_run())
        .await
        .unwrap();
    // u1 is already a member through the API.
    let u1 = all_users(&store).await["u1"].id;
    store
        .add_members(user_group.id, &[u1], &audit_entry())
        .await
        .unwrap()
        .unwrap();

    let rows = vec![
        membership("staff", "u1"),
        membership("staff", "u2"),
        membership("staff", "d1"),
        membership("laptops", "d1"),
        membership("laptops", "u1"),
        membership("nowhere", "u1"),
        membership("staff", "ghost"),
        membership("staff", "u2"),
    ];
    let outcomes = store.import_memberships(&rows, &import_run()).await.unwrap();
    assert_eq!(outcomes[0], RowOutcome::Unchanged);
    assert_eq!(outcomes[1], RowOutcome::Created);
    assert!(reason(&outcomes[2]).contains("\"d1\" is a device, but group \"staff\" is a user group"));
    assert_eq!(outcomes[3], RowOutcome::Created);
    assert!(reason(&outcomes[4]).contains("\"u1\" is a user, but group \"laptops\" is a device group"));
    assert!(reason(&outcomes[5]).contains("unknown groupExternalId \"nowhere\""));
    assert!(reason(&outcomes[6]).contains("unknown memberExternalId \"ghost\""));
    assert_eq!(
        outcomes[7],
        RowOutcome::Unchanged,
        "a repeated pair is already a member"
    );

    let members = |group_id: Uuid| {
        let store = store.clone();
        async move {
            let page = store
                .list_members(group_id, PageRequest::first(100))
                .await
                .unwrap();
            let mut ids: Vec<String> = page
                .items
                .into_iter()
                .filter_map(|member| member.external_id)
                .collect();
            ids.sort_unstable();
            ids
        }
    };
    assert_eq!(members(user_group.id).await, ["u1", "u2"]);
    assert_eq!(members(device_group.id).await, ["d1"]);

    let again = store.import_memberships(&rows, &import_run()).await.unwrap();
    for index in [0, 1, 3, 7] {
        assert_eq!(again[index], RowOutcome::Unchanged, "row {index}");
    }
    assert_eq!(members(user_group.id).await, ["u1", "u2"]);
}

async fn a_rerun_writes_nothing(store: Arc<dyn Store>) {
    let users: Vec<User> = (0..20)
        .map(|n| {
            user(
                &format!("u{n}"),
                &format!("user{n}@contoso.com"),
                &format!("User {n}"),
            )
        })
        .collect();
    let devices: Vec<DeviceImport> = (0..30)
        .map(|n| {
            device(
                &format!("d{n}"),
                (n % 3 != 0).then(|| format!("u{}", n % 20)).as_deref(),
            )
        })
        .collect();
    let user_outcomes = store.upsert_users(&users, &import_run()).await.unwrap();
    let device_outcomes = store.upsert_devices(&devices, &import_run()).await.unwrap();
    assert!(user_outcomes
        .iter()
        .chain(&device_outcomes)
        .all(|outcome| *outcome == RowOutcome::Created));
    let users_before = all_users(&store).await;
    let devices_before = all_devices(&store).await;

    let user_outcomes = store.upsert_users(&users, &import_run()).await.unwrap();
    let device_outcomes = store.upsert_devices(&devices, &import_run()).await.unwrap();
    assert!(user_outcomes
        .iter()
        .chain(&device_outcomes)
        .all(|outcome| *outcome == RowOutcome::Unchanged));
    assert_eq!(
        all_users(&store).await,
        users_before,
        "same versions and modification times"
    );
    assert_eq!(all_devices(&store).await, devices_before);
}

async fn batches_larger_than_one_statement_are_applied_whole(store: Arc<dyn Store>) {
    store
        .upsert_users(&[user("owner", "owner@contoso.com", "Owner")], &import_run())
        .await
        .unwrap();
    let mut batch: Vec<DeviceImport> = (0..2_500)
        .map(|n| device(&format!("d{n:05}"), Some("owner")))
        .collect();
    batch[1_700].user_external_id = Some("nobody".to_owned());
    let outcomes = store.upsert_devices(&batch, &import_run()).await.unwrap();
    assert_eq!(
        outcomes
            .iter()
            .filter(|outcome| **outcome == RowOutcome::Created)
            .count(),
        2_499
    );
    assert!(reason(&outcomes[1_700]).contains("nobody"));
    assert_eq!(all_devices(&store).await.len(), 2_499);

    batch[1_700].user_external_id = Some("owner".to_owned());
    batch[5].device.device_name = "Renamed".to_owned();
    let outcomes = store.upsert_devices(&batch, &import_run()).await.unwrap();
    assert_eq!(outcomes[1_700], RowOutcome::Created);
    assert_eq!(outcomes[5], RowOutcome::Updated);
    assert_eq!(
        outcomes
            .iter()
            .filter(|outcome| **outcome == RowOutcome::Unchanged)
            .count(),
        2_498
    );
}
