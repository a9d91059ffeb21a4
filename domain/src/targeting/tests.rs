//! Every rule of the module doc of [`effective_profiles`], one test each, then a
//! property test against a deliberately naive reference implementation.
//!
//! Ids are deterministic (`Uuid::from_u128`) so failures stay readable:
//! groups are `0x1xx`, profiles `0x2xx`, assignments `0x3xx` (`0x1_0000`+ in
//! the property test) and unknown roots `0x9xx`.

use std::collections::HashSet;

use proptest::prelude::*;
use uuid::Uuid;

use super::{
    effective_profiles, AssignmentFact, DeviceMemberships, EffectiveProfile, Explain, Intent, ProfileKind,
    TargetReason, TargetState, TargetedProfile,
};
use crate::{directory::GroupType, platform::Platform, scep_profile::CertificateType};

const fn id(n: u128) -> Uuid {
    Uuid::from_u128(n)
}

// Groups.
const SALES_DEVICES: Uuid = id(0x101);
const SALES_USERS: Uuid = id(0x102);
const KIOSK_DEVICES: Uuid = id(0x103);
const CONTRACTOR_USERS: Uuid = id(0x104);
/// Neither the device nor its user is in these.
const OTHER_DEVICES: Uuid = id(0x105);
const OTHER_USERS: Uuid = id(0x106);

// Profiles.
const ROOT: Uuid = id(0x201);
const WIFI: Uuid = id(0x202);
const VPN: Uuid = id(0x203);
const OTHER_ROOT: Uuid = id(0x204);
const UNKNOWN_ROOT: Uuid = id(0x9ff);

// Assignments.
const A1: Uuid = id(0x301);
const A2: Uuid = id(0x302);
const A3: Uuid = id(0x303);
const A4: Uuid = id(0x304);
const A5: Uuid = id(0x305);
const A6: Uuid = id(0x306);

fn assignment(assignment_id: Uuid, group_id: Uuid, group_type: GroupType, intent: Intent) -> AssignmentFact {
    AssignmentFact {
        assignment_id,
        group_id,
        group_type,
        intent,
    }
}

fn include_devices(assignment_id: Uuid, group_id: Uuid) -> AssignmentFact {
    assignment(assignment_id, group_id, GroupType::Device, Intent::Include)
}

fn include_users(assignment_id: Uuid, group_id: Uuid) -> AssignmentFact {
    assignment(assignment_id, group_id, GroupType::User, Intent::Include)
}

fn exclude_devices(assignment_id: Uuid, group_id: Uuid) -> AssignmentFact {
    assignment(assignment_id, group_id, GroupType::Device, Intent::Exclude)
}

fn exclude_users(assignment_id: Uuid, group_id: Uuid) -> AssignmentFact {
    assignment(assignment_id, group_id, GroupType::User, Intent::Exclude)
}

fn trusted(profile_id: Uuid, platform: Platform, assignments: Vec<AssignmentFact>) -> TargetedProfile {
    TargetedProfile {
        profile_id,
        kind: ProfileKind::TrustedCertificate,
        version: 1,
        platform,
        certificate_type: None,
        root_profile_id: None,
        assignments,
    }
}

fn scep(
    profile_id: Uuid,
    platform: Platform,
    certificate_type: CertificateType,
    root_profile_id: Uuid,
    assignments: Vec<AssignmentFact>,
) -> TargetedProfile {
    TargetedProfile {
        profile_id,
        kind: ProfileKind::ScepCertificate,
        version: 1,
        platform,
        certificate_type: Some(certificate_type),
        root_profile_id: Some(root_profile_id),
        assignments,
    }
}

/// An iOS device in SALES_DEVICES and KIOSK_DEVICES whose primary user is in
/// SALES_USERS and CONTRACTOR_USERS.
fn ios_device() -> DeviceMemberships {
    DeviceMemberships {
        platform: Platform::Ios,
        has_primary_user: true,
        device_groups: HashSet::from([SALES_DEVICES, KIOSK_DEVICES]),
        user_groups: HashSet::from([SALES_USERS, CONTRACTOR_USERS]),
    }
}

/// The same device without a primary user: storage then gathers no user groups.
fn ios_device_without_user() -> DeviceMemberships {
    DeviceMemberships {
        has_primary_user: false,
        user_groups: HashSet::new(),
        ..ios_device()
    }
}

/// The trusted root, installed on the iOS device through SALES_DEVICES.
fn installed_root() -> TargetedProfile {
    trusted(ROOT, Platform::Ios, vec![include_devices(A1, SALES_DEVICES)])
}

fn entry(
    profile_id: Uuid,
    kind: ProfileKind,
    state: TargetState,
    reason: Option<TargetReason>,
    assignment_ids: &[Uuid],
) -> EffectiveProfile {
    EffectiveProfile {
        profile_id,
        kind,
        state,
        reason,
        assignment_ids: assignment_ids.to_vec(),
    }
}

