//! The directory and assignment repositories, run against SQLite and
//! PostgreSQL alike: users, devices, groups and members, assignments, the
//! cascades of deletes, and the facts targeting decides on.

use std::{
    collections::{HashMap, HashSet},
    sync::Arc,
};

use scepter_domain::{
    directory::{Device, Group, GroupType, User},
    scep_profile::CertificateType,
    targeting::{AssignmentFact, Intent, ProfileKind, TargetedProfile},
    Platform,
};
use scepter_storage::testing::audit_entry;
use scepter_storage::{GroupMember, MembershipChange, PageRequest, RejectedMembers, StorageError, Store};
use uuid::Uuid;

mod support;

use support::*;

scepter_storage::store_tests!(
    user_round_trips,
    user_principal_names_are_unique_ignoring_case,
    user_external_ids_are_unique,
    user_update_and_delete_check_the_version,
    device_round_trips,
    devices_are_read_by_ids_in_one_call,
    device_needs_an_existing_primary_user,
    device_external_ids_are_unique,
    group_round_trips,
    update_group_keeps_the_group_type,
    directory_lists_page_in_creation_order,
    missing_directory_rows_are_none_or_not_found,
    add_members_reports_added_and_unchanged_counting_duplicates_once,
    add_members_adds_nothing_when_any_id_is_rejected,
    add_members_beyond_one_statement_chunk,
    add_members_to_a_device_group_rejects_users,
    add_members_to_an_unknown_group_is_not_found,
    remove_member_removes_only_that_membership,
    remove_member_of_a_non_member_is_not_found,
    list_members_pages_in_id_order,
    insert_assignment_reports_unknown_profile_group_and_duplicates,
    list_and_delete_assignments,
    deleting_a_group_removes_its_memberships_and_assignments,
    deleting_a_user_removes_its_memberships_and_clears_its_devices,
    deleting_a_device_removes_its_memberships,
    deleting_a_profile_removes_its_assignments,
    device_targeting_facts_of_an_unknown_device_is_none,
    device_targeting_facts_report_platform_user_groups_and_profiles,
    device_targeting_facts_without_primary_user_have_no_user_groups,
    targeted_devices_follow_the_rules_and_page_in_id_order,
);

// ---------------------------------------------------------------- fixtures

async fn insert_user(store: &Arc<dyn Store>, upn: &str) -> Uuid {
    store
        .insert_user(&user(upn), &audit_entry())
        .await
        .expect("insert user")
        .id
}

async fn insert_device(store: &Arc<dyn Store>, platform: Platform, user_id: Option<Uuid>) -> Uuid {
    let device = device(&format!("{platform} device"), platform, user_id);
    store
        .insert_device(&device, &audit_entry())
        .await
        .expect("insert device")
        .id
}

async fn insert_group(store: &Arc<dyn Store>, group_type: GroupType) -> Uuid {
    let group = group(&format!("{} group", group_type.as_str()), group_type);
    store
        .insert_group(&group, &audit_entry())
        .await
        .expect("insert group")
        .id
}

/// A group of `group_type` with `members`.
async fn group_with(store: &Arc<dyn Store>, group_type: GroupType, members: &[Uuid]) -> Uuid {
    let id = insert_group(store, group_type).await;
    store
        .add_members(id, members, &audit_entry())
        .await
        .expect("add members")
        .expect("members accepted");
    id
}

async fn insert_trusted(store: &Arc<dyn Store>, platform: Platform) -> Uuid {
    store
        .insert_trusted_profile(&trusted(platform), &audit_entry())
        .await
        .expect("insert trusted profile")
        .id
}

async fn insert_scep(
    store: &Arc<dyn Store>,
    platform: Platform,
    root: Uuid,
    certificate_type: CertificateType,
) -> Uuid {
    store
        .insert_scep_profile(&scep(platform, root, certificate_type), &audit_entry())
        .await
        .expect("insert SCEP profile")
        .id
}

async fn assign(
    store: &Arc<dyn Store>,
    kind: ProfileKind,
    profile: Uuid,
    group: Uuid,
    intent: Intent,
) -> Uuid {
    store
        .insert_assignment(kind, profile, group, intent, &audit_entry())
        .await
        .expect("insert assignment")
        .id
}

/// Every member id of a group, following the cursor with `limit`.
async fn member_ids(store: &Arc<dyn Store>, group: Uuid, limit: u32) -> Vec<Uuid> {
    let mut ids = Vec::new();
    let mut page = PageRequest::first(limit);
    loop {
        let result = store.list_members(group, page).await.expect("list members");
        ids.extend(result.items.iter().map(|member| member.id));
        match result.next_cursor {
            Some(cursor) => page.cursor = Some(cursor),
            None => return ids,
        }
    }
}

async fn assignment_ids(store: &Arc<dyn Store>, kind: ProfileKind, profile: Uuid) -> Vec<Uuid> {
    store
        .list_assignments(kind, profile, PageRequest::first(100))
        .await
        .expect("list assignments")
        .items
        .iter()
        .map(|assignment| assignment.id)
        .collect()
}

/// Every device id a profile targets, following the cursor with `limit`.
async fn targeted_ids(
    store: &Arc<dyn Store>,
    kind: ProfileKind,
    profile: Uuid,
    platform: Platform,
    limit: u32,
) -> (Vec<Uuid>, usize) {
    let mut ids = Vec::new();
    let mut pages = 0;
    let mut page = PageRequest::first(limit);
    loop {
        let result = store
            .targeted_devices(kind, profile, platform, page)
            .await
            .expect("targeted devices");
        pages += 1;
        ids.extend(result.items.iter().map(|record| record.id));
        match result.next_cursor {
            Some(cursor) => page.cursor = Some(cursor),
            None => return (ids, pages),
        }
    }
}

