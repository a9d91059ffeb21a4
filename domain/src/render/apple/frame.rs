//! A SCEP `.mobileconfig` rendered once and reused for every device whose
//! payload differs from it only in the device's own strings.
//!
//! Why: a device that must enroll gets its SCEP payloads with a fresh
//! challenge at each check-in, and building and writing the whole property
//! list per device — the root certificate as base64 data, the payload
//! UUIDs, every key — was the largest share of a changed check-in's CPU.
//! Yet only four things in the document depend on the device: the
//! challenge, the values of its subject, the values of its SANs and the
//! SCEP URL it was given. Everything else follows from the profile version,
//! the root version and the organization.
//!
//! How, so that a framed payload cannot differ from [`super::render_scep`]:
//! the frame *is* that renderer's output, made for a probe device whose
//! strings are sentinels (`U+F8FF`, the slot's number, `U+F8FF`: private-use
//! characters the plist writer copies as they are) and cut at them. A
//! device's document is the pieces with its own strings between them,
//! escaped with the function the plist writer escapes text with
//! (`quick_xml::escape::escape`: the domain depends on the quick-xml version
//! plist writes with, and the byte-for-byte test fails if the two drift).
//!
//! A frame is used only for inputs of its profile version, root version and
//! organization whose name has the frame's *shape* (the same attributes in
//! the same RDNs, the same SAN types in the same order: the shape decides
//! the document's structure, the values only fill it). Any other input, a
//! string XML cannot carry (so that the error names its path as before),
//! and a profile whose own text contains the sentinel character are
//! rendered in full. Tests compare framed and full rendering byte for byte
//! over arbitrary names.

use quick_xml::escape::escape;
use uuid::Uuid;

use super::{first_url, is_xml_char, scep_document, unexpressed_settings};
use crate::{
    platform::Platform,
    render::{urls_for_device, RenderError, Rendered, ScepPayloadInput, APPLE_CONTENT_TYPE},
    scep_profile::SanType,
    subject_name::{AttributeValue, ExpandedName, ExpandedSan, NameAttribute, Rdn, Subject},
};

/// Opens and closes a sentinel in the probe document.
const SENTINEL: char = '\u{F8FF}';

/// A string of the document that depends on the device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot {
    Challenge,
    Url,
    /// The value of the `attribute`th attribute of the `rdn`th RDN.
    Subject {
        rdn: usize,
        attribute: usize,
    },
    /// The value of the `index`th SAN, in the name's order.
    San(usize),
}

/// What decides a name's place in the document: its attributes per RDN and
/// its SAN types, in order, without their values.
#[derive(Debug, Clone, PartialEq, Eq)]
struct NameShape {
    subject: Vec<Vec<NameAttribute>>,
    sans: Vec<SanType>,
}

impl NameShape {
    fn of(name: &ExpandedName) -> Self {
        Self {
            subject: name
                .subject
                .0
                .iter()
                .map(|rdn| rdn.0.iter().map(|value| value.attribute).collect())
                .collect(),
            sans: name
                .subject_alternative_names
                .iter()
                .map(|san| san.san_type)
                .collect(),
        }
    }

    /// Whether `name` has this shape; allocates nothing.
    fn matches(&self, name: &ExpandedName) -> bool {
        self.subject.len() == name.subject.0.len()
            && self.subject.iter().zip(&name.subject.0).all(|(attributes, rdn)| {
                attributes.len() == rdn.0.len()
                    && attributes
                        .iter()
                        .zip(&rdn.0)
                        .all(|(attribute, value)| *attribute == value.attribute)
            })
            && self.sans.len() == name.subject_alternative_names.len()
            && self
                .sans
                .iter()
                .zip(&name.subject_alternative_names)
                .all(|(san_type, san)| *san_type == san.san_type)
    }

    /// A name of this shape whose strings are sentinels, with the slot each
    /// sentinel number stands for: 0 the challenge, 1 the URL, then the
    /// subject's values and the SANs' values in order.
    fn probe(&self) -> (ExpandedName, Vec<Slot>) {
        let mut slots = vec![Slot::Challenge, Slot::Url];
        let mut stand_for = |slot: Slot| {
            slots.push(slot);
            sentinel(slots.len() - 1)
        };
        let subject = Subject(
            self.subject
                .iter()
                .enumerate()
                .map(|(rdn, attributes)| {
                    Rdn(attributes
                        .iter()
                        .enumerate()
                        .map(|(index, attribute)| AttributeValue {
                            attribute: *attribute,
                            value: stand_for(Slot::Subject {
                                rdn,
                                attribute: index,
                            }),
                        })
                        .collect())
                })
                .collect(),
        );
        let subject_alternative_names = self
            .sans
            .iter()
            .enumerate()
            .map(|(index, san_type)| ExpandedSan {
                san_type: *san_type,
                value: stand_for(Slot::San(index)),
            })
            .collect();
        let name = ExpandedName {
            subject,
            subject_alternative_names,
        };
        (name, slots)
    }
}