fn trusted_entry(
    profile_id: Uuid,
    state: TargetState,
    reason: Option<TargetReason>,
    ids: &[Uuid],
) -> EffectiveProfile {
    entry(profile_id, ProfileKind::TrustedCertificate, state, reason, ids)
}

fn scep_entry(
    profile_id: Uuid,
    state: TargetState,
    reason: Option<TargetReason>,
    ids: &[Uuid],
) -> EffectiveProfile {
    entry(profile_id, ProfileKind::ScepCertificate, state, reason, ids)
}

fn installed_root_entry() -> EffectiveProfile {
    trusted_entry(ROOT, TargetState::Applicable, None, &[A1])
}

/// Both views: (`Explain::No`, `Explain::Yes`).
fn both(
    device: &DeviceMemberships,
    profiles: &[TargetedProfile],
) -> (Vec<EffectiveProfile>, Vec<EffectiveProfile>) {
    (
        effective_profiles(device, profiles, Explain::No),
        effective_profiles(device, profiles, Explain::Yes),
    )
}

// ================================================================== rule 1: inclusion

#[test]
fn included_via_a_device_group() {
    for platform in Platform::ALL {
        let device = DeviceMemberships {
            platform,
            ..ios_device()
        };
        let profiles = [trusted(ROOT, platform, vec![include_devices(A1, SALES_DEVICES)])];
        let expected = vec![trusted_entry(ROOT, TargetState::Applicable, None, &[A1])];
        assert_eq!(
            both(&device, &profiles),
            (expected.clone(), expected),
            "{platform}"
        );
    }
}

#[test]
fn included_via_a_user_group() {
    let profiles = [trusted(ROOT, Platform::Ios, vec![include_users(A1, SALES_USERS)])];
    let expected = vec![trusted_entry(ROOT, TargetState::Applicable, None, &[A1])];
    assert_eq!(both(&ios_device(), &profiles), (expected.clone(), expected));
}

#[test]
fn without_a_matching_include_the_profile_is_not_listed_even_when_explaining() {
    let cases = [
        ("no assignments", vec![]),
        (
            "included in groups the device and its user are not in",
            vec![include_devices(A1, OTHER_DEVICES), include_users(A2, OTHER_USERS)],
        ),
        (
            "only excluded",
            vec![exclude_devices(A1, SALES_DEVICES), exclude_users(A2, SALES_USERS)],
        ),
        (
            "included elsewhere, excluded here",
            vec![
                include_devices(A1, OTHER_DEVICES),
                exclude_devices(A2, SALES_DEVICES),
            ],
        ),
        (
            "a device group id assigned as a user group",
            vec![include_users(A1, SALES_DEVICES)],
        ),
        (
            "a user group id assigned as a device group",
            vec![include_devices(A1, SALES_USERS)],
        ),
    ];
    for (case, assignments) in cases {
        let profiles = [
            trusted(ROOT, Platform::Ios, assignments.clone()),
            scep(WIFI, Platform::Ios, CertificateType::Device, ROOT, assignments),
        ];
        assert_eq!(both(&ios_device(), &profiles), (vec![], vec![]), "{case}");
    }
}

#[test]
fn no_profiles_means_nothing_listed() {
    assert_eq!(both(&ios_device(), &[]), (vec![], vec![]));
}

// ================================================================== rule 2: exclusion wins

#[test]
fn device_group_exclusion_beats_user_group_inclusion() {
    let profiles = [trusted(
        ROOT,
        Platform::Ios,
        vec![include_users(A1, SALES_USERS), exclude_devices(A2, KIOSK_DEVICES)],
    )];
    let (quiet, explained) = both(&ios_device(), &profiles);
    assert_eq!(quiet, []);
    assert_eq!(
        explained,
        [trusted_entry(
            ROOT,
            TargetState::Excluded,
            Some(TargetReason::AssignmentExcluded),
            &[A2]
        )]
    );
}

#[test]
fn user_group_exclusion_beats_device_group_inclusion() {
    let profiles = [trusted(
        ROOT,
        Platform::Ios,
        vec![
            include_devices(A1, SALES_DEVICES),
            exclude_users(A2, CONTRACTOR_USERS),
        ],
    )];
    let (quiet, explained) = both(&ios_device(), &profiles);
    assert_eq!(quiet, []);
    assert_eq!(
        explained,
        [trusted_entry(
            ROOT,
            TargetState::Excluded,
            Some(TargetReason::AssignmentExcluded),
            &[A2]
        )]
    );
}