fn sorted(mut ids: Vec<Uuid>) -> Vec<Uuid> {
    ids.sort();
    ids
}

// ---------------------------------------------------------------- users

async fn user_round_trips(store: Arc<dyn Store>) {
    let jane = User {
        user_principal_name: "Jane@Contoso.com".to_owned(),
        display_name: "Jane Doe".to_owned(),
        mail: Some("jane@contoso.com".to_owned()),
        on_premises_distinguished_name: Some("CN=Jane,DC=contoso,DC=com".to_owned()),
        on_premises_sam_account_name: Some("jdoe".to_owned()),
        on_premises_security_identifier: Some("S-1-5-21-1004336348-1177238915-682003330-1104".to_owned()),
        external_id: Some("aad-jane".to_owned()),
    };

    let inserted = store.insert_user(&jane, &audit_entry()).await.unwrap();

    assert_eq!((inserted.version, inserted.created_at), (1, inserted.modified_at));
    assert_eq!(inserted.content, jane, "the UPN keeps its case");
    assert_eq!(store.user(inserted.id).await.unwrap(), Some(inserted.clone()));

    let renamed = User {
        display_name: "Jane Smith".to_owned(),
        ..jane
    };
    let updated = store
        .update_user(inserted.id, 1, &renamed, &audit_entry())
        .await
        .unwrap();
    assert_eq!((updated.version, updated.created_at), (2, inserted.created_at));
    assert_eq!(updated.content, renamed);
    assert_eq!(store.user(inserted.id).await.unwrap(), Some(updated));

    store
        .delete_user(inserted.id, Some(2), &audit_entry())
        .await
        .unwrap();
    assert_eq!(store.user(inserted.id).await.unwrap(), None);
}

async fn user_principal_names_are_unique_ignoring_case(store: Arc<dyn Store>) {
    let jane = insert_user(&store, "Jane@Contoso.com").await;

    // Both backends name the violated key alike (sql/constraints.rs).
    const UPN_TAKEN: &str = "userPrincipalName (compared case-insensitively) is already taken";
    let duplicate = store.insert_user(&user("jane@contoso.COM"), &audit_entry()).await;
    assert!(
        matches!(&duplicate, Err(StorageError::Conflict(message)) if message == UPN_TAKEN),
        "{duplicate:?}"
    );

    let john = insert_user(&store, "john@contoso.com").await;
    let renamed = store
        .update_user(john, 1, &user("JANE@CONTOSO.COM"), &audit_entry())
        .await;
    assert!(
        matches!(&renamed, Err(StorageError::Conflict(message)) if message == UPN_TAKEN),
        "{renamed:?}"
    );

    let page = store.list_users(PageRequest::first(10)).await.unwrap();
    let listed: Vec<(Uuid, i64)> = page
        .items
        .iter()
        .map(|record| (record.id, record.version))
        .collect();
    assert_eq!(listed, vec![(jane, 1), (john, 1)]);

    // A user may change the case of its own UPN.
    let recased = store
        .update_user(jane, 1, &user("JANE@contoso.com"), &audit_entry())
        .await;
    assert_eq!(recased.unwrap().version, 2);
}

async fn user_external_ids_are_unique(store: Arc<dyn Store>) {
    let first = User {
        external_id: Some("aad-1".to_owned()),
        ..user("jane@contoso.com")
    };
    store.insert_user(&first, &audit_entry()).await.unwrap();
    let second = User {
        external_id: Some("aad-1".to_owned()),
        ..user("john@contoso.com")
    };

    let result = store.insert_user(&second, &audit_entry()).await;

    assert!(
        matches!(&result, Err(StorageError::Conflict(message)) if message == "externalId is already taken"),
        "{result:?}"
    );
    // Several users without an externalId are fine.
    insert_user(&store, "mary@contoso.com").await;
    let max = insert_user(&store, "max@contoso.com").await;
    let taken = User {
        external_id: Some("aad-1".to_owned()),
        ..user("max@contoso.com")
    };
    let updated = store.update_user(max, 1, &taken, &audit_entry()).await;
    assert!(matches!(updated, Err(StorageError::Conflict(_))), "{updated:?}");
    assert_eq!(store.user(max).await.unwrap().expect("kept").version, 1);
}

async fn user_update_and_delete_check_the_version(store: Arc<dyn Store>) {
    let id = insert_user(&store, "jane@contoso.com").await;
    store
        .update_user(id, 1, &user("jane.doe@contoso.com"), &audit_entry())
        .await
        .unwrap();

    let stale = store
        .update_user(id, 1, &user("lost@contoso.com"), &audit_entry())
        .await;
    assert!(
        matches!(stale, Err(StorageError::VersionMismatch { current: 2 })),
        "{stale:?}"
    );
    let stale_delete = store.delete_user(id, Some(1), &audit_entry()).await;
    assert!(
        matches!(stale_delete, Err(StorageError::VersionMismatch { current: 2 })),
        "{stale_delete:?}"
    );
    let kept = store.user(id).await.unwrap().expect("kept");
    assert_eq!(kept.content.user_principal_name, "jane.doe@contoso.com");

    store.delete_user(id, None, &audit_entry()).await.unwrap();
    assert_eq!(store.user(id).await.unwrap(), None);
}

