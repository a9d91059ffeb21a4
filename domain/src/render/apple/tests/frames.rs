//! Frames ([`super::super::frame`]): a framed payload is byte for byte the
//! full rendering, for any name, and inputs a frame was not made for are
//! rendered in full.

use proptest::prelude::*;

use super::*;
use crate::render::apple::frame::ScepFrame;

/// Every scenario's name with each value replaced by one of `values` (cycled).
fn with_values(scenario: &Scenario, values: &[String]) -> ExpandedName {
    let mut values = values.iter().cycle();
    let mut next = || values.next().cloned().unwrap_or_default();
    ExpandedName {
        subject: Subject(
            scenario
                .name
                .subject
                .0
                .iter()
                .map(|rdn| {
                    Rdn(rdn
                        .0
                        .iter()
                        .map(|value| attribute(value.attribute, &next()))
                        .collect())
                })
                .collect(),
        ),
        subject_alternative_names: scenario
            .name
            .subject_alternative_names
            .iter()
            .map(|value| san(value.san_type, &next()))
            .collect(),
    }
}

fn scenarios() -> Vec<Scenario> {
    vec![ios_user(), macos_device(), macos_user(), ios_multi_valued_rdn()]
}

/// Text with what XML escapes, what it cannot carry, the sentinel character and non-ASCII.
fn value_strategy() -> impl Strategy<Value = String> {
    let special = prop::sample::select(vec![
        '<',
        '>',
        '&',
        '\'',
        '"',
        '\u{F8FF}',
        '\u{0}',
        '\u{1F}',
        '\t',
        '\n',
        '\r',
        '\u{FFFE}',
        'é',
        '日',
        '\u{1F600}',
        ' ',
        '0',
        '1',
    ]);
    prop::collection::vec(
        prop_oneof![4 => prop::char::range('a', 'z'), 2 => special, 1 => any::<char>()],
        0..16,
    )
    .prop_map(|chars| chars.into_iter().collect())
}

proptest! {
    #[test]
    fn a_framed_payload_is_the_full_rendering_for_any_device(
        which in 0..4usize,
        values in prop::collection::vec(value_strategy(), 1..6),
        challenge in value_strategy(),
        device in any::<u128>(),
    ) {
        let scenario = scenarios().swap_remove(which);
        let frame = ScepFrame::new(&scenario.input());
        prop_assert!(frame.is_cut());
        let name = with_values(&scenario, &values);
        let mut input = scenario.input();
        input.name = &name;
        input.challenge = &challenge;
        input.device_id = Uuid::from_u128(device);
        prop_assert!(frame.fits(&input));
        prop_assert_eq!(frame.render(&input), render_scep(&input));
    }
}

#[test]
fn strings_xml_cannot_carry_fail_as_in_full_rendering() {
    let scenario = ios_user();
    let frame = ScepFrame::new(&scenario.input());
    let name = with_values(&scenario, &["jane\u{1}doe".to_owned()]);
    let mut input = scenario.input();
    input.name = &name;
    let error = frame.render(&input).expect_err("U+0001 cannot be written");
    assert_eq!(Err(error.clone()), render_scep(&input));
    assert!(error.to_string().contains("Subject"), "{error}");
}

#[test]
fn inputs_a_frame_was_not_made_for_are_rendered_in_full() {
    let scenario = ios_user();
    let frame = ScepFrame::new(&scenario.input());
    let other_shape = macos_user();

    let mut next_version = scenario.input();
    next_version.profile_version += 1;
    let mut new_root = scenario.input();
    new_root.root.version += 1;
    let mut other_organization = scenario.input();
    other_organization.organization = "Fabrikam";
    let fewer_rdns = ExpandedName {
        subject: Subject(vec![rdn(NameAttribute::CommonName, "jane@contoso.com")]),
        subject_alternative_names: scenario.name.subject_alternative_names.clone(),
    };
    let mut shape_changed = scenario.input();
    shape_changed.name = &fewer_rdns;
    let mut other_sans = scenario.input();
    other_sans.name = &other_shape.name;

    for input in [
        next_version,
        new_root,
        other_organization,
        shape_changed,
        other_sans,
    ] {
        assert!(!frame.fits(&input));
        assert_eq!(frame.render(&input), render_scep(&input));
    }
}

#[test]
fn a_profile_whose_text_holds_the_sentinel_character_is_rendered_in_full() {
    let mut scenario = ios_user();
    let mut draft = draft(Platform::Ios, CertificateType::User);
    draft.display_name = "Wi-Fi \u{F8FF}0\u{F8FF} certificate".to_owned();
    scenario.profile = profile(draft);
    scenario.name = ExpandedName {
        subject: Subject(vec![rdn(NameAttribute::CommonName, "jane@contoso.com")]),
        subject_alternative_names: Vec::new(),
    };
    let frame = ScepFrame::new(&scenario.input());
    assert!(!frame.is_cut());
    assert_eq!(frame.render(&scenario.input()), Ok(scenario.render()));
}

#[test]
fn other_platforms_are_rendered_in_full() {
    for platform in [Platform::Android, Platform::Windows10] {
        let mut scenario = ios_user();
        let mut draft = draft(platform, CertificateType::User);
        draft.subject_name_format = SubjectNameFormat::Custom;
        draft.subject_name_format_string = Some("CN={{UserPrincipalName}},OU=Mobile".to_owned());
        scenario.profile = profile(draft);
        scenario.root = root(platform, None, None);
        let frame = ScepFrame::new(&scenario.input());
        assert!(!frame.is_cut(), "{platform}");
        assert_eq!(
            frame.render(&scenario.input()),
            render::render_scep(&scenario.input())
        );
    }
}