#[test]
fn exclusion_of_the_same_kind_wins_too() {
    let cases = [
        (
            "device groups",
            vec![
                include_devices(A1, SALES_DEVICES),
                exclude_devices(A2, KIOSK_DEVICES),
            ],
        ),
        (
            "user groups",
            vec![
                include_users(A1, SALES_USERS),
                exclude_users(A2, CONTRACTOR_USERS),
            ],
        ),
        (
            "the very group that includes",
            vec![
                include_devices(A1, SALES_DEVICES),
                exclude_devices(A2, SALES_DEVICES),
            ],
        ),
    ];
    for (case, assignments) in cases {
        let profiles = [trusted(ROOT, Platform::Ios, assignments)];
        let (quiet, explained) = both(&ios_device(), &profiles);
        assert_eq!(quiet, [], "{case}");
        assert_eq!(
            explained,
            [trusted_entry(
                ROOT,
                TargetState::Excluded,
                Some(TargetReason::AssignmentExcluded),
                &[A2]
            )],
            "{case}"
        );
    }
}

#[test]
fn excluded_lists_every_matching_excluding_assignment_and_no_including_one() {
    let profiles = [scep(
        WIFI,
        Platform::Ios,
        CertificateType::Device,
        ROOT,
        vec![
            exclude_users(A1, CONTRACTOR_USERS),
            include_devices(A2, SALES_DEVICES),
            exclude_devices(A3, OTHER_DEVICES),
            include_users(A4, SALES_USERS),
            exclude_devices(A5, KIOSK_DEVICES),
        ],
    )];
    let (quiet, explained) = both(&ios_device(), &profiles);
    assert_eq!(quiet, []);
    assert_eq!(
        explained,
        [scep_entry(
            WIFI,
            TargetState::Excluded,
            Some(TargetReason::AssignmentExcluded),
            &[A1, A5]
        )]
    );
}

#[test]
fn exclusion_in_a_group_the_device_is_not_in_does_not_matter() {
    let profiles = [trusted(
        ROOT,
        Platform::Ios,
        vec![
            include_devices(A1, SALES_DEVICES),
            exclude_devices(A2, OTHER_DEVICES),
            exclude_users(A3, OTHER_USERS),
        ],
    )];
    let expected = vec![trusted_entry(ROOT, TargetState::Applicable, None, &[A1])];
    assert_eq!(both(&ios_device(), &profiles), (expected.clone(), expected));
}

#[test]
fn exclusion_is_reported_before_a_platform_mismatch() {
    let profiles = [trusted(
        ROOT,
        Platform::Android,
        vec![include_devices(A1, SALES_DEVICES), exclude_users(A2, SALES_USERS)],
    )];
    let (quiet, explained) = both(&ios_device(), &profiles);
    assert_eq!(quiet, []);
    assert_eq!(
        explained,
        [trusted_entry(
            ROOT,
            TargetState::Excluded,
            Some(TargetReason::AssignmentExcluded),
            &[A2]
        )]
    );
}

// ================================================================== rule 3: platform

#[test]
fn platform_mismatch_is_hidden_unless_explaining() {
    for platform in Platform::ALL
        .into_iter()
        .filter(|platform| *platform != Platform::Ios)
    {
        let profiles = [
            trusted(OTHER_ROOT, platform, vec![include_devices(A1, SALES_DEVICES)]),
            scep(
                WIFI,
                platform,
                CertificateType::User,
                OTHER_ROOT,
                vec![include_users(A2, SALES_USERS)],
            ),
        ];
        let (quiet, explained) = both(&ios_device(), &profiles);
        assert_eq!(quiet, [], "{platform}");
        assert_eq!(
            explained,
            [
                trusted_entry(
                    OTHER_ROOT,
                    TargetState::NotApplicable,
                    Some(TargetReason::PlatformMismatch),
                    &[A1]
                ),
                scep_entry(
                    WIFI,
                    TargetState::NotApplicable,
                    Some(TargetReason::PlatformMismatch),
                    &[A2]
                ),
            ],
            "{platform}"
        );
    }
}

#[test]
fn platform_mismatch_is_reported_before_a_missing_primary_user() {
    let profiles = [scep(
        WIFI,
        Platform::Android,
        CertificateType::User,
        UNKNOWN_ROOT,
        vec![include_devices(A1, SALES_DEVICES)],
    )];
    let (quiet, explained) = both(&ios_device_without_user(), &profiles);
    assert_eq!(quiet, []);
    assert_eq!(
        explained,
        [scep_entry(
            WIFI,
            TargetState::NotApplicable,
            Some(TargetReason::PlatformMismatch),
            &[A1]
        )]
    );
}

// ================================================================== rule 4: primary user

#[test]
fn user_certificate_without_a_primary_user_is_not_applicable() {
    let profiles = [
        installed_root(),
        scep(
            WIFI,
            Platform::Ios,
            CertificateType::User,
            ROOT,
            vec![include_devices(A2, KIOSK_DEVICES)],
        ),
    ];
    let expected = vec![
        installed_root_entry(),
        scep_entry(
            WIFI,
            TargetState::NotApplicable,
            Some(TargetReason::NoPrimaryUser),
            &[A2],
        ),
    ];
    assert_eq!(
        both(&ios_device_without_user(), &profiles),
        (expected.clone(), expected)
    );
}