// ---------------------------------------------------------------- devices

async fn device_round_trips(store: Arc<dyn Store>) {
    let jane = insert_user(&store, "jane@contoso.com").await;
    let pixel = Device {
        device_name: "JANE-PIXEL".to_owned(),
        platform: Platform::Android,
        os_version: Some("14".to_owned()),
        serial_number: Some("SN-1".to_owned()),
        imei: Some("490154203237518".to_owned()),
        azure_ad_device_id: Some(Uuid::new_v4()),
        user_id: Some(jane),
        external_id: Some("intune-1".to_owned()),
        meid: Some("A0000012345678".to_owned()),
        wifi_mac_address: Some("AA:BB:CC:DD:EE:FF".to_owned()),
        fully_qualified_domain_name: Some("jane-pixel.contoso.com".to_owned()),
    };

    let inserted = store.insert_device(&pixel, &audit_entry()).await.unwrap();

    assert_eq!(inserted.version, 1);
    assert_eq!(inserted.content.device, pixel);
    assert_eq!(inserted.content.last_check_in_at, None);
    assert_eq!(store.device(inserted.id).await.unwrap(), Some(inserted.clone()));

    let moved = Device {
        platform: Platform::Ios,
        user_id: None,
        ..pixel
    };
    let updated = store
        .update_device(inserted.id, 1, &moved, &audit_entry())
        .await
        .unwrap();
    assert_eq!((updated.version, &updated.content.device), (2, &moved));
    assert_eq!(store.device(inserted.id).await.unwrap(), Some(updated));

    store
        .delete_device(inserted.id, Some(2), &audit_entry())
        .await
        .unwrap();
    assert_eq!(store.device(inserted.id).await.unwrap(), None);
}

async fn device_needs_an_existing_primary_user(store: Arc<dyn Store>) {
    let unknown = Some(Uuid::now_v7());

    let inserted = store
        .insert_device(&device("PIXEL", Platform::Android, unknown), &audit_entry())
        .await;
    assert!(
        matches!(inserted, Err(StorageError::MissingReference)),
        "{inserted:?}"
    );
    let id = insert_device(&store, Platform::Android, None).await;
    let updated = store
        .update_device(
            id,
            1,
            &device("PIXEL", Platform::Android, unknown),
            &audit_entry(),
        )
        .await;
    assert!(
        matches!(updated, Err(StorageError::MissingReference)),
        "{updated:?}"
    );

    let page = store.list_devices(PageRequest::first(10)).await.unwrap();
    let listed: Vec<(Uuid, i64, Option<Uuid>)> = page
        .items
        .iter()
        .map(|record| (record.id, record.version, record.content.device.user_id))
        .collect();
    assert_eq!(listed, vec![(id, 1, None)]);
}

async fn device_external_ids_are_unique(store: Arc<dyn Store>) {
    let first = Device {
        external_id: Some("intune-1".to_owned()),
        ..device("ONE", Platform::Android, None)
    };
    store.insert_device(&first, &audit_entry()).await.unwrap();
    let second = Device {
        external_id: Some("intune-1".to_owned()),
        ..device("TWO", Platform::Ios, None)
    };

    let result = store.insert_device(&second, &audit_entry()).await;

    assert!(matches!(result, Err(StorageError::Conflict(_))), "{result:?}");
}

// ---------------------------------------------------------------- groups

async fn group_round_trips(store: Arc<dyn Store>) {
    let sales = Group {
        display_name: "Sales".to_owned(),
        description: Some("Sales staff".to_owned()),
        group_type: GroupType::User,
        external_id: Some("aad-sales".to_owned()),
    };

    let inserted = store.insert_group(&sales, &audit_entry()).await.unwrap();

    assert_eq!((inserted.version, &inserted.content), (1, &sales));
    assert_eq!(store.group(inserted.id).await.unwrap(), Some(inserted.clone()));

    let renamed = Group {
        display_name: "Sales EMEA".to_owned(),
        ..sales.clone()
    };
    let updated = store
        .update_group(inserted.id, 1, &renamed, &audit_entry())
        .await
        .unwrap();
    assert_eq!((updated.version, &updated.content), (2, &renamed));

    let duplicate = Group {
        external_id: Some("aad-sales".to_owned()),
        ..group("Laptops", GroupType::Device)
    };
    let result = store.insert_group(&duplicate, &audit_entry()).await;
    assert!(matches!(result, Err(StorageError::Conflict(_))), "{result:?}");

    store
        .delete_group(inserted.id, Some(2), &audit_entry())
        .await
        .unwrap();
    assert_eq!(store.group(inserted.id).await.unwrap(), None);
}

async fn update_group_keeps_the_group_type(store: Arc<dyn Store>) {
    let id = insert_group(&store, GroupType::User).await;

    // The API refuses the change (Group::check_replacement); storage never writes the type.
    let updated = store
        .update_group(id, 1, &group("Renamed", GroupType::Device), &audit_entry())
        .await
        .unwrap();

    assert_eq!(updated.content.group_type, GroupType::User);
    let read = store.group(id).await.unwrap().expect("stored");
    assert_eq!(
        (read.content.display_name.as_str(), read.content.group_type),
        ("Renamed", GroupType::User)
    );
}