/// The document cut at the device's strings, or nothing when this input
/// cannot be framed (only its own kind is then rendered, in full).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Cut {
    /// `pieces.len() == slots.len() + 1`: piece, slot, piece, …, piece.
    Pieces {
        pieces: Vec<String>,
        slots: Vec<Slot>,
    },
    Whole,
}

/// A SCEP payload for one profile version, root version, organization and
/// name shape, into which each device's strings are written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScepFrame {
    profile: (Uuid, i64),
    root: (Uuid, i64),
    organization: String,
    shape: NameShape,
    cut: Cut,
}

impl ScepFrame {
    /// The frame of everything in `input` but the device's strings. Platforms
    /// other than iOS and macOS, and inputs that cannot be cut, get a frame
    /// that renders in full.
    pub fn new(input: &ScepPayloadInput<'_>) -> Self {
        let shape = NameShape::of(input.name);
        let cut = match input.profile.platform {
            Platform::Ios | Platform::Macos => cut(input, &shape).unwrap_or(Cut::Whole),
            _ => Cut::Whole,
        };
        Self {
            profile: (input.profile_id, input.profile_version),
            root: (input.root.id, input.root.version),
            organization: input.organization.to_owned(),
            shape,
            cut,
        }
    }

    /// The profile version and root version this frame was made for, in
    /// the order they move: a frame with a greater pair supersedes one with a lesser.
    pub fn versions(&self) -> (i64, i64) {
        (self.profile.1, self.root.1)
    }

    /// Whether devices get this frame's pieces; `false`: each is rendered in full.
    pub fn is_cut(&self) -> bool {
        matches!(self.cut, Cut::Pieces { .. })
    }

    /// Whether this frame was made for `input`'s profile version, root
    /// version, organization and name shape.
    pub fn fits(&self, input: &ScepPayloadInput<'_>) -> bool {
        self.profile == (input.profile_id, input.profile_version)
            && self.root == (input.root.id, input.root.version)
            && self.organization == input.organization
            && self.shape.matches(input.name)
    }

    /// Exactly what [`super::render_scep`] renders for `input`: framed when
    /// the input fits and its strings need no check, in full otherwise.
    pub fn render(&self, input: &ScepPayloadInput<'_>) -> Result<Rendered, RenderError> {
        let Cut::Pieces { pieces, slots } = &self.cut else {
            return crate::render::render_scep(input);
        };
        if !self.fits(input) {
            return crate::render::render_scep(input);
        }
        let urls = urls_for_device(&input.profile.settings.scep_server_urls, input.device_id);
        let url = first_url(&urls)?;
        let values: Vec<&str> = slots
            .iter()
            .map(|slot| value_of(input, url.as_str(), *slot))
            .collect();
        if !values.iter().all(|value| value.chars().all(is_xml_char)) {
            return crate::render::render_scep(input);
        }
        let length = pieces.iter().map(String::len).sum::<usize>()
            + values.iter().map(|value| value.len()).sum::<usize>();
        // Escaping lengthens a value a little; 64 bytes spare saves most regrowth.
        let mut body = String::with_capacity(length + 64);
        for (piece, value) in pieces.iter().zip(&values) {
            body.push_str(piece);
            body.push_str(&escape(*value));
        }
        body.push_str(pieces.last().map_or("", String::as_str));
        Ok(Rendered {
            content_type: APPLE_CONTENT_TYPE,
            body: body.into_bytes(),
            warnings: unexpressed_settings(input, &urls),
        })
    }
}

/// The device's string for `slot`. The shape was matched, so every index exists.
fn value_of<'a>(input: &ScepPayloadInput<'a>, url: &'a str, slot: Slot) -> &'a str {
    match slot {
        Slot::Challenge => input.challenge,
        Slot::Url => url,
        Slot::Subject { rdn, attribute } => &input.name.subject.0[rdn].0[attribute].value,
        Slot::San(index) => &input.name.subject_alternative_names[index].value,
    }
}

/// The sentinel standing for the `index`th slot.
fn sentinel(index: usize) -> String {
    format!("{SENTINEL}{index}{SENTINEL}")
}

/// Renders `input` for a probe device whose strings are sentinels and cuts
/// the document at them; `None` when the document does not hold each
/// sentinel exactly once, as text the writer left unescaped (the profile's
/// own text holds the sentinel character, or rendering fails).
fn cut(input: &ScepPayloadInput<'_>, shape: &NameShape) -> Option<Cut> {
    let (probe_name, slots) = shape.probe();
    let challenge = sentinel(0);
    let probe = ScepPayloadInput {
        name: &probe_name,
        challenge: &challenge,
        ..*input
    };
    let document = String::from_utf8(scep_document(&probe, &sentinel(1)).ok()?).ok()?;

    let mut parts = document.split(SENTINEL);
    let mut pieces = vec![parts.next()?.to_owned()];
    let mut order = Vec::with_capacity(slots.len());
    while let Some(number) = parts.next() {
        let slot = *slots.get(number.parse::<usize>().ok()?)?;
        if order.contains(&slot) {
            return None;
        }
        order.push(slot);
        pieces.push(parts.next()?.to_owned());
    }
    (order.len() == slots.len()).then_some(Cut::Pieces { pieces, slots: order })
}