#[test]
fn missing_primary_user_is_reported_before_a_missing_root() {
    let profiles = [scep(
        WIFI,
        Platform::Ios,
        CertificateType::User,
        UNKNOWN_ROOT,
        vec![include_devices(A2, KIOSK_DEVICES)],
    )];
    let expected = vec![scep_entry(
        WIFI,
        TargetState::NotApplicable,
        Some(TargetReason::NoPrimaryUser),
        &[A2],
    )];
    assert_eq!(
        both(&ios_device_without_user(), &profiles),
        (expected.clone(), expected)
    );
}

#[test]
fn device_certificate_without_a_primary_user_is_fine() {
    let profiles = [
        installed_root(),
        scep(
            WIFI,
            Platform::Ios,
            CertificateType::Device,
            ROOT,
            vec![include_devices(A2, KIOSK_DEVICES)],
        ),
    ];
    let expected = vec![
        installed_root_entry(),
        scep_entry(WIFI, TargetState::Applicable, None, &[A2]),
    ];
    assert_eq!(
        both(&ios_device_without_user(), &profiles),
        (expected.clone(), expected)
    );
}

#[test]
fn user_certificate_with_a_primary_user_is_applicable() {
    let profiles = [
        installed_root(),
        scep(
            WIFI,
            Platform::Ios,
            CertificateType::User,
            ROOT,
            vec![include_users(A2, SALES_USERS)],
        ),
    ];
    let expected = vec![
        installed_root_entry(),
        scep_entry(WIFI, TargetState::Applicable, None, &[A2]),
    ];
    assert_eq!(both(&ios_device(), &profiles), (expected.clone(), expected));
}

#[test]
fn user_groups_do_not_count_without_a_primary_user() {
    // Without a primary user storage gathers no user groups, so neither a
    // user-group inclusion nor a user-group exclusion matches.
    let device = ios_device_without_user();

    let only_user_include = [trusted(ROOT, Platform::Ios, vec![include_users(A1, SALES_USERS)])];
    assert_eq!(both(&device, &only_user_include), (vec![], vec![]));

    let device_include_user_exclude = [trusted(
        ROOT,
        Platform::Ios,
        vec![include_devices(A1, SALES_DEVICES), exclude_users(A2, SALES_USERS)],
    )];
    let expected = vec![trusted_entry(ROOT, TargetState::Applicable, None, &[A1])];
    assert_eq!(
        both(&device, &device_include_user_exclude),
        (expected.clone(), expected)
    );

    let both_kinds_included = [trusted(
        ROOT,
        Platform::Ios,
        vec![include_users(A1, SALES_USERS), include_devices(A2, SALES_DEVICES)],
    )];
    let expected = vec![trusted_entry(ROOT, TargetState::Applicable, None, &[A2])];
    assert_eq!(both(&device, &both_kinds_included), (expected.clone(), expected));
}

// ================================================================== rule 5: root certificate

#[test]
fn scep_with_an_applicable_root_is_applicable() {
    let cases = [
        ("SCEP via device group", include_devices(A2, KIOSK_DEVICES)),
        (
            "SCEP via user group, root via device group",
            include_users(A2, SALES_USERS),
        ),
    ];
    for (case, scep_assignment) in cases {
        let profiles = [
            installed_root(),
            scep(
                WIFI,
                Platform::Ios,
                CertificateType::Device,
                ROOT,
                vec![scep_assignment],
            ),
        ];
        let expected = vec![
            installed_root_entry(),
            scep_entry(WIFI, TargetState::Applicable, None, &[A2]),
        ];
        assert_eq!(
            both(&ios_device(), &profiles),
            (expected.clone(), expected),
            "{case}"
        );
    }
}

#[test]
fn one_root_serves_several_scep_profiles() {
    let profiles = [
        installed_root(),
        scep(
            WIFI,
            Platform::Ios,
            CertificateType::Device,
            ROOT,
            vec![include_devices(A2, KIOSK_DEVICES)],
        ),
        scep(
            VPN,
            Platform::Ios,
            CertificateType::User,
            ROOT,
            vec![include_users(A3, SALES_USERS)],
        ),
    ];
    let expected = vec![
        installed_root_entry(),
        scep_entry(WIFI, TargetState::Applicable, None, &[A2]),
        scep_entry(VPN, TargetState::Applicable, None, &[A3]),
    ];
    assert_eq!(both(&ios_device(), &profiles), (expected.clone(), expected));
}

fn wifi_with_root(root_profile_id: Uuid) -> TargetedProfile {
    scep(
        WIFI,
        Platform::Ios,
        CertificateType::Device,
        root_profile_id,
        vec![include_devices(A2, KIOSK_DEVICES)],
    )
}

fn failed_wifi() -> EffectiveProfile {
    scep_entry(
        WIFI,
        TargetState::Failed,
        Some(TargetReason::RootCertificateNotAssigned),
        &[A2],
    )
}