async fn directory_lists_page_in_creation_order(store: Arc<dyn Store>) {
    let mut users = Vec::new();
    let mut devices = Vec::new();
    let mut groups = Vec::new();
    for index in 0..5 {
        users.push(insert_user(&store, &format!("user{index}@contoso.com")).await);
        devices.push(insert_device(&store, Platform::Ios, None).await);
        groups.push(insert_group(&store, GroupType::Device).await);
    }

    let mut listed = (Vec::new(), Vec::new(), Vec::new());
    let mut pages = [PageRequest::first(2); 3];
    let mut rounds = 0;
    while rounds < 3 {
        let page = store.list_users(pages[0]).await.unwrap();
        listed.0.extend(page.items.iter().map(|record| record.id));
        pages[0].cursor = page.next_cursor;
        let page = store.list_devices(pages[1]).await.unwrap();
        listed.1.extend(page.items.iter().map(|record| record.id));
        pages[1].cursor = page.next_cursor;
        let page = store.list_groups(pages[2]).await.unwrap();
        listed.2.extend(page.items.iter().map(|record| record.id));
        pages[2].cursor = page.next_cursor;
        rounds += 1;
        if pages.iter().all(|page| page.cursor.is_none()) {
            break;
        }
    }

    assert_eq!(rounds, 3, "5 rows in pages of 2");
    assert!(pages.iter().all(|page| page.cursor.is_none()));
    assert_eq!(listed, (users, devices, groups));
}

async fn missing_directory_rows_are_none_or_not_found(store: Arc<dyn Store>) {
    let id = Uuid::now_v7();
    assert_eq!(store.user(id).await.unwrap(), None);
    assert_eq!(store.device(id).await.unwrap(), None);
    assert_eq!(store.group(id).await.unwrap(), None);

    let results = [
        store
            .update_user(id, 1, &user("jane@contoso.com"), &audit_entry())
            .await
            .map(drop),
        store
            .update_device(id, 1, &device("PIXEL", Platform::Ios, None), &audit_entry())
            .await
            .map(drop),
        store
            .update_group(id, 1, &group("Sales", GroupType::User), &audit_entry())
            .await
            .map(drop),
        store.delete_user(id, None, &audit_entry()).await,
        store.delete_device(id, Some(1), &audit_entry()).await,
        store.delete_group(id, None, &audit_entry()).await,
        store.list_members(id, PageRequest::first(10)).await.map(drop),
    ];
    for result in results {
        assert!(matches!(result, Err(StorageError::NotFound)), "{result:?}");
    }
}

// ---------------------------------------------------------------- members

async fn add_members_reports_added_and_unchanged_counting_duplicates_once(store: Arc<dyn Store>) {
    let group = insert_group(&store, GroupType::User).await;
    let jane = insert_user(&store, "jane@contoso.com").await;
    let john = insert_user(&store, "john@contoso.com").await;
    let mary = insert_user(&store, "mary@contoso.com").await;

    let first = store
        .add_members(group, &[jane, john, jane], &audit_entry())
        .await
        .unwrap();
    let again = store
        .add_members(group, &[john, jane], &audit_entry())
        .await
        .unwrap();
    let partly = store
        .add_members(group, &[mary, jane, mary], &audit_entry())
        .await
        .unwrap();

    assert_eq!(
        first,
        Ok(MembershipChange {
            added: 2,
            unchanged: 0
        })
    );
    assert_eq!(
        again,
        Ok(MembershipChange {
            added: 0,
            unchanged: 2
        })
    );
    assert_eq!(
        partly,
        Ok(MembershipChange {
            added: 1,
            unchanged: 1
        })
    );
    assert_eq!(
        member_ids(&store, group, 10).await,
        sorted(vec![jane, john, mary])
    );
}

async fn add_members_adds_nothing_when_any_id_is_rejected(store: Arc<dyn Store>) {
    let group = insert_group(&store, GroupType::User).await;
    let jane = insert_user(&store, "jane@contoso.com").await;
    let john = insert_user(&store, "john@contoso.com").await;
    let device = insert_device(&store, Platform::Android, Some(jane)).await;
    let unknown = Uuid::now_v7();

    let result = store
        .add_members(group, &[jane, device, unknown, john, device], &audit_entry())
        .await
        .unwrap();

    assert_eq!(
        result,
        Err(RejectedMembers {
            unknown: vec![unknown],
            wrong_kind: vec![device],
        })
    );
    assert_eq!(member_ids(&store, group, 10).await, Vec::<Uuid>::new());
}

/// More ids than one statement checks or inserts (1,000 per chunk).
async fn add_members_beyond_one_statement_chunk(store: Arc<dyn Store>) {
    let group = insert_group(&store, GroupType::User).await;
    let mut users = Vec::new();
    for index in 0..1_001 {
        users.push(insert_user(&store, &format!("user{index}@contoso.com")).await);
    }
    let unknown = Uuid::now_v7();
    let with_unknown: Vec<Uuid> = users.iter().copied().chain([unknown]).collect();

    let rejected = store
        .add_members(group, &with_unknown, &audit_entry())
        .await
        .unwrap();
    let added = store.add_members(group, &users, &audit_entry()).await.unwrap();
    let again = store.add_members(group, &users, &audit_entry()).await.unwrap();

    assert_eq!(
        rejected,
        Err(RejectedMembers {
            unknown: vec![unknown],
            wrong_kind: vec![],
        })
    );
    assert_eq!(
        added,
        Ok(MembershipChange {
            added: 1_001,
            unchanged: 0
        })
    );
    assert_eq!(
        again,
        Ok(MembershipChange {
            added: 0,
            unchanged: 1_001
        })
    );
    assert_eq!(member_ids(&store, group, 500).await, sorted(users));
}