#[test]
fn scep_whose_root_is_not_assigned_fails() {
    let cases = [
        ("root not among the facts", vec![wifi_with_root(UNKNOWN_ROOT)]),
        (
            "root without assignments",
            vec![trusted(ROOT, Platform::Ios, vec![]), wifi_with_root(ROOT)],
        ),
        (
            "root assigned to groups the device is not in",
            vec![
                trusted(
                    ROOT,
                    Platform::Ios,
                    vec![include_devices(A1, OTHER_DEVICES), include_users(A3, OTHER_USERS)],
                ),
                wifi_with_root(ROOT),
            ],
        ),
        (
            "another root installs, not this one",
            vec![
                trusted(
                    OTHER_ROOT,
                    Platform::Ios,
                    vec![include_devices(A1, SALES_DEVICES)],
                ),
                wifi_with_root(ROOT),
            ],
        ),
    ];
    for (case, profiles) in cases {
        let (quiet, explained) = both(&ios_device(), &profiles);
        let other_root_entry = profiles
            .iter()
            .any(|profile| profile.profile_id == OTHER_ROOT)
            .then(|| trusted_entry(OTHER_ROOT, TargetState::Applicable, None, &[A1]));
        let expected: Vec<EffectiveProfile> = other_root_entry.into_iter().chain([failed_wifi()]).collect();
        assert_eq!(quiet, expected, "{case}");
        assert_eq!(explained, expected, "{case}");
    }
}

#[test]
fn scep_without_a_root_id_fails() {
    let profiles = [
        installed_root(),
        TargetedProfile {
            root_profile_id: None,
            ..wifi_with_root(ROOT)
        },
    ];
    let expected = vec![installed_root_entry(), failed_wifi()];
    assert_eq!(both(&ios_device(), &profiles), (expected.clone(), expected));
}

#[test]
fn scep_whose_root_is_excluded_fails() {
    let profiles = [
        trusted(
            ROOT,
            Platform::Ios,
            vec![
                include_devices(A1, SALES_DEVICES),
                exclude_users(A3, CONTRACTOR_USERS),
            ],
        ),
        wifi_with_root(ROOT),
    ];
    let (quiet, explained) = both(&ios_device(), &profiles);
    assert_eq!(quiet, [failed_wifi()]);
    assert_eq!(
        explained,
        [
            trusted_entry(
                ROOT,
                TargetState::Excluded,
                Some(TargetReason::AssignmentExcluded),
                &[A3]
            ),
            failed_wifi(),
        ]
    );
}

#[test]
fn scep_whose_root_is_for_another_platform_fails() {
    let profiles = [
        trusted(ROOT, Platform::Android, vec![include_devices(A1, SALES_DEVICES)]),
        wifi_with_root(ROOT),
    ];
    let (quiet, explained) = both(&ios_device(), &profiles);
    assert_eq!(quiet, [failed_wifi()]);
    assert_eq!(
        explained,
        [
            trusted_entry(
                ROOT,
                TargetState::NotApplicable,
                Some(TargetReason::PlatformMismatch),
                &[A1]
            ),
            failed_wifi(),
        ]
    );
}

#[test]
fn only_a_trusted_profile_can_be_a_root() {
    // The root id names another SCEP profile that itself installs.
    let profiles = [
        installed_root(),
        scep(
            VPN,
            Platform::Ios,
            CertificateType::Device,
            ROOT,
            vec![include_devices(A3, SALES_DEVICES)],
        ),
        wifi_with_root(VPN),
    ];
    let expected = vec![
        installed_root_entry(),
        failed_wifi(),
        scep_entry(VPN, TargetState::Applicable, None, &[A3]),
    ];
    assert_eq!(both(&ios_device(), &profiles), (expected.clone(), expected));
}

#[test]
fn excluded_scep_is_not_checked_for_its_root() {
    let profiles = [scep(
        WIFI,
        Platform::Ios,
        CertificateType::User,
        UNKNOWN_ROOT,
        vec![
            include_devices(A2, KIOSK_DEVICES),
            exclude_devices(A3, SALES_DEVICES),
        ],
    )];
    let (quiet, explained) = both(&ios_device_without_user(), &profiles);
    assert_eq!(quiet, []);
    assert_eq!(
        explained,
        [scep_entry(
            WIFI,
            TargetState::Excluded,
            Some(TargetReason::AssignmentExcluded),
            &[A3]
        )]
    );
}

// ================================================================== assignment ids and order

#[test]
fn assignment_ids_are_all_the_including_assignments_in_fact_order() {
    let profiles = [trusted(
        ROOT,
        Platform::Ios,
        vec![
            include_users(A1, SALES_USERS),
            include_devices(A2, OTHER_DEVICES),
            include_devices(A3, KIOSK_DEVICES),
            exclude_users(A4, OTHER_USERS),
            include_devices(A5, SALES_DEVICES),
            include_users(A6, CONTRACTOR_USERS),
        ],
    )];
    let expected = vec![trusted_entry(
        ROOT,
        TargetState::Applicable,
        None,
        &[A1, A3, A5, A6],
    )];
    assert_eq!(both(&ios_device(), &profiles), (expected.clone(), expected));
}