async fn add_members_to_a_device_group_rejects_users(store: Arc<dyn Store>) {
    let group = insert_group(&store, GroupType::Device).await;
    let device = insert_device(&store, Platform::Ios, None).await;
    let jane = insert_user(&store, "jane@contoso.com").await;

    let rejected = store
        .add_members(group, &[device, jane], &audit_entry())
        .await
        .unwrap();
    let accepted = store.add_members(group, &[device], &audit_entry()).await.unwrap();

    assert_eq!(
        rejected,
        Err(RejectedMembers {
            unknown: vec![],
            wrong_kind: vec![jane],
        })
    );
    assert_eq!(
        accepted,
        Ok(MembershipChange {
            added: 1,
            unchanged: 0
        })
    );
    let members = store.list_members(group, PageRequest::first(10)).await.unwrap();
    assert_eq!(
        members.items,
        vec![GroupMember {
            id: device,
            member_type: GroupType::Device,
            display_name: "ios device".to_owned(),
            external_id: None,
        }]
    );
}

async fn add_members_to_an_unknown_group_is_not_found(store: Arc<dyn Store>) {
    let jane = insert_user(&store, "jane@contoso.com").await;

    let result = store.add_members(Uuid::now_v7(), &[jane], &audit_entry()).await;

    assert!(matches!(result, Err(StorageError::NotFound)), "{result:?}");
}

async fn remove_member_removes_only_that_membership(store: Arc<dyn Store>) {
    let jane = insert_user(&store, "jane@contoso.com").await;
    let john = insert_user(&store, "john@contoso.com").await;
    let sales = group_with(&store, GroupType::User, &[jane, john]).await;
    let staff = group_with(&store, GroupType::User, &[jane]).await;

    store.remove_member(sales, jane, &audit_entry()).await.unwrap();

    assert_eq!(member_ids(&store, sales, 10).await, vec![john]);
    assert_eq!(member_ids(&store, staff, 10).await, vec![jane]);
    assert!(store.user(jane).await.unwrap().is_some());
}

async fn remove_member_of_a_non_member_is_not_found(store: Arc<dyn Store>) {
    let jane = insert_user(&store, "jane@contoso.com").await;
    let john = insert_user(&store, "john@contoso.com").await;
    let device = insert_device(&store, Platform::Ios, None).await;
    let sales = group_with(&store, GroupType::User, &[jane]).await;
    let kiosks = group_with(&store, GroupType::Device, &[device]).await;

    let results = [
        store.remove_member(sales, john, &audit_entry()).await,
        store.remove_member(sales, device, &audit_entry()).await,
        store.remove_member(kiosks, jane, &audit_entry()).await,
        store.remove_member(Uuid::now_v7(), jane, &audit_entry()).await,
    ];

    for result in results {
        assert!(matches!(result, Err(StorageError::NotFound)), "{result:?}");
    }
    store.remove_member(sales, jane, &audit_entry()).await.unwrap();
    let again = store.remove_member(sales, jane, &audit_entry()).await;
    assert!(matches!(again, Err(StorageError::NotFound)), "{again:?}");
}

async fn list_members_pages_in_id_order(store: Arc<dyn Store>) {
    let mut users = Vec::new();
    for index in 0..7 {
        let user = User {
            display_name: format!("User {index}"),
            external_id: Some(format!("ext-{index}")),
            ..user(&format!("user{index}@contoso.com"))
        };
        users.push(store.insert_user(&user, &audit_entry()).await.unwrap().id);
    }
    // Added in reverse: listed in id order all the same.
    let reversed: Vec<Uuid> = users.iter().rev().copied().collect();
    let group = group_with(&store, GroupType::User, &reversed).await;

    let first = store.list_members(group, PageRequest::first(3)).await.unwrap();
    let listed = member_ids(&store, group, 3).await;

    assert_eq!(listed, sorted(users.clone()));
    assert!(first.next_cursor.is_some());
    let expected_first: Vec<GroupMember> = sorted(users.clone())
        .into_iter()
        .take(3)
        .map(|id| {
            let index = users.iter().position(|user| *user == id).expect("created");
            GroupMember {
                id,
                member_type: GroupType::User,
                display_name: format!("User {index}"),
                external_id: Some(format!("ext-{index}")),
            }
        })
        .collect();
    assert_eq!(first.items, expected_first);
}

// ---------------------------------------------------------------- assignments