#[test]
fn failed_and_not_applicable_keep_their_including_assignment_ids() {
    let profiles = [
        scep(
            WIFI,
            Platform::Ios,
            CertificateType::Device,
            UNKNOWN_ROOT,
            vec![
                include_devices(A1, SALES_DEVICES),
                include_devices(A2, KIOSK_DEVICES),
            ],
        ),
        scep(
            VPN,
            Platform::Ios,
            CertificateType::User,
            UNKNOWN_ROOT,
            vec![
                include_devices(A3, KIOSK_DEVICES),
                include_devices(A4, SALES_DEVICES),
            ],
        ),
    ];
    let expected = vec![
        scep_entry(
            WIFI,
            TargetState::Failed,
            Some(TargetReason::RootCertificateNotAssigned),
            &[A1, A2],
        ),
        scep_entry(
            VPN,
            TargetState::NotApplicable,
            Some(TargetReason::NoPrimaryUser),
            &[A3, A4],
        ),
    ];
    assert_eq!(
        both(&ios_device_without_user(), &profiles),
        (expected.clone(), expected)
    );
}

#[test]
fn output_is_ordered_by_kind_trusted_first_then_profile_id() {
    let include = |n: u128| vec![include_devices(id(0x300 + n), SALES_DEVICES)];
    // SCEP ids are lower than trusted ids, and the facts come in no particular order.
    let profiles = [
        scep(
            id(0x212),
            Platform::Ios,
            CertificateType::Device,
            id(0x2f1),
            include(1),
        ),
        trusted(id(0x2f2), Platform::Ios, include(2)),
        scep(
            id(0x210),
            Platform::Ios,
            CertificateType::Device,
            id(0x2f2),
            include(3),
        ),
        trusted(id(0x2f1), Platform::Ios, include(4)),
        scep(
            id(0x211),
            Platform::Ios,
            CertificateType::Device,
            id(0x2f1),
            include(5),
        ),
        trusted(id(0x2f0), Platform::Android, include(6)),
    ];
    let (quiet, explained) = both(&ios_device(), &profiles);
    let order =
        |list: &[EffectiveProfile]| -> Vec<Uuid> { list.iter().map(|entry| entry.profile_id).collect() };
    assert_eq!(
        order(&explained),
        [id(0x2f0), id(0x2f1), id(0x2f2), id(0x210), id(0x211), id(0x212)]
    );
    assert_eq!(
        order(&quiet),
        [id(0x2f1), id(0x2f2), id(0x210), id(0x211), id(0x212)]
    );
}

#[test]
fn a_uuid_orders_by_its_bytes_not_its_version_or_randomness() {
    // v7-looking ids that differ only in their first byte.
    let early = Uuid::from_u128(0x0193_0000_0000_7000_8000_0000_0000_0002);
    let late = Uuid::from_u128(0xff93_0000_0000_7000_8000_0000_0000_0001);
    let profiles = [
        trusted(late, Platform::Ios, vec![include_devices(A1, SALES_DEVICES)]),
        trusted(early, Platform::Ios, vec![include_devices(A2, SALES_DEVICES)]),
    ];
    let ids: Vec<Uuid> = effective_profiles(&ios_device(), &profiles, Explain::No)
        .into_iter()
        .map(|entry| entry.profile_id)
        .collect();
    assert_eq!(ids, [early, late]);
}

// ================================================================== property test

/// The rules of the module doc written out as plainly as possible, without
/// looking at how [`effective_profiles`] is built.
fn reference(device: &DeviceMemberships, profiles: &[TargetedProfile]) -> Vec<EffectiveProfile> {
    let member = |assignment: &AssignmentFact| -> bool {
        match assignment.group_type {
            GroupType::Device => device.device_groups.contains(&assignment.group_id),
            GroupType::User => device.has_primary_user && device.user_groups.contains(&assignment.group_id),
        }
    };
    let including = |profile: &TargetedProfile| -> Vec<Uuid> {
        let mut ids = Vec::new();
        for assignment in &profile.assignments {
            if assignment.intent == Intent::Include && member(assignment) {
                ids.push(assignment.assignment_id);
            }
        }
        ids
    };
    let excluding = |profile: &TargetedProfile| -> Vec<Uuid> {
        let mut ids = Vec::new();
        for assignment in &profile.assignments {
            if assignment.intent == Intent::Exclude && member(assignment) {
                ids.push(assignment.assignment_id);
            }
        }
        ids
    };
    // Second, independent pass: does the trusted profile `root` install here?
    let root_installs = |root: Option<Uuid>| -> bool {
        let Some(root) = root else {
            return false;
        };
        let mut installs = false;
        for candidate in profiles {
            if candidate.kind == ProfileKind::TrustedCertificate
                && candidate.profile_id == root
                && candidate.platform == device.platform
                && !including(candidate).is_empty()
                && excluding(candidate).is_empty()
            {
                installs = true;
            }
        }
        installs
    };

    let mut result = Vec::new();
    for profile in profiles {
        let included = including(profile);
        let excluded = excluding(profile);
        if included.is_empty() {
            continue;
        }
        let (state, reason, ids) = if !excluded.is_empty() {
            (
                TargetState::Excluded,
                Some(TargetReason::AssignmentExcluded),
                excluded,
            )
        } else if profile.platform != device.platform {
            (
                TargetState::NotApplicable,
                Some(TargetReason::PlatformMismatch),
                included,
            )
        } else if profile.kind == ProfileKind::TrustedCertificate {
            (TargetState::Applicable, None, included)
        } else if profile.certificate_type == Some(CertificateType::User) && !device.has_primary_user {
            (
                TargetState::NotApplicable,
                Some(TargetReason::NoPrimaryUser),
                included,
            )
        } else if !root_installs(profile.root_profile_id) {
            (
                TargetState::Failed,
                Some(TargetReason::RootCertificateNotAssigned),
                included,
            )
        } else {
            (TargetState::Applicable, None, included)
        };
        result.push(EffectiveProfile {
            profile_id: profile.profile_id,
            kind: profile.kind,
            state,
            reason,
            assignment_ids: ids,
        });
    }
    let kind_rank = |kind: ProfileKind| match kind {
        ProfileKind::TrustedCertificate => 0,
        ProfileKind::ScepCertificate => 1,
    };
    result.sort_by_key(|entry| (kind_rank(entry.kind), entry.profile_id.as_u128()));
    result
}