async fn insert_assignment_reports_unknown_profile_group_and_duplicates(store: Arc<dyn Store>) {
    let group = insert_group(&store, GroupType::Device).await;
    let root = insert_trusted(&store, Platform::Ios).await;
    let scep = insert_scep(&store, Platform::Ios, root, CertificateType::Device).await;

    let unknown_profile = store
        .insert_assignment(
            ProfileKind::ScepCertificate,
            Uuid::now_v7(),
            group,
            Intent::Include,
            &audit_entry(),
        )
        .await;
    let wrong_kind = store
        .insert_assignment(
            ProfileKind::ScepCertificate,
            root,
            group,
            Intent::Include,
            &audit_entry(),
        )
        .await;
    let unknown_group = store
        .insert_assignment(
            ProfileKind::TrustedCertificate,
            root,
            Uuid::now_v7(),
            Intent::Include,
            &audit_entry(),
        )
        .await;
    let created = store
        .insert_assignment(
            ProfileKind::ScepCertificate,
            scep,
            group,
            Intent::Exclude,
            &audit_entry(),
        )
        .await
        .unwrap();
    let duplicate = store
        .insert_assignment(
            ProfileKind::ScepCertificate,
            scep,
            group,
            Intent::Include,
            &audit_entry(),
        )
        .await;

    assert!(
        matches!(unknown_profile, Err(StorageError::NotFound)),
        "{unknown_profile:?}"
    );
    assert!(
        matches!(wrong_kind, Err(StorageError::NotFound)),
        "{wrong_kind:?}"
    );
    assert!(
        matches!(unknown_group, Err(StorageError::MissingReference)),
        "{unknown_group:?}"
    );
    assert!(
        matches!(duplicate, Err(StorageError::Conflict(_))),
        "{duplicate:?}"
    );
    assert_eq!(
        (
            created.profile_kind,
            created.profile_id,
            created.group_id,
            created.intent
        ),
        (ProfileKind::ScepCertificate, scep, group, Intent::Exclude)
    );
    assert_eq!(
        assignment_ids(&store, ProfileKind::ScepCertificate, scep).await,
        vec![created.id]
    );
    assert_eq!(
        assignment_ids(&store, ProfileKind::TrustedCertificate, root).await,
        Vec::<Uuid>::new()
    );
    // The same group may be assigned to another profile.
    assign(
        &store,
        ProfileKind::TrustedCertificate,
        root,
        group,
        Intent::Include,
    )
    .await;
}

async fn list_and_delete_assignments(store: Arc<dyn Store>) {
    let devices = insert_group(&store, GroupType::Device).await;
    let users = insert_group(&store, GroupType::User).await;
    let root = insert_trusted(&store, Platform::Android).await;
    let include = store
        .insert_assignment(
            ProfileKind::TrustedCertificate,
            root,
            devices,
            Intent::Include,
            &audit_entry(),
        )
        .await
        .unwrap();
    let exclude = store
        .insert_assignment(
            ProfileKind::TrustedCertificate,
            root,
            users,
            Intent::Exclude,
            &audit_entry(),
        )
        .await
        .unwrap();

    let first = store
        .list_assignments(ProfileKind::TrustedCertificate, root, PageRequest::first(1))
        .await
        .unwrap();
    let second = store
        .list_assignments(
            ProfileKind::TrustedCertificate,
            root,
            PageRequest {
                limit: 1,
                cursor: first.next_cursor,
            },
        )
        .await
        .unwrap();
    assert_eq!(
        (first.items, second.items),
        (vec![include.clone()], vec![exclude.clone()])
    );
    assert_eq!(second.next_cursor, None);

    let through_other_kind = store
        .delete_assignment(ProfileKind::ScepCertificate, root, include.id, &audit_entry())
        .await;
    assert!(
        matches!(through_other_kind, Err(StorageError::NotFound)),
        "{through_other_kind:?}"
    );
    store
        .delete_assignment(ProfileKind::TrustedCertificate, root, include.id, &audit_entry())
        .await
        .unwrap();
    let again = store
        .delete_assignment(ProfileKind::TrustedCertificate, root, include.id, &audit_entry())
        .await;
    assert!(matches!(again, Err(StorageError::NotFound)), "{again:?}");
    assert_eq!(
        assignment_ids(&store, ProfileKind::TrustedCertificate, root).await,
        vec![exclude.id]
    );
    let unknown_profile = store
        .list_assignments(
            ProfileKind::TrustedCertificate,
            Uuid::now_v7(),
            PageRequest::first(10),
        )
        .await;
    assert!(
        matches!(unknown_profile, Err(StorageError::NotFound)),
        "{unknown_profile:?}"
    );
}

// ---------------------------------------------------------------- cascades

async fn deleting_a_group_removes_its_memberships_and_assignments(store: Arc<dyn Store>) {
    let device = insert_device(&store, Platform::Android, None).await;
    let doomed = group_with(&store, GroupType::Device, &[device]).await;
    let kept = group_with(&store, GroupType::Device, &[device]).await;
    let root = insert_trusted(&store, Platform::Android).await;
    let scep = insert_scep(&store, Platform::Android, root, CertificateType::Device).await;
    assign(
        &store,
        ProfileKind::TrustedCertificate,
        root,
        doomed,
        Intent::Include,
    )
    .await;
    assign(
        &store,
        ProfileKind::ScepCertificate,
        scep,
        doomed,
        Intent::Exclude,
    )
    .await;
    let kept_assignment = assign(
        &store,
        ProfileKind::TrustedCertificate,
        root,
        kept,
        Intent::Include,
    )
    .await;

    store.delete_group(doomed, None, &audit_entry()).await.unwrap();

    assert_eq!(
        assignment_ids(&store, ProfileKind::TrustedCertificate, root).await,
        vec![kept_assignment]
    );
    assert_eq!(
        assignment_ids(&store, ProfileKind::ScepCertificate, scep).await,
        Vec::<Uuid>::new()
    );
    let (memberships, profiles) = store
        .device_targeting_facts(device)
        .await
        .unwrap()
        .expect("device");
    let assignments: Vec<Uuid> = profiles
        .iter()
        .flat_map(|profile| profile.assignments.iter().map(|fact| fact.assignment_id))
        .collect();
    assert_eq!(assignments, vec![kept_assignment]);
    assert!(!memberships.device_groups.contains(&doomed));
    assert_eq!(member_ids(&store, kept, 10).await, vec![device]);
    // The group's id is free of leftovers: a new group with members works as before.
    group_with(&store, GroupType::Device, &[device]).await;
}

async fn deleting_a_user_removes_its_memberships_and_clears_its_devices(store: Arc<dyn Store>) {
    let jane = insert_user(&store, "jane@contoso.com").await;
    let john = insert_user(&store, "john@contoso.com").await;
    let janes = insert_device(&store, Platform::Ios, Some(jane)).await;
    let johns = insert_device(&store, Platform::Ios, Some(john)).await;
    let sales = group_with(&store, GroupType::User, &[jane, john]).await;

    store.delete_user(jane, None, &audit_entry()).await.unwrap();

    assert_eq!(member_ids(&store, sales, 10).await, vec![john]);
    let janes = store.device(janes).await.unwrap().expect("device stays");
    assert_eq!(janes.content.device.user_id, None);
    let johns = store.device(johns).await.unwrap().expect("device stays");
    assert_eq!(johns.content.device.user_id, Some(john));
    let (memberships, _) = store
        .device_targeting_facts(janes.id)
        .await
        .unwrap()
        .expect("device");
    assert!(!memberships.has_primary_user);
}

async fn deleting_a_device_removes_its_memberships(store: Arc<dyn Store>) {
    let first = insert_device(&store, Platform::Ios, None).await;
    let second = insert_device(&store, Platform::Ios, None).await;
    let kiosks = group_with(&store, GroupType::Device, &[first, second]).await;

    store.delete_device(first, None, &audit_entry()).await.unwrap();

    assert_eq!(member_ids(&store, kiosks, 10).await, vec![second]);
}

async fn deleting_a_profile_removes_its_assignments(store: Arc<dyn Store>) {
    let device = insert_device(&store, Platform::Ios, None).await;
    let group = group_with(&store, GroupType::Device, &[device]).await;
    let root = insert_trusted(&store, Platform::Ios).await;
    let scep = insert_scep(&store, Platform::Ios, root, CertificateType::Device).await;
    assign(
        &store,
        ProfileKind::TrustedCertificate,
        root,
        group,
        Intent::Include,
    )
    .await;
    assign(&store, ProfileKind::ScepCertificate, scep, group, Intent::Include).await;

    store
        .delete_scep_profile(scep, None, &audit_entry())
        .await
        .unwrap();
    store
        .delete_trusted_profile(root, None, &audit_entry())
        .await
        .unwrap();

    let (_, profiles) = store
        .device_targeting_facts(device)
        .await
        .unwrap()
        .expect("device");
    assert_eq!(profiles, vec![]);
    let (targeted, _) = targeted_ids(&store, ProfileKind::TrustedCertificate, root, Platform::Ios, 10).await;
    assert_eq!(targeted, Vec::<Uuid>::new());
}

// ---------------------------------------------------------------- targeting facts

async fn device_targeting_facts_of_an_unknown_device_is_none(store: Arc<dyn Store>) {
    assert_eq!(store.device_targeting_facts(Uuid::now_v7()).await.unwrap(), None);
}

async fn device_targeting_facts_report_platform_user_groups_and_profiles(store: Arc<dyn Store>) {
    let jane = insert_user(&store, "jane@contoso.com").await;
    let device = insert_device(&store, Platform::Android, Some(jane)).await;
    let other_device = insert_device(&store, Platform::Android, None).await;
    let devices = group_with(&store, GroupType::Device, &[device]).await;
    let users = group_with(&store, GroupType::User, &[jane]).await;
    let unrelated = group_with(&store, GroupType::Device, &[other_device]).await;
    let root = insert_trusted(&store, Platform::Android).await;
    let scep = insert_scep(&store, Platform::Android, root, CertificateType::User).await;
    let ios_root = insert_trusted(&store, Platform::Ios).await;
    let root_include = assign(
        &store,
        ProfileKind::TrustedCertificate,
        root,
        devices,
        Intent::Include,
    )
    .await;
    let root_exclude = assign(
        &store,
        ProfileKind::TrustedCertificate,
        root,
        users,
        Intent::Exclude,
    )
    .await;
    let scep_include = assign(&store, ProfileKind::ScepCertificate, scep, users, Intent::Include).await;
    assign(
        &store,
        ProfileKind::ScepCertificate,
        scep,
        unrelated,
        Intent::Exclude,
    )
    .await;
    assign(
        &store,
        ProfileKind::TrustedCertificate,
        ios_root,
        unrelated,
        Intent::Include,
    )
    .await;

    let (memberships, profiles) = store
        .device_targeting_facts(device)
        .await
        .unwrap()
        .expect("device");

    assert_eq!(memberships.platform, Platform::Android);
    assert!(memberships.has_primary_user);
    assert_eq!(memberships.device_groups, HashSet::from([devices]));
    assert_eq!(memberships.user_groups, HashSet::from([users]));
    let fact = |assignment_id, group_id, group_type, intent| AssignmentFact {
        assignment_id,
        group_id,
        group_type,
        intent,
    };
    let expected = HashMap::from([
        (
            (ProfileKind::TrustedCertificate, root),
            TargetedProfile {
                profile_id: root,
                kind: ProfileKind::TrustedCertificate,
                version: 1,
                platform: Platform::Android,
                certificate_type: None,
                root_profile_id: None,
                assignments: vec![
                    fact(root_include, devices, GroupType::Device, Intent::Include),
                    fact(root_exclude, users, GroupType::User, Intent::Exclude),
                ],
            },
        ),
        (
            (ProfileKind::ScepCertificate, scep),
            TargetedProfile {
                profile_id: scep,
                kind: ProfileKind::ScepCertificate,
                version: 1,
                platform: Platform::Android,
                certificate_type: Some(CertificateType::User),
                root_profile_id: Some(root),
                assignments: vec![fact(scep_include, users, GroupType::User, Intent::Include)],
            },
        ),
    ]);
    let mut actual: HashMap<(ProfileKind, Uuid), TargetedProfile> = HashMap::new();
    for mut profile in profiles {
        profile.assignments.sort_by_key(|fact| fact.assignment_id);
        let previous = actual.insert((profile.kind, profile.profile_id), profile);
        assert_eq!(previous, None, "each profile is reported once");
    }
    assert_eq!(actual, expected);
}