const PROPERTY_PLATFORMS: [Platform; 2] = [Platform::Ios, Platform::Android];
const MAX_PROFILES_PER_KIND: usize = 6;

/// What a generated SCEP profile names as its root.
#[derive(Debug, Clone, Copy)]
enum RootChoice {
    /// The id of trusted slot `n`: an existing trusted profile when `n` is
    /// below the number generated, otherwise a dangling id.
    Trusted(usize),
    /// The id of SCEP slot `n` (never a valid root).
    Scep(usize),
    /// An id no profile has.
    Unknown(u128),
    Missing,
}

#[derive(Debug, Clone)]
struct RawProfile {
    platform: Platform,
    certificate_type: CertificateType,
    root: RootChoice,
    /// (group index modulo the number of groups, include?)
    assignments: Vec<(usize, bool)>,
}

#[derive(Debug, Clone)]
struct Universe {
    device: DeviceMemberships,
    profiles: Vec<TargetedProfile>,
}

fn raw_profile() -> impl Strategy<Value = RawProfile> {
    (
        prop::sample::select(PROPERTY_PLATFORMS.to_vec()),
        prop_oneof![Just(CertificateType::User), Just(CertificateType::Device)],
        prop_oneof![
            5 => (0..MAX_PROFILES_PER_KIND).prop_map(RootChoice::Trusted),
            1 => (0..MAX_PROFILES_PER_KIND).prop_map(RootChoice::Scep),
            2 => (0u128..3).prop_map(RootChoice::Unknown),
            1 => Just(RootChoice::Missing),
        ],
        prop::collection::vec((0usize..6, prop::bool::weighted(0.7)), 0..=4),
    )
        .prop_map(|(platform, certificate_type, root, assignments)| RawProfile {
            platform,
            certificate_type,
            root,
            assignments,
        })
}

fn universe() -> impl Strategy<Value = Universe> {
    let slots = 2 * MAX_PROFILES_PER_KIND;
    (
        prop::collection::vec(prop_oneof![Just(GroupType::User), Just(GroupType::Device)], 1..=6),
        prop::sample::select(PROPERTY_PLATFORMS.to_vec()),
        any::<bool>(),
        prop::collection::vec(prop::bool::weighted(0.6), 6),
        prop::collection::vec(raw_profile(), 0..=MAX_PROFILES_PER_KIND),
        prop::collection::vec(raw_profile(), 0..=MAX_PROFILES_PER_KIND),
        // Profile ids are shuffled so trusted ids are not always below SCEP ids,
        Just((0..slots as u128).collect::<Vec<u128>>()).prop_shuffle(),
        // and so is the order the facts arrive in.
        Just((0..slots).collect::<Vec<usize>>()).prop_shuffle(),
    )
        .prop_map(
            |(group_types, platform, has_primary_user, in_group, raw_trusted, raw_scep, ids, arrival)| {
                build_universe(
                    &group_types,
                    platform,
                    has_primary_user,
                    &in_group,
                    &raw_trusted,
                    &raw_scep,
                    &ids,
                    &arrival,
                )
            },
        )
}