async fn device_targeting_facts_without_primary_user_have_no_user_groups(store: Arc<dyn Store>) {
    let jane = insert_user(&store, "jane@contoso.com").await;
    let shared = insert_device(&store, Platform::Ios, None).await;
    let devices = group_with(&store, GroupType::Device, &[shared]).await;
    let users = group_with(&store, GroupType::User, &[jane]).await;
    let root = insert_trusted(&store, Platform::Ios).await;
    assign(
        &store,
        ProfileKind::TrustedCertificate,
        root,
        devices,
        Intent::Include,
    )
    .await;
    let other = insert_trusted(&store, Platform::Ios).await;
    assign(
        &store,
        ProfileKind::TrustedCertificate,
        other,
        users,
        Intent::Include,
    )
    .await;

    let (memberships, profiles) = store
        .device_targeting_facts(shared)
        .await
        .unwrap()
        .expect("device");

    assert_eq!(
        (memberships.platform, memberships.has_primary_user),
        (Platform::Ios, false)
    );
    assert_eq!(memberships.user_groups, HashSet::new());
    let reported: Vec<Uuid> = profiles.iter().map(|profile| profile.profile_id).collect();
    assert_eq!(reported, vec![root]);
}

async fn targeted_devices_follow_the_rules_and_page_in_id_order(store: Arc<dyn Store>) {
    let jane = insert_user(&store, "jane@contoso.com").await;
    let mary = insert_user(&store, "mary@contoso.com").await;
    let in_group = insert_device(&store, Platform::Android, None).await;
    let excluded = insert_device(&store, Platform::Android, None).await;
    let ios = insert_device(&store, Platform::Ios, None).await;
    let janes = insert_device(&store, Platform::Android, Some(jane)).await;
    let marys = insert_device(&store, Platform::Android, Some(mary)).await;
    let outside = insert_device(&store, Platform::Android, None).await;
    let both = insert_device(&store, Platform::Android, Some(jane)).await;
    let devices = group_with(&store, GroupType::Device, &[in_group, excluded, ios, marys, both]).await;
    let users = group_with(&store, GroupType::User, &[jane]).await;
    let excluded_devices = group_with(&store, GroupType::Device, &[excluded]).await;
    let excluded_users = group_with(&store, GroupType::User, &[mary]).await;
    let root = insert_trusted(&store, Platform::Android).await;
    let kind = ProfileKind::TrustedCertificate;
    assign(&store, kind, root, devices, Intent::Include).await;
    assign(&store, kind, root, users, Intent::Include).await;
    assign(&store, kind, root, excluded_devices, Intent::Exclude).await;
    assign(&store, kind, root, excluded_users, Intent::Exclude).await;

    let (listed, pages) = targeted_ids(&store, kind, root, Platform::Android, 2).await;
    let first = store
        .targeted_devices(kind, root, Platform::Android, PageRequest::first(2))
        .await
        .unwrap();

    assert_eq!(listed, sorted(vec![in_group, janes, both]));
    assert_eq!(pages, 2);
    assert_eq!(first.items.len(), 2);
    assert_eq!(first.items[0].content.device.platform, Platform::Android);
    assert!(!listed.contains(&outside));
    // Only devices of the platform asked for.
    let (ios_listed, _) = targeted_ids(&store, kind, root, Platform::Ios, 2).await;
    assert_eq!(ios_listed, vec![ios]);
    // Assignments of the other kind do not count.
    let (scep_listed, _) =
        targeted_ids(&store, ProfileKind::ScepCertificate, root, Platform::Android, 2).await;
    assert_eq!(scep_listed, Vec::<Uuid>::new());
}

async fn devices_are_read_by_ids_in_one_call(store: Arc<dyn Store>) {
    let first = insert_device(&store, Platform::Ios, None).await;
    let second = insert_device(&store, Platform::Android, None).await;
    let _other = insert_device(&store, Platform::Windows10, None).await;
    let missing = Uuid::now_v7();

    let found = store.devices(&[second, missing, first]).await.expect("devices");

    let mut expected = vec![(first, Platform::Ios), (second, Platform::Android)];
    expected.sort();
    let read: Vec<(Uuid, Platform)> = found
        .iter()
        .map(|device| (device.id, device.content.device.platform))
        .collect();
    assert_eq!(
        read, expected,
        "the existing ones, by id, without the other device"
    );
    assert!(store.devices(&[]).await.expect("no ids").is_empty());
}