#[allow(clippy::too_many_arguments)]
fn build_universe(
    group_types: &[GroupType],
    platform: Platform,
    has_primary_user: bool,
    in_group: &[bool],
    raw_trusted: &[RawProfile],
    raw_scep: &[RawProfile],
    ids: &[u128],
    arrival: &[usize],
) -> Universe {
    let group_id = |index: usize| id(0x100 + index as u128);
    let mut device_groups = HashSet::new();
    let mut user_groups = HashSet::new();
    for (index, group_type) in group_types.iter().enumerate() {
        if in_group[index] {
            match group_type {
                GroupType::Device => {
                    device_groups.insert(group_id(index));
                }
                // The facts hold the primary user's groups only when there is one.
                GroupType::User if has_primary_user => {
                    user_groups.insert(group_id(index));
                }
                GroupType::User => {}
            }
        }
    }

    let trusted_id = |slot: usize| id(0x200 + ids[slot]);
    let scep_id = |slot: usize| id(0x200 + ids[MAX_PROFILES_PER_KIND + slot]);
    let mut next_assignment = 0x1_0000_u128;
    let mut assignments = |raw: &RawProfile| -> Vec<AssignmentFact> {
        raw.assignments
            .iter()
            .map(|&(group, include)| {
                let group = group % group_types.len();
                next_assignment += 1;
                AssignmentFact {
                    assignment_id: id(next_assignment),
                    group_id: group_id(group),
                    group_type: group_types[group],
                    intent: if include { Intent::Include } else { Intent::Exclude },
                }
            })
            .collect()
    };

    let mut arriving = Vec::new();
    for (slot, raw) in raw_trusted.iter().enumerate() {
        let profile = trusted(trusted_id(slot), raw.platform, assignments(raw));
        arriving.push((arrival[slot], profile));
    }
    for (slot, raw) in raw_scep.iter().enumerate() {
        let root_profile_id = match raw.root {
            RootChoice::Trusted(slot) => Some(trusted_id(slot)),
            RootChoice::Scep(slot) => Some(scep_id(slot)),
            RootChoice::Unknown(n) => Some(id(0x900 + n)),
            RootChoice::Missing => None,
        };
        let profile = TargetedProfile {
            profile_id: scep_id(slot),
            kind: ProfileKind::ScepCertificate,
            version: 1,
            platform: raw.platform,
            certificate_type: Some(raw.certificate_type),
            root_profile_id,
            assignments: assignments(raw),
        };
        arriving.push((arrival[MAX_PROFILES_PER_KIND + slot], profile));
    }
    arriving.sort_by_key(|(position, _)| *position);

    Universe {
        device: DeviceMemberships {
            platform,
            has_primary_user,
            device_groups,
            user_groups,
        },
        profiles: arriving.into_iter().map(|(_, profile)| profile).collect(),
    }
}

fn explained_only(entry: &EffectiveProfile) -> bool {
    entry.state == TargetState::Excluded || entry.reason == Some(TargetReason::PlatformMismatch)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn effective_profiles_match_the_naive_reference(universe in universe()) {
        let Universe { device, profiles } = &universe;
        let explained = effective_profiles(device, profiles, Explain::Yes);
        prop_assert_eq!(&explained, &reference(device, profiles));

        let quiet = effective_profiles(device, profiles, Explain::No);
        let expected_quiet: Vec<EffectiveProfile> =
            explained.iter().filter(|entry| !explained_only(entry)).cloned().collect();
        prop_assert_eq!(quiet, expected_quiet);
    }
}

/// Guards the property test against a generator that never reaches some
/// outcome: a few thousand universes must between them produce every state
/// and reason, including a SCEP profile that installs.
#[test]
fn generated_universes_reach_every_outcome() {
    use proptest::{strategy::ValueTree, test_runner::TestRunner};

    let mut runner = TestRunner::deterministic();
    let strategy = universe();
    let mut seen = HashSet::new();
    for _ in 0..2000 {
        let Universe { device, profiles } = strategy.new_tree(&mut runner).unwrap().current();
        for entry in effective_profiles(&device, &profiles, Explain::Yes) {
            seen.insert((entry.kind, entry.state, entry.reason));
        }
    }
    let expected = [
        (ProfileKind::TrustedCertificate, TargetState::Applicable, None),
        (
            ProfileKind::TrustedCertificate,
            TargetState::Excluded,
            Some(TargetReason::AssignmentExcluded),
        ),
        (
            ProfileKind::TrustedCertificate,
            TargetState::NotApplicable,
            Some(TargetReason::PlatformMismatch),
        ),
        (ProfileKind::ScepCertificate, TargetState::Applicable, None),
        (
            ProfileKind::ScepCertificate,
            TargetState::Excluded,
            Some(TargetReason::AssignmentExcluded),
        ),
        (
            ProfileKind::ScepCertificate,
            TargetState::NotApplicable,
            Some(TargetReason::PlatformMismatch),
        ),
        (
            ProfileKind::ScepCertificate,
            TargetState::NotApplicable,
            Some(TargetReason::NoPrimaryUser),
        ),
        (
            ProfileKind::ScepCertificate,
            TargetState::Failed,
            Some(TargetReason::RootCertificateNotAssigned),
        ),
    ];
    for outcome in expected {
        assert!(seen.contains(&outcome), "never generated: {outcome:?}");
    }
}
